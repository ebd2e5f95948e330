"""Uncertainty: how sure the saving is, from the logs' own month-to-month variation (issue 15).

Thin over `optimize.uncertainty`. The asset runs only when the cost file has
`study.uncertainty`; without it, it returns None at once and writes nothing, so a study
without the section runs as before.
"""

from typing import Any

import dagster as dg
import polars as pl

from dagster_project.defs.common import try_load_costs
from dagster_project.defs.optimization import (
    CostModel,
    SourcingPlan,
    resolve_config,
    solver_config,
)
from dagster_project.defs.resources import Progress, SolverSettings
from dagster_project.defs.tables import table_metadata
from mining.kpis import MiningConfig, observation_window
from optimize import uncertainty as unc

HISTORY_TIMEZONE = "UTC"
"""The calendar of `kpi_history`'s months (as in the steering assets)."""


def run_uncertainty(
    cost_model: CostModel,
    sourcing_plan: SourcingPlan,
    solver: SolverSettings,
    history: unc.MonthlyVolumes | None,
) -> unc.UncertaintyResult | None:
    """The analysis of the chosen plan, or None without `study.uncertainty` or a plan."""
    costs, _ = try_load_costs(cost_model.cost_file)
    spec = unc.spec_from_costs(costs) if costs is not None else None
    if spec is None or cost_model.instance is None or not sourcing_plan.feasible:
        return None
    plan = sourcing_plan.result.plan
    assert plan is not None  # feasible
    return unc.analyse(
        cost_model.instance,
        plan,
        spec,
        history,
        resolve_config(solver),
        saa_config=solver_config(solver),
    )


def uncertainty_metadata(
    cost_model: CostModel, result: unc.UncertaintyResult | None
) -> dict[str, Any]:
    """Numbers the UI plots (`p_loss`, `saving_p5`, `saving_p50`, `saving_p95`) and tables."""
    if result is None or cost_model.instance is None:
        return {"enabled": dg.MetadataValue.bool(False)}
    s = result.summary
    out: dict[str, Any] = {
        "enabled": dg.MetadataValue.bool(True),
        "scenarios": dg.MetadataValue.int(s.scenarios),
        "p_loss": dg.MetadataValue.float(s.p_loss),
        "saving_mean": dg.MetadataValue.float(s.mean_cents / 100),
        "saving_p5": dg.MetadataValue.float(s.p5_cents / 100),
        "saving_p50": dg.MetadataValue.float(s.p50_cents / 100),
        "saving_p95": dg.MetadataValue.float(s.p95_cents / 100),
        "plan_infeasible_share": dg.MetadataValue.float(s.infeasible_share),
        "resolves": dg.MetadataValue.int(len(result.resolves)),
        "bootstrap_months": dg.MetadataValue.int(len(result.months)),
        "summary": dg.MetadataValue.text(unc.summary_line(s)),
        "decision_stability": table_metadata(unc.stability_table(result)),
    }
    for risk in result.plans:
        if risk.name != "deterministic" and risk.assignment:
            out |= {
                "robust_objective": dg.MetadataValue.text(risk.name),
                "robust_expected_cost": dg.MetadataValue.float(risk.expected_cents / 100),
                "robust_p95_cost": dg.MetadataValue.float(risk.p95_cents / 100),
                "robust_p_loss": dg.MetadataValue.float(risk.p_loss),
            }
    if result.plans:
        out["robust_plan"] = table_metadata(unc.plans_table(result))
    regret = result.mean_regret_cents
    if regret is not None:
        out["mean_regret"] = dg.MetadataValue.float(regret / 100)
    return out


def uncertainty_asset(history: bool) -> dg.AssetsDefinition:
    """The `uncertainty` asset; with `history` it bootstraps the log's months (`kpi_history`).

    Without `history` (`bpo optimize` on a mined folder: no event log) every process takes
    the triangular fallback of `study.uncertainty.ranges`.
    """
    ins = {"cost_model": dg.AssetIn("cost_model"), "sourcing_plan": dg.AssetIn("sourcing_plan")}
    if history:
        ins |= {"kpi_history": dg.AssetIn("kpi_history"), "event_log": dg.AssetIn("event_log")}

    @dg.asset(name="uncertainty", group_name="optimization", ins=ins, kinds={"ortools"})
    def uncertainty(
        context: dg.AssetExecutionContext,
        solver: SolverSettings,
        progress: Progress,
        **values: Any,
    ) -> dg.Output[Any]:
        """How sure the saving is: the plan and the status quo in a thousand scenarios.

        Volumes and handling hours resampled from the log's own months, prices, rates and
        transition costs moved by the cost file's ranges; the probability that the plan loses
        money, the saving's percentiles, regret and how often each decision stays optimal.
        Runs only when the cost file has `study.uncertainty`.
        """
        cost_model: CostModel = values["cost_model"]
        plan: SourcingPlan = values["sourcing_plan"]
        costs, _ = try_load_costs(cost_model.cost_file)
        months: unc.MonthlyVolumes | None = None
        if costs is not None and costs.study.uncertainty is not None:
            progress.step(context, "how sure is the saving (scenarios and re-solves)")
            frame: pl.DataFrame | None = values.get("kpi_history")
            log: pl.DataFrame | None = values.get("event_log")
            if frame is not None and log is not None and log.height and frame.height:
                start, end = observation_window(log, MiningConfig())
                months = unc.whole_months(frame, start, end, timezone=HISTORY_TIMEZONE)
        result = run_uncertainty(cost_model, plan, solver, months)
        if result is not None:
            context.log.info(unc.summary_line(result.summary))
        return dg.Output(result, metadata=uncertainty_metadata(cost_model, result))

    return uncertainty
