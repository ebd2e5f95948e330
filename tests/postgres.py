"""A throw-away PostgreSQL cluster for tests (initdb + pg_ctl in a temp dir, removed after).

`initdb` and `pg_ctl` refuse to run as root, so when the tests run as root the cluster is
created and run as the `postgres` system user (`runuser -u postgres -- …`) in a temp directory
that user owns. Connections go over TCP on 127.0.0.1 with trust authentication.

Usage:
    with throwaway_postgres() as uri:   # postgresql://postgres@127.0.0.1:PORT/bpo_test
        ...
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries or the `postgres` user are missing on this machine."""


def find_bin(name: str) -> str:
    """Path of a PostgreSQL server binary (`initdb`, `pg_ctl`, `createdb`)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not candidates:
        raise PostgresUnavailable(f"{name} not found (apt-get install postgresql)")
    return candidates[0]


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_postgres(database: str = "bpo_test") -> Iterator[str]:
    """Start a fresh cluster, create `database`, yield its URI, then stop and delete it.

    Yields:
        `postgresql://postgres@127.0.0.1:<port>/<database>`.
    """
    as_root = os.geteuid() == 0
    if as_root:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgresUnavailable("no 'postgres' system user to run initdb as") from exc
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    initdb, pg_ctl, createdb = (find_bin(n) for n in ("initdb", "pg_ctl", "createdb"))
    root = Path(tempfile.mkdtemp(prefix="bpo-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if as_root:
        for path in (root, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run(
            [*prefix, *args], check=True, capture_output=True, timeout=120, cwd=str(root)
        )

    started = False
    try:
        run(initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        started = True
        run(createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database)
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        if started:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)
