"""Cost file + mined tables → Instance: time-driven ABC, overrides with provenance, cross-checks,
and the worked instances of docs/sourcing-model.md §8 solved to their known optimum."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from mining.kpis import MiningConfig, compute_tables
from optimize.analysis import break_even
from optimize.build import BuiltInstance, MinedInputs, build_instance, load_mined_dir
from optimize.costfile import load_costs, parse_costs
from optimize.evaluate import evaluate, status_quo
from optimize.explain import explain_infeasibility
from optimize.instance import (
    Coupling,
    Instance,
    Offer,
    ProcessData,
    ProviderData,
    RebateTier,
    Study,
    SystemData,
    Takeover,
    round_half_up,
)
from optimize.model import SolverConfig, solve
from pipelines.errors import InputError

COSTS = Path(__file__).parents[1] / "data" / "costs"
SOLVER = SolverConfig(time_limit_s=20.0, workers=1)


def built(name: str) -> BuiltInstance:
    return build_instance(load_costs(COSTS / name), None, source=name)


def provenance(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["process", "field", "value", "source"], orient="row").cast(
        pl.String
    )


# --- worked instances: the builder reproduces docs/sourcing-model.md §8's inputs exactly ---


def test_i1_instance_equals_model_inputs() -> None:
    b = built("I1.yaml")
    assert b.instance == Instance(
        processes=(
            ProcessData(id="P1", cases_per_year=10_000, inhouse_cost_cents=30_000_000, fte=3.125),
        ),
        providers=(ProviderData(id="A", rebate_tiers=(RebateTier(0, 0),)),),
        offers=(
            Offer(
                process="P1",
                provider="A",
                price_per_case_cents=Fraction(2500),
                transition_cents=10_000_000,
            ),
        ),
        study=Study(horizon_years=5, discount_rate=Fraction(0), governance_bp=500),
    )
    assert b.instance.study.crf == Fraction(1, 5)
    assert b.warnings == ()
    assert_frame_equal(
        b.provenance,
        provenance(
            [
                ("P1", "cases_per_year", "10000", "overridden"),
                ("P1", "inhouse_cost_per_year", "300000", "overridden"),
                ("P1", "handling_hours_per_case", "0.5", "overridden"),
                ("P1", "fte", "3.125", "overridden"),
                ("P1", "systems", "", "default"),
                ("P1", "throughput_target_hours", "", "default"),
            ]
        ),
    )


def test_i1_with_eight_percent_has_the_exact_discount_rate() -> None:
    study = built("I1_i8.yaml").instance.study
    assert study.discount_rate == Fraction(2, 25)
    assert study.annualise(10_000_000) == 2_504_565  # 100,000 × CRF(8 %, 5) = 25,045.65


def test_i2_instance_equals_model_inputs() -> None:
    b = built("I2.yaml")
    takeover = (Takeover("S1", 3_000_000, 5_000_000),)
    assert b.instance == Instance(
        processes=(
            ProcessData(
                "P1", cases_per_year=10_000, inhouse_cost_cents=20_000_000, systems=("S1",)
            ),
            ProcessData(
                "P2", cases_per_year=10_000, inhouse_cost_cents=10_000_000, systems=("S1",)
            ),
            ProcessData(
                "P3",
                core=True,
                cases_per_year=10_000,
                inhouse_cost_cents=5_000_000,
                systems=("S2",),
            ),
        ),
        systems=(SystemData("S1", 8_000_000), SystemData("S2", 2_000_000)),
        providers=(ProviderData("A", rebate_tiers=(RebateTier(0, 0),), takeover=takeover),),
        offers=(
            Offer("P1", "A", Fraction(1500), it=(("S1", "takeover"),)),
            Offer("P2", "A", Fraction(1300), it=(("S1", "takeover"),)),
            Offer("P3", "A", Fraction(100)),
        ),
        study=Study(horizon_years=5, discount_rate=Fraction(0), governance_bp=500),
    )
    assert b.warnings == ("process 'P3' is core: the offers of A are ignored",)


@pytest.mark.parametrize(
    ("name", "capacity", "max_providers"),
    [("I3.yaml", 15_000, None), ("I3_max1.yaml", 15_000, 1), ("I3_nocap.yaml", None, None)],
)
def test_i3_instances(name: str, capacity: int | None, max_providers: int | None) -> None:
    inst = built(name).instance
    assert [p.inhouse_cost_cents for p in inst.processes] == [10_000_000, 8_000_000, 6_000_000]
    assert [p.cases_per_year for p in inst.processes] == [10_000, 8_000, 6_000]
    a, b = inst.providers
    assert (a.capacity_cases, b.min_annual_value_cents) == (capacity, 10_000_000)
    assert (inst.study.max_providers, inst.study.governance_bp) == (max_providers, 0)
    assert {(o.process, o.provider): o.price_per_case_cents for o in inst.offers} == {
        ("P1", "A"): 700,
        ("P2", "A"): 800,
        ("P3", "A"): 900,
        ("P1", "B"): 800,
        ("P2", "B"): 850,
        ("P3", "B"): 950,
    }


@pytest.mark.parametrize(
    ("name", "p1_price"), [("I4.yaml", 2000), ("I4_1790.yaml", 1790), ("I4_1800.yaml", 1800)]
)
def test_i4_instances(name: str, p1_price: int) -> None:
    inst = built(name).instance
    assert [p.inhouse_cost_cents for p in inst.processes] == [21_500_000, 11_500_000]
    assert inst.providers[0].rebate_tiers == (RebateTier(0, 0), RebateTier(30_000_000, 1000))
    assert [o.price_per_case_cents for o in inst.offers] == [p1_price, 1200]
    assert inst.offers[1].annual_spend_cents(10_000) == 12_000_000


def test_i5_instance() -> None:
    b = built("I5.yaml")
    p1, p2 = b.instance.processes
    assert (p1.core, p1.fte, p1.inhouse_cost_cents, p1.cases_per_year) == (True, 3.0, 20_000_000, 0)
    assert (p2.fte, p2.inhouse_cost_cents, p2.allowed_locations) == (2.0, 12_000_000, ("DE",))
    assert b.instance.study.inhouse_fte_cap_centi == 400
    assert [(v.location, v.min_annual_value_cents) for v in b.instance.providers] == [
        ("PL", 0),
        ("DE", 10_000_000),
    ]
    assert b.instance.ineligibility("P2", "A") == ("location",)
    assert b.warnings == ("processes[0] (P1): cases per year unknown; taken as 0",)


# --- key acceptance tests: from cost files, by CP-SAT, docs/sourcing-model.md §8's optimum ---

OPTIMA = [
    ("I1.yaml", 28_250_000, {"P1": "A"}, {}),
    ("I1_i8.yaml", 28_754_565, {"P1": "A"}, {}),
    (
        "I2.yaml",
        40_550_000,
        {"P1": "A", "P2": "A", "P3": "in_house"},
        {"S1": "transfer:A", "S2": "keep"},
    ),
    (
        "I2_p1_alone.yaml",
        45_000_000,
        {"P1": "in_house", "P2": "in_house", "P3": "in_house"},
        {"S1": "keep", "S2": "keep"},
    ),
    ("I3.yaml", 19_500_000, {"P1": "A", "P2": "B", "P3": "B"}, {}),
    ("I3_max1.yaml", 20_500_000, {"P1": "B", "P2": "B", "P3": "B"}, {}),
    ("I3_nocap.yaml", 18_800_000, {"P1": "A", "P2": "A", "P3": "A"}, {}),
    ("I4.yaml", 30_240_000, {"P1": "A", "P2": "A"}, {}),
    ("I4_1790.yaml", 30_295_000, {"P1": "A", "P2": "in_house"}, {}),
    ("I4_1800.yaml", 28_350_000, {"P1": "A", "P2": "A"}, {}),
]


@pytest.mark.parametrize(
    ("name", "objective", "assignment", "systems"), OPTIMA, ids=[o[0] for o in OPTIMA]
)
def test_worked_instance_solves_to_model_optimum(
    name: str, objective: int, assignment: dict[str, str], systems: dict[str, str]
) -> None:
    inst = built(name).instance
    result = solve(inst, SOLVER)
    assert result.status == "optimal"
    assert result.objective_cents == objective
    assert result.plan is not None
    assert result.plan.assignment == assignment
    assert result.plan.systems == systems
    assert evaluate(inst, result.plan).total_cents == objective


def test_i2_status_quo_is_450000() -> None:
    inst = built("I2.yaml").instance
    assert evaluate(inst, status_quo(inst)).total_cents == 45_000_000


@pytest.mark.parametrize(
    ("name", "price"), [("I1.yaml", Fraction(8000, 3)), ("I1_i8.yaml", Fraction(1833029, 700))]
)
def test_i1_break_even_price(name: str, price: Fraction) -> None:
    inst = built(name).instance
    (be,) = break_even(inst, solve(inst, SOLVER), SOLVER)
    assert be.break_even_cents == price
    assert round(float(price) / 100, 4) == {"I1.yaml": 26.6667, "I1_i8.yaml": 26.1861}[name]


def test_i5_is_infeasible_with_the_minimal_explanation() -> None:
    inst = built("I5.yaml").instance
    assert solve(inst, SOLVER).status == "infeasible"
    explanation = explain_infeasibility(inst, time_limit_s=10.0)
    assert set(explanation.constraints) == {
        "core:P1",
        "inhouse_fte_cap",
        "location:P2:A",
        "min_value:B",
    }


# --- time-driven ABC from mined tables --------------------------------------------------------

MINED_COSTS = """\
schema_version: 1
study: {horizon_years: 5, discount_rate: 0, inhouse_fte_cap: 10}
roles:
  - {id: clerk, cost_per_hour: 60}
  - {id: senior, cost_per_year: 80000, practical_hours_per_year: 1600}
