"""Fitness + precision of one model on a many-variant process: ours against pm4py's, one run.

    .venv/bin/python bench/bench_replay.py [--cases N] [--noise L] [--process P] [--no-pm4py]

The noisy demo company (`pipelines.demo.generate(cases, noise=L)`), one process of it; for the
models of two candidates (`imd`, `imf_0.2`) it times `mining.replay.replay_quality` (ours,
token-based fitness and ETConformance precision along the variants' prefix tree) and pm4py's
`fitness_token_based_replay` + `precision_token_based_replay` on the process log as a pandas
frame, and checks that the figures agree to 1e-9.
"""

import argparse
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mining.candidates import CANDIDATES, discover, kept_variants  # noqa: E402
from mining.discovery import coded_variants  # noqa: E402
from mining.pm4py_api import load  # noqa: E402
from mining.replay import replay_quality  # noqa: E402
from pipelines.demo import generate  # noqa: E402
from pipelines.schema import ACTIVITY, CASE_ID, PROCESS, TIMESTAMP  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=64_000)
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--process", default="accounts_payable")
    parser.add_argument("--no-pm4py", action="store_true", help="time ours only")
    args = parser.parse_args(argv)
    log = generate(args.cases, seed=7, noise=args.noise).log.filter(pl.col(PROCESS) == args.process)
    coded = coded_variants(log)
    variants = [
        (tuple(c), n) for c, n in zip(coded.table["codes"], coded.table["cases"], strict=True)
    ]
    print(
        f"{args.process}: {log[CASE_ID].n_unique():,} cases, {log.height:,} events, "
        f"{len(variants):,} variants (demo {args.cases:,} cases, noise {args.noise})"
    )
    api = load()
    encode = {name: code for code, name in coded.decode.items()}
    frame = (
        log.select(
            pl.col(CASE_ID).alias("case:concept:name"),
            pl.col(ACTIVITY).replace_strict(encode).alias("concept:name"),
            pl.col(TIMESTAMP).alias("time:timestamp"),
        )
        .sort(["case:concept:name", "time:timestamp"], maintain_order=True)
        .to_pandas()
    )
    print("| model | nodes | ours s | pm4py s | ratio | fitness | precision | equal |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ("imd", "imf_0.2"):
        candidate = next(c for c in CANDIDATES if c.name == name)
        net, im, fm = discover(candidate, variants, kept_variants(variants, candidate.coverage))
        t = time.perf_counter()
        ours = replay_quality(variants, net, im, fm)
        ours_s = time.perf_counter() - t
        theirs_s, equal = None, "–"
        if not args.no_pm4py:
            t = time.perf_counter()
            fitness = api.pm4py.fitness_token_based_replay(frame, net, im, fm)["log_fitness"]
            precision = api.pm4py.precision_token_based_replay(frame, net, im, fm)
            theirs_s = time.perf_counter() - t
            same = abs(fitness - ours.fitness) < 1e-9 and abs(precision - ours.precision) < 1e-9
            equal = "yes" if same else f"NO ({fitness}, {precision})"
        ratio = f"{theirs_s / ours_s:.0f}×" if theirs_s else "–"
        print(
            f"| {name} | {len(net.places) + len(net.transitions)} | {ours_s:.2f} | "
            f"{'–' if theirs_s is None else f'{theirs_s:.1f}'} | {ratio} | {ours.fitness:.4f} | "
            f"{ours.precision:.4f} | {equal} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
