"""The pipeline on Dagster's Celery executor: a real Redis broker, two workers, PostgreSQL.

One module-wide cluster: a throw-away PostgreSQL (the instance of deploy/dagster-celery.yaml),
a throw-away Redis with a password (broker and result backend), and two Celery workers
(`alpha`, `beta`) in their own process groups, each with one prefork child that runs the steps
it takes. Runs are launched by `tests/celery_driver.py` in a subprocess with the environment a
deployment has; nothing secret is in a file or in run config.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import polars as pl
import pytest
from dagster._serdes import serialize_value

from dagster_project.exports import publish
from pipelines.demo import write_sample
from tests.cluster import (
    RedisServer,
    RedisUnavailable,
    children,
    start_worker,
    stop_worker,
    throwaway_redis,
)
from tests.postgres import PostgresUnavailable, throwaway_postgres
from tests.robustness.conftest import ROOT, tree_hash
from tests.robustness.test_faults import _same_results

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DEPLOY = ROOT / "deploy" / "dagster-celery.yaml"
WORKERS = ("alpha", "beta")
DISCOVER = "process_models.discover_processes"
PROCESSES = 9  # the demo company's


@dataclass
class Cluster:
    """The running cluster and what a test needs to drive it."""

    tmp: Path
    home: Path
    env: dict[str, str]
    redis: RedisServer
    secrets: dict[str, str]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_workers(self) -> None:
        for name in WORKERS:
            old = self.workers.pop(name, None)
            if old is not None:
                stop_worker(old)
        for name in WORKERS:
            log = self.tmp / f"worker-{name}.log"
            self.workers[name] = start_worker(name, self.env, log, self.tmp)

    def launch(self, out: Path, *args: str) -> subprocess.Popen[str]:
        """Start the driver: a run (or a re-execution) publishing to `out`."""
        config = {"resources": {"output": {"config": {"folder": str(out)}}}}
        return subprocess.Popen(
            [sys.executable, "-m", "tests.celery_driver", json.dumps(config), *args],
            cwd=self.tmp,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, driver: subprocess.Popen[str], timeout: float = 600) -> dict[str, object]:
        out, err = driver.communicate(timeout=timeout)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        assert lines, f"driver printed no result:\n{out[-2000:]}\n{err[-4000:]}"
        return json.loads(lines[-1])

    def run(self, out: Path, *args: str) -> dict[str, object]:
        return self.finish(self.launch(out, *args))

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("celery")
    sample = write_sample(tmp / "sample", 600, 7, "parquet")
    home = tmp / "home"
    home.mkdir()
    shutil.copyfile(DEPLOY, home / "dagster.yaml")
    secret = {
        "pg": "pg-" + secrets.token_hex(12),  # trust auth ignores it: it travels by variable only
        "s3": "s3-" + secrets.token_hex(12),  # object-store credentials a deployment would set
    }
    try:
        with throwaway_postgres("dagster") as uri, throwaway_redis() as redis:
            secret["redis"] = redis.password
            pg = urlparse(uri)
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "DAGSTER_HOME": str(home),
                "DAGSTER_PG_HOST": pg.hostname or "127.0.0.1",
                "DAGSTER_PG_PORT": str(pg.port),
                "DAGSTER_PG_DB": "dagster",
                "DAGSTER_PG_USERNAME": pg.username or "postgres",
                "DAGSTER_PG_PASSWORD": secret["pg"],
                "AWS_ACCESS_KEY_ID": "bpo-test",
                "AWS_SECRET_ACCESS_KEY": secret["s3"],
                "BPO_EXECUTOR": "celery",
                "BPO_CELERY_BROKER": redis.url,
                "BPO_STORAGE": str(tmp / "storage"),
                "BPO_LOGS": str(sample.log),
                "BPO_COSTS": str(sample.costs),
                "BPO_SOLVER_WORKERS": "1",
                "BPO_SOLVER_SECONDS": "30",
            }
            state = Cluster(tmp, home, env, redis, secret)
            with pytest.MonkeyPatch.context() as patch:
                for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB"):
                    patch.setenv(name, env[name])
                patch.setenv("DAGSTER_PG_USERNAME", env["DAGSTER_PG_USERNAME"])
                patch.setenv("DAGSTER_PG_PASSWORD", env["DAGSTER_PG_PASSWORD"])
                try:
                    state.start_workers()
                    yield state
                finally:
                    for process in state.workers.values():
                        stop_worker(process)
    except (PostgresUnavailable, RedisUnavailable) as exc:
        pytest.skip(f"cluster not available: {exc}")


def step_placement(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[str, int]]:
    """Step key → (Celery worker name, pid of the process that ran it), from the run's events."""
    worker: dict[str, str] = {}
    pid: dict[str, int] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type_value == "ENGINE_EVENT" and "in celery worker" in record.message:
            worker[record.step_key] = event.engine_event_data.metadata["Celery worker"].value
        elif event.event_type_value == "STEP_START":
            pid[record.step_key] = event.pid
    return {key: (worker[key].split("@")[0], pid[key]) for key in pid}


