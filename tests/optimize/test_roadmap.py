"""The transition roadmap: exact worked instance R1, brute force, Smith's rule, explanations."""

import itertools
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from optimize.build import build_instance
from optimize.costfile import load_costs, parse_costs
from optimize.instance import (
    Coupling,
    Instance,
    Offer,
    Plan,
    ProcessData,
    ProviderData,
    Study,
    SystemData,
    Takeover,
)
from optimize.model import solve
from optimize.roadmap import (
    Milestone,
    Move,
    RoadmapConfig,
    RoadmapInstance,
    build_roadmap,
    cash_by_quarter,
    evaluate_roadmap,
    payback_quarter,
    solve_roadmap,
    status_quo_npv,
    transition_settings,
    unconstrained_npv,
)
from pipelines.errors import InputError

COSTS = Path(__file__).parents[1] / "data" / "costs"


def _r1(text_changes: dict[str, str] | None = None) -> RoadmapInstance:
    text = (COSTS / "R1.yaml").read_text()
    for old, new in (text_changes or {}).items():
        assert old in text
        text = text.replace(old, new)
    costs = parse_costs(text, "R1.yaml")
    instance = build_instance(costs, None, source="R1.yaml").instance
    result = solve(instance)
    assert result.plan is not None
    return build_roadmap(instance, result.plan, transition_settings(costs))


def _enumerate(inst: RoadmapInstance) -> tuple[int | None, list[dict[str, int]]]:
    """Minimum NPV over every start vector in the horizon, and the vectors reaching it."""
    nq = inst.quarters
    ids = [mv.process for mv in inst.moves]
    ranges = [range(nq - mv.duration + 1) for mv in inst.moves]
    best: int | None = None
    argmin: list[dict[str, int]] = []
    for combo in itertools.product(*ranges):
        starts = dict(zip(ids, combo, strict=True))
        ev = evaluate_roadmap(inst, starts)
        if not ev.feasible:
            continue
        if best is None or ev.npv_cents < best:
            best, argmin = ev.npv_cents, [starts]
        elif ev.npv_cents == best:
            argmin.append(starts)
    return best, argmin


def test_r1_optimum_is_the_worked_instance() -> None:
    inst = _r1()
    assert [(m.status_quo_cents, m.run_rate_cents, m.transition_cents, m.duration)
            for m in inst.moves] == [
        (30_000_000, 26_250_000, 10_000_000, 1),
        (24_000_000, 16_800_000, 5_000_000, 2),
        (30_000_000, 26_250_000, 2_000_000, 3),
        (12_000_000, 9_240_000, 1_000_000, 1),
    ]  # fmt: skip
    result = solve_roadmap(inst)
    assert result.status == "optimal"
    assert result.starts == {"P1": 2, "P2": 0, "P3": 4, "P4": 3}
    assert result.npv_cents == 379_089_915  # 3,790,899.15


@pytest.mark.slow
def test_r1_enumeration_over_all_136_800_start_vectors_agrees() -> None:
    inst = _r1()
    best, argmin = _enumerate(inst)
    assert best == 379_089_915
    assert argmin == [{"P1": 2, "P2": 0, "P3": 4, "P4": 3}]


def test_r1_bound_status_quo_and_payback() -> None:
    inst = _r1()
    # Everything at quarter 0 in parallel is cheaper than the capacity allows; the status quo
    # is 4 × 960,000 per year discounted quarterly over 20 quarters.
    npv_sq = status_quo_npv(inst)
    # 960,000 / 4 per quarter discounted by 1.08^(−q/4): 4,022,808.20 (Σ of rounded items).
    assert npv_sq == 402_280_820
    starts0 = {"P1": 0, "P2": 0, "P3": 0, "P4": 0}
    assert unconstrained_npv(inst) == evaluate_roadmap(inst, starts0, constraints=False).npv_cents
    assert unconstrained_npv(inst) < 379_089_915 < npv_sq
    assert not evaluate_roadmap(inst, starts0).feasible


