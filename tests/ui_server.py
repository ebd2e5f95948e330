"""`bpo ui` (`dg dev`) started for a test on a free loopback port, and stopped after it."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import free_port

ROOT = Path(__file__).parents[1]


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a process started with `start_new_session=True` and all its children."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@contextlib.contextmanager
def running_ui(home: Path, log_path: Path, **env: str) -> Iterator[str]:
    """Run `bpo ui` against the Dagster home `home`; yield its URL once it answers.

    Args:
        home: `DAGSTER_HOME`.
        log_path: Where the server's output goes (the failure message points at it).
        **env: More environment variables (e.g. `BPO_DEMO_CASES`).
    """
    port = free_port()
    environment = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), **env}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bpo", "ui", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # dg dev starts children: stop the whole group after
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"`bpo ui` did not start; see {log_path}")
                time.sleep(1)
            yield url
        finally:
            stop_group(proc)


def graphql(url: str, query: str, **variables: Any) -> dict[str, Any]:
    """Run a query against the UI's GraphQL endpoint; return its `data` (errors fail)."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]
