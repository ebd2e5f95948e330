"""optimize.uncertainty: scenarios, the plan priced per scenario, regret and stability.

Exactness: zero spread prices every scenario like the deterministic evaluation to the cent;
two-point factors enumerated exactly agree with a brute force written out by hand; the
bootstrap keeps months together; the I1 check (P(loss) = 0.4537) from the cost file.
"""

import itertools
import math
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mining.history import monthly_kpis
from mining.kpis import compute_tables
from optimize.build import build_instance
from optimize.costfile import load_costs, parse_costs
from optimize.evaluate import evaluate, status_quo
from optimize.instance import IN_HOUSE, Instance, Offer, Plan, ProcessData, ProviderData, Study
from optimize.model import SolverConfig, solve
from optimize.uncertainty import (
    BOOTSTRAP,
    TRIANGULAR,
    Discrete,
    Triangular,
    UncertaintySpec,
    analyse,
    block_bootstrap,
    bootstrap_sources,
    draw_scenarios,
    enumerate_scenarios,
    price_plan,
    quantile,
    scenario_instance,
    scenario_table,
    spec_from_costs,
    stability_summary,
    stability_table,
    summarise,
    summary_line,
    whole_months,
)
from pipelines.demo import generate
from tests.optimize import instances

COSTS = Path(__file__).resolve().parents[1] / "data" / "costs"
MONTHS = tuple(f"2025-{m:02d}" for m in range(1, 13))
LOG_START = datetime(2025, 1, 1, tzinfo=UTC)
LOG_END = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
FAST = SolverConfig(time_limit_s=10.0, workers=1)


def history(per_process: dict[str, list[int]], hours_per_case: float = 0.5) -> pl.DataFrame:
    """A `kpi_history` frame: cases per month for each process, effort = cases × hours."""
    rows = [
        (p, MONTHS[i], c, c * hours_per_case)
        for p, counts in per_process.items()
        for i, c in enumerate(counts)
        if c > 0
    ]
    return pl.DataFrame(
        rows,
        schema={"process": pl.String, "month": pl.String, "cases": pl.Int64,
                "effort_hours": pl.Float64},
        orient="row",
    )  # fmt: skip


def _plan(instance: Instance) -> Plan:
    result = solve(instance, FAST)
    assert result.plan is not None
    return result.plan


# --------------------------------------------------------------------------- zero spread


@pytest.mark.parametrize("make", [instances.i1, instances.i2, instances.i3, instances.i4])
def test_zero_spread_prices_every_scenario_like_the_deterministic_evaluation(make) -> None:
    inst = make()
    plan = _plan(inst)
    flat = history({p.id: [100] * 12 for p in inst.processes})  # every month alike
    months = whole_months(flat, LOG_START, LOG_END)
    spec = UncertaintySpec(scenarios=50, resolves=5)
    result = analyse(inst, plan, spec, months, FAST)
    assert set(result.sources.values()) == {BOOTSTRAP}
    want_plan = evaluate(inst, plan).total_cents
    want_sq = evaluate(inst, status_quo(inst)).total_cents
    assert {o.plan_cents for o in result.outcomes} == {want_plan}
    assert {o.status_quo_cents for o in result.outcomes} == {want_sq}
    s = result.summary
    assert (s.p5_cents, s.p50_cents, s.p95_cents) == (want_sq - want_plan,) * 3
    assert s.mean_cents == pytest.approx(want_sq - want_plan, abs=1e-6)
    assert s.p_loss == (1.0 if want_sq < want_plan else 0.0)
    assert {r.regret_cents for r in result.resolves} == {0}
    for row in result.stability:
        assert row.share_optimal == (1.0 if row.chosen else 0.0)


