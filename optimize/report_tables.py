"""The sourcing result tables (docs/results.md) as polars frames (money in currency units, 2 dp).

`tables` turns an instance, its solve result, the evaluator's view of the plan and of the status
quo, and the analyses into the frames written as `sourcing_plan.csv`, `systems_plan.csv`,
`providers.csv`, `cost_breakdown.csv`, `break_even.csv`, `sensitivity.csv`, `pareto.csv` and
`solver.csv`. Shared costs (systems, vendor management, coordination) are never allocated to
processes (docs/sourcing-model.md §1): per-process plan costs are the process's own avoidable costs.
"""

from fractions import Fraction

import polars as pl

from optimize.analysis import Analyses
from optimize.evaluate import COMPONENTS, Evaluation, ProcessEval, evaluate, status_quo
from optimize.instance import BP, IN_HOUSE, Instance, Plan, item_cost, round_half_up
from optimize.model import SolveResult


def _eur(cents: int | None) -> float | None:
    return None if cents is None else round(cents / 100, 2)


def _price(cents: Fraction | None) -> float | None:
    return None if cents is None else round(float(cents) / 100, 4)


def _reason(instance: Instance, plan: Plan, pid: str, standalone_cheaper: bool) -> str:
    p = instance.process_by_id[pid]
    opt = plan.assignment[pid]
    if opt != IN_HOUSE:
        return "cheaper" if standalone_cheaper else "coupled"
    if p.core:
        return "core"
    offers = [o for o in instance.offers if o.process == pid]
    if not offers:
        return "no_offer"
    why = {o.provider: instance.ineligibility(pid, o.provider) for o in offers}
    if all(why.values()):
        parts = sorted({r for rs in why.values() for r in rs})
        return "ineligible:" + "+".join(parts)
    return "not_cheaper"


def _process_plan_cost(instance: Instance, ev: Evaluation, pe: ProcessEval) -> tuple[int, int]:
    """(annual plan cost, one-time cost) of one process: rebate and governance at its provider.

    The evaluator's figures, with the offer's gross spend replaced by its `item_cost`.
    """
    if pe.option == IN_HOUSE:
        return pe.annual_cents, pe.one_time_cents
    o = instance.offer(pe.process, pe.option)
    spend = instance.offer_spend_cents(o) if o else 0
    pv = next(x for x in ev.per_provider if x.provider == pe.option)
    cost = pe.annual_cents - spend + item_cost(spend, pv.rebate_bp, instance.study.governance_bp)
    return cost, pe.one_time_cents


def sourcing_plan(
    instance: Instance, plan: Plan, ev: Evaluation, marginal: dict[str, int | None]
) -> pl.DataFrame:
    """`sourcing_plan.csv`: one row per process."""
    rows = []
    per_process = {pe.process: pe for pe in ev.per_process}
    for p in instance.processes:
        opt = plan.assignment[p.id]
        cost, one_time = _process_plan_cost(instance, ev, per_process[p.id])
        rows.append(
            {
                "process": p.id,
                "decision": opt,
                "reason": _reason(instance, plan, p.id, cost <= p.inhouse_total_cents),
                "status_quo_cost": _eur(p.inhouse_total_cents),
                "plan_cost": _eur(cost),
                "saving": _eur(p.inhouse_total_cents - cost),
                "one_time_cost": _eur(one_time),
                "cases_per_year": p.cases_per_year,
                "fte": p.fte,
                "marginal_value": _eur(marginal.get(p.id)),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "process": pl.String,
            "decision": pl.String,
            "reason": pl.String,
            "status_quo_cost": pl.Float64,
            "plan_cost": pl.Float64,
            "saving": pl.Float64,
            "one_time_cost": pl.Float64,
            "cases_per_year": pl.Int64,
            "fte": pl.Float64,
            "marginal_value": pl.Float64,
        },
    )


def systems_plan(instance: Instance, plan: Plan) -> pl.DataFrame:
    """`systems_plan.csv`: one row per IT system."""
    rows = []
    for s in instance.systems:
        d = plan.systems.get(s.id, "keep")
        if d == "keep":
            after = s.run_cost_cents
        elif d == "retire":
            after = instance.study.annualise(s.decommission_cost_cents)
        else:
            t = instance.provider_by_id[d.split(":", 1)[1]].takeover_terms(s.id)
            after = (
                0
                if t is None
                else t.annual_fee_cents + instance.study.annualise(t.migration_cost_cents)
            )
        rows.append(
            {
                "system": s.id,
                "decision": d,
                "policy": s.policy,
                "users": ";".join(instance.users.get(s.id, ())),
                "annual_cost_before": _eur(s.run_cost_cents),
                "annual_cost_after": _eur(after),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "system": pl.String,
            "decision": pl.String,
            "policy": pl.String,
            "users": pl.String,
            "annual_cost_before": pl.Float64,
            "annual_cost_after": pl.Float64,
        },
    )


