"""The pm4py-only reference pipeline, written the way pm4py's documentation shows it.

Run as a script (`bench/run.py` starts it in its own process so its peak memory is its own):

    .venv/bin/python bench/reference.py LOG.xes.gz --json out.json

Steps, each one a documented pm4py call:

1. `pm4py.read_xes(path, variant="iterparse")` — pm4py's *own* default reader (a CSV is read
   with pandas and `pm4py.format_dataframe`). With `rustxes`
   installed, `pm4py.read_xes(path)` silently switches to rustxes (pm4py/read.py:
   `get_rustxes_backend_name()`); without it, `variant=None` falls back to
   `constants.DEFAULT_XES_PARSER`, which is `"iterparse"` whenever lxml is importable
   (pm4py/util/constants.py). So `"iterparse"` is the reader a pm4py user gets from pm4py
   itself, and the one the issue's "default reader" means.
2. Keep the `complete` events (`pm4py.filter_event_attribute_values` on
   `lifecycle:transition`), as the pm4py docs do before discovery on lifecycle logs — unless
   the log's values are not the XES lifecycle model (status values): then every event stays.
3. Per process (the event attribute `process`; a log without it is one process named by
   the file stem, as in `bpo mine`): `pm4py.filter_event_attribute_values(..., level="event")`,
   then `discover_dfg`, `get_variants`, `get_all_case_durations`,
   `discover_petri_net_inductive` on the full process log (noise threshold 0, the default),
   `fitness_token_based_replay` and `precision_token_based_replay` on the full process log.

Writes a JSON record: stage timings, per-process counts (cases, variants, DFG edges and their
total frequency), fitness and precision, and the peak RSS of this process.
"""

import argparse
import contextlib
import io
import json
import resource
import sys
import time
from pathlib import Path

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import pandas as pd
    import pm4py
    from pm4py.util import constants as pm4py_constants

pm4py_constants.SHOW_PROGRESS_BAR = False


def _stem(path: Path) -> str:
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    return Path(name).stem


# The XES lifecycle model: a log whose lifecycle values are all from it keeps its completes.
STANDARD_LIFECYCLE = {
    "schedule", "assign", "reassign", "start", "suspend", "resume", "autoskip", "manualskip",
    "complete", "ate_abort", "pi_abort", "withdraw",
}  # fmt: skip


def read(path: Path) -> pd.DataFrame:
    """XES with pm4py's iterparse reader; a CSV with pandas and `pm4py.format_dataframe`."""
    if path.name.lower().endswith((".csv", ".csv.gz")):
        frame = pd.read_csv(path)
        for column in ("time:timestamp", "start_timestamp"):
            if column in frame.columns:
                frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        frame = pm4py.format_dataframe(frame)
        # pm4py 2.7's get_all_case_durations fails (KeyError 'start_timestamp') when
        # format_dataframe has recorded a start-timestamp key; durations stay end to end anyway.
        frame.attrs.pop("pm4py:param:start_timestamp_key", None)
        return frame
    return pm4py.read_xes(str(path), variant="iterparse")


def f_score(fitness: float, precision: float) -> float:
    return 0.0 if fitness + precision == 0 else 2 * fitness * precision / (fitness + precision)


def run(path: Path) -> dict:
    t0 = time.perf_counter()
    log = read(path)
    t_read = time.perf_counter() - t0
    if "lifecycle:transition" in log.columns:
        values = {str(v).strip().lower() for v in log["lifecycle:transition"].dropna().unique()}
        if values <= STANDARD_LIFECYCLE:  # status values (bpic2013): every event is a step
            log = pm4py.filter_event_attribute_values(
                log, "lifecycle:transition", ["complete"], level="event", retain=True
            )
    if "process" in log.columns:
        processes = sorted(str(p) for p in log["process"].dropna().unique())
    else:
        processes = [_stem(path)]
    stages = {"read": t_read, "dfg": 0.0, "variants": 0.0, "durations": 0.0, "im": 0.0}
    stages |= {"fitness": 0.0, "precision": 0.0}
    per_process: dict[str, dict] = {}
    for process in processes:
        if "process" in log.columns:
            sub = pm4py.filter_event_attribute_values(
                log, "process", [process], level="event", retain=True
            )
        else:
            sub = log
        t = time.perf_counter()
        dfg, _starts, _ends = pm4py.discover_dfg(sub)
        stages["dfg"] += time.perf_counter() - t
        t = time.perf_counter()
        variants = pm4py.get_variants(sub)
        stages["variants"] += time.perf_counter() - t
        t = time.perf_counter()
        durations = pm4py.get_all_case_durations(sub)
        stages["durations"] += time.perf_counter() - t
        record = {
            "cases": len(durations),
            "events": len(sub),
            "variants": len(variants),
            "dfg_edges": len(dfg),
            "dfg_steps": int(sum(dfg.values())),
        }
        t = time.perf_counter()
        net, im, fm = pm4py.discover_petri_net_inductive(sub)
        stages["im"] += time.perf_counter() - t
        t = time.perf_counter()
        fitness = pm4py.fitness_token_based_replay(sub, net, im, fm)
        stages["fitness"] += time.perf_counter() - t
        t = time.perf_counter()
        precision = pm4py.precision_token_based_replay(sub, net, im, fm)
        stages["precision"] += time.perf_counter() - t
        record["fitness"] = float(fitness["log_fitness"])
        record["precision"] = float(precision)
        record["f_score"] = f_score(record["fitness"], record["precision"])
        per_process[process] = record
    return {
        "pipeline": "reference",
        "log": str(path),
        "events": len(log),
        "seconds": time.perf_counter() - t0,
        "stages": stages,
        "processes": per_process,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--json", type=Path, help="write the record here (else stdout)")
    parser.add_argument("--read-only", action="store_true", help="time the XES import only")
    args = parser.parse_args(argv)
    if args.read_only:
        t0 = time.perf_counter()
        log = read(args.log)
        result = {
            "pipeline": "reference-read",
            "log": str(args.log),
            "events": len(log),
            "seconds": time.perf_counter() - t0,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }
    else:
        result = run(args.log)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
