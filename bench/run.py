"""`make bench`: the pm4py-only reference against our mine path, side by side.

    .venv/bin/python bench/run.py [--reps N] [--quick] [--big] [--no-real] [--no-cli]

1. Generates the demo company's logs (XES.gz and Parquet) at about 100k and 1M events, clean and
   with real-log disorder (`bpo sample --noise`: ≥ 3,000 variants in one process), and 5M with
   `--big`, into `bench/out/` if missing; the public logs of tests/data follow.
2. For each log, N times (default 3, `--quick` 1), one fresh process each, in turn:
   `bench/reference.py` (pm4py alone), `bench/mine_bench.py` (our library path: the work of
   `bpo mine` minus Dagster) and, unless `--no-cli`, `python -m bpo mine --log X --out Y`
   (end to end through Dagster). Wall time, CPU time and peak RSS of each child come from
   `os.wait4`; the 1-minute load average is recorded with each run (the machine is shared).
3. Checks that the counts per process (cases, variants, DFG edges and steps) are equal and
   reports fitness, precision and F-score of both models.
4. Prints a Markdown report and writes it to `bench/out/results.md` (raw records in
   `bench/out/results.json`).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
PY = sys.executable
DATASETS = ROOT / "tests" / "data"
# name: (cases, noise level of `bpo sample --noise`)
DEMO_SIZES = {"demo_100k": (16_000, 0.0), "demo_1m": (160_000, 0.0)}
# the demo with real-log disorder: ≥ 3,000 variants in accounts_payable (docs/demo.md)
NOISY_SIZES = {"noisy_100k": (14_000, 0.5), "noisy_1m": (146_000, 0.1)}
BIG_SIZES = {"demo_5m": (800_000, 0.0)}
REAL_LOGS = (
    "running-example.xes",
    "roadtraffic100traces.xes",
    "receipt.xes.gz",
    "repair_example.xes.gz",
    "teleclaims.xes.gz",
    "bpic2013_closed.xes.gz",
    "billing_1t_per_variant.xes.gz",
    "bpic2020_permit_1t_per_variant.xes.gz",
    "interval_event_log.csv",
)


@dataclass
class Run:
    pipeline: str
    log: str
    wall: float
    cpu: float
    peak_mib: float
    load: float
    ok: bool
    record: dict = field(default_factory=dict)


def ensure_demo(name: str, cases: int, noise: float = 0.0) -> dict[str, Path]:
    folder = OUT / name
    paths = {"xes": folder / "demo_log.xes.gz", "parquet": folder / "demo_log.parquet"}
    for fmt, path in paths.items():
        if not path.exists():
            t = time.perf_counter()
            subprocess.run(
                [
                    PY,
                    "-c",
                    "from pipelines.demo import write_sample; "
                    f"write_sample({str(folder)!r}, {cases}, 7, {fmt!r}, noise={noise!r})",
                ],
                cwd=ROOT,
                check=True,
                env=_env(),
            )
            print(f"generated {path} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return paths


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("DAGSTER_HOME", str(OUT / "dagster_home"))
    return env


def measure(pipeline: str, log: Path, argv: list[str], json_path: Path | None) -> Run:
    """Run one child process; wall, CPU and peak RSS from wait4."""
    load = os.getloadavg()[0]
    if json_path is not None and json_path.exists():
        json_path.unlink()
    t = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    record: dict = {}
    if json_path is not None and json_path.exists():
        record = json.loads(json_path.read_text(encoding="utf-8"))
    ok = proc.returncode == 0
    if not ok:
        print(f"{pipeline} on {log} failed ({proc.returncode}):\n{err[-2000:]}", file=sys.stderr)
    return Run(
        pipeline,
        str(log),
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024.0,
        load,
        ok,
        record,
    )


def run_log(log: Path, reps: int, cli: bool, reference: bool = True) -> list[Run]:
    tag = f"{log.parent.name}_{log.name}".replace(".", "_")
    runs: list[Run] = []
    for rep in range(reps):
        if reference:
            ref_json = OUT / f"ref_{tag}_{rep}.json"
            runs.append(
                measure(
                    "reference",
                    log,
                    [PY, str(HERE / "reference.py"), str(log), "--json", str(ref_json)],
                    ref_json,
                )
            )
        ours_json = OUT / f"ours_{tag}_{rep}.json"
        out_dir = OUT / "mined" / tag
        runs.append(
            measure(
                "ours",
                log,
                [
                    PY,
                    str(HERE / "mine_bench.py"),
                    str(log),
                    "--out",
                    str(out_dir),
                    "--json",
                    str(ours_json),
                ],
                ours_json,
            )
        )
        if cli:
            runs.append(
                measure(
                    "bpo mine",
                    log,
                    [PY, "-m", "bpo", "mine", "--log", str(log), "--out", str(OUT / "cli" / tag)],
                    None,
                )
            )
        print(
            f"{log.name} rep {rep + 1}/{reps}: "
            + ", ".join(f"{r.pipeline} {r.wall:.1f}s" for r in runs[-(1 + reference + cli) :]),
            file=sys.stderr,
        )
    return runs


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def compare(ref: dict, ours: dict) -> tuple[str, float, float, float]:
    """Counts equal?, our lowest fitness, worst precision and worst F-score shortfall."""
    keys = ("cases", "variants", "dfg_edges", "dfg_steps")
    rp, op = ref.get("processes", {}), ours.get("processes", {})
    diffs = []
    if set(rp) != set(op):
        diffs.append(f"processes {sorted(set(rp) ^ set(op))}")
    for process in sorted(set(rp) & set(op)):
        for key in keys:
            if rp[process].get(key) != op[process].get(key):
                diffs.append(f"{process}.{key} {rp[process].get(key)}≠{op[process].get(key)}")
    fitness = min(
        (p["fitness"] for p in op.values() if p.get("fitness") is not None), default=float("nan")
    )
    shortfall = max(
        (
            rp[p]["precision"] - op[p]["precision"]
            for p in set(rp) & set(op)
            if op[p].get("precision") is not None
        ),
        default=float("nan"),
    )
    f_shortfall = max(
        (
            rp[p]["f_score"] - op[p]["f_score"]
            for p in set(rp) & set(op)
            if op[p].get("f_score") is not None and rp[p].get("f_score") is not None
        ),
        default=float("nan"),
    )
    return ("equal" if not diffs else "; ".join(diffs[:4])), fitness, shortfall, f_shortfall


def summarize(name: str, runs: list[Run]) -> dict:
    by: dict[str, list[Run]] = {}
    for r in runs:
        if r.ok:
            by.setdefault(r.pipeline, []).append(r)
    row: dict = {"log": name}
    for pipeline, rs in by.items():
        row[pipeline] = {
            "wall": _median([r.wall for r in rs]),
            "cpu": _median([r.cpu for r in rs]),
            "peak_mib": max(r.peak_mib for r in rs),
            "load": _median([r.load for r in rs]),
            "n": len(rs),
        }
        stages = [r.record.get("stages", {}).get("read") for r in rs if r.record]
        if any(s is not None for s in stages):
            row[pipeline]["read"] = _median([s for s in stages if s is not None])
        if rs[0].record:
            row[pipeline]["events"] = rs[0].record.get("events")
    if "reference" in by and "ours" in by and by["reference"][0].record and by["ours"][0].record:
        ref_procs = by["reference"][0].record["processes"]
        our_procs = by["ours"][0].record["processes"]
        (
            row["counts"],
            row["min_fitness"],
            row["precision_shortfall"],
            row["f_shortfall"],
        ) = compare(by["reference"][0].record, by["ours"][0].record)
        row["ref_min_fitness"] = min(p["fitness"] for p in ref_procs.values())
        row["f_ours"] = _lowest(our_procs, "f_score")
        row["f_ref"] = _lowest(ref_procs, "f_score")
        row["precision_ours"] = _lowest(our_procs, "precision")
        row["precision_ref"] = _lowest(ref_procs, "precision")
    return row


def _lowest(processes: dict, key: str) -> float | None:
    values = [p[key] for p in processes.values() if p.get(key) is not None]
    return min(values) if values else None


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


HEADER = (
    "log",
    "events (ref / ours)",
    "reference s (CPU s)",
    "ours s (CPU s)",
    "ratio",
    "`bpo mine` s",
    "ratio",
    "XES import ref / ours s",
    "import ratio",
    "peak MiB ref / ours / bpo",
    "load",
    "counts",
    "fitness ours (ref)",
    "precision ours (ref)",
    "F-score ours (ref)",
    "F shortfall",
)
NOTE = """
Medians of {reps} run(s) per pipeline, wall seconds, each in a fresh process (interpreter start
and imports included); CPU = user + system seconds of the child; peak = its maximum RSS.
`events`: the reference counts pm4py's complete events, ours activity instances (start and
complete merged). Import = `pm4py.read_xes(variant="iterparse")` vs `pipelines.read.read_log`
(XES reader + normalisation + lifecycle pairing). Fitness: our lowest per-process fitness (the
reference's lowest in brackets), likewise precision and F-score (harmonic mean of fitness and
precision; the reference's model is pm4py's Inductive Miner on the full process log, ours the
candidate `bpo mine` chose); F shortfall: the largest (reference − ours) F-score over the
processes (negative = ours better on every process). Load: highest 1-minute load average at
the start of a run (2 cores, shared with other jobs).
"""


def markdown(rows: list[dict], reps: int) -> str:
    lines = ["| " + " | ".join(HEADER) + " |\n", "|" + "---|" * len(HEADER) + "\n"]
    for row in rows:
        ref, ours, cli = row.get("reference", {}), row.get("ours", {}), row.get("bpo mine", {})
        ratio = ref["wall"] / ours["wall"] if ref and ours else None
        cli_ratio = ref["wall"] / cli["wall"] if ref and cli else None
        imp = ref.get("read") / ours["read"] if ref.get("read") and ours.get("read") else None
        loads = [x["load"] for x in (ref, ours, cli) if x]
        peaks = " / ".join(_fmt(x.get("peak_mib"), 0) for x in (ref, ours, cli))
        cells = (
            row["log"],
            f"{ref.get('events', '–')} / {ours.get('events', '–')}",
            f"{_fmt(ref.get('wall'))} ({_fmt(ref.get('cpu'))})",
            f"{_fmt(ours.get('wall'))} ({_fmt(ours.get('cpu'))})",
            f"{_fmt(ratio)}×",
            _fmt(cli.get("wall")),
            f"{_fmt(cli_ratio)}×",
            f"{_fmt(ref.get('read'))} / {_fmt(ours.get('read'))}",
            f"{_fmt(imp)}×",
            peaks,
            _fmt(max(loads) if loads else None),
            row.get("counts", "–"),
            f"{_fmt(row.get('min_fitness'), 3)} ({_fmt(row.get('ref_min_fitness'), 3)})",
            f"{_fmt(row.get('precision_ours'), 3)} ({_fmt(row.get('precision_ref'), 3)})",
            f"{_fmt(row.get('f_ours'), 3)} ({_fmt(row.get('f_ref'), 3)})",
            _fmt(row.get("f_shortfall"), 3),
        )
        lines.append("| " + " | ".join(cells) + " |\n")
    lines.append(NOTE.format(reps=reps))
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--big", action="store_true", help="also the 5M-event demo log (slow)")
    parser.add_argument("--no-real", action="store_true", help="skip the public logs of tests/data")
    parser.add_argument("--no-cli", action="store_true", help="skip `bpo mine` end to end")
    parser.add_argument("--only", help="run only logs whose name contains this")
    args = parser.parse_args(argv)
    reps = 1 if args.quick else args.reps
    OUT.mkdir(parents=True, exist_ok=True)
    logs: list[tuple[str, Path, bool]] = []
    sizes = DEMO_SIZES | NOISY_SIZES | (BIG_SIZES if args.big else {})
    for name, (cases, noise) in sizes.items():
        paths = ensure_demo(name, cases, noise)
        logs.append((f"{name} (XES.gz)", paths["xes"], True))
        logs.append((f"{name} (Parquet)", paths["parquet"], False))
    if not args.no_real:
        logs += [(n, DATASETS / n, True) for n in REAL_LOGS]
    if args.only:
        logs = [entry for entry in logs if args.only in entry[0]]
    rows, raw = [], []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for name, path, with_reference in logs:
        runs = run_log(path, reps, cli=not args.no_cli, reference=with_reference)
        raw += [asdict(r) for r in runs]
        rows.append(summarize(name, runs))
    report = (
        f"Benchmark run {started}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n\n"
        + markdown(rows, reps)
    )
    (OUT / "results.md").write_text(report, encoding="utf-8")
    (OUT / "results.json").write_text(
        json.dumps({"rows": rows, "runs": raw}, indent=1), encoding="utf-8"
    )
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