def test_zero_spread_on_the_demo_equals_the_deterministic_evaluation() -> None:
    demo = generate(cases=3_000, seed=3)
    costs = parse_costs(demo.costs_yaml)
    inst = build_instance(costs, compute_tables(demo.log), source="demo").instance
    plan = _plan(inst)
    scenario_zero = draw_scenarios(inst, UncertaintySpec(scenarios=20), None)
    for o in price_plan(inst, plan, scenario_zero):
        assert o.plan_cents == evaluate(inst, plan).total_cents
        assert o.status_quo_cents == evaluate(inst, status_quo(inst)).total_cents
    # and the same instance really moves once the log's months are resampled
    months = whole_months(
        monthly_kpis(demo.log), demo.log["timestamp"].min(), demo.log["timestamp"].max()
    )
    moved = price_plan(inst, plan, draw_scenarios(inst, UncertaintySpec(scenarios=20), months))
    assert len({o.plan_cents for o in moved}) > 10


# --------------------------------------------------------------------------- exact enumeration


def two_point_instance() -> Instance:
    """P1, P2 (1,000 cases each); A offers P1, B offers both; B costs 30,000 a year to manage."""
    return Instance(
        processes=(
            ProcessData("P1", cases_per_year=1_000, inhouse_cost_cents=2_000_000),
            ProcessData("P2", cases_per_year=1_000, inhouse_cost_cents=1_500_000),
        ),
        providers=(ProviderData("A"), ProviderData("B", management_cost_cents=300_000)),
        offers=(
            Offer("P1", "A", price_per_case_cents=Fraction(1_700), transition_cents=500_000),
            Offer("P1", "B", price_per_case_cents=Fraction(1_500)),
            Offer("P2", "B", price_per_case_cents=Fraction(1_100)),
        ),
        study=Study(horizon_years=5, governance_bp=0),
    )


TWO_POINT = UncertaintySpec(
    provider_prices=Discrete((0.9, 1.3), (0.5, 0.5)),
    provider_overrides=(("A", Discrete((0.8, 1.2), (0.3, 0.7))),),
    volumes=Discrete((0.8, 1.25), (0.4, 0.6)),
    inhouse_rates=Discrete((1.0, 1.1), (0.5, 0.5)),
)


def hand_cost(assignment: dict[str, str], fa: float, fb: float, v: float, r: float) -> int:
    """The annual cost (cents) written out for the two-point instance (governance 0, H = 5)."""
    n = round(1_000 * v)
    inhouse = {"P1": 2_000_000, "P2": 1_500_000}
    price = {("P1", "A"): 1_700 * fa, ("P1", "B"): 1_500 * fb, ("P2", "B"): 1_100 * fb}
    cost = 0
    for p, option in assignment.items():
        if option == IN_HOUSE:
            cost += math.floor(inhouse[p] * v * r + 0.5)
        else:
            cost += math.floor(price[p, option] * n + 0.5)
    if assignment["P1"] == "A":
        cost += 500_000 // 5  # transition, annualised over 5 years
    if "B" in assignment.values():
        cost += 300_000
    return cost


def test_two_point_factors_enumerated_equal_a_brute_force() -> None:
    inst = two_point_instance()
    plan = _plan(inst)
    assert plan.assignment == {"P1": "B", "P2": "B"}
    result = analyse(inst, plan, TWO_POINT, config=FAST, exact=True)
    assert len(result.outcomes) == 16
    assert math.fsum(o.scenario.probability for o in result.outcomes) == pytest.approx(1.0)

    plans = [
        {"P1": a, "P2": b} for a, b in itertools.product((IN_HOUSE, "A", "B"), (IN_HOUSE, "B"))
    ]
    p_loss = 0.0
    share: dict[tuple[str, str], float] = {}
    savings = []
    for (fa, pa), (fb, pb), (v, pv), (r, pr) in itertools.product(
        [(0.8, 0.3), (1.2, 0.7)], [(0.9, 0.5), (1.3, 0.5)], [(0.8, 0.4), (1.25, 0.6)],
        [(1.0, 0.5), (1.1, 0.5)],
    ):  # fmt: skip
        probability = pa * pb * pv * pr
        chosen = hand_cost(plan.assignment, fa, fb, v, r)
        before = hand_cost({"P1": IN_HOUSE, "P2": IN_HOUSE}, fa, fb, v, r)
        savings.append((before - chosen, probability))
        if chosen > before:
            p_loss += probability
        costs = sorted((hand_cost(a, fa, fb, v, r), i) for i, a in enumerate(plans))
        assert costs[0][0] < costs[1][0]  # one optimum per scenario
        best = plans[costs[0][1]]
        for p, option in best.items():
            share[p, option] = share.get((p, option), 0.0) + probability

    assert 0.05 < p_loss < 0.95  # the instance is not trivial
    assert result.summary.p_loss == pytest.approx(p_loss, abs=1e-12)
    got = {(r.process, r.option): r.share_optimal for r in result.stability}
    assert set(got) == {("P1", IN_HOUSE), ("P1", "A"), ("P1", "B"), ("P2", IN_HOUSE), ("P2", "B")}
    for key, value in got.items():
        assert value == pytest.approx(share.get(key, 0.0), abs=1e-12), key
    assert 0 < got["P1", "A"] < 1  # a decision that really flips
    values = [s for s, _ in savings]
    weights = [w for _, w in savings]
    assert result.summary.p5_cents == quantile(values, weights, 0.05)
    assert result.summary.mean_cents == pytest.approx(
        math.fsum(s * w for s, w in savings), abs=1e-6
    )
    assert sorted(o.saving_cents for o in result.outcomes) == sorted(values)


