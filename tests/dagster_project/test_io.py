"""The IO manager: frames as Parquet, other values pickled, one folder per run."""

from pathlib import Path

import dagster as dg
import polars as pl

from dagster_project.defs.io import ParquetPickleIOManager
from tests.dagster_project.conftest import QUIET

calls: list[str] = []


@dg.asset
def frame() -> pl.DataFrame:
    calls.append("frame")
    return pl.DataFrame({"x": [1, 2, 3]})


@dg.asset
def summary(frame: pl.DataFrame) -> dict:
    return {"total": int(frame["x"].sum())}


def test_values_are_stored_per_run_and_loaded_from_the_latest(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    resources = {"io_manager": ParquetPickleIOManager()}
    first = dg.materialize(
        [frame, summary], instance=instance, resources=resources, run_config=QUIET
    )
    storage = Path(instance.storage_directory()) / "runs" / first.run_id
    assert pl.read_parquet(storage / "frame.parquet")["x"].to_list() == [1, 2, 3]
    assert (storage / "summary.pkl").exists()
    event = instance.get_latest_materialization_event(dg.AssetKey("frame"))
    assert event.asset_materialization.metadata["dagster/row_count"].value == 3

    calls.clear()
    second = dg.materialize(
        [frame, summary], instance=instance, resources=resources, run_config=QUIET,
        selection=["summary"],
    )  # fmt: skip
    assert calls == []  # the frame came from the first run's folder
    assert second.asset_value("summary") == {"total": 6}
    assert sorted(p.name for p in (storage.parent / second.run_id).iterdir()) == ["summary.pkl"]
