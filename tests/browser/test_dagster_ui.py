"""The Dagster UI in headless Chromium shows the process maps of a materialized run."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dagster_ui(demo_home: Path) -> Iterator[str]:
    """`bpo ui` (`dagster dev`) on a free loopback port against the demo's Dagster home."""
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(demo_home), "PYTHONPATH": str(ROOT)}
    log = (demo_home / "dagster_dev.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bpo", "ui", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
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
                pytest.fail(f"dagster dev did not start; see {demo_home / 'dagster_dev.log'}")
            time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.browser
@pytest.mark.slow
def test_process_map_metadata_shows_an_image(browser, dagster_ui: str, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{dagster_ui}/assets/process_models")
    # A fresh DAGSTER_HOME first shows the "Join the Dagster community" dialog.
    page.get_by_text("Join the Dagster community").wait_for()
    page.get_by_role("button", name="Skip").click()
    show = page.get_by_text("[Show Markdown]").first
    show.click()
    image = page.locator("img[src^='data:image']").first
    image.wait_for(state="visible")
    page.wait_for_function(
        "() => { const i = document.querySelector(\"img[src^='data:image']\");"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert image.evaluate("i => i.naturalWidth") > 0
    page.screenshot(path=str(artifacts / "dagster_process_map.png"))
    page.close()
