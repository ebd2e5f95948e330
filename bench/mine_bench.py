"""Our mine path — the work of `bpo mine` minus Dagster — timed stage by stage.

    .venv/bin/python bench/mine_bench.py LOG --out DIR --json out.json [--workers 2]

Stages: `read` (`pipelines.read.read_log`: XES reader + normalization), `quality`
(`pipelines.quality.check_quality`), `kpis` (`mining.kpis.compute_tables`), `discovery`
(`mining.discovery.discover_process` per process: variants, the model candidates with their
fitness and precision, the best written as PNML/BPMN and read back, map rendered with
Graphviz) and
`write` (the KPI CSVs). `--workers N` discovers processes in N worker processes.

Counts for the equality check with the reference (cases, variants, DFG edges per process)
are taken from the outputs after the clock stops.
"""

import argparse
import json
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mining.discovery import DiscoveryResult, discover_process  # noqa: E402
from mining.kpis import MiningConfig, compute_tables, with_model_quality  # noqa: E402
from mining.maps import directly_follows  # noqa: E402
from mining.tables import write_tables  # noqa: E402
from pipelines.quality import check_quality  # noqa: E402
from pipelines.read import read_log  # noqa: E402
from pipelines.schema import PROCESS  # noqa: E402


def _discover_one(args: tuple[pl.DataFrame, str, Path]) -> DiscoveryResult:
    one, process, models = args
    return discover_process(one, process, models, MiningConfig())


def run(src: str, out: Path, *, workers: int = 1) -> dict:
    config = MiningConfig()
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    log = read_log(src)
    stages["read"] = time.perf_counter() - t0
    t = time.perf_counter()
    quality = check_quality(log, src)
    stages["quality"] = time.perf_counter() - t
    t = time.perf_counter()
    tables = compute_tables(log, config)
    stages["kpis"] = time.perf_counter() - t
    t = time.perf_counter()
    processes = sorted(log[PROCESS].unique().to_list())
    parts = log.partition_by(PROCESS, as_dict=True)
    jobs = [(parts[(p,)], p, out / "models") for p in processes]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_discover_one, jobs))
    else:
        results = [_discover_one(job) for job in jobs]
    stages["discovery"] = time.perf_counter() - t
    t = time.perf_counter()
    kpis = with_model_quality(tables.process_kpis, results)
    out.mkdir(parents=True, exist_ok=True)
    write_tables(
        type(tables)(kpis, tables.activity_stats, tables.handovers, tables.system_usage), out
    )
    quality.table.write_csv(out / "data_quality.csv")
    stages["write"] = time.perf_counter() - t
    seconds = time.perf_counter() - t0
    per_process: dict[str, dict] = {}
    for row in kpis.iter_rows(named=True):
        per_process[row[PROCESS]] = {
            "cases": row["cases"],
            "events": row["events"],
            "variants": row["variants"],
            "fitness": row["fitness"],
            "precision": row["precision"],
            "f_score": row["f_score"],
            "model": row["model"],
        }
    for process in processes:
        dfg = directly_follows(parts[(process,)])
        per_process[process]["dfg_edges"] = dfg.edges.height
        per_process[process]["dfg_steps"] = int(dfg.edges["frequency"].sum())
    return {
        "pipeline": "ours",
        "log": src,
        "events": log.height,
        "seconds": seconds,
        "stages": stages,
        "processes": per_process,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--read-only", action="store_true", help="time read_log only")
    args = parser.parse_args(argv)
    if args.read_only:
        t0 = time.perf_counter()
        log = read_log(args.log)
        result = {
            "pipeline": "ours-read",
            "log": args.log,
            "events": log.height,
            "seconds": time.perf_counter() - t0,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }
    else:
        result = run(args.log, args.out, workers=args.workers)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