default_role: senior
data_classes:
  pii: {allowed_locations: [DE, EU], required_certifications: [ISO27001]}
processes:
  - id: AP
    data_class: pii
    calibration_factor: 1.2
    other_avoidable_cost_per_year: 1000
    retained_share: 0.1
  - id: VM
    throughput_target_hours: 72
    override: {cases_per_year: 500, systems: [MDM, ERP]}
  - {id: HR, core: true}
systems:
  - {id: ERP, run_cost_per_year: 120000, policy: not_movable, retirable: false}
providers:
  - id: A
    location: PL
    certifications: [ISO27001]
    system_takeover: {OCR: {annual_fee: 1000, migration_cost: 2000}}
offers:
  - {process: AP, provider: A, price_per_case: 3.10, sla_throughput_hours: 48,
     it: {ERP: access, OCR: takeover}}
couplings_override:
  - {from: VM, to: AP, interface_cost: 25000}
"""


def mined_tables() -> MinedInputs:
    return MinedInputs(
        process_kpis=pl.DataFrame(
            {
                "process": ["AP", "TR", "VM"],
                "cases_per_year": [10_000.4, 100.0, 480.3],
                "p90_throughput_hours": [30.5, 1.0, 2.0],
                "handling_time_source": ["measured", "measured", "estimated"],
            }
        ),
        activity_stats=pl.DataFrame(
            {
                "process": ["AP", "AP", "AP", "TR", "VM"],
                "activity": ["Check", "Post", "Auto", "Do", "Update"],
                "executions_per_case": [1.0, 1.5, 1.0, 1.0, 1.0],
                "mean_handling_minutes": [24.0, 6.0, None, 60.0, 12.0],
                "main_role": ["clerk", "poster", None, "clerk", "clerk"],
            }
        ),
        handovers=pl.DataFrame(
            {
                "from_process": ["AP", "VM", "TR"],
                "to_process": ["VM", "AP", "AP"],
                "handovers_per_year": [300.0, 100.0, 5.0],
            }
        ),
        system_usage=pl.DataFrame(
            {
                "process": ["AP", "AP", "AP", "VM"],
                "system": ["ERP", "OCR", "FAX", "MDM"],
                "share_of_process_events": [0.8, 0.195, 0.005, 1.0],
            }
        ),
    )


def test_time_driven_abc_from_mined_tables() -> None:
    b = build_instance(parse_costs(MINED_COSTS), mined_tables(), source="costs.yaml")
    ap, vm, hr, tr = b.instance.processes
    # AP: κ 1.2 × 10,000 × (1.0 × 0.4 h × 60 €/h + 1.5 × 0.1 h × 50 €/h) = 378,000 €
    assert ap == ProcessData(
        id="AP",
        cases_per_year=10_000,
        inhouse_cost_cents=37_800_000,
        fte=4.125,  # 1.2 × 10,000 × 0.55 h / 1,600
        systems=("ERP", "OCR"),
        other_avoidable_cost_cents=100_000,
        retained_share_bp=1000,
        data_class="pii",
        allowed_locations=("DE", "EU"),
        required_certifications=("ISO27001",),
        throughput_target_hours=30.5,
    )
    # VM: 500 cases (override) × 0.2 h × 60 €/h = 6,000 €
    assert vm == ProcessData(
        id="VM",
        cases_per_year=500,
        inhouse_cost_cents=600_000,
        fte=0.0625,
        systems=("MDM", "ERP"),
        throughput_target_hours=72.0,
    )
    assert hr == ProcessData(id="HR", core=True)
    assert tr == ProcessData(
        id="TR",
        cases_per_year=100,
        inhouse_cost_cents=600_000,
        fte=0.0625,
        throughput_target_hours=1.0,
    )
    assert b.instance.systems == (
        SystemData("ERP", 12_000_000, "not_movable", retirable=False),
        SystemData("MDM"),
        SystemData("OCR"),
    )
    assert b.instance.couplings == (
        Coupling("AP", "TR", 5.0, 0),
        Coupling("AP", "VM", 400.0, 2_500_000),
    )
    assert b.instance.offers == (
        Offer(
            "AP",
            "A",
            Fraction(310),
            sla_throughput_hours=48.0,
            it=(("ERP", "access"), ("OCR", "takeover")),
        ),
    )
    assert b.warnings == (
        "process 'AP', activity 'Auto': no handling time in the log; counted as 0 hours",
        "processes[2] (HR) is in the cost file but not in the event log: its values come from "
        "its overrides",
        "processes[2] (HR): no cases and no labour cost (not in the log, no overrides); it is "
        "core and stays in-house at 0",
        "processes[2] (HR): FTE unknown, taken as 0 for the FTE limits; give override.fte",
        "process 'TR' is in the event log but not in the cost file: not core, no data class, no "
        "offers, so it stays in-house",
        "role 'poster' of the log (processes AP) is not a role of the cost file: priced at "
        "default_role 'senior'",
        "system 'MDM' (used by VM) is not in the cost file: run cost 0, policy all_or_nothing, "
        "retirable, decommission cost 0 — add it under systems:",
        "system 'OCR' (used by AP) is not in the cost file: run cost 0, policy all_or_nothing, "
        "retirable, decommission cost 0 — add it under systems:",
    )
    assert_frame_equal(
        b.provenance,
        provenance(
            [
                ("AP", "cases_per_year", "10000", "mined"),
                ("AP", "inhouse_cost_per_year", "378000", "mined"),
                ("AP", "handling_hours_per_case", "0.55", "mined"),
                ("AP", "fte", "4.125", "mined"),
                ("AP", "systems", "ERP;OCR", "mined"),
                ("AP", "throughput_p90_hours", "30.5", "mined"),
                ("AP", "throughput_target_hours", "30.5", "mined"),
                ("VM", "cases_per_year", "500", "overridden"),
                ("VM", "inhouse_cost_per_year", "6000", "mined"),
                ("VM", "handling_hours_per_case", "0.2", "mined"),
                ("VM", "fte", "0.0625", "overridden"),
                ("VM", "systems", "MDM;ERP", "overridden"),
                ("VM", "throughput_p90_hours", "2", "mined"),
                ("VM", "throughput_target_hours", "72", "overridden"),
                ("HR", "cases_per_year", "0", "default"),
                ("HR", "inhouse_cost_per_year", "0", "default"),
                ("HR", "fte", "0", "default"),
                ("HR", "systems", "", "default"),
                ("HR", "throughput_target_hours", "", "default"),
                ("TR", "cases_per_year", "100", "mined"),
                ("TR", "inhouse_cost_per_year", "6000", "mined"),
                ("TR", "handling_hours_per_case", "1", "mined"),
                ("TR", "fte", "0.0625", "mined"),
                ("TR", "systems", "", "default"),
                ("TR", "throughput_p90_hours", "1", "mined"),
                ("TR", "throughput_target_hours", "1", "mined"),
                ("AP", "handovers_with:VM", "400", "mined"),
                ("AP", "handovers_with:TR", "5", "mined"),
            ]
        ),
    )


def test_sla_above_observed_p90_makes_the_offer_ineligible() -> None:
    b = build_instance(parse_costs(MINED_COSTS), mined_tables(), source="costs.yaml")
    assert b.instance.ineligibility("AP", "A") == ("sla",)  # 48 h promised > 30.5 h observed P90


def test_overrides_win_over_mined_values() -> None:
    text = MINED_COSTS.replace(
        "    retained_share: 0.1\n",
        "    retained_share: 0.1\n    override: {inhouse_cost_per_year: 250000, fte: 3, "
        "throughput_p90_hours: 50, systems: [ERP]}\n",
    )
    b = build_instance(parse_costs(text), mined_tables(), source="costs.yaml")
    ap = b.instance.process_by_id["AP"]
    assert (ap.inhouse_cost_cents, ap.fte, ap.throughput_target_hours, ap.systems) == (
        25_000_000,
        3.0,
        50.0,
        ("ERP",),
    )
    assert b.instance.ineligibility("AP", "A") == ()
    assert (
        "processes[0]: calibration_factor 1.2 is not applied to override.inhouse_cost_per_year "
        "(a labour cost given directly)"
    ) in b.warnings
    rows = b.provenance.filter(pl.col("process") == "AP").head(7)
    assert rows["source"].to_list() == [
        "mined",  # cases
        "overridden",  # cost
        "mined",  # hours per case (for nothing but the record)
        "overridden",  # fte
        "overridden",  # systems
        "overridden",  # p90
        "overridden",  # target = p90 override
    ]


def test_mined_folder_round_trip(tmp_path: Path) -> None:
    tables = mined_tables()
    for name in ("process_kpis", "activity_stats", "handovers", "system_usage"):
        getattr(tables, name).write_csv(tmp_path / f"{name}.csv")
    costs = parse_costs(MINED_COSTS)
    from_dir = build_instance(costs, load_mined_dir(tmp_path), source="costs.yaml")
    from_frames = build_instance(costs, tables, source="costs.yaml")
    assert from_dir.instance == from_frames.instance
    assert from_dir.warnings == from_frames.warnings


def test_mined_folder_problems(tmp_path: Path) -> None:
    tables = mined_tables()
    tables.process_kpis.drop("p90_throughput_hours").write_csv(tmp_path / "process_kpis.csv")
    tables.activity_stats.with_columns(
        pl.when(pl.col("activity") == "Post")
        .then(pl.lit("six"))
        .otherwise(pl.col("mean_handling_minutes").cast(pl.String))
        .alias("mean_handling_minutes")
    ).write_csv(tmp_path / "activity_stats.csv")
    tables.handovers.with_columns(
        pl.when(pl.col("from_process") == "TR")
        .then(float("nan"))
        .otherwise(pl.col("handovers_per_year"))
        .alias("handovers_per_year")
    ).write_csv(tmp_path / "handovers.csv")
    with pytest.raises(InputError) as info:
        load_mined_dir(tmp_path)
    assert [str(p) for p in info.value.problems] == [
        f"error: {tmp_path / 'process_kpis.csv'}: missing column(s) p90_throughput_hours; "
        "process_kpis needs process, cases_per_year, p90_throughput_hours, handling_time_source "
        "(docs/results.md) — write the folder with `bpo mine`",
        f"error: {tmp_path / 'activity_stats.csv'}:3: column mean_handling_minutes: 'six' is not "
        "a number; fix or re-mine the folder",
        f"error: {tmp_path / 'handovers.csv'}:4: column handovers_per_year: 'NaN' is not a finite "
        "number ≥ 0; fix or re-mine the folder",
        f"error: {tmp_path / 'system_usage.csv'}: missing; the --mined folder must be written by "
        "`bpo mine`",
    ]
    with pytest.raises(InputError, match="is not a folder"):
        load_mined_dir(tmp_path / "nothing")


def test_real_mining_tables_feed_the_builder() -> None:
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    spec = [
        ("Check", 24, 0, "anna", "clerk", "AP", "ERP"),
        ("Post", 40, 34, "ben", "poster", "AP", "ERP"),
        ("Update", 60, 48, "carl", "clerk", "VM", "MDM"),
    ]  # activity, end and start minute of the day, resource, role, process, system
    rows = [
        (f"c{c}", act, *(start + timedelta(days=c, minutes=m) for m in (end, begin)), *rest)
        for c in range(4)
        for act, end, begin, *rest in spec
    ]
    ts = pl.Datetime("us", "UTC")
    log = pl.DataFrame(
        rows,
        schema={
            "case_id": pl.String,
            "activity": pl.String,
            "timestamp": ts,
            "start_timestamp": ts,
            "resource": pl.String,
            "role": pl.String,
            "process": pl.String,
            "system": pl.String,
        },
        orient="row",
    )
    # an observation window of 36.525 days annualises ×10: 4 cases → 40 per year
    config = MiningConfig(observation_period=(start, start + timedelta(days=36.525)))
    costs = parse_costs(
        "schema_version: 1\nroles:\n  - {id: clerk, cost_per_hour: 60}\n"
        "  - {id: senior, cost_per_hour: 50}\ndefault_role: senior\n"
        "systems: [{id: ERP, run_cost_per_year: 1000}, {id: MDM, run_cost_per_year: 500}]\n"
        "processes:\n  - {id: AP, calibration_factor: 1.2}\n  - {id: VM}\n"
    )
    b = build_instance(costs, compute_tables(log, config), source="costs.yaml")
    ap, vm = b.instance.processes
    # AP: 1.2 × 40 × (0.4 h × 60 + 0.1 h × 50) = 1,392 €; VM: 40 × 0.2 h × 60 = 480 €
    assert (ap.cases_per_year, ap.inhouse_cost_cents, ap.systems) == (40, 139_200, ("ERP",))
    assert (vm.cases_per_year, vm.inhouse_cost_cents, vm.systems) == (40, 48_000, ("MDM",))
    assert b.instance.couplings == (Coupling("AP", "VM", pytest.approx(40.0), 0),)


# --- builder problems -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mined", "expected"),
    [
        (
            "schema_version: 1\nprocesses: [{id: P}]\n",
            False,
            "processes[0] (P): no cases and no labour cost — it is not in the event log and has "
            "no overrides; give override.cases_per_year and override.inhouse_cost_per_year (or "
            "handling_hours_per_case), or remove it",
        ),
        (
            "schema_version: 1\nprocesses: [{id: P, override: {cases_per_year: 5}}]\n",
            False,
            "processes[0] (P): cases per year known but no labour cost; give "
            "override.inhouse_cost_per_year, or handling_hours_per_case with a role",
        ),
        (
            "schema_version: 1\nprocesses: [{id: P, override: {inhouse_cost_per_year: 5}}]\n"
            "providers: [{id: A}]\noffers: [{process: P, provider: A, price_per_case: 1}]\n",
            False,
            "processes[0] (P): its offers are priced per case but its cases per year are "
            "unknown; give override.cases_per_year",
        ),
        (
            "schema_version: 1\nproviders: [{id: A}]\n"
            "offers: [{process: GHOST, provider: A, price_per_case: 1}]\n",
            True,
            "the offer of 'A' for process 'GHOST': process 'GHOST' is neither in the event log "
            "nor under processes:; fix the name or add the process with overrides",
        ),
        (
            "schema_version: 1\ncouplings_override: [{from: AP, to: GHOST}]\n"
            "roles: [{id: clerk, cost_per_hour: 1}]\ndefault_role: clerk\n",
            True,
            "couplings_override[0]: process 'GHOST' is neither in the event log nor under "
            "processes:; fix the name",
        ),
        (
            "schema_version: 1\nroles: [{id: clerk, cost_per_hour: 1}]\n",
            True,
            "process 'AP', activity 'Post' has the log's role 'poster', which is not a role of "
            "the cost file, and there is no default_role; add the role under roles: or set "
            "default_role",
        ),
        (
            "schema_version: 1\n",
            False,
            "processes: no processes — give an event log (--mined) or list processes with "
            "override.cases_per_year and override.inhouse_cost_per_year",
        ),
    ],
)
def test_builder_problems(text: str, mined: bool, expected: str) -> None:
    tables = mined_tables() if mined else None
    with pytest.raises(InputError) as info:
        build_instance(parse_costs(text), tables, source="c.yaml")
    assert f"error: c.yaml: {expected}" in [str(p) for p in info.value.problems]


def test_log_without_handling_times_needs_a_labour_cost() -> None:
    tables = mined_tables()
    no_times = MinedInputs(
        process_kpis=tables.process_kpis.with_columns(
            pl.when(pl.col("process") == "TR")
            .then(pl.lit("none"))
            .otherwise(pl.col("handling_time_source"))
            .alias("handling_time_source")
        ),
        activity_stats=tables.activity_stats.with_columns(
            pl.when(pl.col("process") == "TR")
            .then(None)
            .otherwise(pl.col("mean_handling_minutes"))
            .alias("mean_handling_minutes")
        ),
        handovers=tables.handovers,
        system_usage=tables.system_usage,
    )
    with pytest.raises(InputError) as info:
        build_instance(parse_costs(MINED_COSTS), no_times, source="c.yaml")
    assert [str(p) for p in info.value.problems] == [
        "error: c.yaml: process 'TR': the log gives no handling times (no start timestamps, no "
        "usable resource gaps), so its labour cost is unknown; list it under processes: with "
        "override.inhouse_cost_per_year or handling_hours_per_case"
    ]


def test_model_example_with_a_log_builds_and_solves() -> None:
    tables = MinedInputs(
        process_kpis=pl.DataFrame(
            {
                "process": ["accounts_payable", "product_development"],
                "cases_per_year": [50_000.0, 200.0],
                "p90_throughput_hours": [60.0, 900.0],
                "handling_time_source": ["measured", "measured"],
            }
        ),
        activity_stats=pl.DataFrame(
            {
                "process": ["accounts_payable", "accounts_payable", "product_development"],
                "activity": ["Check Invoice", "Post Invoice", "Design"],
                "executions_per_case": [1.0, 1.0, 1.0],
                "mean_handling_minutes": [12.0, 3.0, 600.0],
                "main_role": ["ap_clerk", "it_agent", None],
            }
        ),
        handovers=pl.DataFrame(
            {
                "from_process": ["accounts_payable"],
                "to_process": ["product_development"],
                "handovers_per_year": [10.0],
            }
        ),
        system_usage=pl.DataFrame(
            {
                "process": ["accounts_payable", "accounts_payable"],
                "system": ["ERP", "OCR"],
                "share_of_process_events": [0.5, 0.5],
            }
        ),
    )
    b = build_instance(load_costs(COSTS / "example.yaml"), tables, source="example.yaml")
    ap = b.instance.process_by_id["accounts_payable"]
    # 1.2 × 52,000 (override) × (0.2 h × 42.50 €/h + 0.05 h × 68,000/1,600 €/h) = 663,000 €
    assert (ap.cases_per_year, ap.inhouse_cost_cents) == (52_000, 66_300_000)
    assert (ap.allowed_locations, ap.throughput_target_hours) == (("DE", "EU"), 72.0)
    assert b.instance.ineligibility("accounts_payable", "bpo_a") == ()  # PL is in the EU
    vm = b.instance.process_by_id["vendor_master"]
    assert (vm.cases_per_year, vm.inhouse_cost_cents, vm.fte, vm.systems) == (
        8000,
        9_000_000,
        1.4,
        ("ERP",),
    )
    assert b.instance.couplings == (
        Coupling("accounts_payable", "product_development", 10.0, 0),
        Coupling("accounts_payable", "vendor_master", 12_000.0, 2_500_000),
    )
    assert b.instance.study.risk_budget_cents == 15_000_000
    result = solve(b.instance, SOLVER)
    assert result.status == "optimal"
    assert result.plan is not None
    assert evaluate(b.instance, result.plan).total_cents == result.objective_cents


money = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)
hours = st.decimals(min_value=0, max_value=50, places=3, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    cases=st.integers(0, 10**6),
    per_case=hours,
    rate=money,
    kappa=st.decimals(min_value="0.5", max_value="2", places=2),
    direct=st.one_of(st.none(), money),
    price=money,
    transition=money,
    tiers=st.lists(st.tuples(money, st.decimals(0, "0.99", places=4)), max_size=3),
)
def test_override_only_files_become_exact_cents(
    *,
    cases: int,
    per_case: Decimal,
    rate: Decimal,
    kappa: Decimal,
    direct: Decimal | None,
    price: Decimal,
    transition: Decimal,
    tiers: list[tuple[Decimal, Decimal]],
) -> None:
    override = {"cases_per_year": cases, "handling_hours_per_case": float(per_case), "role": "r"}
    if direct is not None:
        override["inhouse_cost_per_year"] = float(direct)
    spends = sorted({s for s, _ in tiers} - {Decimal(0)})
    rebates = [Decimal(0), *(r for _, r in tiers)][: len(spends) + 1]
    doc = {
        "schema_version": 1,
        "roles": [{"id": "r", "cost_per_hour": float(rate)}],
        "processes": [{"id": "P", "calibration_factor": float(kappa), "override": override}],
        "providers": [
            {
                "id": "A",
                "rebate_tiers": [
                    {"min_spend": float(s), "rebate": float(r)}
                    for s, r in zip([Decimal(0), *spends], rebates, strict=True)
                ],
            }
        ],
        "offers": [
            {
                "process": "P",
                "provider": "A",
                "price_per_case": float(price),
                "transition_cost": float(transition),
            }
        ],
    }
    b = build_instance(parse_costs(yaml.safe_dump(doc)), None, source="p.yaml")
    (p,) = b.instance.processes
    labour = (
        Fraction(direct)
        if direct is not None
        else Fraction(kappa) * cases * Fraction(per_case) * Fraction(rate)
    )
    assert p.inhouse_cost_cents == round_half_up(labour * 100)
    assert p.cases_per_year == cases
    (offer,) = b.instance.offers
    assert offer.price_per_case_cents == Fraction(price) * 100
    assert offer.transition_cents == int(transition * 100)
    assert [(t.min_spend_cents, t.rebate_bp) for t in b.instance.providers[0].rebate_tiers] == [
        (int(s * 100), int(r * 10_000)) for s, r in zip([Decimal(0), *spends], rebates, strict=True)
    ]
