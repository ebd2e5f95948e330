"""The CP-SAT model rule by rule (C1–C13), the evaluator's checks and the explanations."""

from dataclasses import replace
from fractions import Fraction

import pytest

from optimize.evaluate import ConsistencyError, check_consistency, evaluate, status_quo
from optimize.explain import FeasibleError, explain_infeasibility
from optimize.instance import (
    Coupling,
    Instance,
    Offer,
    Plan,
    ProcessData,
    ProviderData,
    RebateTier,
    Study,
    SystemData,
    Takeover,
    exact,
    location_allowed,
    round_half_up,
    to_cents,
)
from optimize.model import SolverConfig, _solver, fte_text, money, solve
from tests.optimize.instances import eur, i3


def proc(pid: str, cases: int = 1_000, cost: int = 10_000, **kw: object) -> ProcessData:
    """A process with `cost` € in-house."""
    return ProcessData(pid, cases_per_year=cases, inhouse_cost_cents=to_cents(cost), **kw)


def offer(pid: str, vid: str, price: str, **kw: object) -> Offer:
    """An offer at `price` €/case."""
    return Offer(pid, vid, price_per_case_cents=exact(price) * 100, **kw)


def run(inst: Instance, **kw: object) -> tuple[int, Plan]:
    res = solve(inst, SolverConfig(time_limit_s=10, workers=1), **kw)
    assert res.status == "optimal", res.status
    check_consistency(inst, res.objective_cents, res.plan)
    return res.objective_cents, res.plan


NO_GOV = Study(governance_bp=0)


# -- helpers of the instance -------------------------------------------------------------------


def test_rounding_and_crf_helpers() -> None:
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(249, 100)) == 2
    assert to_cents(3.1) == 310
    assert to_cents("17.90") == 1790
    assert Study(horizon_years=5).crf == Fraction(1, 5)
    # CRF(8 %, 5) = 0.250456…; 100,000 € → 25,045.65 €.
    assert Study(horizon_years=5, discount_rate=exact(0.08)).annualise(10_000_000) == 2_504_565
    assert money(10_000_000) == "100,000"
    assert money(-123_456) == "-1,234.56"
    assert fte_text(400) == "4.0" and fte_text(233) == "2.33"


def test_location_regions() -> None:
    assert location_allowed("PL", ("EU",))
    assert location_allowed("NO", ("EEA",))
    assert not location_allowed("NO", ("EU",))
    assert not location_allowed("PL", ("DE",))
    assert location_allowed("IN", None)


# -- C2 eligibility ----------------------------------------------------------------------------


def test_certification_and_sla_exclude_offers() -> None:
    inst = Instance(
        processes=(
            proc("P1", required_certifications=("ISO27001",), throughput_target_hours=48.0),
        ),
        providers=(
            ProviderData("A", certifications=()),
            ProviderData("B", certifications=("ISO27001",)),
            ProviderData("C", certifications=("ISO27001",)),
        ),
        offers=(
            offer("P1", "A", "1"),  # cheapest, but lacks the certification
            offer("P1", "B", "2", sla_throughput_hours=72.0),  # too slow
            offer("P1", "C", "5", sla_throughput_hours=24.0),
        ),
        study=NO_GOV,
    )
    cost, plan = run(inst)
    assert plan.assignment == {"P1": "C"}
    assert cost == 500_000
    assert inst.ineligibility("P1", "A") == ("certification",)
    assert inst.ineligibility("P1", "B") == ("sla",)
    forced = explain_infeasibility(inst, forbid=[("P1", "C")], force={"P1": "A"})
    assert forced.constraints == ("certification:P1:A", "force:P1:A")
    assert forced.lines[0] == "A lacks ISO27001 required for P1's data"


def test_explaining_a_feasible_model_is_an_error() -> None:
    inst = Instance(processes=(proc("P1"),))
    with pytest.raises(FeasibleError, match="feasible"):
        explain_infeasibility(inst)


# -- C3, C4 setup, management and max providers ------------------------------------------------


def test_setup_and_management_costs_count_once_per_provider() -> None:
    inst = Instance(
        processes=(proc("P1", cost=20_000), proc("P2", cost=20_000)),
        providers=(
            ProviderData(
                "A", setup_cost_cents=to_cents(5_000), management_cost_cents=to_cents(3_000)
            ),
        ),
        offers=(offer("P1", "A", "10"), offer("P2", "A", "10")),
        study=NO_GOV,
    )
    cost, plan = run(inst)
    assert plan.assignment == {"P1": "A", "P2": "A"}
    # 2 × 10,000 fees + 3,000 management + 5,000 / 5 set-up.
    assert cost == to_cents(24_000)
    ev = evaluate(inst, plan)
    assert ev.components["vendor_management"] == to_cents(3_000)
    assert ev.one_time_cash_cents == to_cents(5_000)