def test_the_report_tables_summarise_stability_per_process() -> None:
    inst = two_point_instance()
    result = analyse(inst, _plan(inst), TWO_POINT, config=FAST, exact=True)
    short = stability_summary(result)
    shares = {(r.process, r.option): r.share_optimal for r in result.stability}
    assert short["process"].to_list() == ["P1", "P2"]
    assert short["chosen"].to_list() == ["B", "B"]
    assert short["share_optimal"].to_list() == [shares["P1", "B"], shares["P2", "B"]]
    others = sorted(
        (o for o in ("in_house", "A") if shares["P1", o] > 0), key=lambda o: -shares["P1", o]
    )
    assert short["otherwise"][0] == ", ".join(f"{o} {shares['P1', o]:.0%}" for o in others)


def test_monte_carlo_on_two_point_factors_approaches_the_enumeration() -> None:
    inst = two_point_instance()
    plan = _plan(inst)
    exact = analyse(inst, plan, TWO_POINT, config=FAST, exact=True).summary.p_loss
    spec = UncertaintySpec(**{**TWO_POINT.__dict__, "scenarios": 4_000, "resolves": 0})
    drawn = analyse(inst, plan, spec).summary.p_loss
    sigma = math.sqrt(exact * (1 - exact) / 4_000)
    assert abs(drawn - exact) < 4 * sigma


def test_quantile_is_the_inverse_of_the_cdf() -> None:
    values = [5, 1, 3, 2, 4]
    assert [quantile(values, [0.2] * 5, q) for q in (0.05, 0.2, 0.21, 0.5, 0.95, 1.0)] == [
        1, 1, 2, 3, 5, 5,
    ]  # fmt: skip
    assert quantile([10, 20], [0.9, 0.1], 0.95) == 20


def test_enumeration_refuses_a_continuous_factor() -> None:
    with pytest.raises(ValueError, match="cannot be enumerated"):
        enumerate_scenarios(instances.i1(), UncertaintySpec(volumes=Triangular(0.9, 1, 1.1)))


@pytest.mark.parametrize(
    "args", [(1.1, 1.0, 0.9), (-0.1, 1.0, 1.2), (0.9, 1.3, 1.2)], ids=["low>high", "neg", "mode"]
)
def test_a_bad_triangle_is_refused(args: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="low ≤ mode ≤ high"):
        Triangular(*args)


# --------------------------------------------------------------------------- the bootstrap