def test_status_quo_npv_equals_a_roadmap_that_never_pays_anything_new() -> None:
    # With PC = SQ, no transition cost and no dual running, any roadmap costs the status quo.
    inst = RoadmapInstance(
        moves=(Move("A", "V", 2, status_quo_cents=12_345_67, run_rate_cents=12_345_67),),
        horizon_years=2,
        discount_rate=Fraction(8, 100),
        dual_running_bp=0,
        fixed_cents=1_000_00,
    )
    for s in range(7):
        assert evaluate_roadmap(inst, {"A": s}).npv_cents == status_quo_npv(inst)


def test_smiths_rule_orders_by_saving_per_quarter_over_duration() -> None:
    # w = (SQ − PC)/4 per quarter: A 10,000 (d 1, ratio 10,000), B 24,000 (d 3, 8,000),
    # C 12,000 (d 2, 6,000). Smith: A, B, C back to back → starts 0, 1, 4.
    # Cost = constant + Σ w·(s + d): ABC 10,000·1 + 24,000·4 + 12,000·6 = 178,000;
    # BAC 24,000·3 + 10,000·4 + 12,000·6 = 184,000 (largest saving first is 6,000 worse);
    # ACB 10,000·1 + 12,000·3 + 24,000·6 = 190,000 (shortest first is 12,000 worse).
    inst = RoadmapInstance(
        moves=(
            Move(
                "A",
                "V",
                1,
                status_quo_cents=100_000_00,
                run_rate_cents=60_000_00,
                transition_cents=5_000_00,
            ),
            Move(
                "B",
                "V",
                3,
                status_quo_cents=200_000_00,
                run_rate_cents=104_000_00,
                transition_cents=7_000_00,
            ),
            Move("C", "V", 2, status_quo_cents=150_000_00, run_rate_cents=102_000_00),
        ),
        horizon_years=3,
        discount_rate=Fraction(0),
        max_parallel=1,
    )
    result = solve_roadmap(inst)
    assert result.status == "optimal"
    assert result.starts == {"A": 0, "B": 1, "C": 4}
    npv = {
        order: evaluate_roadmap(inst, starts).npv_cents
        for order, starts in {
            "ABC": {"A": 0, "B": 1, "C": 4},
            "BAC": {"B": 0, "A": 3, "C": 4},
            "ACB": {"A": 0, "C": 1, "B": 3},
        }.items()
    }
    assert npv["ABC"] == result.npv_cents
    assert npv["BAC"] - npv["ABC"] == 6_000_00
    assert npv["ACB"] - npv["ABC"] == 12_000_00


def test_not_before_beyond_the_horizon_is_explained() -> None:
    inst = _r1({"  - id: P3\n": "  - id: P3\n    not_before: 18\n"})
    result = solve_roadmap(inst)
    assert result.status == "infeasible"
    assert result.constraints == ("horizon:P3", "not_before:P3")
    assert result.explanation == (
        "P3's transition of 3 quarter(s) must end within the horizon of 20 quarters (5 years)",
        "P3 may not start before quarter 18",
    )
    assert result.text().startswith("The transition roadmap is infeasible")


def test_capacity_zero_is_explained() -> None:
    inst = _r1({"max_parallel: 1": "max_parallel: 0"})
    result = solve_roadmap(inst)
    assert result.status == "infeasible"
    assert result.constraints == ("max_parallel",)
    assert result.explanation == ("at most 0 process(es) in transition at once",)


def test_keep_together_with_capacity_one_is_explained() -> None:
    inst = RoadmapInstance(
        moves=(Move("A", "V", 1, run_rate_cents=1), Move("B", "V", 1, run_rate_cents=1)),
        horizon_years=1,
        max_parallel=1,
        together=(("A", "B"),),
    )
    result = solve_roadmap(inst)
    assert result.constraints == ("max_parallel", "together:A:B")


