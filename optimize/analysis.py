"""Beyond the single optimum (docs/sourcing-model.md §6): break-even, sensitivity, risk, marginals.

Every analysis re-solves modified copies of the instance (`dataclasses.replace`) or the same
instance with forced options, each re-solve hinted with the base plan. Small instances solve in
milliseconds; the number of re-solves is bounded per analysis (see each function).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from fractions import Fraction

from optimize.evaluate import evaluate, status_quo
from optimize.instance import (
    BP,
    IN_HOUSE,
    Instance,
    Offer,
    Plan,
    round_half_up,
)
from optimize.model import SolverConfig, SolveResult, solve

# -- helpers ---------------------------------------------------------------------------------


def _scale(value: int, factor: Fraction) -> int:
    return round_half_up(Fraction(value) * factor)


def with_offer_price(
    instance: Instance, process: str, provider: str, price_cents: Fraction
) -> Instance:
    """A copy of `instance` in which the offer (process, provider) has another price per case."""
    offers = tuple(
        replace(o, price_per_case_cents=price_cents)
        if (o.process, o.provider) == (process, provider)
        else o
        for o in instance.offers
    )
    return replace(instance, offers=offers)


def _config(config: SolverConfig | None, hint: Plan | None) -> SolverConfig:
    base = config or SolverConfig(time_limit_s=10.0)
    return replace(base, hint=hint)


# -- break-even prices -----------------------------------------------------------------------


@dataclass(frozen=True)
class BreakEven:
    """The break-even price of one offer.

    Attributes:
        process: Process id.
        provider: Provider id.
        quoted_price_cents: The quoted price per case (cents, exact).
        break_even_cents: The price per case (cents, exact rational) at which the decision for
            this offer flips: for an offer taken, the highest price at which it is still taken;
            for one not taken, the price at which it would be taken. None when no price makes it
            flip (ineligible, infeasible when forced in, needed for feasibility).
        chosen: Whether the base plan takes the offer.
        note: Why there is no break-even price, or empty.
        solves: Re-solves spent on this offer.
    """

    process: str
    provider: str
    quoted_price_cents: Fraction
    break_even_cents: Fraction | None
    chosen: bool
    note: str
    solves: int


def _slope(instance: Instance, plan: Plan, process: str, provider: str) -> Fraction:
    """d(annual cost)/d(price per case) for `plan` with its tiers fixed (cents per cent)."""
    ev = evaluate(instance, plan)
    rebate_bp = next(pv.rebate_bp for pv in ev.per_provider if pv.provider == provider)
    n = instance.process_by_id[process].cases_per_year
    gov = instance.study.governance_bp
    return Fraction(n) * Fraction(BP - rebate_bp, BP) * Fraction(BP + gov, BP)


def break_even(
    instance: Instance,
    base_result: SolveResult,
    config: SolverConfig | None = None,
    offers: Iterable[tuple[str, str]] | None = None,
    max_iterations: int = 12,
) -> tuple[BreakEven, ...]:
    """Break-even price per offer (docs/sourcing-model.md §6).

    Let out = the optimum with the offer excluded (constant in its price) and in(P) = the optimum
    with the offer forced in at price P (piecewise linear, increasing in P; all-units rebates
    add downward jumps). Newton steps along the line of the current forced-in plan find the
    crossing in(P*) = out; each step is one re-solve at the new price (hinted), which also
    verifies it: the iteration stops when the re-solve returns the plan whose line was used.
    At most `max_iterations` re-solves per offer.

    Args:
        instance: The study.
        base_result: Its optimum (status optimal or feasible).
        config: Solver settings for the re-solves (default 10 s limit).
        offers: (process, provider) pairs to analyse; default every offer.
        max_iterations: Re-solve limit per offer.

    Returns:
        One `BreakEven` per offer, in instance order.
    """
    if base_result.plan is None or base_result.objective_cents is None:
        raise ValueError("break-even prices need a solved base instance")
    wanted = None if offers is None else set(offers)
    return tuple(
        _break_even_one(
            instance, base_result=base_result, o=o, config=config, max_iterations=max_iterations
        )
        for o in instance.offers
        if wanted is None or (o.process, o.provider) in wanted
    )


def _break_even_one(
    instance: Instance,
    *,
    base_result: SolveResult,
    o: Offer,
    config: SolverConfig | None,
    max_iterations: int,
) -> BreakEven:
    base_plan = base_result.plan
    assert base_plan is not None
    p, v = o.process, o.provider
    chosen = base_plan.assignment.get(p) == v
    q0 = o.price_per_case_cents

    def row(price: Fraction | None, note: str, solves: int) -> BreakEven:
        return BreakEven(p, v, q0, price, chosen, note, solves)

    reasons = instance.ineligibility(p, v)
    if reasons:
        return row(None, "ineligible: " + ", ".join(reasons), 0)
    solves = 0
    if chosen:
        out = solve(instance, _config(config, None), forbid=[(p, v)])
        solves += 1
        if out.objective_cents is None:
            return row(None, "needed for feasibility: no price makes it leave", solves)
        cost_out = out.objective_cents
    else:
        cost_out = base_result.objective_cents
    assert cost_out is not None

    def forced_in(price: Fraction, hint: Plan | None) -> SolveResult:
        return solve(with_offer_price(instance, p, v, price), _config(config, hint), force={p: v})

    price = q0
    res = forced_in(price, base_plan if chosen else None)
    solves += 1
    if res.plan is None:
        return row(None, "infeasible when forced in", solves)
    last_plan: Plan | None = None
    for _ in range(max_iterations):
        assert res.plan is not None and res.objective_cents is not None
        if (
            last_plan is not None
            and res.plan.key() == last_plan.key()
            and res.plan.tiers == last_plan.tiers
        ):
            return row(price, "", solves)
        inst_p = with_offer_price(instance, p, v, price)
        slope = _slope(inst_p, res.plan, p, v)
        step = Fraction(cost_out - res.objective_cents) / slope
        new_price = price + step
        if new_price < 0:
            if res.objective_cents > cost_out:
                return row(None, "not taken even at price 0", solves)
            new_price = Fraction(0)
        if step == 0:
            return row(price, "", solves)
        last_plan = res.plan
        price = new_price
        res = forced_in(price, last_plan)
        solves += 1
        if res.plan is None:
            return row(None, "infeasible when forced in near the break-even price", solves)
    return row(price, "not converged", solves)


# -- sensitivity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SensitivityRow:
    """One one-at-a-time parameter range.

    Attributes:
        parameter: What was varied (`inhouse_labour_rates`, `prices:<provider>`, …).
        low_value: The low setting (factor or value, as the parameter says).
        high_value: The high setting.
        saving_low_cents: Saving against the status quo at the low setting (None: infeasible).
        saving_high_cents: Saving at the high setting.
        decision_flips_low: Whether any process's decision differs from the base plan.
        decision_flips_high: Same at the high setting.
        changes_low: The changed decisions (`P2: A→in_house; …`).
        changes_high: Same at the high setting.
    """

    parameter: str
    low_value: float
    high_value: float
    saving_low_cents: int | None
    saving_high_cents: int | None
    decision_flips_low: bool
    decision_flips_high: bool
    changes_low: str
    changes_high: str


def _scale_labour(inst: Instance, f: Fraction, fte_too: bool) -> Instance:
    procs = tuple(
        replace(
            p,
            inhouse_cost_cents=_scale(p.inhouse_cost_cents, f),
            fte=float(Fraction(p.fte) * f) if fte_too else p.fte,
        )
        for p in inst.processes
    )
    return replace(inst, processes=procs)


def _scale_volume(inst: Instance, f: Fraction) -> Instance:
    procs = tuple(
        replace(
            p,
            cases_per_year=_scale(p.cases_per_year, f),
            inhouse_cost_cents=_scale(p.inhouse_cost_cents, f),
            fte=float(Fraction(p.fte) * f),
        )
        for p in inst.processes
    )
    couplings = tuple(
        replace(c, handovers_per_year=float(Fraction(c.handovers_per_year) * f))
        for c in inst.couplings
    )
    return replace(inst, processes=procs, couplings=couplings)


def _scale_prices(inst: Instance, provider: str, f: Fraction) -> Instance:
    offers = tuple(
        replace(
            o, price_per_case_cents=o.price_per_case_cents * f, fixed_cents=_scale(o.fixed_cents, f)
        )
        if o.provider == provider
        else o
        for o in inst.offers
    )
    return replace(inst, offers=offers)


def _scale_transition(inst: Instance, f: Fraction) -> Instance:
    offers = tuple(replace(o, transition_cents=_scale(o.transition_cents, f)) for o in inst.offers)
    return replace(inst, offers=offers)


def _changes(base: Plan, other: Plan | None) -> str:
    if other is None:
        return "infeasible"
    return "; ".join(
        f"{p}: {o}→{other.assignment.get(p)}"
        for p, o in base.assignment.items()
        if other.assignment.get(p) != o
    )


def sensitivity_cases(
    instance: Instance,
) -> list[tuple[str, float, float, Callable[[float], Instance]]]:
    """The one-at-a-time ranges (docs/sourcing-model.md §6) as (parameter, low, high, make)."""
    st = instance.study
    fr = Fraction

    def study(**kw: object) -> Instance:
        return replace(instance, study=replace(st, **kw))

    cases: list[tuple[str, float, float, Callable[[float], Instance]]] = [
        ("inhouse_labour_rates", 0.8, 1.2, lambda x: _scale_labour(instance, fr(str(x)), False)),
        ("calibration_factor", 0.75, 1.25, lambda x: _scale_labour(instance, fr(str(x)), True)),
        ("volumes", 0.8, 1.2, lambda x: _scale_volume(instance, fr(str(x)))),
    ]
    for v in instance.providers:
        if any(o.provider == v.id for o in instance.offers):
            cases.append(
                (
                    f"prices:{v.id}",
                    0.8,
                    1.2,
                    lambda x, vid=v.id: _scale_prices(instance, vid, fr(str(x))),
                )
            )
    cases += [
        (
            "governance_share",
            0.03,
            0.12,
            lambda x: study(governance_bp=round_half_up(fr(str(x)) * BP)),
        ),
        ("transition_costs", 0.5, 2.0, lambda x: _scale_transition(instance, fr(str(x)))),
        ("horizon_years", 3, 7, lambda x: study(horizon_years=int(x))),
        ("discount_rate", 0.0, 0.12, lambda x: study(discount_rate=fr(str(x)))),
    ]
    return cases


def sensitivity(
    instance: Instance, base_result: SolveResult, config: SolverConfig | None = None
) -> tuple[SensitivityRow, ...]:
    """One-at-a-time ranges (docs/sourcing-model.md §6, the tornado): two re-solves per parameter.

    Args:
        instance: The study.
        base_result: Its optimum.
        config: Solver settings for the re-solves (hinted with the base plan).

    Returns:
        One row per parameter: savings against the status quo at low and high, and flips.
    """
    if base_result.plan is None:
        raise ValueError("sensitivity needs a solved base instance")
    base = base_result.plan
    rows = []
    for name, lo, hi, make in sensitivity_cases(instance):
        out = []
        for value in (lo, hi):
            inst = make(value)
            res = solve(inst, _config(config, base))
            if res.objective_cents is None:
                out.append((None, True, "infeasible"))
                continue
            sq = evaluate(inst, status_quo(inst)).total_cents
            ch = _changes(base, res.plan)
            out.append((sq - res.objective_cents, bool(ch), ch))
        (save_lo, flip_lo, ch_lo), (save_hi, flip_hi, ch_hi) = out
        rows.append(
            SensitivityRow(
                name, float(lo), float(hi), save_lo, save_hi, flip_lo, flip_hi, ch_lo, ch_hi
            )
        )
    return tuple(rows)


# -- cost vs risk ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ParetoPoint:
    """One Pareto-optimal plan of cost vs risk.

    Attributes:
        cost_cents: Annual cost (risk not priced in).
        risk_cents: Annual risk.
        plan: The plan.
        within_budget: Whether it satisfies the study's risk budget (if any).
    """

    cost_cents: int
    risk_cents: int
    plan: Plan
    within_budget: bool


def pareto_front(
    instance: Instance, config: SolverConfig | None = None, max_points: int = 50
) -> tuple[ParetoPoint, ...]:
    """Every Pareto-optimal (cost, risk) point by ε-constraint (docs/sourcing-model.md §6).

    Risk is taken out of the objective and the budget dropped; then repeatedly: minimise cost
    with Risk ≤ ε, minimise risk with cost ≤ that optimum (so the point is not dominated), and
    set ε just below its risk. Two solves per point, at most `max_points` points.

    Args:
        instance: The study.
        config: Solver settings.
        max_points: Limit on points.

    Returns:
        The points by ascending cost (descending risk).
    """
    budget = instance.study.risk_budget_cents if instance.study.risk_mode == "constraint" else None
    inst = replace(instance, study=replace(instance.study, risk_mode="none"))
    points: list[ParetoPoint] = []
    eps: int | None = None
    hint: Plan | None = None
    while len(points) < max_points:
        res = solve(inst, _config(config, hint), risk_cap_cents=eps)
        if res.objective_cents is None:
            break
        low = solve(
            inst,
            _config(config, res.plan),
            risk_cap_cents=eps,
            cost_cap_cents=res.objective_cents,
            minimise="risk",
        )
        plan = low.plan or res.plan
        assert plan is not None
        ev = evaluate(inst, plan)
        points.append(
            ParetoPoint(
                ev.total_cents, ev.risk_cents, plan, budget is None or ev.risk_cents <= budget
            )
        )
        if ev.risk_cents == 0:
            break
        eps = ev.risk_cents - 1
        hint = plan
    return tuple(points)


# -- marginal values -------------------------------------------------------------------------


@dataclass(frozen=True)
class MarginalValue:
    """What a decision is worth: cost with the process forced in-house minus the optimum.

    Attributes:
        process: Process id.
        decision: Its option in the base plan.
        forced_inhouse_cents: Optimum with the process forced in-house (None: infeasible).
        marginal_cents: That minus the base optimum (0 for processes already in-house).
    """

    process: str
    decision: str
    forced_inhouse_cents: int | None
    marginal_cents: int | None


def marginal_values(
    instance: Instance, base_result: SolveResult, config: SolverConfig | None = None
) -> tuple[MarginalValue, ...]:
    """Marginal value of each outsourcing decision: one re-solve per outsourced process.

    Args:
        instance: The study.
        base_result: Its optimum.
        config: Solver settings for the re-solves (hinted with the base plan).

    Returns:
        One row per process, in instance order.
    """
    if base_result.plan is None or base_result.objective_cents is None:
        raise ValueError("marginal values need a solved base instance")
    base = base_result.plan
    rows = []
    for p in instance.processes:
        opt = base.assignment[p.id]
        if opt == IN_HOUSE:
            rows.append(MarginalValue(p.id, opt, base_result.objective_cents, 0))
            continue
        res = solve(instance, _config(config, base), force={p.id: IN_HOUSE})
        cost = res.objective_cents
        rows.append(
            MarginalValue(
                p.id, opt, cost, None if cost is None else cost - base_result.objective_cents
            )
        )
    return tuple(rows)


@dataclass(frozen=True)
class Analyses:
    """All analyses of one study, as `optimize.report_tables.tables` takes them.

    Attributes:
        break_even: Break-even prices per offer.
        sensitivity: One-at-a-time ranges.
        pareto: Cost vs risk front.
        marginal: Marginal values per process.
    """

    break_even: tuple[BreakEven, ...] = ()
    sensitivity: tuple[SensitivityRow, ...] = ()
    pareto: tuple[ParetoPoint, ...] = ()
    marginal: tuple[MarginalValue, ...] = ()


def run_all(
    instance: Instance, base_result: SolveResult, config: SolverConfig | None = None
) -> Analyses:
    """Run every analysis on a solved instance."""
    return Analyses(
        break_even=break_even(instance, base_result, config),
        sensitivity=sensitivity(instance, base_result, config),
        pareto=pareto_front(instance, config),
        marginal=marginal_values(instance, base_result, config),
    )
