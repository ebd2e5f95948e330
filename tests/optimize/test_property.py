"""Property test: on random small instances CP-SAT's optimum equals brute-force enumeration.

The enumeration prices every plan through the solver-independent evaluator. It enumerates every
assignment of processes to eligible options and, per system, every decision that is not ruled
out by a local rule the evaluator also checks (so no feasible plan is skipped); rebate tiers are
the best ones the spend reaches (the evaluator's default) and g follows from the assignment.
"""

import itertools
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimize.evaluate import check_consistency, evaluate
from optimize.instance import (
    IN_HOUSE,
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
)
from optimize.model import SolverConfig, solve

settings.register_profile(
    "sourcing-property",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
PROFILE = settings.get_profile("sourcing-property")


@st.composite
def instances(draw: st.DrawFn) -> Instance:
    n_p = draw(st.integers(1, 6))
    n_v = draw(st.integers(1, 3))
    n_s = draw(st.integers(0, 3))
    sys_ids = [f"S{i}" for i in range(n_s)]
    prov_ids = [f"V{i}" for i in range(n_v)]
    systems = tuple(
        SystemData(
            s,
            run_cost_cents=draw(st.integers(0, 40)) * 100_000,
            policy=draw(
                st.sampled_from(["all_or_nothing", "all_or_nothing", "shareable", "not_movable"])
            ),
            retirable=draw(st.booleans()),
            decommission_cost_cents=draw(st.integers(0, 50)) * 100_000,
        )
        for s in sys_ids
    )
    processes = []
    for i in range(n_p):
        cases = draw(st.integers(1, 20)) * 500
        processes.append(
            ProcessData(
                f"P{i}",
                core=draw(st.integers(0, 9)) == 0,
                cases_per_year=cases,
                # 15–60 € per case in-house, so that offers of 10–50 € per case compete.
                inhouse_cost_cents=cases * draw(st.integers(1_500, 6_000))
                + draw(st.integers(0, 99)),
                fte=draw(st.integers(0, 8)) / 2,
                systems=tuple(s for s in sys_ids if draw(st.booleans())),
                other_avoidable_cost_cents=draw(st.sampled_from([0, 0, 250_000])),
                retained_share_bp=draw(st.sampled_from([0, 0, 500, 1_234])),
                allowed_locations=draw(st.sampled_from([None, None, ("DE",), ("EU",)])),
                required_certifications=draw(st.sampled_from([(), (), ("ISO",)])),
                throughput_target_hours=draw(st.sampled_from([None, 48.0])),
            )
        )
    providers = []
    for v in prov_ids:
        extra = draw(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 2_000)), max_size=2))
        tiers = tuple(RebateTier(min_spend * 500_000, bp) for min_spend, bp in sorted(set(extra)))
        takeover = tuple(
            Takeover(s, draw(st.integers(0, 20)) * 100_000, draw(st.integers(0, 30)) * 100_000)
            for s in sys_ids
            if draw(st.booleans())
        )
        providers.append(
            ProviderData(
                v,
                location=draw(st.sampled_from(["DE", "PL", "IN"])),
                certifications=draw(st.sampled_from([(), ("ISO",)])),
                setup_cost_cents=draw(st.sampled_from([0, 0, 2_000_000])),
                management_cost_cents=draw(st.sampled_from([0, 0, 1_000_000])),
                capacity_cases=draw(st.sampled_from([None, None, 5_000, 12_000])),
                capacity_fte=draw(st.sampled_from([None, None, 3.0])),
                min_annual_value_cents=draw(st.sampled_from([0, 0, 0, 2_000_000, 10_000_000])),
                rebate_tiers=tiers,
                risk_cents=draw(st.sampled_from([0, 300_000])),
                takeover=takeover,
                max_volume_share_bp=draw(st.sampled_from([None, None, 6_000])),
            )
        )
    offers = []
    for p in processes:
        for v in prov_ids:
            if not draw(st.integers(0, 2)):
                continue
            it = tuple(
                (s, draw(st.sampled_from(["takeover", "own_platform", "access"])))
                for s in sys_ids
                if draw(st.integers(0, 2)) == 0
            )
            offers.append(
                Offer(
                    p.id,
                    v,
                    price_per_case_cents=Fraction(
                        draw(st.integers(500, 4_000)), draw(st.sampled_from([1, 1, 3]))
                    ),
                    fixed_cents=draw(st.sampled_from([0, 0, 500_000])),
                    transition_cents=draw(st.integers(0, 10)) * 1_000_000,
                    sla_throughput_hours=draw(st.sampled_from([None, 24.0, 72.0])),
                    it=it,
                    risk_cents=draw(st.integers(0, 5)) * 100_000,
                )
            )
    couplings = []
    for a, b in itertools.combinations([p.id for p in processes], 2):
        if draw(st.integers(0, 3)) == 0:
            couplings.append(
                Coupling(
                    a, b, draw(st.integers(0, 5_000)) / 2, draw(st.sampled_from([0, 1_000_000]))
                )
            )
    risk_mode = draw(st.sampled_from(["none", "constraint", "objective"]))
    study = Study(
        horizon_years=draw(st.integers(3, 7)),
        discount_rate=draw(st.sampled_from([Fraction(0), Fraction(5, 100)])),
        governance_bp=draw(st.sampled_from([0, 500, 777])),
        cost_per_handover_cents=draw(st.sampled_from([0, 150])),
        max_providers=draw(st.sampled_from([None, None, 1, 2])),
        inhouse_fte_cap_centi=draw(st.sampled_from([None, None, 400, 800])),
        keep_together_threshold=draw(st.sampled_from([None, None, 0.3])),
        risk_mode=risk_mode,
        risk_budget_cents=draw(st.sampled_from([None, 500_000, 1_000_000])),
        risk_weight_bp=draw(st.sampled_from([5_000, 10_000, 25_000])),
        transition_fte_cap_centi=draw(st.sampled_from([None, None, 300])),
    )
    return Instance(
        processes=tuple(processes),
        systems=systems,
        providers=tuple(providers),
        offers=tuple(offers),
        couplings=tuple(couplings),
        study=study,
    )