def test_bootstrap_keeps_months_together() -> None:
    """P2 moves in lock-step with P1 (twice its cases each month); P3 has its own pattern."""
    p1 = [80, 120, 95, 130, 60, 100, 110, 90, 140, 70, 105, 100]
    p3 = [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 300]
    frame = history({"P1": p1, "P2": [2 * c for c in p1], "P3": p3})
    months = whole_months(frame, LOG_START, LOG_END)
    assert months.months == MONTHS
    inst = Instance(
        processes=tuple(ProcessData(p, cases_per_year=1_000, inhouse_cost_cents=10**6)
                        for p in ("P1", "P2", "P3")),
    )  # fmt: skip
    scenarios = draw_scenarios(inst, UncertaintySpec(scenarios=300, seed=11), months)
    assert len({s.volume["P1"] for s in scenarios}) > 20
    for s in scenarios:
        assert s.volume["P1"] == s.volume["P2"]  # lock-step, exactly
        # the factor is the drawn months' cases over all months' cases, recomputed here
        index = [MONTHS.index(m) for m in s.months]
        assert s.volume["P1"] == pytest.approx(sum(p1[i] for i in index) / sum(p1))
        assert s.volume["P3"] == pytest.approx(sum(p3[i] for i in index) / sum(p3))
        assert s.hours["P1"] == pytest.approx(1.0)  # 0.5 h per case in every month
        # blocks of three consecutive months, wrapping around December
        for b in range(4):
            first = index[3 * b]
            assert index[3 * b : 3 * b + 3] == [(first + k) % 12 for k in range(3)]
    corr = np.corrcoef([s.volume["P1"] for s in scenarios], [s.volume["P3"] for s in scenarios])
    assert abs(corr[0, 1]) < 0.5  # P3 is not tied to P1


def test_block_bootstrap_draws_every_month_equally_often() -> None:
    rows = block_bootstrap(np.random.default_rng(1), 12, 3, 20_000)
    assert rows.shape == (20_000, 12)
    counts = np.bincount(rows.ravel(), minlength=12) / rows.size
    assert np.allclose(counts, 1 / 12, atol=0.003)


def test_short_logs_and_override_only_processes_take_the_triangle() -> None:
    counts = [100, 120, 90, 110, 100, 105, 95, 100, 100, 100, 100, 100]
    inst = Instance(
        processes=(ProcessData("P1", cases_per_year=1_000), ProcessData("P9", cases_per_year=5))
    )
    spec = UncertaintySpec(scenarios=50, volumes=Triangular(0.5, 1.0, 1.5))
    full = whole_months(history({"P1": counts}), LOG_START, LOG_END)
    assert bootstrap_sources(inst, full, spec) == {"P1": BOOTSTRAP, "P9": TRIANGULAR}
    # five whole months (mid-January to mid-June covers Feb–May fully, Jan and Jun 50 %)
    short = whole_months(
        history({"P1": counts}),
        datetime(2025, 1, 16, tzinfo=UTC),
        datetime(2025, 6, 15, tzinfo=UTC),
    )
    assert short.months == ("2025-02", "2025-03", "2025-04", "2025-05")
    assert bootstrap_sources(inst, short, spec) == {"P1": TRIANGULAR, "P9": TRIANGULAR}
    scenarios = draw_scenarios(inst, spec, short)
    assert all(s.volume["P1"] == s.volume["P9"] for s in scenarios)  # one draw per key
    assert all(0.5 <= s.volume["P1"] <= 1.5 for s in scenarios)
    assert all(s.months == () for s in scenarios)


def test_a_scenario_instance_scales_each_figure() -> None:
    inst = instances.i2()
    s = draw_scenarios(inst, UncertaintySpec(scenarios=1), None)[0]
    s = type(s)(
        index=0, probability=1.0,
        volume={p.id: 1.1 for p in inst.processes}, hours={p.id: 0.5 for p in inst.processes},
        prices={"A": 1.2}, inhouse_rates=2.0, transition_costs=3.0,
    )  # fmt: skip
    moved = scenario_instance(inst, s)
    for before, after in zip(inst.processes, moved.processes, strict=True):
        assert after.cases_per_year == round(before.cases_per_year * 1.1)
        assert after.inhouse_cost_cents == round(before.inhouse_cost_cents * 1.1 * 0.5 * 2.0)
    for before, after in zip(inst.offers, moved.offers, strict=True):
        assert after.price_per_case_cents == before.price_per_case_cents * Fraction(1.2)
        assert after.transition_cents == before.transition_cents * 3
    assert moved.systems == inst.systems


