"""Benchmark of the uncertainty analysis on the demo company (not a test; issue 15).

Builds the demo company (30,000 cases, seed 7), its instance, plan and monthly KPI history,
then times with the ranges of the cost-file example (`provider_prices` [0.95, 1.0, 1.10],
`inhouse_rates` [0.97, 1.0, 1.05], `transition_costs` [0.8, 1.0, 1.5]; volumes and hours
from the block bootstrap over the log's 12 months):

1. drawing N scenarios and pricing the plan and the status quo in each with the evaluator
   (target: 1,000 scenarios ≤ 2 s), repeated `--repeat` times;
2. K re-solves with CP-SAT (each hinted with the plan, 10 s limit, `--workers`; target:
   100 ≤ 60 s);
3. the sample-average model over `--saa` scenarios (one CP-SAT model, expected cost and
   CVaR 95 %, 120 s limit; target: 50 scenarios ≤ 120 s), building included.

    PYTHONPATH=. .venv/bin/python bench/bench_uncertainty.py [--scenarios 1000]
                                 [--resolves 100] [--saa 50] [--workers 2] [--repeat 3]
                                 [--cases 30000]
"""

import argparse
import os
import time

from mining.history import monthly_kpis
from mining.kpis import compute_tables
from optimize.build import build_instance
from optimize.costfile import parse_costs
from optimize.model import SolverConfig, solve
from optimize.saa import saa_plan
from optimize.uncertainty import (
    Triangular,
    UncertaintySpec,
    draw_scenarios,
    price_plan,
    resolve_scenarios,
    summarise,
    summary_line,
    whole_months,
)
from pipelines.demo import generate


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--resolves", type=int, default=100)
    parser.add_argument("--saa", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", type=int, default=30_000)
    args = parser.parse_args()

    demo = generate(cases=args.cases, seed=7)
    costs = parse_costs(demo.costs_yaml)
    instance = build_instance(costs, compute_tables(demo.log), source="demo").instance
    result = solve(instance, SolverConfig(workers=args.workers))
    assert result.plan is not None
    history = monthly_kpis(demo.log)
    months = whole_months(history, demo.log["timestamp"].min(), demo.log["timestamp"].max())
    spec = UncertaintySpec(
        scenarios=args.scenarios,
        resolves=args.resolves,
        provider_prices=Triangular(0.95, 1.0, 1.10),
        inhouse_rates=Triangular(0.97, 1.0, 1.05),
        transition_costs=Triangular(0.8, 1.0, 1.5),
    )
    print(
        f"demo: {len(instance.processes)} processes, {len(instance.offers)} offers, "
        f"{len(months.months)} whole months; plan {result.objective_cents / 100:,.2f}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    times = []
    outcomes = ()
    for _ in range(args.repeat):
        start = time.perf_counter()
        scenarios = draw_scenarios(instance, spec, months)
        outcomes = price_plan(instance, result.plan, scenarios)
        times.append(time.perf_counter() - start)
    print(
        f"{args.scenarios:,} scenarios drawn and priced (plan + status quo): "
        + ", ".join(f"{t:.2f} s" for t in times)
        + f"  (load {os.getloadavg()[0]:.2f})"
    )
    print(f"  {summary_line(summarise(outcomes))}")
    config = SolverConfig(time_limit_s=10.0, workers=args.workers)
    start = time.perf_counter()
    resolves = resolve_scenarios(instance, result.plan, outcomes[: args.resolves], config)
    seconds = time.perf_counter() - start
    statuses = sorted({r.status for r in resolves})
    regrets = [r.regret_cents for r in resolves if r.regret_cents is not None]
    print(
        f"{len(resolves)} re-solves: {seconds:.1f} s, statuses {statuses}, "
        f"mean regret {sum(regrets) / max(len(regrets), 1) / 100:,.2f}  "
        f"(load {os.getloadavg()[0]:.2f})"
    )
    sample = draw_scenarios(instance, spec, months, count=args.saa, seed=spec.seed + 1)
    for objective in ("expected", "cvar"):
        start = time.perf_counter()
        robust = saa_plan(
            instance,
            sample,
            objective,
            0.95,
            SolverConfig(time_limit_s=120.0, workers=args.workers, hint=result.plan),
        )
        seconds = time.perf_counter() - start
        same = robust.plan is not None and robust.plan.assignment == result.plan.assignment
        value = "—" if robust.value_cents is None else f"{robust.value_cents / 100:,.2f}"
        print(
            f"SAA {objective} over {args.saa} scenarios: {seconds:.1f} s in all "
            f"({robust.seconds:.1f} s solving), {robust.status}, value {value}, "
            f"{'same plan as' if same else 'differs from'} the deterministic one  "
            f"(load {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    main()
