"""optimize.saa: one CP-SAT model over S scenarios, expected cost or CVaR, shared decisions."""

import itertools
from fractions import Fraction

import pytest

from optimize.evaluate import evaluate
from optimize.instance import IN_HOUSE, Instance, Offer, Plan, ProcessData, ProviderData, Study
from optimize.model import SolverConfig, solve
from optimize.saa import saa_plan
from optimize.uncertainty import (
    Discrete,
    Triangular,
    UncertaintySpec,
    analyse,
    draw_scenarios,
    plans_summary,
    plans_table,
    price_plan,
)
from tests.optimize import instances
from tests.optimize.test_uncertainty import TWO_POINT, two_point_instance

FAST = SolverConfig(time_limit_s=20.0, workers=1)


def risky() -> Instance:
    """P1 in-house 100,000; A offers 8 €/case (80,000), B 9 €/case (90,000), 10,000 cases."""
    return Instance(
        processes=(ProcessData("P1", cases_per_year=10_000, inhouse_cost_cents=10_000_000),),
        providers=(ProviderData("A"), ProviderData("B")),
        offers=(
            Offer("P1", "A", price_per_case_cents=Fraction(800)),
            Offer("P1", "B", price_per_case_cents=Fraction(900)),
        ),
        study=Study(governance_bp=0),
    )


# A's price is 30 % higher in 30 % of the scenarios: 104,000 > 100,000 in-house, a loss.
RISKY = UncertaintySpec(
    scenarios=400, seed=1, saa_scenarios=50,
    provider_overrides=(("A", Discrete((1.0, 1.3), (0.7, 0.3))),),
)  # fmt: skip


def test_cvar_picks_the_safe_offer_and_expected_the_cheap_one() -> None:
    inst = risky()
    assert solve(inst, FAST).plan.assignment == {"P1": "A"}  # deterministic: the cheap offer
    sample = draw_scenarios(inst, RISKY, count=50)
    bad = sum(1 for s in sample if s.prices["A"] > 1)
    assert bad == 16  # 32 % of this sample: A's mean 87,680 < B's 90,000
    expected = saa_plan(inst, sample, "expected", config=FAST)
    assert expected.plan.assignment == {"P1": "A"}
    assert expected.value_cents == (34 * 8_000_000 + 16 * 10_400_000) / 50
    cvar = saa_plan(inst, sample, "cvar", cvar_level=0.95, config=FAST)
    assert cvar.status == "optimal"
    assert cvar.plan.assignment == {"P1": "B"}  # the worst 5 % of A cost 104,000
    assert cvar.value_cents == 9_000_000


def test_the_comparison_reports_both_plans_out_of_sample() -> None:
    inst = risky()
    plan = solve(inst, FAST).plan
    spec = UncertaintySpec(**{**RISKY.__dict__, "objective": "cvar", "resolves": 0})
    result = analyse(inst, plan, spec, config=FAST)
    deterministic, robust = result.plans
    assert (deterministic.name, robust.name) == ("deterministic", "cvar")
    assert robust.assignment == {"P1": "B"}
    loss_share = sum(1 for o in result.outcomes if o.scenario.prices["A"] > 1) / 400
    assert deterministic.p_loss == pytest.approx(loss_share)
    assert 0.2 < loss_share < 0.4
    assert deterministic.p95_cents == 10_400_000 and robust.p95_cents == 9_000_000
    assert robust.p_loss == 0.0 and robust.expected_cents == 9_000_000
    assert deterministic.expected_cents == pytest.approx(
        8_000_000 * (1 - loss_share) + 10_400_000 * loss_share
    )
    table = plans_table(result)
    assert table.select("plan", "decisions", "p95_cost").rows() == [
        ("deterministic", "P1=A", 104_000.0),
        ("cvar", "P1=B", 90_000.0),
    ]
    assert plans_summary(result)["differs_from_deterministic"].to_list() == ["—", "P1→B"]