# --------------------------------------------------------------------------- reproducible files


def test_same_seed_same_files_and_another_seed_other_files(tmp_path: Path) -> None:
    inst = instances.i3()
    plan = _plan(inst)
    spec = UncertaintySpec(
        scenarios=200, resolves=10, seed=5, provider_prices=Triangular(0.9, 1.0, 1.2),
        volumes=Triangular(0.8, 1.0, 1.2),
    )  # fmt: skip
    tables = []
    for run, seed in enumerate((5, 5, 6)):
        result = analyse(inst, plan, UncertaintySpec(**{**spec.__dict__, "seed": seed}),
                         config=FAST)  # fmt: skip
        scenario_table(inst, result).write_csv(tmp_path / f"u{run}.csv")
        stability_table(result).write_csv(tmp_path / f"s{run}.csv")
        tables.append(scenario_table(inst, result))
    assert (tmp_path / "u0.csv").read_bytes() == (tmp_path / "u1.csv").read_bytes()
    assert (tmp_path / "s0.csv").read_bytes() == (tmp_path / "s1.csv").read_bytes()
    assert (tmp_path / "u0.csv").read_bytes() != (tmp_path / "u2.csv").read_bytes()
    assert_frame_equal(tables[0], tables[1])
    frame = tables[0]
    assert frame.height == 200
    assert frame.columns[:3] == ["scenario", "volume:P1", "hours:P1"]
    assert frame.filter(pl.col("regret").is_not_null()).height == 10
    assert (frame["saving"] - (frame["status_quo_cost"] - frame["plan_cost"])).abs().max() < 1e-6


# --------------------------------------------------------------------------- the I1 check


def test_i1_probability_of_loss_from_the_cost_file() -> None:
    """I1 with A's price_range [0.9, 1.0, 1.3]: loss when f > 26.6667/25, P = 0.4537.

    20,000 Monte Carlo scenarios: the standard error is 0.0035; the tolerance 0.015 is over
    four standard errors (the seed is fixed, so the test is deterministic).
    """
    path = COSTS / "I1_uncertainty.yaml"
    costs = load_costs(path)
    spec = spec_from_costs(costs)
    assert spec is not None
    assert spec.provider_overrides == (("A", Triangular(0.9, 1.0, 1.3)),)
    inst = build_instance(costs, None, source=str(path)).instance
    plan = _plan(inst)
    assert plan.assignment == {"P1": "A"}
    result = analyse(inst, plan, spec, config=FAST)
    breakeven = Fraction(80_000, 3) / 25_000  # 26.6667 / 25
    exact = (Fraction(13, 10) - breakeven) ** 2 / (Fraction(4, 10) * Fraction(3, 10))
    assert float(exact) == pytest.approx(0.4537, abs=5e-5)
    assert result.summary.scenarios == 20_000
    assert abs(result.summary.p_loss - float(exact)) < 0.015
    # every scenario loses exactly when its factor is above the break-even
    for o in result.outcomes:
        assert (o.saving_cents < 0) == (Fraction(o.scenario.prices["A"]) > breakeven)
    assert summary_line(result.summary) == (
        f"saving ≥ 0 in {round(100 * (1 - result.summary.p_loss))} % of 20,000 scenarios"
    )


def test_no_section_no_spec() -> None:
    assert spec_from_costs(load_costs(COSTS / "I1.yaml")) is None


def test_summarise_counts_a_loss_only_below_zero() -> None:
    inst = instances.i1()
    plan = _plan(inst)
    outcomes = price_plan(inst, plan, draw_scenarios(inst, UncertaintySpec(scenarios=3), None))
    s = summarise(outcomes)
    assert s.p_loss == 0.0 and s.p_no_loss == 1.0 and s.infeasible_share == 0.0
    assert s.p50_cents == 1_750_000  # 300,000 − 282,500