def test_discovery_steps_run_on_both_workers(cluster: Cluster) -> None:
    result = cluster.run(cluster.tmp / "spread")
    assert result["success"] is True
    with cluster.instance() as instance:
        placement = step_placement(instance, str(result["run_id"]))
    discover = {k: v for k, v in placement.items() if k.startswith(DISCOVER)}
    assert len(discover) == PROCESSES
    assert {name for name, _ in discover.values()} == set(WORKERS)
    # each step ran in the prefork child of the worker the engine event names
    kids = {name: set(children(cluster.workers[name].pid)) for name in WORKERS}
    for key, (name, pid) in placement.items():
        assert pid in kids[name], (key, name, pid, kids)
    assert pid != os.getpid()
    kpis = pl.read_csv(cluster.tmp / "spread" / "process_kpis.csv")
    assert kpis.height == PROCESSES
    models = (cluster.tmp / "spread" / "models").glob("*.bpmn")
    assert sorted(p.name for p in models if not p.name.endswith("_to_be.bpmn")) == sorted(
        f"{p}.bpmn" for p in kpis["process"].to_list()
    )


def _running_discovery(
    instance: dg.DagsterInstance, driver: subprocess.Popen[str], timeout: float = 300
) -> tuple[str, str, int]:
    """(run id, step key, pid) of the first discovery step that has started and not finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and driver.poll() is None:
        runs = instance.get_runs(limit=1)
        if runs:
            run_id = runs[0].run_id
            started: dict[str, int] = {}
            done: set[str] = set()
            for record in instance.all_logs(run_id):
                event = record.dagster_event
                if event is None or not (record.step_key or "").startswith(DISCOVER):
                    continue
                if event.event_type_value == "STEP_START":
                    started[record.step_key] = event.pid
                elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_OUTPUT"):
                    done.add(record.step_key)
            running = sorted(set(started) - done)
            if running:
                return run_id, running[0], started[running[0]]
        time.sleep(0.05)
    raise AssertionError("no discovery step started")


def _steps(instance: dg.DagsterInstance, run_id: str, kind: str) -> set[str]:
    return {
        record.step_key
        for record in instance.all_logs(run_id)
        if record.dagster_event is not None
        and record.dagster_event.event_type_value == kind
        and record.step_key
    }


def test_a_worker_killed_in_discovery_fails_the_step_and_reexecution_completes_it(
    cluster: Cluster,
) -> None:
    cluster.start_workers()  # fresh children: the first discovery imports pm4py (~3 s)
    out = cluster.tmp / "killed"
    driver = cluster.launch(out)
    with cluster.instance() as instance:
        run_id, step, pid = _running_discovery(instance, driver)
        os.kill(pid, signal.SIGKILL)  # the worker process that runs the step
        result = cluster.finish(driver)
        assert result == {"run_id": run_id, "success": False}
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
        assert _steps(instance, run_id, "STEP_FAILURE") == {step}
        (failure,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        assert (
            failure.dagster_event.message
            == (
                f'The Celery worker running step "{step}" was lost: WorkerLostError: '
                "Worker exited prematurely: signal 9 (SIGKILL) Job: "
            )
            + failure.dagster_event.message.rsplit("Job: ", 1)[1]
        )
        assert "csv_exports" not in _steps(instance, run_id, "STEP_START")
        assert not out.exists()  # nothing published

        again = cluster.run(out, run_id)
        assert again["success"] is True
        rerun = _steps(instance, str(again["run_id"]), "STEP_SUCCESS")
        assert step in rerun and "csv_exports" in rerun
        assert "event_log" not in rerun  # done in the failed run, not repeated
        assert instance.get_run_by_id(str(again["run_id"])).parent_run_id == run_id

    clean = cluster.run(cluster.tmp / "clean")
    assert clean["success"] is True
    _same_results(out, cluster.tmp / "clean")


def test_no_secret_lands_in_run_logs_metadata_or_files(cluster: Cluster) -> None:
    """The PostgreSQL, broker and object-store secrets travel only in environment variables."""
    result = cluster.run(cluster.tmp / "secrets")
    assert result["success"] is True
    assert cluster.redis.password in cluster.env["BPO_CELERY_BROKER"]  # the URL carries it
    texts: list[str] = []
    with cluster.instance() as instance:
        for run in instance.get_runs():
            texts += [serialize_value(run), json.dumps(run.run_config), json.dumps(run.tags)]
            texts += [serialize_value(record) for record in instance.all_logs(run.run_id)]
    assert len(texts) > 200
    files = [p for p in cluster.tmp.rglob("*") if p.is_file() and p.suffix != ".parquet"]
    for name, secret in cluster.secrets.items():
        assert not [t for t in texts if secret in t], name
        assert not [p for p in files if secret.encode() in p.read_bytes()], name
    # what the logs show instead: the broker's URL with its password masked
    banner = (cluster.tmp / "worker-alpha.log").read_text()
    assert f"redis://:**@127.0.0.1:{cluster.redis.port}/0" in banner


def test_a_stopped_broker_fails_the_run_naming_its_url_and_publishes_nothing(
    cluster: Cluster,
) -> None:
    out = cluster.tmp / "broker-out"
    publish(out, {"process_kpis.csv": "process\nearlier\n"})  # results of an earlier run
    before = tree_hash(out)
    driver = cluster.launch(out)
    with cluster.instance() as instance:
        run_id, _, _ = _running_discovery(instance, driver)
        cluster.redis.stop()
        result = cluster.finish(driver, timeout=600)
        assert result == {"run_id": run_id, "success": False}
        (failure,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        error = failure.dagster_event.event_specific_data.error
    message = error.to_string()
    url = f"redis://:**@127.0.0.1:{cluster.redis.port}/0"
    assert f"BrokerUnreachableError: the Celery broker {url} (result backend {url})" in message
    assert cluster.redis.password not in message
    assert tree_hash(out) == before  # nothing half-published
    assert sorted(p.name for p in out.parent.glob("broker-out*")) == ["broker-out"]
