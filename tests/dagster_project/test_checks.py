"""Asset checks called as functions, and a blocking check stopping the optimization."""

from pathlib import Path

import dagster as dg
import polars as pl

from dagster_project.defs import checks, exports, mining, optimization
from dagster_project.defs.checks import cost_model_valid, event_log_schema, plan_feasible
from dagster_project.defs.optimization import CostModel, SourcingPlan, solver_config
from dagster_project.defs.resources import SolverSettings
from optimize.build import build_instance
from optimize.costfile import load_costs
from optimize.evaluate import evaluate
from optimize.model import solve
from pipelines.errors import Problem
from pipelines.schema import SCHEMA
from tests.dagster_project.conftest import DATA, QUIET, resources

UTC = pl.Datetime("us", "UTC")


def _log(**overrides: list) -> pl.DataFrame:
    data = {
        "case_id": ["c1", "c1"],
        "activity": ["Check", "Post"],
        "timestamp": [None, None],
        "start_timestamp": [None, None],
        "resource": ["ann", None],
        "role": [None, None],
        "process": ["ap", "ap"],
        "system": ["ERP", "ERP"],
    }
    frame = pl.DataFrame(data, schema=SCHEMA).with_columns(
        timestamp=pl.datetime(2025, 1, 2, 10, time_zone="UTC").cast(UTC)
    )
    return frame.with_columns(**{k: pl.Series(v) for k, v in overrides.items()})


def test_event_log_schema_passes_a_normalized_log() -> None:
    result = event_log_schema(_log())
    assert result.passed


def test_event_log_schema_names_every_problem() -> None:
    bad = (
        _log(case_id=["c1", None])
        .drop("role")
        .with_columns(pl.col("resource").cast(pl.Int64, strict=False))
    )
    result = event_log_schema(bad)
    assert not result.passed
    assert result.metadata["problems"].value == (
        "- column `resource` is Int64, expected String\n"
        "- column `role` is missing\n"
        "- column `case_id` has 1 empty values"
    )


def test_cost_model_valid_fails_on_problems() -> None:
    problem = Problem("costs.yaml", "offers[0].price_per_case: must be ≥ 0", 12)
    result = cost_model_valid(CostModel("costs.yaml", None, problems=(problem,)))
    assert not result.passed
    assert result.metadata["details"].value == (
        "- `error: costs.yaml:12: offers[0].price_per_case: must be ≥ 0`"
    )


def _plan(name: str) -> SourcingPlan:
    costs = load_costs(DATA / "costs" / name)
    instance = build_instance(costs, None, source=name).instance
    result = solve(instance, solver_config(SolverSettings(time_limit_seconds=10, workers=1)))
    evaluation = evaluate(instance, result.plan) if result.plan is not None else None
    return SourcingPlan(result, evaluation)


def test_plan_feasible_on_worked_instance_i1() -> None:
    plan = _plan("I1.yaml")
    result = plan_feasible(plan)
    assert result.passed
    assert result.metadata["evaluator_total"].value == 282_500.0
    assert result.metadata["solver_objective"].value == 282_500.0


def test_plan_feasible_fails_when_totals_differ_or_no_plan() -> None:
    plan = _plan("I1.yaml")
    tampered = SourcingPlan(
        plan.result, plan.evaluation.__class__(**{**plan.evaluation.__dict__, "total_cents": 1})
    )
    assert not plan_feasible(tampered).passed
    assert checks.plan_problems(tampered) == [
        "evaluator total 1 cents differs from the solver's objective 28250000 cents"
    ]
    infeasible = _plan("I5.yaml")
    assert not plan_feasible(infeasible).passed
    assert checks.plan_problems(infeasible) == ["no plan: solver status infeasible"]


def _optimize_assets() -> list:
    return [
        mining.mined_tables_from_folder,
        optimization.cost_model,
        optimization.sourcing_plan,
        optimization.break_even,
        optimization.sensitivity,
        optimization.pareto_front,
        *exports.export_assets(mining=False, optimization=True),
        checks.cost_model_valid,
        checks.plan_feasible,
    ]


def test_a_bad_cost_file_fails_the_blocking_check_and_stops_the_optimization(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    bad = DATA / "costs" / "bad" / "negative_price.yaml"
    result = dg.materialize(
        _optimize_assets(),
        instance=instance,
        resources=resources(tmp_path / "out", cost_file=str(bad)),
        run_config=QUIET,
        raise_on_error=False,
    )
    assert not result.success
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {"cost_model_valid": False}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "cost_model" in materialized
    assert "sourcing_plan" not in materialized and "csv_exports" not in materialized
    model = result.asset_value("cost_model")
    assert [str(p) for p in model.problems] == [
        f"error: {bad}:12: offers[0].price_per_case: must be ≥ 0 — got -3.1; "
        "amounts, counts and hours cannot be negative"
    ]
    assert not (tmp_path / "out").exists()


def test_the_optimization_subgraph_on_i1_publishes_the_section_7_files(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        _optimize_assets(),
        instance=instance,
        resources=resources(tmp_path / "out", cost_file=str(DATA / "costs" / "I1.yaml")),
        run_config=QUIET,
    )
    assert result.success
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [
        ".bpo-results",
        "break_even.csv",
        "cost_breakdown.csv",
        "inputs.json",
        "pareto.csv",
        "providers.csv",
        "report.html",
        "sensitivity.csv",
        "solver.csv",
        "sourcing_plan.csv",
        "systems_plan.csv",
    ]
    plan = pl.read_csv(tmp_path / "out" / "sourcing_plan.csv")
    assert plan.select("process", "decision").rows() == [("P1", "A")]
    materialization = instance.get_latest_materialization_event(dg.AssetKey("sourcing_plan"))
    meta = materialization.asset_materialization.metadata
    assert meta["plan_cost"].value == 282_500.0
    assert meta["total_saving"].value == 17_500.0
