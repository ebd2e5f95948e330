"""Benchmark of the CP-SAT transition roadmap (not a test).

A synthetic roadmap: N moving processes over the study's 4·H quarters, transitions of 1–3
quarters (or all 1 with `--durations 1`), status-quo cost 50,000–500,000 a year and a plan
run-rate 60–95 % of it, transition costs, FTE, three providers (set-up cost at the first
start, vendor management from then on) and systems shared by 3–10 moving processes (status-quo
run cost until the last user has moved). Reports the status, NPV, bound, gap and time with
2 workers, and re-prices the roadmap with the evaluator (the solver raises if they differ).

    .venv/bin/python bench/bench_roadmap.py [--moves 200] [--years 5] [--capacity 5]
                                            [--durations 1-3|1] [--systems 20]
                                            [--time-limit 60] [--workers 2] [--seed 1]
                                            [--gap 0.01]
    .venv/bin/python bench/bench_roadmap.py --demo [--cases 30000]   # the demo company's plan
"""

import argparse
import os
import random
import time
from fractions import Fraction

from optimize.roadmap import (
    Milestone,
    Move,
    RoadmapConfig,
    RoadmapInstance,
    solve_roadmap,
    status_quo_npv,
    unconstrained_npv,
)

EURO = 100


def generate(
    n: int, years: int, capacity: int | None, *, durations: str, n_systems: int, seed: int
) -> RoadmapInstance:
    """A random roadmap instance (deterministic for a seed)."""
    rnd = random.Random(seed)
    moves = []
    for k in range(n):
        sq = rnd.randint(50_000, 500_000) * EURO
        moves.append(
            Move(
                process=f"P{k:03d}",
                provider=f"V{k % 3}",
                duration=1 if durations == "1" else rnd.choice([1, 1, 2, 3]),
                not_before=rnd.choice([0] * 9 + [rnd.randint(1, 4 * years // 2)]),
                fte_centi=rnd.randint(50, 500),
                status_quo_cents=sq,
                run_rate_cents=int(sq * rnd.uniform(0.6, 0.95)),
                transition_cents=rnd.randint(10_000, 200_000) * EURO,
            )
        )
    milestones = [
        Milestone(
            f"provider:V{v}",
            f"V{v}",
            "first_start",
            tuple(m.process for m in moves if m.provider == f"V{v}"),
            after_cents=rnd.randint(20_000, 80_000) * EURO,
            one_time_cents=rnd.randint(20_000, 100_000) * EURO,
        )
        for v in range(3)
    ]
    for s in range(n_systems):
        users = rnd.sample([m.process for m in moves], rnd.randint(3, 10))
        milestones.append(
            Milestone(
                f"system:S{s:02d}",
                f"S{s:02d}",
                "last_end",
                tuple(sorted(users)),
                before_cents=rnd.randint(20_000, 300_000) * EURO,
                after_cents=rnd.randint(0, 100_000) * EURO,
                one_time_cents=rnd.randint(0, 50_000) * EURO,
            )
        )
    return RoadmapInstance(
        moves=tuple(moves),
        milestones=tuple(milestones),
        horizon_years=years,
        discount_rate=Fraction(8, 100),
        max_parallel=capacity,
    )


def demo_instance(cases: int) -> RoadmapInstance:
    """The demo company's optimal plan, mined from its generated event log."""
    import datetime as dt  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from mining.kpis import MiningConfig, compute_tables  # noqa: PLC0415
    from optimize.build import build_instance  # noqa: PLC0415
    from optimize.costfile import load_costs  # noqa: PLC0415
    from optimize.model import SolverConfig, solve  # noqa: PLC0415
    from optimize.roadmap import build_roadmap, transition_settings  # noqa: PLC0415
    from pipelines.demo import generate as demo  # noqa: PLC0415

    company = demo(cases=cases, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "costs.yaml"
        path.write_text(company.costs_yaml)
        costs = load_costs(path)
    period = costs.study.observation_period
    assert period is not None
    start = dt.datetime.combine(period.start, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(period.end, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
    config = MiningConfig(hours_per_fte=1600.0, observation_period=(start, end))
    inst = build_instance(costs, compute_tables(company.log, config), source="demo").instance
    plan = solve(inst, SolverConfig(time_limit_s=60)).plan
    assert plan is not None
    return build_roadmap(inst, plan, transition_settings(costs))


def main() -> None:
    """Run one benchmark case and print one line of results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=200)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--capacity", type=int, default=5)
    ap.add_argument("--durations", choices=["1-3", "1"], default="1-3")
    ap.add_argument("--systems", type=int, default=20)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gap", type=float, default=0.0)
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--cases", type=int, default=30_000)
    args = ap.parse_args()
    if args.demo:
        inst = demo_instance(args.cases)
        what = f"demo plan ({args.cases:,} cases)"
    else:
        inst = generate(
            args.moves,
            args.years,
            args.capacity,
            durations=args.durations,
            n_systems=args.systems,
            seed=args.seed,
        )
        what = (
            f"{args.moves} moves × {4 * args.years} quarters, capacity {args.capacity}, "
            f"durations {args.durations}, {args.systems} shared systems"
        )
    slots = sum(m.duration for m in inst.moves)
    load_before = os.getloadavg()[0]
    config = RoadmapConfig(time_limit_s=args.time_limit, workers=args.workers, gap_limit=args.gap)
    began = time.perf_counter()
    result = solve_roadmap(inst, config)
    wall = time.perf_counter() - began
    load_after = os.getloadavg()[0]
    print(f"{what}: Σ transition quarters {slots}, capacity·quarters "
          f"{(inst.max_parallel or 0) * inst.quarters}")  # fmt: skip
    print(
        f"status {result.status}, time {wall:.1f} s (solver {result.seconds:.1f} s), "
        f"variables {result.variables:,}, load {load_before:.2f}→{load_after:.2f}"
    )
    if result.npv_cents is not None:
        sq = status_quo_npv(inst)
        bound = unconstrained_npv(inst)
        print(
            f"NPV {result.npv_cents / 100:,.2f}, CP-SAT bound {result.bound_cents / 100:,.2f}, "
            f"gap {100 * (result.gap or 0):.3f} %, everything at once "
            f"{(bound or 0) / 100:,.2f}, status quo {sq / 100:,.2f}"
        )
    else:
        print("conflicting rules:", "; ".join(result.explanation))


if __name__ == "__main__":
    main()
