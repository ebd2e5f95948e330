"""Asset checks (see the README): blocking ones stop the assets downstream when they fail."""

from typing import Any

import dagster as dg
import polars as pl

from dagster_project.defs.ingestion import event_log as event_log_asset
from dagster_project.defs.optimization import CostModel, SourcingPlan
from dagster_project.defs.optimization import cost_model as cost_model_asset
from dagster_project.defs.optimization import sourcing_plan as sourcing_plan_asset
from dagster_project.defs.tables import table_metadata
from pipelines.quality import check_quality
from pipelines.schema import REQUIRED, SCHEMA


def schema_problems(log: pl.DataFrame) -> list[str]:
    """What is wrong with a frame as a normalized event log (docs/event-log.md); empty if fine."""
    problems: list[str] = []
    for name, dtype in SCHEMA.items():
        if name not in log.columns:
            problems.append(f"column `{name}` is missing")
        elif log.schema[name] != dtype:
            problems.append(f"column `{name}` is {log.schema[name]}, expected {dtype}")
    if log.is_empty():
        problems.append("the event log has no events")
    for name in REQUIRED:
        if name in log.columns and (nulls := log[name].null_count()):
            problems.append(f"column `{name}` has {nulls:,} empty values")
    return problems


@dg.asset_check(asset=event_log_asset, blocking=True)
def event_log_schema(event_log: pl.DataFrame) -> dg.AssetCheckResult:
    """The event log is complete and typed.

    Every column of docs/event-log.md with its type, no empty required values, at least one event.
    """
    problems = schema_problems(event_log)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none"),
            "columns": dg.MetadataValue.int(len(event_log.columns)),
        },
    )


@dg.asset_check(asset=event_log_asset)
def event_log_quality(event_log: pl.DataFrame) -> dg.AssetCheckResult:
    """Suspicious but usable data is flagged; the pipeline continues.

    Events out of order within a case, duplicates, timestamps far outside the window.
    """
    report = check_quality(event_log, "event_log")
    table = report.table
    metadata: dict[str, Any] = {
        "warnings": dg.MetadataValue.int(len(report.warnings)),
        "findings": table_metadata(table),
    }
    if report.warnings:
        metadata["details"] = dg.MetadataValue.md(
            "\n".join(f"- {w.message}" for w in report.warnings)
        )
    return dg.AssetCheckResult(
        passed=not report.warnings,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


@dg.asset_check(asset=cost_model_asset, blocking=True)
def cost_model_valid(cost_model: CostModel) -> dg.AssetCheckResult:
    """The cost/offer file is valid and a sourcing model could be built from it.

    Otherwise every problem is listed with its YAML path and the optimization does not run.
    """
    lines = [str(p) for p in cost_model.problems]
    return dg.AssetCheckResult(
        passed=cost_model.instance is not None and not lines,
        metadata={
            "problems": dg.MetadataValue.int(len(lines)),
            "details": dg.MetadataValue.md("\n".join(f"- `{ln}`" for ln in lines) or "none"),
        },
    )


def plan_problems(plan: SourcingPlan) -> list[str]:
    """Why a sourcing plan cannot be trusted; empty when it is feasible and totals agree."""
    result = plan.result
    if not plan.feasible:
        status = str(result.status)
        if plan.explanation is not None:
            return [f"no feasible plan ({status}):", *plan.explanation.lines]
        return [f"no plan: solver status {status}"]
    evaluation = plan.evaluation
    if evaluation is None:
        return ["the plan was not re-priced by the evaluator"]
    problems: list[str] = []
    if not evaluation.feasible:
        problems.append(
            "the evaluator finds the plan infeasible: " + "; ".join(evaluation.violations)
        )
    if evaluation.total_cents != result.objective_cents:
        problems.append(
            f"evaluator total {evaluation.total_cents} cents differs from the solver's "
            f"objective {result.objective_cents} cents"
        )
    return problems


@dg.asset_check(asset=sourcing_plan_asset, blocking=True)
def plan_feasible(sourcing_plan: SourcingPlan) -> dg.AssetCheckResult:
    """A plan was found and its totals are confirmed independently.

    The plan satisfies every rule when re-checked by the evaluator, and the evaluator's total
    equals the solver's objective to the cent.
    """
    problems = plan_problems(sourcing_plan)
    evaluation = sourcing_plan.evaluation
    metadata: dict[str, Any] = {
        "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none"),
    }
    if evaluation is not None:
        metadata["evaluator_total"] = dg.MetadataValue.float(evaluation.total_cents / 100)
        objective = sourcing_plan.result.objective_cents
        if objective is not None:
            metadata["solver_objective"] = dg.MetadataValue.float(objective / 100)
    return dg.AssetCheckResult(passed=not problems, metadata=metadata)
