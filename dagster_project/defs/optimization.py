"""Optimization: the cost model, the cost-minimal sourcing plan and how robust it is."""

from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl

from dagster_project.defs.common import try_load_costs
from dagster_project.defs.inputs import COST_FILE
from dagster_project.defs.landscape import landscape_metadata, render_landscape
from dagster_project.defs.mining import mined
from dagster_project.defs.resources import BpoInputs, Progress, SolverSettings
from dagster_project.defs.tables import table_metadata
from optimize import analysis, report_tables
from optimize.build import build_instance
from optimize.evaluate import Evaluation, evaluate, status_quo
from optimize.explain import Explanation, explain_infeasibility
from optimize.instance import IN_HOUSE, Instance
from optimize.model import SolverConfig, SolveResult, solve
from pipelines.errors import InputError, Problem

FEASIBLE = frozenset({"optimal", "feasible"})
"""Solver statuses that come with a plan."""


@dataclass(frozen=True)
class CostModel:
    """The priced sourcing problem, or why it could not be built.

    Attributes:
        cost_file: The cost file it was built from (None: none configured).
        instance: The typed instance the model solves (None when `problems` is not empty).
        provenance: Which values were mined and which overridden (a table of the builder).
        problems: Bad input that stops the optimization (the blocking check fails).
        warnings: Findings that do not stop it (e.g. a process in the log but not the file).
    """

    cost_file: str | None
    instance: Instance | None
    provenance: pl.DataFrame | None = None
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourcingPlan:
    """The solver's answer, re-priced by the independent evaluator.

    Attributes:
        result: Status, plan, objective, bound, gap, time and model size from CP-SAT.
        evaluation: The evaluator's pricing of the plan (None without a plan).
        explanation: Minimal set of conflicting constraints when the model is infeasible.
        marginal: What each decision is worth (cost with the process forced in-house minus
            the optimum).
    """

    result: SolveResult
    evaluation: Evaluation | None = None
    explanation: Explanation | None = None
    marginal: tuple[analysis.MarginalValue, ...] = ()

    @property
    def feasible(self) -> bool:
        """Whether a plan was found."""
        return _status(self.result) in FEASIBLE and self.result.plan is not None


def resolve_config(settings: SolverSettings) -> SolverConfig:
    """The configuration of the analyses' many re-solves: at most 10 s each."""
    return SolverConfig(
        time_limit_s=min(settings.time_limit_seconds, 10.0), workers=settings.workers
    )


def _status(result: SolveResult) -> str:
    return str(result.status)


def solver_config(settings: SolverSettings) -> SolverConfig:
    """The CP-SAT configuration from the resource."""
    return SolverConfig(time_limit_s=settings.time_limit_seconds, workers=settings.workers)


@dg.asset(group_name="optimization", kinds={"python"}, deps=[COST_FILE])
def cost_model(  # noqa: PLR0917 (Dagster passes inputs by name)
    context: dg.AssetExecutionContext,
    inputs: BpoInputs,
    progress: Progress,
    process_kpis: pl.DataFrame | None,
    activity_stats: pl.DataFrame | None,
    handovers: pl.DataFrame | None,
    system_usage: pl.DataFrame | None,
) -> dg.Output[CostModel]:
    """What each process costs in-house today and what every offer would cost instead.

    Labour from mined handling times and role rates, provider fees and rebates, IT systems,
    one-time costs and coordination. A bad cost file fails its blocking check.
    """
    path = inputs.cost_path(context.instance.root_directory)
    progress.step(context, f"building the cost model from {path or 'no cost file'}")
    if path is None:
        problem = Problem(
            "costs",
            "no cost file configured; set the `inputs.cost_file` resource or pass --costs FILE",
        )
        model = CostModel(None, None, problems=(problem,))
    else:
        costs, problems = try_load_costs(path)
        if costs is None:
            model = CostModel(path, None, problems=problems)
        else:
            try:
                built = build_instance(
                    costs,
                    mined(process_kpis, activity_stats, handovers, system_usage),
                    source=path,
                )
            except InputError as err:
                model = CostModel(path, None, problems=err.problems)
            else:
                model = CostModel(
                    path,
                    built.instance,
                    built.provenance,
                    warnings=tuple(built.warnings),
                )
    metadata: dict[str, Any] = {
        "cost_file": dg.MetadataValue.text(path or "—"),
        "problems": dg.MetadataValue.int(len(model.problems)),
    }
    if model.instance is not None:
        inst = model.instance
        metadata |= {
            "processes": dg.MetadataValue.int(len(inst.processes)),
            "providers": dg.MetadataValue.int(len(inst.providers)),
            "offers": dg.MetadataValue.int(len(inst.offers)),
            "systems": dg.MetadataValue.int(len(inst.systems)),
            "currency": dg.MetadataValue.text(inst.study.currency),
        }
        if model.provenance is not None:
            metadata["provenance"] = table_metadata(model.provenance)
    if model.warnings:
        metadata["warnings"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in model.warnings))
        for warning in model.warnings:
            context.log.warning(warning)
    return dg.Output(model, metadata=metadata)


