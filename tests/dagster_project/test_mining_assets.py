"""The process_models graph asset: one step per process, or one step for all, same results."""

from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from dagster_project.defs.io import ParquetPickleIOManager
from dagster_project.defs.mining import (
    ALL_PROCESSES_KEY,
    ProcessModels,
    discovery_batches,
    mapping_key,
    process_models,
)
from dagster_project.defs.resources import BpoInputs, Progress
from mining.kpis import MiningConfig
from pipelines.demo import generate
from pipelines.schema import SCHEMA

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
MODES = ("per_process", "single")


def _events(process: str, case: str, activities: list[str | None]) -> pl.DataFrame:
    n = len(activities)
    frame = pl.DataFrame(
        {
            "case_id": [case] * n,
            "activity": activities,
            "timestamp": [None] * n,
            "start_timestamp": [None] * n,
            "resource": ["ann"] * n,
            "role": [None] * n,
            "process": [process] * n,
            "system": ["ERP"] * n,
        },
        schema=SCHEMA,
    )
    start = pl.datetime(2025, 3, 3, 9, time_zone="UTC")
    step = pl.duration(hours=pl.int_range(0, n))
    return frame.with_columns(timestamp=(start + step).cast(SCHEMA["timestamp"]))


def _materialize(
    log: pl.DataFrame, instance: dg.DagsterInstance, mode: str, *, echo: bool = False
) -> dg.ExecuteInProcessResult:
    """`process_models` on `log` (given as the `event_log` asset), in-process."""

    @dg.asset(name="event_log")
    def given_log() -> pl.DataFrame:
        return log

    resources: dict[str, Any] = {
        "inputs": BpoInputs(sources=["given.csv"], discovery_steps=mode),
        "progress": Progress(echo=echo),
        "io_manager": ParquetPickleIOManager(),
    }
    return dg.materialize(
        [given_log, process_models], instance=instance, resources=resources, run_config=QUIET
    )


def _discovery_steps(result: dg.ExecuteInProcessResult) -> list[str]:
    return sorted(
        e.step_key
        for e in result.get_step_success_events()
        if e.step_key.startswith("process_models.discover_processes")
    )


def _summary(models: ProcessModels) -> list[tuple[Any, ...]]:
    """Everything of the results but the run's folder, with the map SVG's content."""
    return [
        (
            r.process,
            r.fitness,
            r.precision,
            r.variants_total,
            r.variants_used,
            r.cases_kept_share,
            Path(r.svg).read_bytes(),
            Path(r.bpmn).name,
            Path(r.pnml).name,
        )
        for r in models.results
    ]


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_process_is_reported_and_the_others_proceed(
    instance: dg.DagsterInstance, mode: str
) -> None:
    log = pl.concat(
        [
            _events("payables", "c1", ["Receive", "Check", "Pay"]),
            _events("payables", "c2", ["Receive", "Pay"]),
            _events("broken", "c3", ["Start", None]),  # a missing activity name breaks discovery
        ]
    )
    result = _materialize(log, instance, mode)
    assert result.success
    value: ProcessModels = result.asset_value("process_models")
    assert [r.process for r in value.results] == ["payables"]
    assert [p for p, _ in value.failures] == ["broken"]
    assert value.failures[0][1].startswith("TypeError: ")
    meta = instance.get_latest_materialization_event(
        dg.AssetKey("process_models")
    ).asset_materialization.metadata
    assert meta["processes"].value == 1
    assert meta["failed_processes"].value == 1
    assert meta["failures"].value.startswith("- **broken**: TypeError")
    assert "![map](data:image/png;base64," in meta["map_payables"].value
    written = {p.name for p in Path(value.folder).iterdir()}
    assert {"payables.bpmn", "payables.pnml", "payables_map.svg", "payables_map.png"} <= written
    expected = ["broken", "payables"] if mode == "per_process" else [ALL_PROCESSES_KEY]
    assert _discovery_steps(result) == [f"process_models.discover_processes[{k}]" for k in expected]


def test_one_step_per_process_and_one_for_all_give_the_same_models(
    instance: dg.DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    log = generate(300, seed=3).log
    processes = sorted(log["process"].unique().to_list())
    assert len(processes) == 9
    found: dict[str, ProcessModels] = {}
    for mode in MODES:
        result = _materialize(log, instance, mode, echo=True)
        assert result.success
        found[mode] = result.asset_value("process_models")
        steps = _discovery_steps(result)
        keys = processes if mode == "per_process" else [ALL_PROCESSES_KEY]
        assert steps == [f"process_models.discover_processes[{k}]" for k in keys]
        err = capsys.readouterr().err
        for i, process in enumerate(processes, start=1):
            assert f"discovering process {i}/9: {process}\n" in err
    per_process, single = found["per_process"], found["single"]
    assert per_process.folder != single.folder  # each run has its own models folder
    assert [r.process for r in single.results] == processes
    assert per_process.failures == single.failures == ()
    assert _summary(per_process) == _summary(single)
    assert all(r.fitness > 0.9 for r in single.results)


def test_batches_hold_the_discovery_columns_with_handling_hours() -> None:
    log = pl.concat(
        [
            _events("b", "c1", ["X", "Y"]),
            _events("a", "c2", ["X"]),
            _events("a b", "c3", ["Z"]),
            _events("a-b", "c4", ["Z"]),
        ]
    )
    single = discovery_batches(log, MiningConfig(), "/m", per_process=False)
    assert [k for k, _ in single] == [ALL_PROCESSES_KEY]
    batch = single[0][1]
    assert [(i, p, f.height) for i, p, f in batch.processes] == [
        (1, "a", 1),
        (2, "a b", 1),
        (3, "a-b", 1),
        (4, "b", 2),
    ]
    assert batch.total == 4
    assert batch.processes[0][2].columns == [
        "case_id",
        "activity",
        "timestamp",
        "start_timestamp",
        "handling_hours",
    ]
    # No starts: resource gaps over the whole log. Y (10:00) follows ann's completion of Z in
    # process a-b at 09:00: 1 h. X (09:00) is ann's first completion: no gap, none to fill from.
    assert batch.processes[3][2]["handling_hours"].to_list() == [None, 1.0]
    split = discovery_batches(log, MiningConfig(), "/m", per_process=True)
    assert [(k, b.processes[0][1], b.total) for k, b in split] == [
        ("a", "a", 4),
        ("a_b", "a b", 4),
        ("a_b_2", "a-b", 4),
        ("b", "b", 4),
    ]
    empty = discovery_batches(log.clear(), MiningConfig(), "/m", per_process=True)
    assert [(k, b.processes) for k, b in empty] == [(ALL_PROCESSES_KEY, ())]


@pytest.mark.parametrize(
    ("name", "key"),
    [("accounts_payable", "accounts_payable"), ("Prüfung/Ω", "Pr_fung__"), ("", "process")],
)
def test_mapping_keys_are_dagster_safe(name: str, key: str) -> None:
    assert mapping_key(name, set()) == key
