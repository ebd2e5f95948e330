"""Benchmark of the CP-SAT sourcing model (not a test).

A synthetic study of 1,000 processes × 10 providers × 200 IT systems, with shared systems (all
three policies), all-units rebate tiers, capacities, minimum values, data-location and
certification rules, couplings and a maximum number of providers. Reports time to optimal (or
the gap at the time limit; with `--gap`, time to that gap) with 2 workers and the load average
around the solve, and checks the plan with the evaluator.

    .venv/bin/python bench/bench_optimize.py [--processes 1000] [--providers 10] [--systems 200]
                                             [--time-limit 60] [--workers 2] [--seed 1]
                                             [--couplings-per-process 1.5] [--gap 0.001]
                                             [--solver-seed 0]
"""

import argparse
import os
import random
import time
from fractions import Fraction

from optimize.evaluate import check_consistency, evaluate, status_quo
from optimize.instance import (
    IN_HOUSE,
    Coupling,
    Instance,
    Offer,
    ProcessData,
    ProviderData,
    RebateTier,
    Study,
    SystemData,
    Takeover,
)
from optimize.model import SolverConfig, solve

EURO = 100


def generate(
    n_p: int, n_v: int, n_s: int, seed: int, couplings_per_process: float = 1.5
) -> Instance:
    rnd = random.Random(seed)
    systems = tuple(
        SystemData(
            f"S{i:03d}",
            run_cost_cents=rnd.randint(20_000, 300_000) * EURO,
            policy=rnd.choices(["all_or_nothing", "shareable", "not_movable"], [6, 3, 1])[0],
            retirable=rnd.random() < 0.8,
            decommission_cost_cents=rnd.randint(0, 100_000) * EURO,
        )
        for i in range(n_s)
    )
    processes = []
    for i in range(n_p):
        cases = rnd.randint(1_000, 50_000)
        per_case = rnd.uniform(5, 40)
        hours = per_case / 45
        k = rnd.choices([1, 2, 3], [5, 3, 2])[0]
        processes.append(
            ProcessData(
                f"P{i:04d}",
                core=rnd.random() < 0.05,
                cases_per_year=cases,
                inhouse_cost_cents=round(cases * per_case * EURO),
                fte=round(cases * hours / 1600, 2),
                systems=tuple(sorted({systems[rnd.randrange(n_s)].id for _ in range(k)})),
                retained_share_bp=rnd.choice([0, 500, 1_000]),
                data_class="personal" if rnd.random() < 0.2 else None,
                allowed_locations=("DE",)
                if rnd.random() < 0.1
                else ("EU",)
                if rnd.random() < 0.2
                else None,
                required_certifications=("ISO27001",) if rnd.random() < 0.1 else (),
                throughput_target_hours=rnd.choice([None, 48.0, 96.0]),
            )
        )
    locations = ["DE", "PL", "CZ", "IN", "PT", "DE", "RO", "PH", "IE", "PL"]
    providers = []
    for j in range(n_v):
        takeover = tuple(
            Takeover(s.id, rnd.randint(5_000, 150_000) * EURO, rnd.randint(10_000, 80_000) * EURO)
            for s in systems
            if rnd.random() < 0.3
        )
        providers.append(
            ProviderData(
                f"V{j:02d}",
                location=locations[j % len(locations)],
                certifications=("ISO27001",) if rnd.random() < 0.6 else (),
                setup_cost_cents=rnd.randint(50_000, 300_000) * EURO,
                management_cost_cents=rnd.randint(40_000, 150_000) * EURO,
                capacity_cases=rnd.choice([None, 2_000_000, 4_000_000]),
                min_annual_value_cents=rnd.choice([0, 250_000, 1_000_000]) * EURO,
                rebate_tiers=(
                    RebateTier(0, 0),
                    RebateTier(rnd.randint(1, 5) * 1_000_000 * EURO, rnd.randint(200, 500)),
                    RebateTier(rnd.randint(6, 15) * 1_000_000 * EURO, rnd.randint(600, 1_200)),
                ),
                risk_cents=rnd.randint(10_000, 80_000) * EURO,
                takeover=takeover,
            )
        )
    offers = []
    for p in processes:
        per_case = Fraction(p.inhouse_cost_cents, p.cases_per_year)
        for v in rnd.sample(providers, 4):
            it = []
            for s in p.systems:
                mode = rnd.choices(["takeover", "own_platform", "access"], [3, 3, 4])[0]
                if mode == "takeover" and v.takeover_terms(s) is None:
                    mode = "access"
                it.append((s, mode))
            offers.append(
                Offer(
                    p.id,
                    v.id,
                    price_per_case_cents=Fraction(
                        round(per_case * Fraction(rnd.uniform(0.55, 1.15)))
                    ),
                    fixed_cents=rnd.choice([0, 5_000, 20_000]) * EURO,
                    transition_cents=round(p.inhouse_cost_cents * rnd.uniform(0.1, 0.5)),
                    sla_throughput_hours=rnd.choice([None, 24.0, 72.0]),
                    it=tuple(it),
                    risk_cents=rnd.randint(0, 20_000) * EURO,
                )
            )
    couplings = []
    seen = set()
    while len(couplings) < int(n_p * couplings_per_process):
        a, b = rnd.sample(range(n_p), 2)
        key = (min(a, b), max(a, b))
        if key in seen:
            continue
        seen.add(key)
        couplings.append(
            Coupling(
                processes[key[0]].id,
                processes[key[1]].id,
                handovers_per_year=float(rnd.randint(100, 20_000)),
                interface_cost_cents=rnd.choice([0, 10_000, 25_000]) * EURO,
            )
        )
    return Instance(
        processes=tuple(processes),
        systems=systems,
        providers=tuple(providers),
        offers=tuple(offers),
        couplings=tuple(couplings),
        study=Study(
            horizon_years=5,
            discount_rate=Fraction(8, 100),
            governance_bp=500,
            cost_per_handover_cents=150,
            max_providers=6,
        ),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=1_000)
    ap.add_argument("--providers", type=int, default=10)
    ap.add_argument("--systems", type=int, default=200)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--couplings-per-process", type=float, default=1.5)
    ap.add_argument(
        "--gap",
        type=float,
        default=0.0,
        help="stop at this relative gap (0.001 = 0.1 %%); default 0: prove optimality",
    )
    ap.add_argument("--solver-seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    inst = generate(
        args.processes, args.providers, args.systems, args.seed, args.couplings_per_process
    )
    t1 = time.perf_counter()
    shared = sum(1 for users in inst.users.values() if len(users) > 1)
    print(
        f"instance: {len(inst.processes)} processes, {len(inst.providers)} providers, "
        f"{len(inst.systems)} systems ({shared} shared), {len(inst.offers)} offers, "
        f"{len(inst.couplings)} couplings; generated in {t1 - t0:.1f} s"
    )
    config = SolverConfig(
        time_limit_s=args.time_limit,
        workers=args.workers,
        seed=args.solver_seed,
        gap_limit=args.gap,
    )
    load_before = os.getloadavg()[0]
    res = solve(inst, config)
    load_after = os.getloadavg()[0]
    print(
        f"status {res.status}; {res.seconds:.1f} s; model {res.size.variables} variables, "
        f"{res.size.constraints} constraints; load average (1 min) {load_before:.1f} before, "
        f"{load_after:.1f} after"
    )
    if res.plan is None or res.objective_cents is None:
        return
    ev = check_consistency(inst, res.objective_cents, res.plan)
    sq = evaluate(inst, status_quo(inst)).total_cents
    out = sum(1 for o in res.plan.assignment.values() if o != IN_HOUSE)
    print(
        f"objective {res.objective_cents / 100:,.2f}; bound {res.bound_cents / 100:,.2f}; "
        f"gap {res.gap:.4%}; status quo {sq / 100:,.2f}; outsourced {out} processes to "
        f"{len(ev.per_provider)} providers; evaluator total agrees"
    )


if __name__ == "__main__":
    main()
