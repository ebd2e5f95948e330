"""The worked instances I1–I5 of docs/sourcing-model.md §8, built in Python, solved by CP-SAT."""

from fractions import Fraction

import pytest

from optimize.analysis import break_even
from optimize.evaluate import check_consistency, evaluate, status_quo
from optimize.explain import explain_infeasibility
from optimize.instance import Instance
from optimize.model import SolveResult, solve
from tests.optimize import instances as wi


def solved(inst: Instance, **kw: object) -> SolveResult:
    res = solve(inst, **kw)
    assert res.status == "optimal"
    assert res.plan is not None and res.objective_cents is not None
    check_consistency(inst, res.objective_cents, res.plan)
    assert res.bound_cents == res.objective_cents and res.gap == 0.0
    return res


def price4(cents: Fraction | None) -> str:
    assert cents is not None
    return f"{float(cents) / 100:.4f}"


@pytest.mark.parametrize(
    ("rate", "objective", "be"),
    [("0", 28_250_000, "26.6667"), ("0.08", 28_754_565, "26.1861")],
)
def test_i1(rate: str, objective: int, be: str) -> None:
    inst = wi.i1(rate)
    res = solved(inst)
    assert res.objective_cents == objective
    assert res.plan.assignment == {"P1": "A"}
    ev = evaluate(inst, res.plan)
    assert ev.components["provider_fees_gross"] == 25_000_000
    assert ev.components["governance"] == 1_250_000
    assert ev.one_time_cash_cents == 10_000_000
    assert evaluate(inst, status_quo(inst)).total_cents == 30_000_000
    (row,) = break_even(inst, res)
    assert row.chosen and row.note == ""
    assert price4(row.break_even_cents) == be


def test_i1_break_even_is_where_the_decision_flips() -> None:
    inst = wi.i1()
    (row,) = break_even(inst, solved(inst))
    assert row.break_even_cents is not None
    from optimize.analysis import with_offer_price

    below = solve(with_offer_price(inst, "P1", "A", row.break_even_cents - Fraction(1, 100)))
    above = solve(with_offer_price(inst, "P1", "A", row.break_even_cents + Fraction(1, 100)))
    assert below.plan.assignment == {"P1": "A"}
    assert above.plan.assignment == {"P1": "in_house"}


def test_i2_shared_system_and_core_process() -> None:
    inst = wi.i2()
    res = solved(inst)
    assert res.objective_cents == 40_550_000
    assert res.plan.assignment == {"P1": "A", "P2": "A", "P3": "in_house"}
    assert res.plan.systems == {"S1": "transfer:A", "S2": "keep"}
    assert evaluate(inst, status_quo(inst)).total_cents == 45_000_000


def test_i2_p1_alone_to_a_is_infeasible() -> None:
    inst = wi.i2()
    force = {"P1": "A", "P2": "in_house"}
    assert solve(inst, force=force).status == "infeasible"
    expl = explain_infeasibility(inst, force=force)
    assert set(expl.constraints) == {"force:P1:A", "force:P2:in_house", "all_or_nothing:S1"}
    # The evaluator agrees: that plan violates the all-or-nothing policy.
    plan = status_quo(inst)
    plan.assignment["P1"] = "A"
    plan.systems["S1"] = "transfer:A"
    ev = evaluate(inst, plan)
    assert not ev.feasible
    assert "S1 goes to A but its user P2 does not (C11)" in ev.violations


@pytest.mark.parametrize(
    ("max_providers", "capacity", "objective", "assignment"),
    [
        (None, 15_000, 19_500_000, {"P1": "A", "P2": "B", "P3": "B"}),
        (1, 15_000, 20_500_000, {"P1": "B", "P2": "B", "P3": "B"}),
        (None, None, 18_800_000, {"P1": "A", "P2": "A", "P3": "A"}),
    ],
)
def test_i3(
    max_providers: int | None, capacity: int | None, objective: int, assignment: dict
) -> None:
    inst = wi.i3(max_providers, capacity)
    res = solved(inst)
    assert res.objective_cents == objective
    assert res.plan.assignment == assignment


@pytest.mark.parametrize(
    ("p1_price", "objective", "assignment", "tier"),
    [
        ("20", 30_240_000, {"P1": "A", "P2": "A"}, 1),
        ("17.90", 30_295_000, {"P1": "A", "P2": "in_house"}, 0),
        ("18.00", 28_350_000, {"P1": "A", "P2": "A"}, 1),
    ],
)
def test_i4(p1_price: str, objective: int, assignment: dict, tier: int) -> None:
    inst = wi.i4(p1_price)
    res = solved(inst)
    assert res.objective_cents == objective
    assert res.plan.assignment == assignment
    assert res.plan.tiers == {"A": tier}


def test_i5_minimal_explanation() -> None:
    inst = wi.i5()
    assert solve(inst).status == "infeasible"
    expl = explain_infeasibility(inst)
    assert set(expl.constraints) == {"core:P1", "inhouse_fte_cap", "location:P2:A", "min_value:B"}
    assert set(expl.lines) == {
        "P1 is core",
        "in-house FTE cap 4.0",
        "P2's data (class de_only, allowed DE) may not go to A (PL)",
        "B's minimum annual value 100,000 > P2's 80,000",
    }
    # Minimal: dropping any one rule makes the rest feasible.
    for dropped, relaxed in [
        ("core", wi.i5_variant(core=False, p1_offer=True)),
        ("cap", wi.i5_variant(cap=None)),
        ("location", wi.i5_variant(allowed=None)),
        ("min_value", wi.i5_variant(min_value=0)),
    ]:
        assert solve(relaxed).status == "optimal", dropped