def test_budget_spreads_transition_costs_over_years() -> None:
    # Two moves of 60,000 one-time each with a budget of 100,000 per year: not both in year 1.
    moves = tuple(
        Move(p, "V", 1, status_quo_cents=400_000_00, run_rate_cents=200_000_00,
             transition_cents=60_000_00)
        for p in ("A", "B")
    )  # fmt: skip
    inst = RoadmapInstance(moves=moves, horizon_years=2, budget_cents=100_000_00)
    result = solve_roadmap(inst)
    assert result.status == "optimal"
    assert sorted(result.starts.values()) == [0, 4]
    assert evaluate_roadmap(inst, result.starts).one_time_by_year == (60_000_00, 60_000_00)


def test_payback_quarter() -> None:
    assert payback_quarter([-5, 2, 2, 2, 2]) == 3  # cumulative −5, −3, −1, 1, 3
    assert payback_quarter([3, -5, 1, 4]) == 3
    assert payback_quarter([1, 1]) == 0
    assert payback_quarter([-5, 1]) is None


def test_builder_ties_systems_providers_and_couplings_to_their_processes() -> None:
    # I2-like: P1 and P2 go to A with system S1 (taken over); P3 stays in-house with S2.
    inst = Instance(
        processes=(
            ProcessData("P1", cases_per_year=10_000, inhouse_cost_cents=200_000_00,
                        systems=("S1",)),
            ProcessData("P2", cases_per_year=10_000, inhouse_cost_cents=100_000_00,
                        systems=("S1",)),
            ProcessData("P3", cases_per_year=1_000, inhouse_cost_cents=50_000_00),
        ),
        systems=(SystemData("S1", run_cost_cents=80_000_00),
                 SystemData("S2", run_cost_cents=20_000_00)),
        providers=(ProviderData("A", setup_cost_cents=10_000_00, management_cost_cents=4_000_00,
                                takeover=(Takeover("S1", 30_000_00, 50_000_00),)),),
        offers=(
            Offer("P1", "A", Fraction(1500), it=(("S1", "takeover"),)),
            Offer("P2", "A", Fraction(1300), it=(("S1", "takeover"),)),
        ),
        couplings=(Coupling("P2", "P3", handovers_per_year=1_000),),
        study=Study(governance_bp=0, cost_per_handover_cents=200),
    )  # fmt: skip
    plan = Plan({"P1": "A", "P2": "A", "P3": "in_house"}, {"S1": "transfer:A", "S2": "keep"})
    road = build_roadmap(inst, plan)
    assert [(m.process, m.run_rate_cents) for m in road.moves] == [
        ("P1", 150_000_00),
        ("P2", 130_000_00),
    ]
    assert road.fixed_cents == 50_000_00 + 20_000_00
    assert {m.id: (m.rule, m.processes, m.before_cents, m.after_cents, m.one_time_cents)
            for m in road.milestones} == {
        "provider:A": ("first_start", ("P1", "P2"), 0, 4_000_00, 10_000_00),
        "system:S1": ("last_end", ("P1", "P2"), 80_000_00, 30_000_00, 50_000_00),
        "coupling:P2|P3": ("first_end", ("P2",), 0, 2_000_00, 0),
    }  # fmt: skip
    ev = evaluate_roadmap(road, {"P1": 3, "P2": 1})
    cash = cash_by_quarter(road, {"P1": 3, "P2": 1})
    assert ev.milestone_quarters == {"provider:A": 1, "system:S1": 4, "coupling:P2|P3": 2}
    # i = 0. Quarter 3: kept cost 70,000/4, P1 dual running 200,000/4 + 0.5·150,000/4, P2 at
    # its run-rate 130,000/4, vendor management 4,000/4, S1 still run in-house 80,000/4 plus
    # its migration 50,000 (the quarter before the last user's end), coordination 2,000/4.
    assert cash[3] == 17_500_00 + 68_750_00 + 32_500_00 + 1_000_00 + 70_000_00 + 500_00
    # Quarter 4: P1 at its run-rate 150,000/4, S1 at the takeover fee 30,000/4.
    assert cash[4] == 17_500_00 + 37_500_00 + 32_500_00 + 1_000_00 + 7_500_00 + 500_00
    assert ev.one_time_by_year == (10_000_00 + 50_000_00, 0, 0, 0, 0)


