"""The input files as observable source assets, and the optimization's automation conditions."""

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.defs.automation import with_automation
from dagster_project.defs.inputs import (
    COST_FILE,
    EVENT_LOG_FILES,
    NOTHING,
    cost_file,
    event_log_files,
    fingerprint,
    record_observations,
)
from dagster_project.defs.mining import mined_tables_from_folder
from dagster_project.defs.optimization import break_even, cost_model, sourcing_plan
from dagster_project.defs.resources import BpoInputs
from tests.dagster_project.conftest import DATA, QUIET, resources

COSTS = DATA / "costs"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- fingerprints


def test_one_file_is_versioned_by_its_sha256(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("case,activity,timestamp\n1,a,2025-01-01\n")
    found = fingerprint([str(log)])
    assert found.version == sha256(log)
    assert found.files == {str(log): (log.stat().st_size, log.stat().st_mtime_ns, sha256(log))}
    assert found.missing == () and found.databases == ()


def test_an_unchanged_file_keeps_its_hash_unread_and_a_touched_one_is_read(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("case,activity,timestamp\n1,a,2025-01-01\n")
    stat = log.stat()
    # A previous observation with this size and mtime: its hash is taken as it is.
    previous = {str(log): (stat.st_size, stat.st_mtime_ns, "f" * 64)}
    assert fingerprint([str(log)], previous).version == "f" * 64
    os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert fingerprint([str(log)], previous).version == sha256(log)
    log.write_text("case,activity,timestamp\n1,b,2025-01-01\n")  # same size, new content
    assert fingerprint([str(log)], previous).version == sha256(log)


def test_several_files_a_folder_a_missing_path_and_a_database(tmp_path: Path) -> None:
    one, folder = tmp_path / "a.xes", tmp_path / "dataset"
    one.write_text("<log/>")
    folder.mkdir()
    (folder / "part-0.parquet").write_bytes(b"PAR1")
    (folder / ".hidden").write_bytes(b"x")
    url = "postgresql://bpo:secret@db.example:5432/erp"
    found = fingerprint([str(one), str(folder), str(tmp_path / "gone.csv"), url])
    assert sorted(found.files) == [str(one), str(folder / "part-0.parquet")]
    assert found.missing == (str(tmp_path / "gone.csv"),)
    assert found.databases == ("postgresql://bpo:***@db.example:5432/erp",)
    lines = [
        f"{one}\t{sha256(one)}",
        f"{folder / 'part-0.parquet'}\t{sha256(folder / 'part-0.parquet')}",
    ]
    lines.append(f"{tmp_path / 'gone.csv'}\tmissing")
    assert found.version == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    assert fingerprint([]).version == NOTHING


# --------------------------------------------------------------------------- observations


def observe(
    instance: dg.DagsterInstance, res: dict, assets: list | None = None
) -> dg.ExecuteInProcessResult:
    """Run the code location's `observe_inputs` job over the given resources."""
    assets = assets or [event_log_files, cost_file]
    selection = dg.AssetSelection.assets(*(a.key for a in assets))
    job = dg.define_asset_job("observe_inputs", selection=selection)
    defs = dg.Definitions(assets=assets, jobs=[job], resources=res)
    return defs.resolve_job_def("observe_inputs").execute_in_process(instance=instance)


def latest_version(instance: dg.DagsterInstance, key: str) -> str | None:
    records = instance.fetch_observations(dg.AssetKey(key), limit=1).records
    return records[0].asset_observation.data_version if records else None


def test_observing_records_the_files_hashes_as_data_versions(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    log, costs = tmp_path / "log.xes", tmp_path / "costs.yaml"
    log.write_text("<log/>")
    costs.write_text((COSTS / "I3.yaml").read_text())
    res = resources(tmp_path / "out", sources=[str(log)], cost_file=str(costs))
    assert observe(instance, res).success
    assert latest_version(instance, EVENT_LOG_FILES) == sha256(log)
    assert latest_version(instance, COST_FILE) == sha256(costs)
    costs.write_text(costs.read_text() + "# edited\n")
    assert observe(instance, res).success
    assert latest_version(instance, COST_FILE) == sha256(costs)
    assert latest_version(instance, EVENT_LOG_FILES) == sha256(log)


def test_observing_the_demo_versions_its_generated_files(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    res = resources(tmp_path / "out", demo_cases=500)
    assert observe(instance, res).success  # generates the demo company, as a run would
    inputs = BpoInputs(demo_cases=500)
    log = Path(inputs.log_sources(instance.root_directory)[0])
    costs = Path(inputs.cost_path(instance.root_directory))
    assert latest_version(instance, EVENT_LOG_FILES) == sha256(log)
    assert latest_version(instance, COST_FILE) == sha256(costs)
    costs.write_text(costs.read_text() + "# edited\n")
    record_observations(instance, inputs, [COST_FILE])  # what the CLI does before a run
    assert latest_version(instance, COST_FILE) == sha256(costs)
    assert latest_version(instance, EVENT_LOG_FILES) == sha256(log)


def test_a_mined_folder_without_cost_file_observes_nothing(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    res = resources(tmp_path / "out", mined_folder=str(tmp_path))
    assert observe(instance, res, [cost_file]).success
    assert latest_version(instance, COST_FILE) == NOTHING
    assert not (Path(instance.root_directory) / "demo").exists()


# --------------------------------------------------------------------------- automation


def evaluate(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursor: object = None
) -> dg.EvaluateAutomationConditionsResult:
    """`dg.evaluate_automation_conditions` in a thread of its own.

    It calls `asyncio.run`, which refuses to run where an event loop is running already, as in
    a test worker that holds the browser tests' Playwright session.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(
            dg.evaluate_automation_conditions, defs=defs, instance=instance, cursor=cursor
        ).result()


def requested(result: dg.EvaluateAutomationConditionsResult, keys: list[str]) -> list[str]:
    return [k for k in keys if result.get_requested_partitions(dg.AssetKey(k))]


def test_the_optimization_re_runs_once_per_cost_file_edit_or_new_kpis(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """What the hand-written sensor did, now through observations and `eager()` conditions."""
    costs = tmp_path / "costs.yaml"
    costs.write_text((COSTS / "I3.yaml").read_text())
    res = resources(tmp_path / "out", cost_file=str(costs))
    optimization = with_automation(
        [mined_tables_from_folder, cost_model, sourcing_plan, break_even]
    )
    defs = dg.Definitions(assets=[cost_file, *optimization], resources=res)
    plan = ["cost_model", "sourcing_plan", "break_even"]
    keys = ["cost_file", "process_kpis", *plan]

    def tick(cursor: object) -> dg.EvaluateAutomationConditionsResult:
        return evaluate(defs, instance, cursor)

    mined = [mined_tables_from_folder]
    assert dg.materialize(mined, instance=instance, resources=res, run_config=QUIET).success
    assert observe(instance, res, [cost_file]).success
    first = tick(None)
    assert requested(first, keys) == []  # the first evaluation only takes the state in
    second = tick(first.cursor)
    assert requested(second, keys) == []
    costs.write_text(costs.read_text().replace("price_per_case: 8}", "price_per_case: 6}"))
    assert observe(instance, res, [cost_file]).success
    third = tick(second.cursor)
    assert requested(third, keys) == plan
    assert requested(tick(third.cursor), keys) == []  # requested once, not on every tick
    assert observe(instance, res, [cost_file]).success  # same content: same data version
    fifth = tick(third.cursor)
    assert requested(fifth, keys) == []
    assert dg.materialize(mined, instance=instance, resources=res, run_config=QUIET).success
    sixth = tick(fifth.cursor)
    assert requested(sixth, keys) == plan  # the process KPIs changed
    # KPIs re-materialized by a run that also optimized: nothing left to do.
    both = [mined_tables_from_folder, cost_model, sourcing_plan, break_even]
    assert dg.materialize(both, instance=instance, resources=res, run_config=QUIET).success
    assert requested(tick(sixth.cursor), keys) == []


@pytest.mark.parametrize("missing", ["kpis", "cost_file"])
def test_nothing_runs_while_an_input_is_missing(
    tmp_path: Path, instance: dg.DagsterInstance, missing: str
) -> None:
    costs = tmp_path / "costs.yaml"
    costs.write_text((COSTS / "I3.yaml").read_text())
    res = resources(tmp_path / "out", cost_file=str(costs))
    optimization = with_automation([mined_tables_from_folder, cost_model, sourcing_plan])
    defs = dg.Definitions(assets=[cost_file, *optimization], resources=res)
    first = evaluate(defs, instance)
    if missing != "kpis":
        mined = [mined_tables_from_folder]
        assert dg.materialize(mined, instance=instance, resources=res, run_config=QUIET).success
    if missing != "cost_file":
        assert observe(instance, res, [cost_file]).success
    later = evaluate(defs, instance, first.cursor)
    assert later.total_requested == 0