# The plan also names the cost file: Dagster marks an asset stale when a direct dependency
# has a new data version, and a cost-file edit is what makes the plan out of date.
@dg.asset(group_name="optimization", kinds={"ortools"}, deps=[COST_FILE])
def sourcing_plan(
    context: dg.AssetExecutionContext,
    cost_model: CostModel,
    solver: SolverSettings,
    progress: Progress,
) -> dg.Output[SourcingPlan]:
    """The cost-minimal split of processes and IT systems between in-house and providers.

    Found by CP-SAT, re-priced by an independent evaluator, with the value of each decision.
    When no plan can satisfy every rule, the smallest set of conflicting rules is explained.
    """
    if cost_model.instance is None:
        raise dg.Failure("the cost model has problems; see the cost_model_valid check")
    instance = cost_model.instance
    progress.step(context, "solving the sourcing model (CP-SAT)")
    result = solve(instance, solver_config(solver))
    status = _status(result)
    metadata: dict[str, Any] = {
        "status": dg.MetadataValue.text(status),
        "solver_seconds": dg.MetadataValue.float(float(result.seconds)),
    }
    if status in FEASIBLE and result.plan is not None:
        evaluation = evaluate(instance, result.plan)
        progress.step(context, "marginal value of each outsourcing decision")
        marginal = analysis.marginal_values(instance, result, resolve_config(solver))
        plan = SourcingPlan(result, evaluation, marginal=marginal)
        metadata |= plan_metadata(instance, plan)
        by_process = {m.process: m.marginal_cents for m in marginal}
        metadata["plan_table"] = table_metadata(
            report_tables.sourcing_plan(instance, result.plan, evaluation, by_process)
        )
        metadata["providers_table"] = table_metadata(
            report_tables.providers_table(instance, evaluation)
        )
        metadata |= landscape_metadata(render_landscape(instance, result.plan))
    elif status == "infeasible":
        progress.step(context, "the model is infeasible: finding the conflicting rules")
        explanation = explain_infeasibility(instance, time_limit_s=solver.time_limit_seconds)
        plan = SourcingPlan(result, explanation=explanation)
        metadata["infeasibility"] = dg.MetadataValue.md(
            "\n".join(f"- {line}" for line in explanation.lines)
        )
    else:
        plan = SourcingPlan(result)
    return dg.Output(plan, metadata=metadata)


def plan_metadata(instance: Instance, plan: SourcingPlan) -> dict[str, Any]:
    """Numbers the UI plots over runs: plan cost, status-quo cost, saving, solver gap."""
    result = plan.result
    assignment = result.plan.assignment if result.plan is not None else {}
    out: dict[str, Any] = {
        "gap": dg.MetadataValue.float(float(result.gap or 0.0)),
        "outsourced_processes": dg.MetadataValue.int(
            sum(1 for option in assignment.values() if option != IN_HOUSE)
        ),
        "plan": dg.MetadataValue.md(
            "| process | decision |\n|---|---|\n"
            + "\n".join(f"| {p} | {o} |" for p, o in sorted(assignment.items()))
        ),
    }
    if result.objective_cents is not None:
        out["solver_objective"] = dg.MetadataValue.float(result.objective_cents / 100)
    if plan.evaluation is not None:
        total = plan.evaluation.total_cents / 100
        before = evaluate(instance, status_quo(instance)).total_cents / 100
        out |= {
            "plan_cost": dg.MetadataValue.float(total),
            "status_quo_cost": dg.MetadataValue.float(before),
            "total_saving": dg.MetadataValue.float(before - total),
            "one_time_cash": dg.MetadataValue.float(plan.evaluation.one_time_cash_cents / 100),
            "risk_per_year": dg.MetadataValue.float(plan.evaluation.risk_cents / 100),
        }
    return out


def _require_plan(plan: SourcingPlan) -> None:
    if not plan.feasible:
        raise dg.Failure("no sourcing plan; see the plan_feasible check")


@dg.asset(group_name="optimization", kinds={"ortools"})
def break_even(
    context: dg.AssetExecutionContext,
    cost_model: CostModel,
    sourcing_plan: SourcingPlan,
    solver: SolverSettings,
    progress: Progress,
) -> Any:
    """For every offer, the price per case at which the decision for it would flip.

    How far a provider must move on price before the plan changes.
    """
    _require_plan(sourcing_plan)
    progress.step(context, "break-even prices per offer")
    return analysis.break_even(cost_model.instance, sourcing_plan.result, resolve_config(solver))


@dg.asset(group_name="optimization", kinds={"ortools"})
def sensitivity(
    context: dg.AssetExecutionContext,
    cost_model: CostModel,
    sourcing_plan: SourcingPlan,
    solver: SolverSettings,
    progress: Progress,
) -> Any:
    """How the saving moves when one assumption at a time moves: the tornado chart.

    Rates, volumes, prices, governance, horizon, discount rate — and whether the plan changes.
    """
    _require_plan(sourcing_plan)
    progress.step(context, "one-at-a-time sensitivity (re-solves)")
    return analysis.sensitivity(cost_model.instance, sourcing_plan.result, resolve_config(solver))


@dg.asset(group_name="optimization", kinds={"ortools"})
def pareto_front(
    context: dg.AssetExecutionContext,
    cost_model: CostModel,
    sourcing_plan: SourcingPlan,
    solver: SolverSettings,
    progress: Progress,
) -> Any:
    """Every plan for which no other plan is both cheaper and less risky.

    The trade-off between annual cost and provider risk, found by the ε-constraint method.
    """
    _require_plan(sourcing_plan)
    progress.step(context, "cost-versus-risk Pareto front (ε-constraint)")
    return analysis.pareto_front(cost_model.instance, resolve_config(solver))