@pytest.mark.parametrize("make", [instances.i1, instances.i2, instances.i3, instances.i4])
@pytest.mark.parametrize("objective", ["expected", "cvar"])
def test_zero_spread_gives_the_deterministic_plan(make, objective: str) -> None:
    inst = make()
    base = solve(inst, FAST)
    sample = draw_scenarios(inst, UncertaintySpec(), count=5)
    result = saa_plan(inst, sample, objective, config=FAST)  # type: ignore[arg-type]
    assert result.status == "optimal"
    assert result.plan.assignment == base.plan.assignment
    assert result.value_cents == base.objective_cents


def _cvar(costs: list[int], alpha: float) -> float:
    """CVaR of equally likely costs: the mean of the worst (1 − α) share (fractions split)."""
    k = (1 - Fraction(str(alpha))) * len(costs)
    worst = sorted(costs, reverse=True)
    whole = int(k)
    total = Fraction(sum(worst[:whole]))
    if whole < len(worst):
        total += (k - whole) * worst[whole]
    return float(total / k)


@pytest.mark.parametrize(("objective", "alpha"), [("expected", 0.95), ("cvar", 0.9), ("cvar", 0.7)])
def test_the_model_equals_a_brute_force_over_every_plan(objective: str, alpha: float) -> None:
    """Two processes, providers A and B, the two-point factors: 20 sampled scenarios."""
    inst = two_point_instance()
    sample = draw_scenarios(inst, UncertaintySpec(**{**TWO_POINT.__dict__, "seed": 3}), count=20)
    best: tuple[float, dict[str, str]] | None = None
    for a, b in itertools.product((IN_HOUSE, "A", "B"), (IN_HOUSE, "B")):
        plan = Plan(assignment={"P1": a, "P2": b}, systems={})
        costs = [o.plan_cents for o in price_plan(inst, plan, sample)]
        value = sum(costs) / len(costs) if objective == "expected" else _cvar(costs, alpha)
        if best is None or value < best[0] - 1e-9:
            best = (value, plan.assignment)
    result = saa_plan(inst, sample, objective, cvar_level=alpha, config=FAST)  # type: ignore[arg-type]
    assert result.value_cents == pytest.approx(best[0], abs=1e-6)
    plan = result.plan
    costs = [o.plan_cents for o in price_plan(inst, plan, sample)]
    again = sum(costs) / len(costs) if objective == "expected" else _cvar(costs, alpha)
    assert again == pytest.approx(best[0], abs=1e-6)  # the plan returned has that value


def test_every_scenario_must_keep_the_rules() -> None:
    """I3: A's capacity 15,000 cases; with volumes ×1.5 in some scenarios P1 cannot go to A."""
    inst = instances.i3()
    base = solve(inst, FAST).plan
    assert base.assignment["P1"] == "A"
    spec = UncertaintySpec(volumes=Discrete((1.0, 1.6), (0.5, 0.5)), seed=2)
    sample = draw_scenarios(inst, spec, count=10)
    assert any(s.volume["P1"] > 1 for s in sample)
    result = saa_plan(inst, sample, "expected", config=FAST)
    assert result.plan.assignment["P1"] != "A"  # 16,000 cases > 15,000 in a scenario
    for o in price_plan(inst, result.plan, sample):
        assert o.plan_feasible


def test_expected_value_is_the_evaluators_mean_on_the_demo_shape() -> None:
    inst = instances.i4()
    spec = UncertaintySpec(provider_prices=Triangular(0.8, 1.0, 1.3), seed=4)
    sample = draw_scenarios(inst, spec, count=30)
    result = saa_plan(inst, sample, "expected", config=FAST)
    mean = sum(o.plan_cents for o in price_plan(inst, result.plan, sample)) / 30
    assert result.value_cents == pytest.approx(mean, abs=1e-9)
    assert evaluate(inst, result.plan).feasible


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one scenario"):
        saa_plan(risky(), [], "expected")
    with pytest.raises(ValueError, match="cvar_level"):
        saa_plan(risky(), draw_scenarios(risky(), UncertaintySpec(), count=1), "cvar", 1.0)
