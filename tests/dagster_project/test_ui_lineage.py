"""The Dagster UI (`bpo ui`, i.e. `dg dev`) over GraphQL: lineage from the files, staleness."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ui_server import ROOT, graphql, running_ui

NODES = """{ assetNodes { assetKey { path } isObservable dependencyKeys { path }
  staleStatus staleCauses { key { path } reason dependency { path } } } }"""

LAUNCH = """mutation($job: String!) { launchRun(executionParams: {selector: {
  repositoryLocationName: "bpo_pipeline", repositoryName: "__repository__", jobName: $job}}) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""

STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def nodes(url: str) -> dict[str, dict]:
    return {"/".join(n["assetKey"]["path"]): n for n in graphql(url, NODES)["assetNodes"]}


def run_job(url: str, job: str) -> str:
    launched = graphql(url, LAUNCH, job=job)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = graphql(url, STATUS, id=run_id)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    pytest.fail(f"run {run_id} of {job} did not end within 120 s")


@pytest.mark.slow  # a demo run and `dg dev` (webserver, daemon, code server): ~40 s
def test_lineage_starts_at_the_files_and_a_cost_edit_makes_the_plan_stale(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bpo", "demo", "--cases", "1500", "--out", "results",
         "--time-limit", "20"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    log = tmp_path / "ui.log"
    with running_ui(home, log, BPO_DEMO_CASES="1500") as url:
        before = nodes(url)
        roots = {key for key, node in before.items() if not node["dependencyKeys"]}
        assert roots == {"event_log_files", "cost_file"}
        assert before["event_log_files"]["isObservable"] and before["cost_file"]["isObservable"]
        assert {"/".join(d["path"]) for d in before["event_log"]["dependencyKeys"]} == {
            "event_log_files"
        }
        assert {k for k, n in before.items() if n["staleStatus"] == "STALE"} == set()
        # The CLI's run recorded which files it read: observing the same files changes nothing.
        assert run_job(url, "observe_inputs") == "SUCCESS"
        assert {k for k, n in nodes(url).items() if n["staleStatus"] == "STALE"} == set()

        costs = home / "demo" / "1500-cases-seed-7" / "costs.yaml"
        costs.write_text(costs.read_text() + "# an edit\n")
        assert run_job(url, "observe_inputs") == "SUCCESS"
        after = nodes(url)
        stale = {k for k, n in after.items() if n["staleStatus"] == "STALE"}
        assert {"cost_model", "sourcing_plan"} <= stale
        assert not stale & {"event_log", "process_models", "process_kpis"}
        causes = {
            (c["reason"], "/".join(c["key"]["path"])) for c in after["sourcing_plan"]["staleCauses"]
        }
        assert ("has a new data version", "cost_file") in causes
    assert "SupersessionWarning" not in log.read_text()
