"""The process_models asset, invoked directly: one failing process does not stop the others."""

from pathlib import Path

import dagster as dg
import polars as pl

from dagster_project.defs.mining import ProcessModels, process_models
from dagster_project.defs.resources import BpoInputs, Progress
from pipelines.schema import SCHEMA


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


def test_a_failing_process_is_reported_and_the_others_proceed(tmp_path: Path) -> None:
    log = pl.concat(
        [
            _events("payables", "c1", ["Receive", "Check", "Pay"]),
            _events("payables", "c2", ["Receive", "Pay"]),
            _events("broken", "c3", ["Start", None]),  # a missing activity name breaks discovery
        ]
    )
    home = tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        context = dg.build_asset_context(
            instance=instance,
            resources={"inputs": BpoInputs(sources=["x.csv"]), "progress": Progress()},
        )
        output = process_models(context, event_log=log)
    value: ProcessModels = output.value
    assert [r.process for r in value.results] == ["payables"]
    assert [p for p, _ in value.failures] == ["broken"]
    assert value.failures[0][1].startswith("TypeError: ")
    assert output.metadata["failed_processes"].value == 1
    assert output.metadata["failures"].value.startswith("- **broken**: TypeError")
    assert "![map](data:image/png;base64," in output.metadata["map_payables"].value
    written = {p.name for p in Path(value.folder).iterdir()}
    assert {"payables.bpmn", "payables.pnml", "payables_map.svg"} <= written