def test_cost_file_keys_are_validated_with_path_and_line() -> None:
    text = (
        "schema_version: 1\nprocesses:\n  - {id: P, not_before: 1.5}\n  - {id: Q, not_before: -1}\n"
        "providers: [{id: A}]\noffers:\n"
        "  - {process: P, provider: A, price_per_case: 1, transition_quarters: -2}\n"
        "  - {process: Q, provider: A, price_per_case: 1, transition_quarters: 0}\n"
        "study: {transition: {max_parallel: -1}}\n"
    )
    with pytest.raises(InputError) as info:
        parse_costs(text, "c.yaml")
    hint_nb = "give the first quarter the process may start in, counted from 0 (0 = the study's "
    hint_tq = "a transition lasts a whole number of quarters, at least 1"
    assert [str(p) for p in info.value.problems] == [
        f"error: c.yaml:3: processes[0].not_before: must be a whole number of quarters — got a "
        f"number 1.5; {hint_nb}first quarter)",
        f"error: c.yaml:4: processes[1].not_before: must be ≥ 0 — got -1; {hint_nb}first quarter)",
        f"error: c.yaml:7: offers[0].transition_quarters: must be ≥ 1 — got -2; {hint_tq}",
        f"error: c.yaml:8: offers[1].transition_quarters: must be ≥ 1 — got 0; {hint_tq}",
        "error: c.yaml:9: study.transition.max_parallel: must be ≥ 0 — got -1; amounts, counts "
        "and hours cannot be negative",
    ]


def test_r1_cost_file_loads_its_roadmap_keys() -> None:
    settings_ = transition_settings(load_costs(COSTS / "R1.yaml"))
    assert settings_.max_parallel == 1
    assert settings_.dual_running_share == 0.5
    assert settings_.durations == {("P1", "A"): 1, ("P2", "A"): 2, ("P3", "A"): 3, ("P4", "A"): 1}


# --------------------------------------------------------------------------------------------
# Property: CP-SAT's optimum equals the enumeration over every start vector
# --------------------------------------------------------------------------------------------


@st.composite
def roadmaps(draw: st.DrawFn) -> RoadmapInstance:
    """Small random roadmaps: 1–3 moves, 1–2 years, every rule switched on or off."""
    years = draw(st.integers(1, 2))
    n = draw(st.integers(1, 3))
    ids = [f"P{k}" for k in range(n)]
    money = st.integers(0, 400_000_00)
    moves = []
    for pid in ids:
        moves.append(
            Move(
                pid,
                "V",
                duration=draw(st.integers(1, 3)),
                not_before=draw(st.sampled_from([0, 0, 1, 3, 6])),
                fte_centi=draw(st.integers(0, 300)),
                status_quo_cents=draw(money),
                run_rate_cents=draw(money),
                transition_cents=draw(st.integers(0, 100_000_00)),
            )
        )
    milestones = []
    for k, rule in enumerate(draw(st.lists(st.sampled_from(
            ["first_start", "last_end", "first_end"]), max_size=3))):  # fmt: skip
        members = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=n, unique=True))
        milestones.append(
            Milestone(
                f"m{k}",
                f"m{k}",
                rule,
                tuple(members),
                before_cents=draw(st.integers(0, 100_000_00)),
                after_cents=draw(st.integers(0, 100_000_00)),
                one_time_cents=draw(st.integers(0, 50_000_00)),
            )
        )
    together = ()
    if n >= 2 and draw(st.booleans()):
        together = ((ids[0], ids[1]),)
    return RoadmapInstance(
        moves=tuple(moves),
        milestones=tuple(milestones),
        horizon_years=years,
        discount_rate=draw(st.sampled_from([Fraction(0), Fraction(8, 100), Fraction(3, 10)])),
        dual_running_bp=draw(st.sampled_from([0, 5000, 10000])),
        max_parallel=draw(st.sampled_from([None, 1, 2])),
        fte_cap_centi=draw(st.sampled_from([None, 300, 450])),
        budget_cents=draw(st.sampled_from([None, 80_000_00, 150_000_00])),
        together=together,
        fixed_cents=draw(st.integers(0, 100_000_00)),
    )