# -- C5 FTE capacity, C8 concentration ---------------------------------------------------------


def test_fte_capacity_and_concentration() -> None:
    procs = (proc("P1", cases=100, fte=1.5), proc("P2", cases=100, fte=1.0))
    offers = (offer("P1", "A", "1"), offer("P2", "A", "1"))
    inst = Instance(
        processes=procs,
        providers=(ProviderData("A", capacity_fte=2.0),),
        offers=offers,
        study=NO_GOV,
    )
    _, plan = run(inst)
    assert plan.assignment == {"P1": "A", "P2": "in_house"}  # P1 saves more of the 2.0 FTE
    conc = Instance(
        processes=procs,
        providers=(ProviderData("A", max_volume_share_bp=5_000),),
        offers=offers,
        study=NO_GOV,
    )
    _, plan = run(conc)
    assert sorted(plan.assignment.values()) == ["A", "in_house"]
    bad = evaluate(conc, Plan({"P1": "A", "P2": "A"}, {}))
    assert any("(C8)" in v for v in bad.violations)


# -- C6/C7 rebates and exact rounding ----------------------------------------------------------


def test_rebate_and_governance_rounding_matches_evaluator() -> None:
    # Odd amounts: 3.33 % rebate on 12,345.67 €, governance 7.77 %.
    inst = Instance(
        processes=(proc("P1", cases=1_001, cost=50_000),),
        providers=(
            ProviderData("A", rebate_tiers=(RebateTier(0, 0), RebateTier(to_cents(10_000), 333))),
        ),
        offers=(offer("P1", "A", "12.333333", fixed_cents=to_cents("0.01")),),
        study=Study(governance_bp=777),
    )
    cost, plan = run(inst)
    spend = round_half_up(Fraction(1233333333, 100_000_000) * 100 * 1001) + 1
    rebate = round_half_up(Fraction(spend * 333, 10_000))
    gov = round_half_up(Fraction((spend - rebate) * 777, 10_000))
    assert cost == spend - rebate + gov
    assert plan.tiers == {"A": 1}
    # A plan claiming a tier its spend does not reach is flagged.
    low = Instance(
        processes=inst.processes,
        providers=(ProviderData("A", rebate_tiers=(RebateTier(to_cents(99_000), 500),)),),
        offers=inst.offers,
    )
    ev = evaluate(low, Plan({"P1": "A"}, {}, {"A": 1}))
    assert any("(C7)" in v for v in ev.violations)


def test_consistency_check_catches_a_wrong_objective() -> None:
    inst = Instance(processes=(proc("P1"),))
    with pytest.raises(ConsistencyError, match="≠ evaluator total"):
        check_consistency(inst, 1, status_quo(inst))


# -- C9–C11 systems ----------------------------------------------------------------------------


def _systems_instance(policy: str, p2_offer_mode: str | None = None, **sys_kw: object) -> Instance:
    offers = [offer("P1", "A", "5", it=(("S", "takeover"),))]
    if p2_offer_mode:
        offers.append(offer("P2", "A", "9", it=(("S", p2_offer_mode),)))
    return Instance(
        processes=(proc("P1", systems=("S",)), proc("P2", systems=("S",))),
        systems=(SystemData("S", run_cost_cents=to_cents(4_000), policy=policy, **sys_kw),),
        providers=(ProviderData("A", takeover=(Takeover("S", to_cents(1_000)),)),),
        offers=tuple(offers),
        study=NO_GOV,
    )


def test_all_or_nothing_keeps_shared_system_unless_all_users_leave() -> None:
    cost, plan = run(_systems_instance("all_or_nothing"))
    # P1 alone cannot take S to A (P2 stays and has no offer): everything stays.
    assert plan.assignment == {"P1": "in_house", "P2": "in_house"}
    assert plan.systems == {"S": "keep"}
    assert cost == to_cents(24_000)


def test_shareable_system_moves_while_another_user_stays() -> None:
    cost, plan = run(_systems_instance("shareable"))
    assert plan.assignment == {"P1": "A", "P2": "in_house"}
    assert plan.systems == {"S": "transfer:A"}
    assert cost == to_cents(5_000 + 1_000 + 10_000)


