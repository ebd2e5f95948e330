"""The IO manager: frames as Parquet, other values pickled, one folder per run."""

import pickle
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from dagster_project.defs.io import ParquetPickleIOManager, cached_paths, clear_cache
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


@dg.op(out=dg.DynamicOut(int))
def split(frame: pl.DataFrame) -> Iterator[dg.DynamicOutput[int]]:
    for value in frame["x"].to_list():
        yield dg.DynamicOutput(value, mapping_key=f"x{value}")


@dg.op
def square(value: int) -> pl.DataFrame:
    return pl.DataFrame({"sq": [value * value]})


@dg.op
def combine(parts: list[pl.DataFrame]) -> dict:
    return {"squares": sorted(pl.concat(parts)["sq"].to_list())}


@dg.graph_asset
def squares(frame: pl.DataFrame) -> dict:
    return combine(split(frame).map(square).collect())


@pytest.mark.parametrize("keep_in_memory", [True, False])
def test_op_outputs_of_a_graph_asset_are_stored_per_step(
    instance: dg.DagsterInstance, keep_in_memory: bool
) -> None:
    clear_cache()
    resources = {"io_manager": ParquetPickleIOManager(keep_in_memory=keep_in_memory)}
    result = dg.materialize(
        [frame, squares], instance=instance, resources=resources, run_config=QUIET
    )
    assert result.success
    assert result.asset_value("squares") == {"squares": [1, 4, 9]}
    ops = Path(instance.storage_directory()) / "runs" / result.run_id / "ops"
    stored = sorted(str(p.relative_to(ops)) for p in ops.rglob("*") if p.is_file())
    assert stored == [
        "squares.split/result[x1].pkl",
        "squares.split/result[x2].pkl",
        "squares.split/result[x3].pkl",
        "squares.square[x1]/result.parquet",
        "squares.square[x2]/result.parquet",
        "squares.square[x3]/result.parquet",
    ]
    assert pl.read_parquet(ops / "squares.square[x3]/result.parquet", glob=False)[
        "sq"
    ].to_list() == [9]
    with (ops / "squares.split/result[x2].pkl").open("rb") as handle:
        assert pickle.load(handle) == 2
    assert len(cached_paths()) == (8 if keep_in_memory else 0)


seen: dict[str, object] = {}


@dg.asset
def produced() -> pl.DataFrame:
    value = pl.DataFrame({"x": [1, 2]})
    seen["produced"] = value
    return value


@dg.asset
def first_reader(produced: pl.DataFrame) -> int:
    seen["first_reader"] = produced
    return produced.height


@dg.asset(deps=[first_reader])
def rewriter(context: dg.AssetExecutionContext) -> None:
    """Replaces the stored `produced` behind the IO manager's back."""
    folder = Path(context.instance.storage_directory()) / "runs" / context.run.run_id
    pl.DataFrame({"x": [7, 8, 9]}).write_parquet(folder / "produced.parquet")


@dg.asset(deps=[rewriter])
def second_reader(produced: pl.DataFrame) -> list[int]:
    return produced["x"].to_list()


def test_values_of_this_run_come_from_memory_while_the_file_is_unchanged(
    instance: dg.DagsterInstance,
) -> None:
    clear_cache()
    seen.clear()
    resources = {"io_manager": ParquetPickleIOManager()}
    assets = [produced, first_reader, rewriter, second_reader]
    first = dg.materialize(assets, instance=instance, resources=resources, run_config=QUIET)
    assert seen["first_reader"] is seen["produced"]
    assert first.asset_value("second_reader") == [7, 8, 9]  # file changed: read from disk

    second = dg.materialize(
        [produced, first_reader], instance=instance, resources=resources, run_config=QUIET
    )
    folder = Path(instance.storage_directory()) / "runs" / second.run_id
    assert cached_paths() == [folder / "first_reader.pkl", folder / "produced.parquet"]


def test_stored_file_names_the_file_of_a_value_of_this_run(instance: dg.DagsterInstance) -> None:
    from dagster_project.defs.io import stored_file

    clear_cache()
    seen.clear()
    resources = {"io_manager": ParquetPickleIOManager()}
    run = dg.materialize(
        [produced, first_reader], instance=instance, resources=resources, run_config=QUIET
    )
    folder = Path(instance.storage_directory()) / "runs" / run.run_id
    assert stored_file(seen["produced"]) == folder / "produced.parquet"
    assert pl.read_parquet(folder / "produced.parquet").equals(seen["produced"])
    assert stored_file(seen["produced"].clone()) is None  # an equal frame is not that file
    assert stored_file(None) is None
    (folder / "produced.parquet").write_bytes(b"changed")
    assert stored_file(seen["produced"]) is None  # the file is no longer the value