def _system_options(inst: Instance, assign: dict[str, str], sid: str) -> list[str]:
    """Decisions for one system that no local rule of the evaluator rules out."""
    s = inst.system_by_id[sid]
    users = inst.users.get(sid, ())
    must = set()
    needs_access = False
    for p in inst.processes:
        opt = assign[p.id]
        if opt == IN_HOUSE:
            needs_access |= sid in p.systems
            continue
        o = inst.offer(p.id, opt)
        if o is None:
            continue
        mode = o.mode(sid) if (sid in p.systems or any(x == sid for x, _ in o.it)) else None
        if mode == "takeover":
            must.add(opt)
        elif mode == "access":
            needs_access = True
    if len(must) > 1:
        return []
    used = set(assign.values())
    transfers = [
        v.id
        for v in inst.providers
        if v.id in used
        and s.policy != "not_movable"
        and (s.policy != "all_or_nothing" or all(assign[q] == v.id for q in users))
    ]
    if must:
        (v,) = must
        return [f"transfer:{v}"] if v in transfers else []
    out = ["keep"]
    if s.retirable and not needs_access:
        out.append("retire")
    return out + [f"transfer:{v}" for v in transfers]


def brute_force(inst: Instance) -> int | None:
    """The minimum total of any feasible plan, or None."""
    options = [
        [IN_HOUSE]
        + [
            v.id
            for v in inst.providers
            if inst.offer(p.id, v.id) and not inst.ineligibility(p.id, v.id)
        ]
        for p in inst.processes
    ]
    best: int | None = None
    for combo in itertools.product(*options):
        assign = dict(zip([p.id for p in inst.processes], combo, strict=True))
        per_system = [_system_options(inst, assign, s.id) for s in inst.systems]
        for decisions in itertools.product(*per_system):
            plan = Plan(assign, dict(zip([s.id for s in inst.systems], decisions, strict=True)))
            ev = evaluate(inst, plan)
            if ev.feasible and (best is None or ev.total_cents < best):
                best = ev.total_cents
    return best


@pytest.mark.slow
@PROFILE
@given(instances())
def test_cp_sat_equals_brute_force(inst: Instance) -> None:
    expected = brute_force(inst)
    res = solve(inst, SolverConfig(time_limit_s=30, workers=1))
    if expected is None:
        assert res.status == "infeasible"
        return
    assert res.status == "optimal"
    assert res.objective_cents == expected
    check_consistency(inst, res.objective_cents, res.plan)