def test_not_movable_system_blocks_takeover_offers() -> None:
    inst = _systems_instance("not_movable")
    _, plan = run(inst)
    assert plan.assignment["P1"] == "in_house"
    expl = explain_infeasibility(inst, force={"P1": "A"})
    assert expl.constraints == ("force:P1:A", "not_movable:S")


@pytest.mark.parametrize(
    ("retirable", "decommission", "system", "cost"),
    [
        (True, 0, "retire", 9_000 + 9_000),
        (True, 30_000, "keep", 9_000 + 9_000 + 4_000),  # 6,000/yr annualised > 4,000 run
        (False, 0, "keep", 9_000 + 9_000 + 4_000),
    ],
)
def test_retire_when_no_one_needs_the_system(
    retirable: bool, decommission: int, system: str, cost: int
) -> None:
    inst = Instance(
        processes=(proc("P1", systems=("S",)), proc("P2", systems=("S",))),
        systems=(
            SystemData(
                "S",
                run_cost_cents=to_cents(4_000),
                retirable=retirable,
                decommission_cost_cents=to_cents(decommission),
            ),
        ),
        providers=(ProviderData("A"),),
        offers=(
            offer("P1", "A", "9", it=(("S", "own_platform"),)),
            offer("P2", "A", "9", it=(("S", "own_platform"),)),
        ),
        study=NO_GOV,
    )
    total, plan = run(inst)
    assert plan.assignment == {"P1": "A", "P2": "A"}
    assert plan.systems == {"S": system}
    assert total == to_cents(cost)


def test_access_offer_prevents_retirement() -> None:
    inst = _systems_instance("all_or_nothing", p2_offer_mode="access")
    plan = Plan({"P1": "in_house", "P2": "A"}, {"S": "retire"})
    ev = evaluate(inst, plan)
    assert "P2's offer from A needs access to S (C10)" in ev.violations
    assert "S is retired but P1 uses it in-house (C11)" in ev.violations


# -- C12 couplings -----------------------------------------------------------------------------


def test_coordination_cost_and_keep_together() -> None:
    base = Instance(
        processes=(proc("P1", cases=1_000, cost=10_000), proc("P2", cases=1_000, cost=10_000)),
        providers=(ProviderData("A"),),
        offers=(offer("P1", "A", "8"),),  # saves 2,000 a year
        couplings=(Coupling("P1", "P2", handovers_per_year=1_000, interface_cost_cents=0),),
        study=Study(governance_bp=0, cost_per_handover_cents=150),
    )
    cost, plan = run(base)  # 1,500 coordination < 2,000 saving
    assert plan.assignment == {"P1": "A", "P2": "in_house"}
    assert cost == to_cents(8_000 + 10_000 + 1_500)
    dearer = replace(base, study=replace(base.study, cost_per_handover_cents=250))
    _, plan = run(dearer)
    assert plan.assignment == {"P1": "in_house", "P2": "in_house"}
    together = replace(base, study=replace(base.study, keep_together_threshold=0.5))
    _, plan = run(together)
    assert plan.assignment == {"P1": "in_house", "P2": "in_house"}
    expl = explain_infeasibility(together, force={"P1": "A"})
    # P2 cannot follow P1: nobody offered for it.
    assert expl.constraints == ("no_offer:P2:A", "force:P1:A", "keep_together:P1:P2")
    assert expl.lines[0] == "A made no offer for P2"


# -- C13 risk, FTE caps ------------------------------------------------------------------------


def test_risk_budget_objective_and_transition_cap() -> None:
    inst = Instance(
        processes=(proc("P1", fte=1.0), proc("P2", fte=1.0)),
        providers=(ProviderData("A", risk_cents=to_cents(100)),),
        offers=(
            offer("P1", "A", "5", risk_cents=to_cents(1_000)),
            offer("P2", "A", "6", risk_cents=to_cents(2_000)),
        ),
        study=NO_GOV,
    )
    _, plan = run(inst)
    assert plan.assignment == {"P1": "A", "P2": "A"}
    budget = replace(
        inst, study=replace(NO_GOV, risk_mode="constraint", risk_budget_cents=to_cents(1_500))
    )
    _, plan = run(budget)
    assert plan.assignment == {"P1": "A", "P2": "in_house"}
    weighted = replace(inst, study=replace(NO_GOV, risk_mode="objective", risk_weight_bp=30_000))
    cost, plan = run(weighted)  # P2 saves 4,000 but costs 3 × 2,000 risk
    assert plan.assignment == {"P1": "A", "P2": "in_house"}
    assert cost == to_cents(5_000 + 10_000 + 3 * 1_100)
    wave = replace(inst, study=replace(NO_GOV, transition_fte_cap_centi=100))
    _, plan = run(wave)
    assert plan.assignment == {"P1": "A", "P2": "in_house"}
    expl = explain_infeasibility(wave, force={"P1": "A", "P2": "A"})
    assert "at most 1.0 FTE moved in one wave" in expl.lines