def providers_table(instance: Instance, ev: Evaluation) -> pl.DataFrame:
    """`providers.csv`: one row per contracted provider."""
    rows = []
    for pv in ev.per_provider:
        v = instance.provider_by_id[pv.provider]
        rows.append(
            {
                "provider": pv.provider,
                "location": v.location,
                "processes": ";".join(pv.processes),
                "systems": ";".join(pv.systems),
                "cases": pv.cases,
                "gross_fees": _eur(pv.spend_cents),
                "rebate_tier": pv.tier,
                "rebate_rate": pv.rebate_bp / BP,
                "rebate": _eur(pv.rebate_cents),
                "net_fees": _eur(pv.net_cents),
                "governance": _eur(pv.governance_cents),
                "vendor_management": _eur(pv.management_cents),
                "capacity_used": None if pv.capacity_used_bp is None else pv.capacity_used_bp / BP,
                "min_value_headroom": _eur(pv.min_value_headroom_cents),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "provider": pl.String,
            "location": pl.String,
            "processes": pl.String,
            "systems": pl.String,
            "cases": pl.Int64,
            "gross_fees": pl.Float64,
            "rebate_tier": pl.Int64,
            "rebate_rate": pl.Float64,
            "rebate": pl.Float64,
            "net_fees": pl.Float64,
            "governance": pl.Float64,
            "vendor_management": pl.Float64,
            "capacity_used": pl.Float64,
            "min_value_headroom": pl.Float64,
        },
    )


def economics(instance: Instance, ev: Evaluation, sq: Evaluation) -> dict[str, float | None]:
    """Annual cash saving, NPV over the horizon, one-time cash and payback years.

    The annual cash saving leaves out the annualised one-time costs; the NPV discounts it over
    the horizon at the study's rate (÷ `Study.crf`) and subtracts the one-time cash paid at the
    start; payback is one-time cash / annual cash saving (undiscounted; None when no saving).
    """
    study = instance.study
    cash_saving = sq.total_cents - (ev.total_cents - ev.components["annualised_one_time"])
    # The annuity factor Σ_{t=1..H} (1+i)^-t is exactly 1 / CRF(i, H).
    npv = round_half_up(cash_saving / study.crf) - ev.one_time_cash_cents
    payback = None
    if cash_saving > 0:
        payback = round(ev.one_time_cash_cents / cash_saving, 2)
    return {
        "annual_saving": _eur(sq.total_cents - ev.total_cents),
        "annual_cash_saving": _eur(cash_saving),
        "npv_over_horizon": _eur(npv),
        "one_time_cash": _eur(ev.one_time_cash_cents),
        "payback_years": payback,
    }


def cost_breakdown(instance: Instance, ev: Evaluation, sq: Evaluation) -> pl.DataFrame:
    """`cost_breakdown.csv`: component × (status_quo, plan), the total, then the economics."""
    rows = [
        {
            "component": c,
            "status_quo": _eur(sq.components[c]),
            "plan": _eur(ev.components[c]),
        }
        for c in COMPONENTS
    ]
    rows.append(
        {"component": "total", "status_quo": _eur(sq.total_cents), "plan": _eur(ev.total_cents)}
    )
    for k, val in economics(instance, ev, sq).items():
        rows.append({"component": k, "status_quo": None, "plan": val})
    return pl.DataFrame(
        rows, schema={"component": pl.String, "status_quo": pl.Float64, "plan": pl.Float64}
    )


def break_even_table(analyses: Analyses) -> pl.DataFrame:
    """`break_even.csv`: quoted and break-even price per offer, and the current decision."""
    return pl.DataFrame(
        [
            {
                "process": b.process,
                "provider": b.provider,
                "quoted_price": _price(b.quoted_price_cents),
                "break_even_price": _price(b.break_even_cents),
                "decision": "taken" if b.chosen else "not_taken",
                "note": b.note,
            }
            for b in analyses.break_even
        ],
        schema={
            "process": pl.String,
            "provider": pl.String,
            "quoted_price": pl.Float64,
            "break_even_price": pl.Float64,
            "decision": pl.String,
            "note": pl.String,
        },
    )