@pytest.mark.slow
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(roadmaps())
def test_cpsat_equals_brute_force_over_all_start_vectors(inst: RoadmapInstance) -> None:
    best, argmin = _enumerate(inst)
    result = solve_roadmap(inst, RoadmapConfig(time_limit_s=20, workers=1))
    event(f"status {result.status}")
    if best is None:
        assert result.status == "infeasible"
        assert result.constraints  # a named rule, never an unnamed one
        return
    assert result.status == "optimal"
    assert result.npv_cents == best
    assert result.starts in argmin


def test_more_transition_quarters_than_capacity_is_explained_by_counting() -> None:
    moves = tuple(Move(p, "V", 2, run_rate_cents=1) for p in ("A", "B", "C"))
    result = solve_roadmap(RoadmapInstance(moves=moves, horizon_years=1, max_parallel=1))
    assert result.status == "infeasible"
    assert result.constraints == ("max_parallel", "horizon")
    assert result.explanation == (
        "at most 1 process(es) in transition at once",
        "all 3 moves must end within the horizon of 4 quarters (1 years): together they need "
        "6 quarters of transition, and at most 1 × 4 = 4 fit",
    )


def test_fte_cap_below_one_move_is_explained() -> None:
    moves = (Move("A", "V", 1, fte_centi=150), Move("B", "V", 1, fte_centi=350))
    result = solve_roadmap(RoadmapInstance(moves=moves, horizon_years=1, fte_cap_centi=300))
    assert result.constraints == ("fte_cap",)
    assert result.explanation == ("at most 3.0 FTE in transition at once (B alone moves 3.5)",)


def test_fte_cap_per_quarter_acts_like_capacity_one_on_r1() -> None:
    # FTE 3.13 / 2.5 / 3.13 / 1.25 under a cap of 3.2 per quarter: no two moves fit together,
    # so the optimum is R1's with max_parallel 1.
    inst = _r1({"max_parallel: 1": "fte_cap: 3.2"})
    assert inst.max_parallel is None
    assert inst.fte_cap_centi == 320
    result = solve_roadmap(inst)
    assert result.starts == {"P1": 2, "P2": 0, "P3": 4, "P4": 3}
    assert result.npv_cents == 379_089_915


def test_offers_csv_carries_transition_quarters(tmp_path: Path) -> None:
    text = (COSTS / "R1.yaml").read_text()
    head, _ = text.split("offers:\n")
    (tmp_path / "costs.yaml").write_text(head)
    (tmp_path / "offers.csv").write_text(
        "process,provider,price_per_case,transition_cost,transition_quarters\n"
        "P1,A,25,100000,1\nP2,A,20,50000,2\nP3,A,25,20000,3\nP4,A,22,10000,\n"
    )
    settings_ = transition_settings(load_costs(tmp_path / "costs.yaml"))
    assert settings_.durations == {("P1", "A"): 1, ("P2", "A"): 2, ("P3", "A"): 3, ("P4", "A"): 1}
    (tmp_path / "offers.csv").write_text(
        "process,provider,price_per_case,transition_quarters\nP1,A,25,2.5\n"
    )
    with pytest.raises(InputError) as info:
        load_costs(tmp_path / "costs.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"error: {tmp_path / 'offers.csv'}:2: transition_quarters: must be a whole number of "
        "quarters — got a number 2.5; a transition lasts a whole number of quarters, at least 1"
    ]
