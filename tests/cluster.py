"""A throw-away Redis server and Celery workers for the distributed tests.

`throwaway_redis()` starts Debian's `redis-server` on a free loopback port with a config file
in a temporary folder (no persistence, a random password), and stops it after.
`start_worker()` starts one Celery worker of `dagster_project.celery_worker` in its own process
group (one prefork child: the process that runs the steps it takes).
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.postgres import free_port


class RedisUnavailable(RuntimeError):
    """`redis-server` is not installed (apt-get install redis-server)."""


@dataclass
class RedisServer:
    """A running throw-away Redis server."""

    process: subprocess.Popen[bytes]
    port: int
    password: str
    folder: Path

    @property
    def url(self) -> str:
        """`redis://:<password>@127.0.0.1:<port>/0`."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        """Whether the server answers."""
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.exceptions.RedisError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


@contextmanager
def throwaway_redis() -> Iterator[RedisServer]:
    """Start `redis-server` on 127.0.0.1:<free port> with a password; stop and delete it after."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable("redis-server not found (apt-get install redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="bpo-redis-"))
    port, password = free_port(), secrets.token_hex(16)
    config = folder / "redis.conf"
    config.write_text(
        "bind 127.0.0.1\n"
        f"port {port}\n"
        "protected-mode yes\n"
        f"requirepass {password}\n"
        'save ""\n'
        "appendonly no\n"
        f"dir {folder}\n"
        f"logfile {folder / 'redis.log'}\n"
        "daemonize no\n"
    )
    process = subprocess.Popen([binary, str(config)], cwd=folder)
    server = RedisServer(process, port, password, folder)
    try:
        deadline = time.monotonic() + 30
        while not server.ping():
            if process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "redis.log").read_text() if (folder / "redis.log").exists() else ""
                raise RedisUnavailable(f"redis-server did not start: {log[-500:]}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def start_worker(name: str, env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start one Celery worker `name@<host>` with one prefork child; returns once it is ready."""
    handle = log.open("wb")
    command = [sys.executable, "-m", "celery", "-A", "dagster_project.celery_worker", "worker"]
    command += ["--pool=prefork", "--concurrency=1", "--prefetch-multiplier=1"]
    command += ["--without-gossip", "--without-mingle", "--loglevel=INFO"]
    command += ["-Q", "dagster", "-n", f"{name}@%h"]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    deadline = time.monotonic() + 180
    while b" ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_worker(process)
            raise RuntimeError(f"celery worker {name} did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return process


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """Stop a worker and its children (its process group): SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def children(pid: int) -> list[int]:
    """Process ids of the direct children of `pid` (from /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = next((line.split()[1] for line in text.splitlines() if line.startswith("PPid:")), "")
        if ppid == str(pid):
            found.append(int(status.parent.name))
    return sorted(found)