def sensitivity_table(analyses: Analyses) -> pl.DataFrame:
    """`sensitivity.csv`: the tornado data."""
    return pl.DataFrame(
        [
            {
                "parameter": s.parameter,
                "low_value": s.low_value,
                "high_value": s.high_value,
                "saving_low": _eur(s.saving_low_cents),
                "saving_high": _eur(s.saving_high_cents),
                "decision_flips_low": s.decision_flips_low,
                "decision_flips_high": s.decision_flips_high,
                "changes_low": s.changes_low,
                "changes_high": s.changes_high,
            }
            for s in analyses.sensitivity
        ],
        schema={
            "parameter": pl.String,
            "low_value": pl.Float64,
            "high_value": pl.Float64,
            "saving_low": pl.Float64,
            "saving_high": pl.Float64,
            "decision_flips_low": pl.Boolean,
            "decision_flips_high": pl.Boolean,
            "changes_low": pl.String,
            "changes_high": pl.String,
        },
    )


def pareto_table(analyses: Analyses) -> pl.DataFrame:
    """`pareto.csv`: every Pareto-optimal (cost, risk) plan."""
    return pl.DataFrame(
        [
            {
                "point": k + 1,
                "cost": _eur(pt.cost_cents),
                "risk": _eur(pt.risk_cents),
                "within_budget": pt.within_budget,
                "outsourced": ";".join(
                    f"{p}->{o}" for p, o in sorted(pt.plan.assignment.items()) if o != IN_HOUSE
                ),
            }
            for k, pt in enumerate(analyses.pareto)
        ],
        schema={
            "point": pl.Int64,
            "cost": pl.Float64,
            "risk": pl.Float64,
            "within_budget": pl.Boolean,
            "outsourced": pl.String,
        },
    )


def solver_table(result: SolveResult, ev: Evaluation | None) -> pl.DataFrame:
    """`solver.csv`: status, objective, best bound, gap, time, model size, evaluator check."""
    return pl.DataFrame(
        [
            {
                "status": result.status,
                "objective": _eur(result.objective_cents),
                "best_bound": _eur(result.bound_cents),
                "gap": result.gap,
                "seconds": round(result.seconds, 3),
                "variables": result.size.variables,
                "constraints": result.size.constraints,
                "evaluator_total": None if ev is None else _eur(ev.total_cents),
                "evaluator_agrees": None
                if ev is None
                else ev.total_cents == result.objective_cents,
            }
        ],
        schema={
            "status": pl.String,
            "objective": pl.Float64,
            "best_bound": pl.Float64,
            "gap": pl.Float64,
            "seconds": pl.Float64,
            "variables": pl.Int64,
            "constraints": pl.Int64,
            "evaluator_total": pl.Float64,
            "evaluator_agrees": pl.Boolean,
        },
    )


def tables(
    instance: Instance,
    result: SolveResult,
    analyses: Analyses | None = None,
    evaluation: Evaluation | None = None,
    status_quo_eval: Evaluation | None = None,
) -> dict[str, pl.DataFrame]:
    """All docs/results.md tables of a solved study.

    Args:
        instance: The study.
        result: Its solve result (with a plan).
        analyses: Break-even, sensitivity, Pareto and marginal values (empty tables if None).
        evaluation: The evaluator's view of `result.plan` (computed when None).
        status_quo_eval: The evaluator's view of the status quo (computed when None).

    Returns:
        Frames by name: `sourcing_plan`, `systems_plan`, `providers`, `cost_breakdown`,
        `break_even`, `sensitivity`, `pareto`, `solver`.

    Raises:
        ValueError: The result has no plan (infeasible or unknown).
    """
    if result.plan is None:
        raise ValueError(f"no plan to report (status {result.status})")
    analyses = analyses or Analyses()
    ev = evaluation or evaluate(instance, result.plan)
    sq = status_quo_eval or evaluate(instance, status_quo(instance))
    marginal = {m.process: m.marginal_cents for m in analyses.marginal}
    return {
        "sourcing_plan": sourcing_plan(instance, result.plan, ev, marginal),
        "systems_plan": systems_plan(instance, result.plan),
        "providers": providers_table(instance, ev),
        "cost_breakdown": cost_breakdown(instance, ev, sq),
        "break_even": break_even_table(analyses),
        "sensitivity": sensitivity_table(analyses),
        "pareto": pareto_table(analyses),
        "solver": solver_table(result, ev),
    }
