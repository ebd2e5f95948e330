"""The production instance (deploy/dagster.yaml): run, event-log and schedule storage in PostgreSQL.

A throw-away PostgreSQL cluster, a fresh `DAGSTER_HOME` holding a copy of deploy/dagster.yaml,
credentials only in environment variables. `bpo demo` runs against that instance in one
process; a new instance object in another process finds the run and its materializations, and
the tables are in PostgreSQL, not in SQLite files under `DAGSTER_HOME`.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psycopg2
import pytest
import yaml

from bpo.cli import _absolute_paths, build_parser
from dagster_project.defs.resources import split_sources
from tests.postgres import PostgresUnavailable, free_port, throwaway_postgres
from tests.robustness.conftest import ROOT
from tests.ui_server import stop_group

DEPLOY = ROOT / "deploy" / "dagster.yaml"

POSTGRES_FROM_ENVIRONMENT = {
    "hostname": {"env": "DAGSTER_PG_HOST"},
    "port": {"env": "DAGSTER_PG_PORT"},
    "db_name": {"env": "DAGSTER_PG_DB"},
    "username": {"env": "DAGSTER_PG_USERNAME"},
    "password": {"env": "DAGSTER_PG_PASSWORD"},
    "scheme": "postgresql+psycopg2",
}
"""The PostgreSQL settings of every deploy/ instance file: each one from an environment variable."""

READ_BACK = """
import json
import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus

instance = dg.DagsterInstance.get()
runs = instance.get_runs()
keys = ["event_log", "sourcing_plan", "csv_exports"]
print(json.dumps({
    "storages": [type(instance.run_storage).__name__, type(instance.event_log_storage).__name__,
                 type(instance.schedule_storage).__name__],
    "runs": [[r.run_id, r.status.value, r.tags.get("bpo/command")] for r in runs],
    "materialized": {
        k: (lambda e: e.run_id if e else None)(
            instance.get_latest_materialization_event(dg.AssetKey(k))
        )
        for k in keys
    },
    "telemetry": instance.telemetry_enabled,
}))
"""


@pytest.fixture
def pg_env() -> Iterator[dict[str, str]]:
    """`DAGSTER_PG_*` variables of a fresh cluster with an empty database `dagster`."""
    try:
        with throwaway_postgres("dagster") as uri:
            parts = urlparse(uri)
            yield {
                "DAGSTER_PG_HOST": parts.hostname or "127.0.0.1",
                "DAGSTER_PG_PORT": str(parts.port),
                "DAGSTER_PG_DB": "dagster",
                "DAGSTER_PG_USERNAME": parts.username or "postgres",
                # trust authentication ignores it; shows the password travels by variable only
                "DAGSTER_PG_PASSWORD": "only-in-the-environment",
            }
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")


def test_deploy_config_takes_credentials_only_from_the_environment() -> None:
    config = yaml.safe_load(DEPLOY.read_text(encoding="utf-8"))
    db = config["storage"]["postgres"]["postgres_db"]
    assert db == POSTGRES_FROM_ENVIRONMENT
    assert config["telemetry"] == {"enabled": False}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"


@pytest.mark.postgres
@pytest.mark.slow  # a cluster, a 1,500-case demo run and a second process: ~40 s
def test_run_history_and_materializations_live_in_postgres(
    tmp_path: Path, pg_env: dict[str, str]
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY, home / "dagster.yaml")
    env = {**os.environ, **pg_env, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bpo", "demo", "--cases", "1500", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run_prefix = done.stdout.split("(Dagster run ")[1][:8]

    # A new instance object in a fresh process: the history is in the database.
    read = subprocess.run(
        [sys.executable, "-c", READ_BACK],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    got = json.loads(read.stdout.strip().splitlines()[-1])
    assert got["storages"] == [
        "PostgresRunStorage",
        "PostgresEventLogStorage",
        "PostgresScheduleStorage",
    ]
    assert got["telemetry"] is False
    assert len(got["runs"]) == 1
    run_id, status, command = got["runs"][0]
    assert (run_id[:8], status, command) == (run_prefix, "SUCCESS", "demo")
    assert got["materialized"] == {
        "event_log": run_id,
        "sourcing_plan": run_id,
        "csv_exports": run_id,
    }

    # The same facts straight from PostgreSQL, and no SQLite storage beside DAGSTER_HOME.
    with (
        psycopg2.connect(
            host=pg_env["DAGSTER_PG_HOST"],
            port=int(pg_env["DAGSTER_PG_PORT"]),
            dbname="dagster",
            user=pg_env["DAGSTER_PG_USERNAME"],
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT run_id, status FROM runs")
        assert cur.fetchall() == [(run_id, "SUCCESS")]
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND asset_key = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (run_id, '["sourcing_plan"]'),
        )
        assert cur.fetchone() == (1,)
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        tables = {row[0] for row in cur.fetchall()}
    assert {"runs", "event_logs", "asset_keys", "jobs", "job_ticks", "instigators"} <= tables
    sqlite_files = [p for p in home.rglob("*") if p.suffix in (".db", ".sqlite")]
    assert sqlite_files == []


# ------------------------------------------------------------------ the web UI's address


def listening(port: int) -> set[str]:
    """Addresses with a TCP socket listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:] if Path(table).exists() else []
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


def test_ui_listens_on_loopback_unless_told_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["ui"])
    assert (args.host, args.port) == ("127.0.0.1", 3000)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["ui", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--host HOST address to listen on (default 127.0.0.1: this machine only;" in shown
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nui:", 1)[1].splitlines()[1].strip()
    assert recipe == "$(VENV)/bin/bpo ui"  # no --host: the loopback default


def test_ui_paths_mean_the_folder_bpo_ui_was_started_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dg dev` runs the code location in the project folder: relative settings are resolved
    against the caller's folder first; URLs and unset variables are kept."""
    monkeypatch.chdir(tmp_path)
    env = {
        "BPO_LOGS": os.pathsep.join(
            ["logs/a.xes", "postgresql://u:pw@h:5432/erp", "/data/b.csv", "sqlite:///x.db", "c"]
        ),
        "BPO_COSTS": "costs.yaml",
        "BPO_INBOX": "",
        "HOME": "relative/not/ours",
    }
    out = _absolute_paths(env)
    assert split_sources(out["BPO_LOGS"]) == [
        str(tmp_path / "logs" / "a.xes"), "postgresql://u:pw@h:5432/erp", "/data/b.csv",
        "sqlite:///x.db", str(tmp_path / "c"),
    ]  # fmt: skip
    assert out["BPO_COSTS"] == str(tmp_path / "costs.yaml")
    assert out["BPO_OUT"] == str(tmp_path / "results")  # the default folder, where it was
    assert out["BPO_INBOX"] == "" and out["HOME"] == "relative/not/ours"
    assert "BPO_MINED" not in out


@pytest.mark.slow  # starts `dg dev` (webserver and daemon): ~20 s
def test_bpo_ui_binds_to_127_0_0_1(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bpo", "ui", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # dg dev starts children: stop the whole group after
    )
    try:
        deadline = time.monotonic() + 180
        while not listening(port) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert listening(port) == {"0100007F"}  # 127.0.0.1, and nothing on 0.0.0.0 or ::
    finally:
        stop_group(proc)
