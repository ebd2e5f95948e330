"""The `bpo` command (see the README): parses arguments and runs the Dagster assets in-process.

Every pipeline command materializes the same assets as the Dagster UI against the persistent
instance in `DAGSTER_HOME` (default `.dagster/` in the project or current folder), so CLI runs
appear in the UI's run history. Exit codes: 0 done, 2 bad input (one `error:` line per
problem), 3 the sourcing model is infeasible, 1 anything else.
"""

import argparse
import contextlib
import fcntl
import io
import os
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()
"""When this command started (`bpo` imports this module first): "done in" is the wall time."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""Silences Dagster's console logger in CLI runs; the run log stays in the instance."""

PLAN_HELP = (
    "CSV with columns process,decision (e.g. an edited sourcing_plan.csv): the transition "
    "roadmap implements this plan instead of the optimum"
)


# --------------------------------------------------------------------------- set-up


def project_root(start: Path | None = None) -> Path:
    """The folder of the bpo-pipeline project containing `start`, else `start` itself."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        toml = folder / "pyproject.toml"
        if toml.is_file() and 'name = "bpo-pipeline"' in toml.read_text(encoding="utf-8"):
            return folder
    return here


def ensure_dagster_home() -> Path:
    """Set `DAGSTER_HOME` (default `<project or cwd>/.dagster`) and create it if missing."""
    home = Path(os.environ.get("DAGSTER_HOME") or project_root() / ".dagster").absolute()
    if not home.exists():
        home.mkdir(parents=True)
        # A home we create gets a config without the telemetry banner on the terminal.
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextlib.contextmanager
def _silenced() -> Any:
    """Swallow what libraries print while they import or start (pm4py's banner, Dagster's)."""
    sys._pm4py_welcome_shown = True  # type: ignore[attr-defined]  # pm4py's own switch
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def _quiet_warnings() -> None:
    warnings.simplefilter("ignore")


# --------------------------------------------------------------------------- arguments


def _add_log_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--log",
        dest="logs",
        action="append",
        required=required,
        default=[] if not required else None,
        metavar="SRC",
        help="event log: file (.xes[.gz], .csv[.gz], .parquet, OCEL 2.0) or database URI; "
        "repeat for several",
    )
    parser.add_argument("--object-type", help="OCEL object type to flatten on")
    parser.add_argument("--query", help='SQL query for a database source ("SELECT …")')
    parser.add_argument(
        "--process-attribute", help="event/case attribute naming the process (default: process)"
    )
    parser.add_argument(
        "--timezone", help="time zone of naive timestamps (default: cost file's, else UTC)"
    )


def _add_solver_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="CP-SAT time limit of the main solve (default 60)",
    )
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `bpo` and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="bpo",
        description="Process mining and sourcing optimisation: which processes and IT systems "
        "to keep in-house and which to outsource.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="demo company → whole pipeline → DIR")
    demo.add_argument("--out", default="results", metavar="DIR", help="default: results/")
    demo.add_argument("--cases", type=int, default=30_000, help="demo size (default 30000)")
    demo.add_argument("--seed", type=int, default=7)
    _add_solver_args(demo)

    sample = sub.add_parser("sample", help="write the demo company's event log and costs.yaml")
    sample.add_argument("--out", required=True, metavar="DIR")
    sample.add_argument("--cases", type=int, default=30_000)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--format", choices=("xes", "csv", "parquet"), default="xes")
    sample.add_argument(
        "--noise",
        type=float,
        default=0.0,
        metavar="LEVEL",
        help="share of events disturbed as in real logs (skipped, repeated, swapped, rare "
        "steps), 0 to 1 (default 0: the designed demo)",
    )

    run = sub.add_parser("run", help="whole pipeline on your event logs and cost file")
    _add_log_args(run, required=True)
    run.add_argument("--costs", required=True, metavar="FILE", help="cost/offer file (YAML)")
    run.add_argument("--out", default="results", metavar="DIR")
    run.add_argument("--plan", metavar="FILE", help=PLAN_HELP)
    _add_solver_args(run)

    mine = sub.add_parser("mine", help="ingestion, discovery and KPIs only")
    _add_log_args(mine, required=True)
    mine.add_argument("--costs", metavar="FILE", help="optional: mining settings and study")
    mine.add_argument("--out", default="results", metavar="DIR")

    optimize = sub.add_parser("optimize", help="sourcing plan from a `bpo mine` folder")
    optimize.add_argument("--mined", metavar="DIR", help="output folder of `bpo mine`")
    optimize.add_argument("--costs", required=True, metavar="FILE")
    optimize.add_argument("--out", default="results", metavar="DIR")
    optimize.add_argument("--plan", metavar="FILE", help=PLAN_HELP)
    _add_solver_args(optimize)

    validate = sub.add_parser("validate", help="check inputs and list every problem")
    _add_log_args(validate, required=False)
    validate.add_argument("--costs", metavar="FILE")

    costs = sub.add_parser("costs", help="write the cost file's skeleton from a `bpo mine` folder")
    costs_sub = costs.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = costs_sub.add_parser("init", help="a cost file with TODOs for what only you know")
    init.add_argument("--mined", required=True, metavar="DIR", help="output folder of `bpo mine`")
    init.add_argument("--out", required=True, metavar="FILE", help="the cost file to write")
    init.add_argument("--force", action="store_true", help="replace an existing file")

    offers = sub.add_parser("offers", help="the providers' price sheet (offers.csv)")
    offers_sub = offers.add_subparsers(dest="action", required=True, metavar="ACTION")
    template = offers_sub.add_parser(
        "template", help="one row per process and provider, price columns empty"
    )
    template.add_argument("--costs", required=True, metavar="FILE", help="cost file (TODOs ok)")
    template.add_argument("--mined", metavar="DIR", help="output folder of `bpo mine`")
    template.add_argument("--out", required=True, metavar="FILE", help="e.g. offers.csv")
    template.add_argument("--force", action="store_true", help="replace an existing file")

    ui = sub.add_parser("ui", help="the Dagster UI (same as `make ui`)")
    ui.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; to expose the UI, "
        "put it behind an authenticating reverse proxy, see the README)",
    )
    ui.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    return parser


# --------------------------------------------------------------------------- running assets


def _resources(args: argparse.Namespace, **inputs: Any) -> dict[str, Any]:
    from dagster_project.defs.io import ParquetPickleIOManager  # noqa: PLC0415
    from dagster_project.defs.resources import (  # noqa: PLC0415
        BpoInputs,
        BpoOutput,
        Inbox,
        Progress,
        SolverSettings,
    )

    return {
        # In-process, each extra step costs ~0.1 s: discover every process in one step; and
        # the steps share this process, so work can start early in background threads.
        "inputs": BpoInputs(
            **{
                "discovery_steps": "single",
                "one_process": True,
                **{k: v for k, v in inputs.items() if v is not None},
            }
        ),
        "output": BpoOutput(folder=str(Path(args.out).absolute())),
        "solver": SolverSettings(
            time_limit_seconds=getattr(args, "time_limit", 60.0),
            workers=getattr(args, "workers", 2),
        ),
        "inbox": Inbox(),
        "progress": Progress(echo=True),
        "io_manager": ParquetPickleIOManager(),
    }


def _log_inputs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "sources": list(args.logs or []),
        "object_type": args.object_type,
        "query": args.query,
        "process_attribute": args.process_attribute,
        "timezone": args.timezone,
    }


def _assets(command: str) -> list[Any]:
    from dagster_project import definitions as d  # noqa: PLC0415
    from dagster_project.defs import checks, exports, ingestion, mining, optimization  # noqa: PLC0415
    from dagster_project.defs.roadmap import roadmap  # noqa: PLC0415
    from dagster_project.defs.uncertainty import uncertainty_asset  # noqa: PLC0415

    if command in ("run", "demo"):
        return [*d.ASSETS, *d.CHECKS]
    if command == "mine":
        return [
            ingestion.event_log,
            mining.process_models,
            mining.mined_tables,
            *exports.export_assets(mining=True, optimization=False),
            checks.event_log_schema,
            checks.event_log_quality,
        ]
    return [
        mining.mined_tables_from_folder,
        optimization.cost_model,
        optimization.sourcing_plan,
        optimization.break_even,
        optimization.sensitivity,
        optimization.pareto_front,
        uncertainty_asset(history=False),
        roadmap,
        *exports.export_assets(mining=False, optimization=True, uncertainty=True, roadmap=True),
        checks.cost_model_valid,
        checks.plan_feasible,
    ]


def _materialized_values(result: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        key = event.asset_key.to_user_string()
        if key not in values:
            values[key] = result.asset_value(key)
    return values


def _failure_problems(result: Any) -> list[str]:
    from dagster_project.defs.common import PROBLEMS_KEY  # noqa: PLC0415

    lines: list[str] = []
    for event in result.get_step_failure_events():
        data = event.step_failure_data.user_failure_data
        if data is not None and PROBLEMS_KEY in (data.metadata or {}):
            lines += data.metadata[PROBLEMS_KEY].value.splitlines()
    return lines


def _failure_lines(result: Any) -> list[str]:
    lines = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None and error.cause is not None and "Failure" not in error.cls_name:
            if error.cls_name.startswith("Dagster"):
                error = error.cause
            else:
                break
        message = (error.message if error is not None else "unknown error").strip()
        lines.append(f"error: step {event.step_key} failed: {message.splitlines()[0]}")
    return lines


def run_pipeline(command: str, args: argparse.Namespace, **inputs: Any) -> int:
    """Materialize the command's assets in-process and report the outcome.

    XES logs named on the command line start being scanned in a background thread first
    (`pipelines.xes.prefetch_xes`), and a worker process starts importing pm4py for discovery
    (`mining.discovery_pool`), while this process imports Dagster; the `event_log` asset then
    takes the scanned frame and `discover_processes` hands the processes to the worker.

    Args:
        command: `run`, `demo`, `mine` or `optimize`.
        args: Parsed arguments (`out`, solver settings).
        **inputs: Fields of the `BpoInputs` resource.

    Returns:
        The exit code.
    """
    from mining import discovery_pool  # noqa: PLC0415
    from pipelines.xes import cancel_prefetches, prefetch_xes  # noqa: PLC0415

    for source in inputs.get("sources") or []:
        if Path(source).is_file():
            prefetch_xes(Path(source))
    if command != "optimize":
        discovery_pool.start()
    try:
        code = _run_pipeline(command, args, **inputs)
    finally:
        discovery_pool.stop()
        cancel_prefetches()
    if code == EXIT_OK and _DONE:
        # Once the workers are stopped: the command's whole wall time; then where the files are.
        run, results = _DONE
        _DONE.clear()
        print(f"bpo {command}: done in {time.perf_counter() - STARTED:.1f} s ({run})")
        print(results)
    return code


_DONE: list[str] = []
"""The Dagster run and the results line of a successful command, printed last."""


def _open_instance(dg: Any, home: Path) -> Any:
    """The Dagster instance of `home`, opened under a file lock.

    Two processes creating a fresh instance's SQLite storage at once collide (`table
    alembic_version already exists`), e.g. two `bpo demo` runs started together.
    """
    with (home / ".bpo-instance.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return dg.DagsterInstance.get()


def _observe_inputs(command: str, instance: Any, inputs: Any) -> None:
    """Record what the input files are before the run, as the UI's observation would.

    The assets the run materializes then record which version of the files they were made
    from, and the UI shows them stale only once a file changes. The demo company is
    generated here on first use (the run would generate it anyway).
    """
    from dagster_project.defs.inputs import COST_FILE, EVENT_LOG_FILES, record_observations  # noqa: PLC0415

    keys = {"mine": [EVENT_LOG_FILES], "optimize": [COST_FILE]}.get(
        command, [EVENT_LOG_FILES, COST_FILE]
    )
    with _silenced():
        record_observations(instance, inputs, keys)


def _run_pipeline(command: str, args: argparse.Namespace, **inputs: Any) -> int:
    home = ensure_dagster_home()
    with _silenced():
        import dagster as dg  # noqa: PLC0415

        assets = _assets(command)
        instance = _open_instance(dg, home)
    out = Path(args.out).absolute()
    print(f"bpo {command}: running the pipeline in Dagster (history in {home})", file=sys.stderr)
    resources = _resources(args, **inputs)
    _observe_inputs(command, instance, resources["inputs"])
    result = dg.materialize(
        assets,
        instance=instance,
        resources=resources,
        run_config=QUIET_RUN_CONFIG,
        raise_on_error=False,
        tags={"bpo/command": command},
    )
    values = _materialized_values(result)
    problems = _failure_problems(result)
    model = values.get("cost_model")
    if model is not None:
        problems += [str(p) for p in model.problems]
    if problems:
        for line in dict.fromkeys(problems):
            print(line, file=sys.stderr)
        print(f"bpo {command}: bad input; nothing written, {out} is unchanged", file=sys.stderr)
        return EXIT_BAD_INPUT
    plan = values.get("sourcing_plan")
    if plan is not None and plan.explanation is not None:
        return _infeasible(values, plan, out)
    road = values.get("roadmap")
    if road is not None and road.infeasible:
        return _roadmap_infeasible(values, road, out)
    if not result.success:
        for line in _failure_lines(result) or ["error: the run failed"]:
            print(line, file=sys.stderr)
        if plan is not None and not plan.feasible:
            print(
                f"error: no plan within the time limit (status {plan.result.status}); "
                "try a larger --time-limit",
                file=sys.stderr,
            )
        print(
            f"hint: the full log is run {result.run_id} in the Dagster UI (`bpo ui`), "
            f"history in {home}; {out} is unchanged",
            file=sys.stderr,
        )
        return EXIT_FAILED
    _print_warnings(values, inputs)
    _summary(command, values, out, result.run_id)
    return EXIT_OK


def _print_warnings(values: dict[str, Any], inputs: dict[str, Any]) -> None:
    """Print the data-quality and cost-model warnings of a run: reported, not hidden."""
    from pipelines.quality import check_quality  # noqa: PLC0415

    log = values.get("event_log")
    if log is not None:
        source = ", ".join(inputs.get("sources") or []) or "event_log"
        for warning in check_quality(log, source).warnings:
            print(warning, file=sys.stderr)
    models = values.get("process_models")
    for result in models.results if models is not None else ():
        for text in result.warnings:
            print(f"warning: {text}", file=sys.stderr)
    model = values.get("cost_model")
    if model is not None:
        source = model.cost_file or "costs"
        for text in model.warnings:
            print(f"warning: {source}: {text}", file=sys.stderr)


def _infeasible(values: dict[str, Any], plan: Any, out: Path) -> int:
    from dagster_project.defs.exports import build_report_data, results_files  # noqa: PLC0415
    from dagster_project.exports import publish  # noqa: PLC0415
    from dagster_project.report import render_report  # noqa: PLC0415

    text = plan.explanation.text()
    print(text, end="")
    report = render_report(build_report_data(values))
    publish(out, results_files(values, report))
    print(f"written: {out / 'infeasibility.txt'}")
    return EXIT_INFEASIBLE


def _roadmap_infeasible(values: dict[str, Any], road: Any, out: Path) -> int:
    """Exit 3: the plan exists but its moves cannot be scheduled under the roadmap's rules."""
    from dagster_project.defs.exports import build_report_data, results_files  # noqa: PLC0415
    from dagster_project.exports import publish  # noqa: PLC0415
    from dagster_project.report import render_report  # noqa: PLC0415

    print(road.result.text(), end="")
    report = render_report(build_report_data(values))
    publish(out, results_files(values, report))
    print(f"written: {out / 'infeasibility.txt'}")
    return EXIT_INFEASIBLE


def _summary(command: str, values: dict[str, Any], out: Path, run_id: str) -> None:
    import polars as pl  # noqa: PLC0415

    from dagster_project.report import money  # noqa: PLC0415
    from optimize.instance import IN_HOUSE  # noqa: PLC0415

    plan_csv = out / "sourcing_plan.csv"
    kpis_csv = out / "process_kpis.csv"
    if plan_csv.exists():
        table = pl.read_csv(plan_csv)
        model = values.get("cost_model")
        currency = model.instance.study.currency if model is not None else "EUR"
        width = max(len("process"), *(len(p) for p in table["process"]))
        dwidth = max(len("decision"), *(len(d) for d in table["decision"]))
        print(f"  {'process':<{width}}  {'decision':<{dwidth}}  {'saving per year':>16}")
        for row in table.iter_rows(named=True):
            saving = money(row["saving"], currency)
            print(f"  {row['process']:<{width}}  {row['decision']:<{dwidth}}  {saving:>16}")
        plan = values.get("sourcing_plan")
        if plan is not None and plan.evaluation is not None:
            total = plan.evaluation.total_cents / 100
            moved = int((table["decision"] != IN_HOUSE).sum())
            print(
                f"  {moved} of {table.height} processes outsourced; annual cost "
                f"{money(total, currency)}, saving {money(_saving(values), currency)} "
                f"against the status quo"
            )
        risk = values.get("uncertainty")
        if risk is not None:
            from optimize.uncertainty import summary_line  # noqa: PLC0415

            print(f"  {summary_line(risk.summary)}")
        _roadmap_summary(out, currency)
    elif kpis_csv.exists():
        kpis = pl.read_csv(kpis_csv)
        log = values.get("event_log")
        if log is not None:
            print(
                f"  {kpis.height} processes, {log['case_id'].n_unique():,} cases, "
                f"{log.height:,} events"
            )
        else:
            print(f"  {kpis.height} processes")
    report = "  (open report.html)" if (out / "report.html").exists() else ""
    _DONE[:] = [f"Dagster run {run_id[:8]}", f"results: {out}{report}"]


def _roadmap_summary(out: Path, currency: str) -> None:
    """One line on the transition roadmap, when the run wrote one."""
    import polars as pl  # noqa: PLC0415

    from dagster_project.report import money  # noqa: PLC0415
    from optimize.roadmap_tables import quarter_label  # noqa: PLC0415

    path = out / "roadmap_summary.csv"
    if not path.exists():
        return
    row = pl.read_csv(path).row(0, named=True)
    payback = row["payback_quarter"]
    when = (
        "no payback within the horizon"
        if payback is None
        else f"payback in {quarter_label(payback)}"
    )
    print(
        f"  roadmap ({row['status']}): {row['moving_processes']} move(s) over "
        f"{row['quarters']} quarters, NPV saving {money(row['npv_saving'], currency)}, {when}"
    )


def _saving(values: dict[str, Any]) -> float:
    from optimize.evaluate import evaluate, status_quo  # noqa: PLC0415

    model = values["cost_model"]
    plan = values["sourcing_plan"]
    before = evaluate(model.instance, status_quo(model.instance)).total_cents
    return (before - plan.evaluation.total_cents) / 100


# --------------------------------------------------------------------------- commands


def cmd_sample(args: argparse.Namespace) -> int:
    """`bpo sample`: write the demo company's log, cost file and ground truth."""
    with _silenced():
        from pipelines.demo import write_sample  # noqa: PLC0415
    paths = write_sample(args.out, args.cases, args.seed, args.format, args.noise)
    print(f"event log:    {paths.log}")
    print(f"cost file:    {paths.costs}")
    print(f"ground truth: {paths.truth}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """`bpo validate`: read the inputs, list every problem, change nothing."""
    from pipelines.errors import InputError, Problem  # noqa: PLC0415

    if not args.logs and not args.costs:
        print("error: bpo validate: give --log SRC and/or --costs FILE", file=sys.stderr)
        return EXIT_BAD_INPUT
    with _silenced():
        from dagster_project.defs.ingestion import log_options  # noqa: PLC0415
        from dagster_project.defs.mining import mining_config  # noqa: PLC0415
        from dagster_project.defs.resources import BpoInputs  # noqa: PLC0415
        from mining.kpis import compute_tables  # noqa: PLC0415
        from optimize.build import build_instance  # noqa: PLC0415
        from optimize.costfile import load_costs  # noqa: PLC0415
        from pipelines import exclusions  # noqa: PLC0415
        from pipelines.quality import check_quality  # noqa: PLC0415
        from pipelines.read import read_logs  # noqa: PLC0415
    problems: list[Problem] = []
    notes: list[str] = []
    costs = None
    if args.costs:
        try:
            costs = load_costs(args.costs)
            notes.append(f"ok: {args.costs}: cost file is valid")
        except InputError as err:
            problems += err.problems
    log = None
    if args.logs:
        inputs = BpoInputs(**{k: v for k, v in _log_inputs(args).items() if v is not None})
        exclusions.take(list(args.logs))  # forget counts of earlier reads of these sources
        try:
            log = read_logs(args.logs, log_options(inputs, costs))
        except InputError as err:
            problems += err.problems
        else:
            cases = log["case_id"].n_unique()
            processes = log["process"].n_unique()
            notes.append(f"ok: {log.height:,} events, {cases:,} cases, {processes} processes")
            excluded = exclusions.message(exclusions.take(list(args.logs)))
            if excluded:
                notes.append(f"ok: {excluded}")
            for warning in check_quality(log, ", ".join(args.logs)).warnings:
                print(warning, file=sys.stderr)
    if costs is not None and log is not None:
        try:
            tables = compute_tables(log, mining_config(costs))
            built = build_instance(costs, tables, source=args.costs)
        except InputError as err:
            problems += err.problems
        else:
            for warning in built.warnings:
                print(f"warning: {args.costs}: {warning}", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"bpo validate: {len(problems)} problem(s) found", file=sys.stderr)
        return EXIT_BAD_INPUT
    for note in notes:
        print(note)
    return EXIT_OK


def _write_new(path: Path, text: str, force: bool) -> int:
    """Write a file the user will edit; never overwrite one without --force."""
    if path.exists() and not force:
        print(
            f"error: {path}: already exists; choose another --out, or add --force to replace it",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return EXIT_OK


def cmd_costs_init(args: argparse.Namespace) -> int:
    """`bpo costs init`: the skeleton of a cost file from a `bpo mine` folder."""
    from optimize.skeleton import costs_skeleton  # noqa: PLC0415

    text = costs_skeleton(args.mined)
    code = _write_new(Path(args.out), text, args.force)
    if code == EXIT_OK:
        todos = text.count(": TODO")
        print(f"cost file: {args.out} ({todos} TODO values to fill in; see docs/cost-file.md)")
        print(f"then: bpo validate --costs {args.out}   # lists each TODO left, with its line")
    return code


def cmd_offers_template(args: argparse.Namespace) -> int:
    """`bpo offers template`: the request-for-price sheet for the providers."""
    from optimize.skeleton import offer_sheet  # noqa: PLC0415

    text = offer_sheet(args.costs, args.mined)
    code = _write_new(Path(args.out), text, args.force)
    if code == EXIT_OK:
        rows = text.count("\n") - 1
        beside = Path(args.costs).parent / "offers.csv"
        print(f"price sheet: {args.out} ({rows} rows: process × provider)")
        print(f"send it to the providers; the filled sheet saved as {beside} is read as offers")
    return code


def preflight(args: argparse.Namespace) -> int:
    """Check every input of `run`, `mine` and `optimize` before any work; exit code or 0."""
    from optimize.preflight import check_inputs  # noqa: PLC0415

    problems = check_inputs(
        getattr(args, "logs", None) or [],
        getattr(args, "costs", None),
        getattr(args, "mined", None),
        object_type=getattr(args, "object_type", None),
        query=getattr(args, "query", None),
        process_attribute=getattr(args, "process_attribute", None),
        timezone=getattr(args, "timezone", None),
    )
    if not problems:
        return EXIT_OK
    for problem in problems:
        print(problem, file=sys.stderr)
    out = Path(args.out).absolute()
    print(
        f"bpo {args.command}: bad input, {len(problems)} problem(s) found before reading; "
        f"nothing written, {out} is unchanged",
        file=sys.stderr,
    )
    return EXIT_BAD_INPUT


UI_PATH_VARIABLES = ("BPO_LOGS", "BPO_COSTS", "BPO_MINED", "BPO_OUT", "BPO_INBOX", "BPO_PLAN")
"""Path settings that `bpo ui` makes absolute: `dg dev` runs the code location in the project
folder, and a relative path must still mean the folder `bpo ui` was started in."""


def _project_root() -> Path | None:
    """The source checkout whose pyproject.toml configures `dg` (None for an installed package)."""
    root = Path(__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.dg]" in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def _absolute_paths(env: dict[str, str]) -> dict[str, str]:
    """`env` with the relative paths of `UI_PATH_VARIABLES` made absolute (URLs are kept)."""
    from dagster_project.defs.resources import split_sources  # noqa: PLC0415

    out = dict(env)
    for name in UI_PATH_VARIABLES:
        value = env.get(name)
        if not value:
            continue
        parts = [p if "://" in p else str(Path(p).absolute()) for p in split_sources(value)]
        out[name] = os.pathsep.join(parts)
    out.setdefault("BPO_OUT", str(Path("results").absolute()))
    return out


def cmd_ui(args: argparse.Namespace) -> int:
    """`bpo ui`: `dg dev` on the project's definitions with `DAGSTER_HOME`."""
    home = ensure_dagster_home()
    exe = Path(sys.executable).with_name("dg")
    program = str(exe) if exe.exists() else (shutil.which("dg") or "dg")
    root = _project_root()
    target = ["--target-path", str(root)] if root else ["-m", "dagster_project.definitions"]
    argv = [program, "dev", *target, "-h", args.host, "-p", str(args.port)]
    # dg compares the active environment with the project's .venv: this one is it.
    env = _absolute_paths({**os.environ, "VIRTUAL_ENV": sys.prefix})
    print(f"Dagster UI on http://{args.host}:{args.port} (history in {home})", file=sys.stderr)
    os.execve(program, argv, env)
    return EXIT_FAILED  # pragma: no cover - execve does not return


def dispatch(args: argparse.Namespace) -> int:
    """Run one parsed command."""
    command = args.command
    if command == "sample":
        return cmd_sample(args)
    if command == "validate":
        return cmd_validate(args)
    if command == "ui":
        return cmd_ui(args)
    if command == "costs":
        return cmd_costs_init(args)
    if command == "offers":
        return cmd_offers_template(args)
    if command in ("run", "mine", "optimize"):
        code = preflight(args)
        if code != EXIT_OK:
            return code
    if command == "demo":
        return run_pipeline("demo", args, demo_cases=args.cases, demo_seed=args.seed)
    if command == "run":
        return run_pipeline(
            "run", args, cost_file=args.costs, plan_file=args.plan, **_log_inputs(args)
        )
    if command == "mine":
        return run_pipeline("mine", args, cost_file=args.costs, **_log_inputs(args))
    return run_pipeline(
        "optimize", args, cost_file=args.costs, mined_folder=args.mined, plan_file=args.plan
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `bpo`; returns the exit code.

    Args:
        argv: Arguments without the program name (default: `sys.argv[1:]`).
    """
    args = build_parser().parse_args(argv)
    _quiet_warnings()
    from pipelines.errors import InputError  # noqa: PLC0415

    try:
        return dispatch(args)
    except InputError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("bpo: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        home = os.environ.get("DAGSTER_HOME", ".dagster")
        print(
            f"hint: run logs are in the Dagster UI (`bpo ui`), history in {home}", file=sys.stderr
        )
        return EXIT_FAILED