# -- solver plumbing ---------------------------------------------------------------------------


def test_hint_and_result_fields() -> None:
    inst = _systems_instance("shareable")
    first = solve(inst)
    again = solve(inst, SolverConfig(hint=first.plan, seed=3, workers=1))
    assert again.status == "optimal"
    assert again.objective_cents == first.objective_cents
    assert again.size.variables > 0 and again.size.constraints > 0
    assert again.seconds >= 0


def test_infeasible_status_has_no_plan() -> None:
    inst = Instance(processes=(proc("P1", fte=2.0),), study=Study(inhouse_fte_cap_centi=100))
    res = solve(inst)
    assert (res.status, res.plan, res.objective_cents) == ("infeasible", None, None)
    expl = explain_infeasibility(inst)
    assert expl.constraints == ("inhouse_fte_cap",)
    assert "in-house FTE cap 1.0" in expl.text()


def test_rebate_and_governance_are_rounded_per_invoice_item() -> None:
    # Two offers of 0.25 € a year each at 50 % rebate, 10 % governance: per item the rebate is
    # round(12.5) = 13 cents, net 12, governance round(1.2) = 1 → 13 cents per item, 26 in all
    # (on the total it would be 50 − 25 = 25 net + 3 governance = 28).
    inst = Instance(
        processes=(proc("P1", cases=1, cost=1), proc("P2", cases=1, cost=1)),
        providers=(ProviderData("A", rebate_tiers=(RebateTier(0, 5_000),)),),
        offers=(offer("P1", "A", "0.25"), offer("P2", "A", "0.25")),
        study=Study(governance_bp=1_000),
    )
    cost, plan = run(inst)
    assert plan.assignment == {"P1": "A", "P2": "A"}
    assert cost == 26
    ev = evaluate(inst, plan)
    assert (ev.components["rebates"], ev.components["governance"]) == (-26, 2)


def test_solver_parameters_full_lp_and_presolve_workaround() -> None:
    # Two workers: both full-problem workers linearise every constraint (`max_lp`), one of them
    # raises the bound; presolve without inclusion detection (the CP-SAT 9.15 presolve bug).
    two = _solver(SolverConfig(workers=2), presolve=True).parameters
    assert list(two.subsolvers) == ["max_lp", "objective_lb_search_max_lp"]
    assert two.num_full_subsolvers == 2
    assert two.presolve_inclusion_work_limit == 0
    assert two.relative_gap_limit == 0
    one = _solver(SolverConfig(workers=1), presolve=True).parameters
    assert (one.linearization_level, list(one.subsolvers)) == (2, [])
    # Eight workers: CP-SAT's own portfolio (it has a `max_lp` worker from four workers on).
    eight = _solver(SolverConfig(workers=8), presolve=True).parameters
    assert (list(eight.subsolvers), eight.linearization_level) == ([], 1)
    unsafe = _solver(SolverConfig(safe_presolve=False), presolve=True).parameters
    assert unsafe.presolve_inclusion_work_limit != 0
    off = _solver(SolverConfig(), presolve=False).parameters
    assert not off.cp_model_presolve
    assert _solver(SolverConfig(gap_limit=0.001), presolve=True).parameters.relative_gap_limit == (
        0.001
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_gap_limit_stops_with_a_consistent_plan(workers: int) -> None:
    inst = i3()
    best = solve(inst, SolverConfig(workers=workers))
    assert (best.status, best.objective_cents, best.gap) == ("optimal", eur(195_000), 0.0)
    res = solve(inst, SolverConfig(workers=workers, gap_limit=0.5))
    assert res.plan is not None and res.objective_cents is not None and res.bound_cents is not None
    check_consistency(inst, res.objective_cents, res.plan)
    assert res.bound_cents <= best.objective_cents <= res.objective_cents
    assert res.gap is not None and res.gap <= 0.5
    if res.status == "optimal":
        assert (res.bound_cents, res.gap) == (res.objective_cents, 0.0)
    else:
        assert res.status == "feasible" and res.bound_cents < res.objective_cents
