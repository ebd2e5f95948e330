"""The whole graph on a small demo company, through `dg.materialize`."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from dagster_project.definitions import ASSETS, CHECKS
from dagster_project.defs.resources import demo_paths
from tests.dagster_project.conftest import QUIET, resources

SECTION_5 = {
    "process_kpis.csv": [
        "process", "cases", "events", "observation_days", "cases_per_year", "activities",
        "variants", "top_variant_share", "median_throughput_hours", "p90_throughput_hours",
        "handling_hours_per_case", "handling_time_source", "effort_hours_per_year", "fte",
        "rework_rate", "resources", "systems", "fitness",
    ],
    "activity_stats.csv": [
        "process", "activity", "executions", "executions_per_case", "mean_handling_minutes",
        "median_handling_minutes", "resources", "main_role", "main_system",
    ],
    "handovers.csv": ["from_process", "to_process", "handovers", "handovers_per_year"],
    "system_usage.csv": [
        "process", "system", "events", "events_per_year", "share_of_process_events",
    ],
}  # fmt: skip
SECTION_7 = {
    "sourcing_plan.csv": [
        "process", "decision", "reason", "status_quo_cost", "plan_cost", "saving",
        "one_time_cost", "cases_per_year", "fte",
    ],
    "systems_plan.csv": ["system", "decision", "annual_cost_before", "annual_cost_after"],
    "break_even.csv": ["process", "provider", "quoted_price", "break_even_price", "decision"],
    "providers.csv": [
        "provider", "processes", "cases", "gross_fees", "net_fees", "rebate_tier",
        "capacity_used", "min_value_headroom",
    ],
    "cost_breakdown.csv": ["component", "status_quo", "plan"],
    "sensitivity.csv": ["parameter", "saving_low", "saving_high"],
    "pareto.csv": ["cost", "risk"],
    "solver.csv": ["status", "objective", "best_bound", "gap", "seconds"],
}  # fmt: skip


@pytest.mark.slow
def test_materialize_everything_on_a_small_demo_company(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    out = tmp_path / "results"
    demo_paths(instance.root_directory, 1500, 7)
    result = dg.materialize(
        [*ASSETS, *CHECKS],
        instance=instance,
        resources=resources(out, demo_cases=1500, demo_seed=7),
        run_config=QUIET,
    )
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "event_log_schema": True,
        "event_log_quality": checks["event_log_quality"],  # the demo may carry warnings
        "cost_model_valid": True,
        "plan_feasible": True,
    }
    for name, columns in {**SECTION_5, **SECTION_7}.items():
        frame = pl.read_csv(out / name)
        assert [c for c in columns if c not in frame.columns] == [], name
        assert frame.height > 0, name
    kpis = pl.read_csv(out / "process_kpis.csv")
    assert kpis.height == 9
    models = sorted(p.name for p in (out / "models").iterdir())
    for process in kpis["process"]:
        assert {f"{process}.bpmn", f"{process}.pnml", f"{process}_map.svg"} <= set(models)
    assert (out / "report.html").stat().st_size > 50_000
    assert (
        pl.read_parquet(out / "normalized_log.parquet").height
        == result.asset_value("event_log").height
    )

    plan = result.asset_value("sourcing_plan")
    assert plan.evaluation.total_cents == plan.result.objective_cents
    solver = pl.read_csv(out / "solver.csv")
    assert solver["evaluator_agrees"].to_list() == [True]
    plan_csv = pl.read_csv(out / "sourcing_plan.csv")
    assert plan_csv["plan_cost"].sum() <= plan_csv["status_quo_cost"].sum()

    models_event = instance.get_latest_materialization_event(dg.AssetKey("process_models"))
    meta = models_event.asset_materialization.metadata
    maps = [k for k in meta if k.startswith("map_")]
    assert len(maps) == 9
    assert meta["map_accounts_payable"].value.count("](data:image/png;base64,iVBORw0KGgo") == 1
    plan_event = instance.get_latest_materialization_event(dg.AssetKey("sourcing_plan"))
    numbers = plan_event.asset_materialization.metadata
    assert numbers["total_saving"].value == pytest.approx(
        numbers["status_quo_cost"].value - numbers["plan_cost"].value
    )
    assert numbers["gap"].value == 0.0
    assert isinstance(numbers["plan_table"], dg.TableMetadataValue)
    assert len(numbers["plan_table"].records) == 9
    kpi_event = instance.get_latest_materialization_event(dg.AssetKey("process_kpis"))
    assert len(kpi_event.asset_materialization.metadata["table"].records) == 9
    # The transition roadmap (issue 16): its files, one to-be collaboration per outsourced
    # process (read back by pm4py), and the landscapes.
    outsourced = plan_csv.filter(pl.col("decision") != "in_house")["process"].to_list()
    roadmap = pl.read_csv(out / "roadmap.csv")
    assert sorted(roadmap["process"].to_list()) == sorted(outsourced)
    assert pl.read_csv(out / "roadmap_summary.csv")["status"].to_list() == ["optimal"]
    assert pl.read_csv(out / "roadmap_cashflow.csv").height == 20
    import pm4py

    for process in outsourced:
        model = pm4py.read_bpmn(str(out / "models" / f"{process}_to_be.bpmn"))
        kinds = {type(n).__name__ for n in model.get_nodes()}
        assert {"Participant", "SendTask", "Collaboration"} <= kinds, process
    assert {"landscape_before.svg", "landscape_after.png"} <= set(models)
