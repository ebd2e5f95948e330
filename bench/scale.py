"""KPIs of a 20M-event log from Parquet parts, lazily, with polars' streaming engine.

    .venv/bin/python bench/scale.py [--events 20_000_000] [--keep]

1. Writes the demo company in parts of 160,000 cases (about 1.08M events each) with seeds 1, 2, …
   and case ids prefixed `P00-`, `P01-`, … into `bench/out/scale/` — one part in memory at a
   time, never the whole log.
2. In a fresh child process: `mining.kpis.compute_tables(pipelines.read.scan_log(folder))`,
   which runs on the streaming engine; its wall time, CPU time and peak RSS come from
   `os.wait4`. The four KPI tables are written as CSV beside the parts.
3. Deletes the parts unless `--keep` (they take about 13 MB per million events).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out" / "scale"
CASES_PER_PART = 160_000

CHILD = """
import json, sys, time
from pathlib import Path
import polars as pl
from mining.kpis import compute_tables
from pipelines.read import scan_log
folder = Path(sys.argv[1])
t = time.perf_counter()
tables = compute_tables(scan_log(folder))
seconds = time.perf_counter() - t
for name in ("process_kpis", "activity_stats", "handovers", "system_usage"):
    getattr(tables, name).write_csv(folder / f"{name}.csv")
kpis = tables.process_kpis
print(json.dumps({"seconds": seconds, "events": int(kpis["events"].sum()),
                  "cases": int(kpis["cases"].sum()), "processes": kpis.height}))
"""


def write_parts(events: int) -> tuple[int, float]:
    import polars as pl  # noqa: PLC0415 - the child process does the measured work

    from pipelines.demo import generate  # noqa: PLC0415

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    written, part, t = 0, 0, time.perf_counter()
    while written < events:
        log = generate(CASES_PER_PART, seed=part + 1).log
        log = log.with_columns(pl.lit(f"P{part:02d}-").add(pl.col("case_id")).alias("case_id"))
        log.write_parquet(OUT / f"part-{part:03d}.parquet", statistics=True)
        written += log.height
        part += 1
        print(f"part {part}: {written:,} events", file=sys.stderr)
    return written, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the Parquet parts")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    written, gen_seconds = write_parts(args.events)
    size = sum(p.stat().st_size for p in OUT.glob("*.parquet"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    load = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(OUT)], cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    out = proc.stdout.read().decode() if proc.stdout else ""
    code = os.waitstatus_to_exitcode(status)
    result = {
        "events_written": written,
        "parquet_mib": round(size / 2**20, 1),
        "generate_seconds": round(gen_seconds, 1),
        "exit_code": code,
        "kpi_wall_seconds": round(wall, 1),
        "kpi_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "kpi_peak_rss_mib": round(usage.ru_maxrss / 1024.0, 0),
        "load_at_start": round(load, 2),
        "child": json.loads(out) if code == 0 and out.strip() else out,
    }
    (HERE / "out" / "scale_result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    if not args.keep:
        for part in OUT.glob("*.parquet"):
            part.unlink()
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
