"""The whole graph with asset values and results in an object store (fsspec's memory store).

The same code path as `s3://`/`gs://`/`abfs://` (universal-pathlib over fsspec), without a
network: `BpoOutput.folder` and the IO manager's base are `memory://` URLs.
"""

import io
from pathlib import Path

import dagster as dg
import fsspec
import polars as pl
import pytest

from dagster_project.definitions import ASSETS, CHECKS
from dagster_project.defs.io import ParquetPickleIOManager
from dagster_project.defs.resources import BpoOutput, demo_paths
from dagster_project.store_publish import read_manifest, read_published
from tests.dagster_project.conftest import QUIET, resources

BASE = "memory://bpo-run-test"


@pytest.mark.slow  # two in-process runs of the whole pipeline on 300 demo cases: ~30 s
def test_a_run_keeps_values_and_results_in_the_object_store(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    memory = fsspec.filesystem("memory")
    if memory.exists("/bpo-run-test"):
        memory.rm("/bpo-run-test", recursive=True)
    demo_paths(instance.root_directory, 300, 7)
    chosen = {
        **resources(tmp_path / "unused", demo_cases=300, demo_seed=7),
        "output": BpoOutput(folder=f"{BASE}/results"),
        "io_manager": ParquetPickleIOManager(base_dir=f"{BASE}/storage"),
    }
    first = dg.materialize([*ASSETS, *CHECKS], instance=instance, resources=chosen,
                           run_config=QUIET)  # fmt: skip
    assert first.success
    files = read_published(f"{BASE}/results")  # every file checked against the manifest
    assert {"process_kpis.csv", "sourcing_plan.csv", "report.html", "normalized_log.parquet"} <= (
        set(files)
    )
    models = [f for f in files if f.startswith("models/") and f.endswith(".bpmn")]
    assert len([f for f in models if not f.endswith("_to_be.bpmn")]) == 9  # one per process
    kpis = pl.read_csv(io.BytesIO(files["process_kpis.csv"]))
    assert kpis["process"].to_list() == first.asset_value("process_kpis")["process"].to_list()
    stored = memory.find(f"/bpo-run-test/storage/runs/{first.run_id}")
    assert f"/bpo-run-test/storage/runs/{first.run_id}/event_log.parquet" in stored
    local = Path(instance.storage_directory())
    assert not [p for p in local.rglob("*") if p.suffix in (".parquet", ".pkl")]
    assert not (tmp_path / "unused").exists()
    published = first.asset_materializations_for_node("csv_exports")[0].metadata["folder"]
    assert published.value == f"{BASE}/results"

    version = read_manifest(f"{BASE}/results")["version"]
    second = dg.materialize([*ASSETS, *CHECKS], instance=instance, resources=chosen,
                            run_config=QUIET)  # fmt: skip
    assert second.success
    assert read_manifest(f"{BASE}/results")["version"] != version
    assert read_published(f"{BASE}/results")["process_kpis.csv"] == files["process_kpis.csv"]
    memory.rm("/bpo-run-test", recursive=True)
