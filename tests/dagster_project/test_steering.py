"""Steering assets (issue 8): monthly partitions, KPI history, drift, plan changes, conformance."""

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from bpo import cli
from dagster_project.defs.exports import export_assets
from dagster_project.defs.ingestion import event_log
from dagster_project.defs.mining import mined_tables, process_models
from dagster_project.defs.steering import (
    MONTHS,
    conformance_asset,
    drift,
    history_start,
    kpi_drift,
    kpi_history,
    monthly_event_log,
    monthly_kpis,
)
from dagster_project.report import ModelPair, ReportData, render_report
from mining.history import concat_history
from pipelines.demo_drift import EXPECTED_DRIFT, generate_drift
from tests.dagster_project.conftest import DATA, QUIET, resources

COSTS = DATA / "costs"


@pytest.fixture(scope="module")
def drift_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The drift demo (30,000 cases: every process has ≥ 50 cases a month) as Parquet."""
    path = tmp_path_factory.mktemp("drift") / "drift_demo.parquet"
    generate_drift(30_000, 7).log.write_parquet(path)
    return path


def test_drift_through_the_assets_flags_exactly_the_known_change(
    tmp_path: Path, instance: dg.DagsterInstance, drift_log: Path
) -> None:
    result = dg.materialize(
        [event_log, kpi_history, drift, kpi_drift],
        instance=instance,
        resources=resources(tmp_path / "out", sources=[str(drift_log)]),
        run_config=QUIET,
    )
    assert result.success
    found = result.asset_value("drift")
    assert set(found.select("process", "kpi").iter_rows()) == EXPECTED_DRIFT
    assert set(found["month"]) == {"2025-07"}
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "kpi_drift"
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["drifts"].value == 3
    details = check.metadata["details"].value
    assert "| accounts_payable | 2025-07 | cases |" in details
    assert "| customer_service | 2025-07 | rework_rate |" in details
    history = result.asset_value("kpi_history")
    assert history.group_by("process").len()["len"].to_list() == [12] * 9
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path == ["kpi_history"]
    ]
    metadata = event.materialization.metadata
    assert metadata["chart"].value.startswith("![KPI history per process](data:image/svg+xml")
    assert metadata["rows"].value == 108


def test_a_drift_threshold_is_configurable(
    tmp_path: Path, instance: dg.DagsterInstance, drift_log: Path
) -> None:
    res = resources(tmp_path / "out", sources=[str(drift_log)])
    assert dg.materialize([event_log], instance=instance, resources=res, run_config=QUIET).success
    config = {**QUIET, "ops": {"drift": {"config": {"rework_rate": 5.0}}}}
    result = dg.materialize(
        [event_log, kpi_history, drift, kpi_drift],
        selection=[kpi_history, drift],
        instance=instance,
        resources=res,
        run_config=config,
    )
    assert result.success
    found = result.asset_value("drift")
    assert set(found.select("process", "kpi").iter_rows()) == EXPECTED_DRIFT - {
        ("customer_service", "rework_rate")
    }


@pytest.mark.slow
def test_backfill_of_twelve_months_equals_the_history(
    tmp_path: Path, instance: dg.DagsterInstance, drift_log: Path
) -> None:
    res = resources(tmp_path / "out", sources=[str(drift_log)])
    whole = dg.materialize(
        [event_log, kpi_history], instance=instance, resources=res, run_config=QUIET
    )
    assert whole.success
    months = [f"2025-{m:02d}-01" for m in range(1, 13)]
    assert set(months) <= set(MONTHS.get_partition_keys())
    parts = []
    for key in months:
        result = dg.materialize(
            [event_log, monthly_event_log, monthly_kpis],
            selection=[monthly_event_log, monthly_kpis],
            partition_key=key,
            instance=instance,
            resources=res,
            run_config=QUIET,
        )
        assert result.success, key
        rows = result.asset_value("monthly_kpis")
        assert set(rows["month"]) == {key[:7]}
        parts.append(rows)
    history = whole.asset_value("kpi_history")
    assert history.group_by("process").len()["len"].unique().to_list() == [12]
    assert_frame_equal(concat_history(parts), history)
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("monthly_kpis")), limit=100
    ).records
    assert sorted(r.partition_key for r in records) == months


def test_history_start_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert history_start() == "2025-01-01"
    assert history_start("2023-11") == "2023-11-01"
    monkeypatch.setenv("BPO_HISTORY_START", "2024-03")
    assert history_start() == "2024-03-01"
    with pytest.raises(ValueError, match="write the log's first month as YYYY-MM"):
        history_start("2024-13")


# --------------------------------------------------------------------------- plan changes


def _with_price(tmp_path: Path, process: str, provider: str, price: float) -> Path:
    data = yaml.safe_load((COSTS / "I3.yaml").read_text())
    (offer,) = [o for o in data["offers"] if (o["process"], o["provider"]) == (process, provider)]
    offer["price_per_case"] = price
    path = tmp_path / "I3_changed.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _total(out: Path) -> float:
    breakdown = pl.read_csv(out / "cost_breakdown.csv")
    return float(breakdown.filter(pl.col("component") == "total")["plan"][0])


@pytest.mark.slow
def test_two_optimization_runs_name_the_moved_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    args = ["--out", str(out), "--time-limit", "10", "--workers", "1"]
    assert cli.main(["optimize", "--costs", str(COSTS / "I3.yaml"), *args]) == 0
    assert not (out / "plan_changes.csv").exists()
    inputs = json.loads((out / "inputs.json").read_text())
    assert inputs["offer_prices"]["P2@A"] == 8.0
    first = _total(out)
    # A's price for P2 drops from 8 to 6: P2 moves to A, P1 (no room left at A) moves to B.
    changed = _with_price(tmp_path, "P2", "A", 6)
    assert cli.main(["optimize", "--costs", str(changed), *args]) == 0
    second = _total(out)
    changes = pl.read_csv(out / "plan_changes.csv", infer_schema_length=None)
    assert changes.select("kind", "item", "before", "after").rows() == [
        ("provider changed", "P1", "A", "B"),
        ("provider changed", "P2", "B", "A"),
        ("total", "total", None, None),
    ]
    assert (first, second) == (195_000.0, 185_000.0)
    total = changes.filter(pl.col("kind") == "total")
    assert total["cost_difference"].item() == second - first == -10_000.0
    assert total["changed_inputs"].item() == "price P2@A: 8 → 6"
    report = (out / "report.html").read_text()
    assert "Changes since the previous plan" in report


# --------------------------------------------------------------------------- conformance


def _sequence_pnml(labels: list[str], path: Path) -> Path:
    """A PNML sequence model A → B → … with initial and final marking (written by hand)."""
    places = "".join(
        f'<place id="p{i}"><name><text>p{i}</text></name>'
        + ("<initialMarking><text>1</text></initialMarking>" if i == 0 else "")
        + "</place>"
        for i in range(len(labels) + 1)
    )
    transitions = "".join(
        f'<transition id="t{i}"><name><text>{label}</text></name></transition>'
        for i, label in enumerate(labels)
    )
    arcs = "".join(
        f'<arc id="a{i}" source="p{i}" target="t{i}"/><arc id="b{i}" source="t{i}" '
        f'target="p{i + 1}"/>'
        for i in range(len(labels))
    )
    final = f'<finalmarkings><marking><place idref="p{len(labels)}"><text>1</text></place>'
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><pnml><net id="net" '
        'type="http://www.pnml.org/version-2009/grammar/pnmlcoremodel"><page id="n0">'
        f"{places}{transitions}{arcs}</page>{final}</marking></finalmarkings></net></pnml>"
    )
    return path


def test_conformance_csv_and_the_models_side_by_side(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    traces = {f"c{i}": ["A", "B", "C"] for i in range(1, 5)} | {
        "c5": ["A", "C"],
        "c6": ["A", "B", "X", "C"],
    }
    rows = [
        (case, act, f"2025-01-0{day} {8 + i:02d}:00:00", "claims")
        for day, (case, acts) in enumerate(traces.items(), start=1)
        for i, act in enumerate(acts)
    ]
    log = tmp_path / "claims.csv"
    pl.DataFrame(
        rows, schema=["case_id", "activity", "timestamp", "process"], orient="row"
    ).write_csv(log)
    _sequence_pnml(["A", "B", "C"], tmp_path / "claims_documented.pnml")
    costs = tmp_path / "costs.yaml"
    costs.write_text(
        "schema_version: 1\nstudy: {horizon_years: 5, discount_rate: 0}\nprocesses:\n"
        "  - {id: claims, reference_model: claims_documented.pnml}\n"
    )
    out = tmp_path / "out"
    assets = [
        event_log,
        process_models,
        mined_tables,
        kpi_history,
        drift,
        conformance_asset,
        *export_assets(mining=True, optimization=False, steering=True),
    ]
    result = dg.materialize(
        assets,
        instance=instance,
        resources=resources(out, sources=[str(log)], cost_file=str(costs)),
        run_config=QUIET,
    )
    assert result.success
    table = pl.read_csv(out / "conformance.csv").drop("reference_model")
    expected = pl.DataFrame(
        {
            "process": ["claims", "claims"],
            "fitness": [1 - 2 / 36] * 2,
            "deviation": ["not in the model", "skipped"],
            "activity": ["X", "B"],
            "cases": [1, 1],
            "share_of_cases": [1 / 6, 1 / 6],
        }
    )
    assert_frame_equal(table.drop("precision"), expected, check_exact=False, rel_tol=1e-9)
    assert set(pl.read_csv(out / "conformance.csv")["reference_model"]) == {
        str(tmp_path / "claims_documented.pnml")
    }
    report = (out / "report.html").read_text()
    assert "Documented versus actual process" in report
    assert 'alt="documented model of claims"' in report
    assert 'alt="discovered model of claims"' in report
    assert {"kpi_history.csv", "drift.csv"} <= {p.name for p in out.iterdir()}


def test_no_conformance_csv_without_a_reference_model(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    out = tmp_path / "out"
    log = DATA / "running-example.xes"
    result = dg.materialize(
        [event_log, conformance_asset],
        instance=instance,
        resources=resources(out, sources=[str(log)]),
        run_config=QUIET,
    )
    assert result.success
    report = result.asset_value("conformance")
    assert report.references == () and report.table.is_empty()


# --------------------------------------------------------------------------- report


def test_report_shows_history_drift_changes_and_models() -> None:
    history = pl.DataFrame(
        {
            "process": ["ap", "ap", "ar", "ar"],
            "month": ["2025-01", "2025-02", "2025-01", "2025-02"],
            "cases": [100, 150, 80, 82],
            "effort_hours": [50.0, 75.0, 40.0, 41.0],
            "fte": [0.4, 0.6, 0.3, 0.3],
            "median_throughput_hours": [5.0, 5.0, 4.0, 4.0],
            "p90_throughput_hours": [20.0, 21.0, 10.0, 10.0],
            "rework_rate": [0.1, 0.1, 0.05, 0.05],
            "variants": [10, 12, 5, 5],
        }
    )
    drift_rows = pl.DataFrame(
        {
            "process": ["ap"],
            "month": ["2025-02"],
            "kpi": ["cases"],
            "value": [150.0],
            "baseline": [100.0],
            "change": [0.5],
            "threshold": [0.15],
        }
    )
    changes = pl.DataFrame({"kind": ["total"], "item": ["total"], "cost_difference": [-10.0]})
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    html = render_report(
        ReportData(
            title="t",
            history=history,
            drift=drift_rows,
            plan_changes=changes,
            model_pairs=(ModelPair("ap", svg, None),),
        )
    )
    assert "How the processes move month by month" in html
    assert html.count('class="drift"') == 1
    assert "Changes since the previous plan" in html
    assert "Documented versus actual process" in html and "(no discovered model)" in html