# ------------------------------------------------------------------ object-store base path


def test_an_object_store_url_holds_the_same_layout(instance: dg.DagsterInstance) -> None:
    """fsspec's in-memory file system stands for S3/GCS/Azure: the URL path, no network."""
    import fsspec
    from upath import UPath

    from dagster_project.storage import storage_path

    memory = fsspec.filesystem("memory")
    memory.rm("/bpo-test", recursive=True) if memory.exists("/bpo-test") else None
    clear_cache()
    base = "memory://bpo-test/storage"
    resources = {"io_manager": ParquetPickleIOManager(base_dir=base, keep_in_memory=False)}
    first = dg.materialize(
        [frame, squares], instance=instance, resources=resources, run_config=QUIET
    )
    assert first.asset_value("squares") == {"squares": [1, 4, 9]}
    stored = sorted(
        p.removeprefix(f"/bpo-test/storage/runs/{first.run_id}/")
        for p in memory.find("/bpo-test/storage")
    )
    assert stored == [
        "frame.parquet",
        "ops/squares.split/result[x1].pkl",
        "ops/squares.split/result[x2].pkl",
        "ops/squares.split/result[x3].pkl",
        "ops/squares.square[x1]/result.parquet",
        "ops/squares.square[x2]/result.parquet",
        "ops/squares.square[x3]/result.parquet",
        "squares.pkl",
    ]
    assert not list(Path(instance.storage_directory()).rglob("*.parquet"))  # nothing local
    with memory.open(f"/bpo-test/storage/runs/{first.run_id}/frame.parquet", "rb") as handle:
        assert pl.read_parquet(handle)["x"].to_list() == [1, 2, 3]
    event = instance.get_latest_materialization_event(dg.AssetKey("frame"))
    metadata = event.asset_materialization.metadata
    assert metadata["path"].value == f"{base}/runs/{first.run_id}/frame.parquet"
    assert metadata["dagster/row_count"].value == 3

    calls.clear()
    second = dg.materialize(
        [frame, summary], instance=instance, resources=resources, run_config=QUIET,
        selection=["summary"],
    )  # fmt: skip
    assert calls == []  # read from the first run's prefix in the object store
    assert second.asset_value("summary") == {"total": 6}
    assert memory.exists(f"/bpo-test/storage/runs/{second.run_id}/summary.pkl")
    assert isinstance(storage_path(base), UPath)
    assert storage_path("file:///tmp/x") == Path("/tmp/x")
    memory.rm("/bpo-test", recursive=True)


def test_values_in_an_object_store_come_from_memory_while_unchanged(
    instance: dg.DagsterInstance,
) -> None:
    import fsspec

    memory = fsspec.filesystem("memory")
    clear_cache()
    seen.clear()
    resources = {"io_manager": ParquetPickleIOManager(base_dir="memory://bpo-cache/s")}
    first = dg.materialize(
        [produced, first_reader], instance=instance, resources=resources, run_config=QUIET
    )
    assert seen["first_reader"] is seen["produced"]
    assert [str(p) for p in cached_paths()] == [
        f"memory://bpo-cache/s/runs/{first.run_id}/first_reader.pkl",
        f"memory://bpo-cache/s/runs/{first.run_id}/produced.parquet",
    ]
    from dagster_project.defs.io import stored_file

    assert stored_file(seen["produced"]) is None  # not a local file to copy
    memory.rm("/bpo-cache", recursive=True)


MONTHS = dg.StaticPartitionsDefinition(["2025-01", "2025-02"])


@dg.asset(partitions_def=MONTHS)
def monthly(context: dg.AssetExecutionContext) -> pl.DataFrame:
    return pl.DataFrame({"month": [context.partition_key]})


@dg.asset(partitions_def=MONTHS)
def monthly_rows(monthly: pl.DataFrame) -> list[str]:
    return monthly["month"].to_list()


def test_a_partition_is_read_from_the_run_that_stored_that_partition(
    instance: dg.DagsterInstance,
) -> None:
    resources = {"io_manager": ParquetPickleIOManager(keep_in_memory=False)}
    runs = {
        month: dg.materialize(
            [monthly], instance=instance, resources=resources, run_config=QUIET,
            partition_key=month,
        ).run_id
        for month in ("2025-01", "2025-02")
    }  # fmt: skip
    storage = Path(instance.storage_directory()) / "runs"
    assert (storage / runs["2025-01"] / "monthly" / "2025-01.parquet").exists()
    # January's value lives in the older run, not in the latest materialization's
    january = dg.materialize(
        [monthly, monthly_rows], instance=instance, resources=resources, run_config=QUIET,
        partition_key="2025-01", selection=["monthly_rows"],
    )  # fmt: skip
    assert january.asset_value("monthly_rows") == ["2025-01"]
