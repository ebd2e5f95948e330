"""Multiprocess executor versus Celery with 1 and 2 workers, on a synthetic company.

    .venv/bin/python bench/distributed.py [--copies 7] [--cases 1500] [--processes 60]

The demo company (9 processes) is generated `--copies` times with other seeds, its processes
renamed `<process>_<copy>` and its case ids prefixed, and cut to `--processes` processes: one
Parquet log. Then, on a throw-away PostgreSQL instance (and for Celery a throw-away Redis),
the mining part of `bpo_pipeline` (event_log, process_models with one discovery step per
process, the KPI tables and their checks) runs once per engine:

- `multiprocess`: Dagster's multiprocess executor (max_concurrent = cores);
- `celery-1` / `celery-2`: one or two Celery workers (`--concurrency 1` each).

Wall time is the run's (from its start to its end event); CPU time is user+system of every
process the benchmark started (driver, workers and their children, from `getrusage` after
they exit; worker start-up included). The spread of the discovery steps comes from the run's
events. Prints a Markdown table and writes `bench/out/distributed.json`.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from pipelines.demo import generate  # noqa: E402
from tests.cluster import start_worker, stop_worker, throwaway_redis  # noqa: E402
from tests.postgres import throwaway_postgres  # noqa: E402

SELECTION = ["event_log", "process_models", "process_kpis", "activity_stats", "handovers",
             "system_usage"]  # fmt: skip

DRIVER = """
import json, sys
import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository
repo = ReconstructableRepository.for_module("dagster_project.definitions", "defs")
job = repo.get_reconstructable_job("bpo_pipeline")
with dg.DagsterInstance.get() as instance:
    with dg.execute_job(job, instance=instance,
                        asset_selection=[dg.AssetKey(k) for k in json.loads(sys.argv[1])]) as r:
        print(json.dumps({"run_id": r.run_id, "success": r.success}))
"""


def company(folder: Path, copies: int, cases: int, processes: int) -> Path:
    frames = []
    for copy in range(copies):
        log = generate(cases, seed=100 + copy).log
        frames.append(
            log.with_columns(
                (pl.col("process") + f"_{copy}").alias("process"),
                (pl.lit(f"C{copy}-") + pl.col("case_id")).alias("case_id"),
            )
        )
    log = pl.concat(frames)
    keep = sorted(log["process"].unique())[:processes]
    log = log.filter(pl.col("process").is_in(keep)).sort(["case_id", "timestamp"])
    path = folder / "company.parquet"
    log.write_parquet(path)
    return path


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def placement(home: Path, env: dict[str, str], run_id: str) -> dict[str, object]:
    script = f"""
import json, dagster as dg
inst = dg.DagsterInstance.get()
steps, worker, t0, t1 = {{}}, {{}}, None, None
for r in inst.all_logs({run_id!r}):
    e = r.dagster_event
    if e is None:
        continue
    kind = e.event_type_value
    if kind == "PIPELINE_START": t0 = r.timestamp
    if kind in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE"): t1 = r.timestamp
    if not r.step_key: continue
    if kind == "ENGINE_EVENT" and "in celery worker" in r.message:
        worker[r.step_key] = e.engine_event_data.metadata["Celery worker"].value.split("@")[0]
    if kind == "STEP_START": steps.setdefault(r.step_key, {{}})["start"] = r.timestamp
    if kind == "STEP_START": steps[r.step_key]["pid"] = e.pid
    if kind == "STEP_SUCCESS": steps.setdefault(r.step_key, {{}})["end"] = r.timestamp
print(json.dumps({{"wall": t1 - t0, "steps": steps, "worker": worker}}))
"""
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True, cwd=home)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def one(engine: str, workers: int, base_env: dict[str, str], tmp: Path) -> dict[str, object]:
    env = dict(base_env)
    if engine == "celery":
        env["BPO_EXECUTOR"] = "celery"
    else:
        env.pop("BPO_EXECUTOR", None)
    cpu0 = cpu_children()
    started = time.monotonic()
    procs = [
        start_worker(f"w{i}", env, tmp / f"{engine}{workers}-w{i}.log", tmp)
        for i in range(workers if engine == "celery" else 0)
    ]
    ready = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(SELECTION)], env=env,
                              cwd=tmp, capture_output=True, text=True, check=False)  # fmt: skip
    finally:
        for proc in procs:
            stop_worker(proc)
    line = [x for x in done.stdout.splitlines() if x.startswith("{")]
    assert line, done.stderr[-3000:]
    result = json.loads(line[-1])
    assert result["success"], done.stderr[-3000:]
    events = placement(Path(env["DAGSTER_HOME"]), env, result["run_id"])
    discover = {k: v for k, v in events["steps"].items() if "discover_processes[" in k}
    durations = [v["end"] - v["start"] for v in discover.values()]
    spread: dict[str, int] = {}
    for key in discover:
        who = events["worker"].get(key) or f"pid {discover[key]['pid']}"
        spread[who] = spread.get(who, 0) + 1
    return {
        "engine": engine if engine != "celery" else f"celery-{workers}",
        "run_wall_s": round(events["wall"], 1),
        "total_wall_s": round(time.monotonic() - started, 1),
        "worker_start_s": round(ready - started, 1),
        "cpu_s": round(cpu_children() - cpu0, 1),
        "discovery_steps": len(discover),
        "discovery_step_s_sum": round(sum(durations), 1),
        "discovery_step_s_median": round(sorted(durations)[len(durations) // 2], 2),
        "discovery_step_s_max": round(max(durations), 2),
        "spread": spread if engine == "celery" else {"processes": len(spread)},
        "load": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=7)
    parser.add_argument("--cases", type=int, default=1500)
    parser.add_argument("--processes", type=int, default=60)
    parser.add_argument("--engines", default="multiprocess,celery-1,celery-2")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bpo-dist-bench-"))
    try:
        log = company(tmp, args.copies, args.cases, args.processes)
        events = pl.scan_parquet(log).select(pl.len()).collect().item()
        print(f"company: {events:,} events, {args.processes} processes", flush=True)
        home = tmp / "home"
        home.mkdir()
        shutil.copyfile(ROOT / "deploy" / "dagster-celery.yaml", home / "dagster.yaml")
        rows = []
        with throwaway_postgres("dagster") as uri, throwaway_redis() as redis:
            pg = urlparse(uri)
            env = {**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(home),
                   "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(pg.port),
                   "DAGSTER_PG_DB": "dagster", "DAGSTER_PG_USERNAME": "postgres",
                   "DAGSTER_PG_PASSWORD": "unused", "BPO_CELERY_BROKER": redis.url,
                   "BPO_LOGS": str(log), "BPO_STORAGE": str(tmp / "storage")}  # fmt: skip
            for name in args.engines.split(","):
                engine, _, n = name.partition("-")
                row = one(engine, int(n or 0), env, tmp)
                rows.append(row)
                print(json.dumps(row), flush=True)
        (HERE / "out").mkdir(exist_ok=True)
        (HERE / "out" / "distributed.json").write_text(json.dumps(rows, indent=2))
        print("\n| engine | run wall | CPU (all processes) | discovery steps: sum / median / "
              "max | spread |\n|---|---|---|---|---|")  # fmt: skip
        for r in rows:
            print(f"| {r['engine']} | {r['run_wall_s']} s | {r['cpu_s']} s | "
                  f"{r['discovery_step_s_sum']} / {r['discovery_step_s_median']} / "
                  f"{r['discovery_step_s_max']} s | {r['spread']} |")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
