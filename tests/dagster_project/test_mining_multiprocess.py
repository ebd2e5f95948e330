"""Per-process discovery as separate steps on the multiprocess executor."""

from pathlib import Path

import dagster as dg
import pytest

from dagster_project.defs.ingestion import event_log
from dagster_project.defs.mining import process_models
from dagster_project.defs.resources import build_resources
from pipelines.demo import generate

PROCESSES = ["payroll", "recruiting", "travel_expenses"]
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def discovery_job() -> dg.JobDefinition:
    """`event_log` and `process_models` with the resources of the environment (reconstructable)."""
    defs = dg.Definitions(
        assets=[event_log, process_models],
        jobs=[dg.define_asset_job("discovery", selection=["event_log", "process_models"])],
        resources=build_resources(),
    )
    return defs.resolve_job_def("discovery")


@pytest.mark.slow  # six steps, each its own Python process importing pm4py: ~30 s
def test_each_process_is_discovered_in_its_own_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = generate(300, seed=5).log
    source = tmp_path / "three_processes.parquet"
    log.filter(log["process"].is_in(PROCESSES)).write_parquet(source)
    monkeypatch.setenv("BPO_LOGS", str(source))
    monkeypatch.delenv("BPO_DISCOVERY_STEPS", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    with (
        dg.instance_for_test(temp_dir=str(home)) as instance,
        dg.execute_job(
            dg.reconstructable(discovery_job), instance=instance, run_config=QUIET
        ) as result,
    ):
        assert result.success
        steps = {e.step_key: e.pid for e in result.get_step_success_events()}
        event = instance.get_latest_materialization_event(dg.AssetKey("process_models"))
    assert sorted(steps) == [
        "event_log",
        "process_models.collect_process_models",
        *(f"process_models.discover_processes[{p}]" for p in PROCESSES),
        "process_models.split_processes",
    ]
    assert len(set(steps.values())) == len(steps)  # every step in a process of its own
    assert event is not None and event.run_id == result.run_id
    meta = event.asset_materialization.metadata
    assert meta["processes"].value == 3 and meta["failed_processes"].value == 0
    assert sorted(k for k in meta if k.startswith("map_")) == [f"map_{p}" for p in PROCESSES]
    folder = Path(meta["models_folder"].value)
    for process in PROCESSES:
        for suffix in (".bpmn", ".pnml", "_map.svg", "_map.png"):
            assert (folder / f"{process}{suffix}").stat().st_size > 0
