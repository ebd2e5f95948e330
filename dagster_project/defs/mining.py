"""Mining: discovered process models and maps, and the KPI tables of docs/results.md."""

import base64
import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from dagster_project.defs.common import input_errors_as_failure, try_load_costs
from dagster_project.defs.resources import BpoInputs, Progress
from dagster_project.defs.tables import table_metadata
from mining import discovery_pool
from mining.discovery import CANDIDATE_COLUMNS, DiscoveryResult, discover_process
from mining.handling import HANDLING_HOURS, add_handling
from mining.kpis import (
    MinedTables,
    MiningConfig,
    compute_tables,
    start_tables,
    with_model_quality,
)
from optimize.build import load_mined_dir
from optimize.costfile import CostFile
from pipelines.schema import (
    ACTIVITY,
    CASE_ID,
    PROCESS,
    RESOURCE,
    START_TIMESTAMP,
    TIMESTAMP,
)

MINED_KEYS = ("process_kpis", "activity_stats", "handovers", "system_usage")
"""The four mined tables, in the order of `MinedTables`."""


@dataclass(frozen=True)
class ProcessModels:
    """Discovery results of one run.

    Attributes:
        folder: Folder holding `<process>.bpmn`, `.pnml`, `_map.svg` (and the PNG maps).
        results: One result per process that was discovered.
        failures: (process, error message) for each process whose discovery failed.
    """

    folder: str
    results: tuple[DiscoveryResult, ...]
    failures: tuple[tuple[str, str], ...] = ()


def mining_config(costs: CostFile | None) -> MiningConfig:
    """Mining settings from the cost file's `study:` and `mining:` sections (else defaults).

    The observation period's end date is inclusive: 2025-01-01 … 2025-12-31 is 365 days.
    """
    if costs is None:
        return MiningConfig()
    kwargs: dict[str, Any] = {"hours_per_fte": float(costs.study.hours_per_fte)}
    period = costs.study.observation_period
    if period is not None:
        start = dt.datetime.combine(period.start, dt.time(), tzinfo=dt.UTC)
        end = dt.datetime.combine(period.end, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
        kwargs["observation_period"] = (start, end)
    if costs.mining.timezone:
        kwargs["working_day_timezone"] = costs.mining.timezone
    kwargs["discovery_seconds"] = float(costs.mining.discovery_seconds)
    kwargs["model"] = costs.mining.model
    return MiningConfig(**kwargs)


def _png_bytes(png: Any) -> bytes | None:
    if png is None:
        return None
    if isinstance(png, bytes):
        return png
    path = Path(png)
    return path.read_bytes() if path.exists() else None


def map_markdown(result: DiscoveryResult) -> str:
    """Markdown showing a process map as an inline PNG (rendered by the Dagster UI)."""
    png = _png_bytes(getattr(result, "png", None))
    fitness = getattr(result, "fitness", None)
    precision = getattr(result, "precision", None)
    head = f"**{result.process}**"
    if fitness is not None:
        head += f" — fitness {fitness:.3f}"
    if precision is not None:
        head += f", precision {precision:.3f} (model {result.model})"
    elif getattr(result, "model", ""):
        head += f" — model {result.model}"
    if png is None:
        return head + "\n\n(no map rendered)"
    data = base64.b64encode(png).decode("ascii")
    return f"{head}\n\n![map](data:image/png;base64,{data})"


DISCOVERY_COLUMNS = (CASE_ID, ACTIVITY, TIMESTAMP, START_TIMESTAMP, HANDLING_HOURS)
"""The event columns discovery and the process map read (`discover_process`)."""

ALL_PROCESSES_KEY = "all_processes"
"""Mapping key of the one discovery step when `BpoInputs.discovery_steps` is `single`."""


@dataclass(frozen=True)
class ProcessBatch:
    """The processes one discovery step handles.

    Attributes:
        folder: Folder for the models and maps of the run.
        config: Mining settings.
        total: Number of processes of the run (for the progress lines).
        processes: (1-based position among all processes, name, its events with the columns
            of `DISCOVERY_COLUMNS`), in name order.
    """

    folder: str
    config: MiningConfig
    total: int
    processes: tuple[tuple[int, str, pl.DataFrame], ...]


@dataclass(frozen=True)
class BatchOutcome:
    """What one discovery step found: a result or a failure per process of its batch."""

    results: tuple[DiscoveryResult, ...]
    failures: tuple[tuple[str, str], ...]


def mapping_key(process: str, taken: set[str]) -> str:
    """A Dagster mapping key for a process: `[A-Za-z0-9_]` only, unique among `taken`.

    Args:
        process: Process name (any characters).
        taken: Keys already given out in this run (the new key is added).

    Returns:
        The key, e.g. `accounts_payable`; `Prüfung/Ω` becomes `Pr_fung__`, a second name that
        sanitises alike gets `_2`, `_3`, … appended.
    """
    base = re.sub(r"[^A-Za-z0-9_]", "_", process) or "process"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}_{n}"
    taken.add(key)
    return key


def discovery_batches(
    event_log: pl.DataFrame, config: MiningConfig, folder: str, *, per_process: bool
) -> list[tuple[str, ProcessBatch]]:
    """Split the log into discovery batches: one per process, or one holding them all.

    Handling times (for the maps' mean handling minutes) are computed once for the whole log
    with `mining.handling.add_handling` and the config's cap and time zone, as the KPIs are.

    Args:
        event_log: The normalized event log.
        config: Mining settings.
        folder: Folder for the models and maps.
        per_process: One batch per process (else one batch with every process).

    Returns:
        (mapping key, batch) pairs in process-name order; at least one batch (possibly empty).
    """
    handled = add_handling(
        event_log.select(*DISCOVERY_COLUMNS[:-1], PROCESS, RESOURCE),
        config.handling_gap_cap_hours,
        config.working_day_timezone,
    )
    parts = handled.partition_by(PROCESS, as_dict=True, maintain_order=True)
    processes = sorted(key[0] for key in parts)
    items = [
        (i, process, parts[(process,)].select(*DISCOVERY_COLUMNS))
        for i, process in enumerate(processes, start=1)
    ]
    total = len(items)
    if not per_process or not items:
        return [(ALL_PROCESSES_KEY, ProcessBatch(folder, config, total, tuple(items)))]
    taken: set[str] = set()
    return [
        (mapping_key(item[1], taken), ProcessBatch(folder, config, total, (item,)))
        for item in items
    ]


@dg.op(out=dg.DynamicOut(ProcessBatch))
def split_processes(
    context: dg.OpExecutionContext, event_log: pl.DataFrame, inputs: BpoInputs
) -> Iterator[dg.DynamicOutput[ProcessBatch]]:
    """One batch per business process to discover (or one for all: `discovery_steps`)."""
    costs, _ = try_load_costs(inputs.cost_path(context.instance.root_directory))
    config = mining_config(costs)
    if inputs.one_process:
        start_tables(event_log, config)  # `mined_tables` takes them; computed beside discovery
    folder = Path(context.instance.storage_directory()) / "runs" / context.run_id / "models"
    folder.mkdir(parents=True, exist_ok=True)
    batches = discovery_batches(
        event_log,
        config,
        str(folder),
        per_process=inputs.discovery_steps == "per_process",
    )
    for key, batch in batches:
        yield dg.DynamicOutput(batch, mapping_key=key)


@dg.op
def discover_processes(
    context: dg.OpExecutionContext, batch: ProcessBatch, progress: Progress
) -> BatchOutcome:
    """Discover each process of the batch; a failing process is recorded, the others proceed.

    With a discovery worker running (`mining.discovery_pool`, started by the CLI) the processes
    are discovered there, all handed over at once; a worker that dies leaves the rest to this
    process.
    """
    results: list[DiscoveryResult] = []
    failures: list[tuple[str, str]] = []
    folder = Path(batch.folder)
    futures = [
        _submitted(events, process, folder, batch.config) for _, process, events in batch.processes
    ]
    for (i, process, events), future in zip(batch.processes, futures, strict=True):
        progress.step(context, f"discovering process {i}/{batch.total}: {process}")
        try:
            result = _discovered(future, events, process, folder, batch.config)
            results.append(result)
            for warning in result.warnings:
                context.log.warning(warning)
        except Exception as err:
            context.log.error(f"discovery of {process!r} failed: {type(err).__name__}: {err}")
            failures.append((process, f"{type(err).__name__}: {err}"))
    return BatchOutcome(tuple(results), tuple(failures))


def _submitted(
    events: pl.DataFrame, process: str, folder: Path, config: MiningConfig
) -> Future[DiscoveryResult] | None:
    """The process handed to the discovery worker, or None when none runs (or it has died)."""
    pool = discovery_pool.current()
    if pool is None:
        return None
    try:
        return pool.submit(discover_process, events, process, folder, config)
    except (BrokenExecutor, RuntimeError):  # broken, or shut down
        return None


def _discovered(
    future: Future[DiscoveryResult] | None,
    events: pl.DataFrame,
    process: str,
    folder: Path,
    config: MiningConfig,
) -> DiscoveryResult:
    """The worker's result, or the process discovered here when there is no (live) worker."""
    if future is not None:
        with contextlib.suppress(BrokenExecutor):
            return future.result()
    return discover_process(events, process, folder, config)


def models_metadata(models: ProcessModels) -> dict[str, Any]:
    """The `process_models` materialization's metadata: counts, failures, one map per process."""
    metadata: dict[str, Any] = {
        "processes": dg.MetadataValue.int(len(models.results)),
        "failed_processes": dg.MetadataValue.int(len(models.failures)),
        "models_folder": dg.MetadataValue.path(models.folder),
    }
    if models.failures:
        metadata["failures"] = dg.MetadataValue.md(
            "\n".join(f"- **{p}**: {msg}" for p, msg in models.failures)
        )
    for result in models.results:
        metadata[f"map_{result.process}"] = dg.MetadataValue.md(map_markdown(result))
        if result.candidates is not None and Path(result.candidates).is_file():
            # every candidate's fitness, precision, F-score, size and time; `chosen` marks it
            metadata[f"candidates_{result.process}"] = table_metadata(
                pl.read_csv(result.candidates, schema=CANDIDATE_COLUMNS)
            )
    if models.results:
        metadata["models"] = table_metadata(
            pl.DataFrame(
                [(r.process, r.model, r.fitness, r.precision, r.f_score) for r in models.results],
                schema={
                    "process": pl.String,
                    "model": pl.String,
                    "fitness": pl.Float64,
                    "precision": pl.Float64,
                    "f_score": pl.Float64,
                },
                orient="row",
            )
        )
    return metadata


@dg.op
def collect_process_models(
    context: dg.OpExecutionContext, outcomes: list[BatchOutcome]
) -> dg.Output[ProcessModels]:
    """Gather the discovery steps' results into `ProcessModels`, in process-name order."""
    results = sorted((r for o in outcomes for r in o.results), key=lambda r: r.process)
    failures = sorted(f for o in outcomes for f in o.failures)
    folder = Path(context.instance.storage_directory()) / "runs" / context.run_id / "models"
    if results:  # a re-execution from failure discovers into the folder of the parent's split
        folder = Path(results[0].svg).parent  # every process has its map (not always a model)
    models = ProcessModels(str(folder), tuple(results), tuple(failures))
    return dg.Output(models, metadata=models_metadata(models))


@dg.graph_asset(group_name="mining", kinds={"pm4py", "graphviz"})
def process_models(event_log: pl.DataFrame) -> ProcessModels:
    """The discovered model and process map of each business process.

    BPMN and Petri net (Inductive Miner) and a map with frequencies and mean times. A process
    whose discovery fails is listed and skipped; the others proceed.
    """
    batches = split_processes(event_log)
    return collect_process_models(batches.map(discover_processes).collect())


_TABLE_DOCS = {
    "process_kpis": "One row per business process: volumes per year, variants, throughput "
    "times, handling effort, FTE, rework, resources, systems and model fitness — the facts the "
    "sourcing decision is priced from.",
    "activity_stats": "Per process and activity: executions per case, handling minutes, "
    "resources, main role and main IT system — the basis of activity-based costing.",
    "handovers": "How often a case passes from one process to another per year; handovers "
    "that would cross the company boundary cost coordination effort.",
    "system_usage": "Which IT systems each process uses and how heavily; a shared system can "
    "only leave together with all of its processes.",
}


@dg.multi_asset(
    group_name="mining",
    outs={key: dg.AssetOut(description=_TABLE_DOCS[key], kinds={"polars"}) for key in MINED_KEYS},
    internal_asset_deps={
        "process_kpis": {dg.AssetKey("event_log"), dg.AssetKey("process_models")},
        "activity_stats": {dg.AssetKey("event_log")},
        "handovers": {dg.AssetKey("event_log")},
        "system_usage": {dg.AssetKey("event_log")},
    },
)
def mined_tables(
    context: dg.AssetExecutionContext,
    event_log: pl.DataFrame,
    process_models: ProcessModels,
    inputs: BpoInputs,
    progress: Progress,
) -> Any:
    """Compute the four mined tables from the event log and the discovered models."""
    costs, _ = try_load_costs(inputs.cost_path(context.instance.root_directory))
    progress.step(context, "computing KPIs, activity statistics, handovers and system usage")
    tables = compute_tables(event_log, mining_config(costs))
    kpis = with_model_quality(tables.process_kpis, list(process_models.results))
    frames = {
        "process_kpis": kpis,
        "activity_stats": tables.activity_stats,
        "handovers": tables.handovers,
        "system_usage": tables.system_usage,
    }
    for key in MINED_KEYS:
        frame = frames[key]
        meta: dict[str, Any] = {"rows": dg.MetadataValue.int(frame.height)}
        if key == "process_kpis":
            meta["table"] = table_metadata(frame)
            if "cases" in frame.columns:
                meta["cases"] = dg.MetadataValue.int(int(frame["cases"].sum()))
            if "events" in frame.columns:
                meta["events"] = dg.MetadataValue.int(int(frame["events"].sum()))
            if "fte" in frame.columns:
                meta["fte"] = dg.MetadataValue.float(float(frame["fte"].fill_null(0).sum()))
        elif frame.height <= 200:
            meta["table"] = table_metadata(frame)
        yield dg.Output(frame, output_name=key, metadata=meta)


def mined(
    process_kpis: pl.DataFrame | None,
    activity_stats: pl.DataFrame | None,
    handovers: pl.DataFrame | None,
    system_usage: pl.DataFrame | None,
) -> MinedTables | None:
    """The mined tables as the optimizer takes them (None when optimizing from overrides)."""
    if process_kpis is None:
        return None
    return MinedTables(process_kpis, activity_stats, handovers, system_usage)


@dg.multi_asset(
    name="mined_tables_from_folder",
    group_name="mining",
    outs={key: dg.AssetOut(description=_TABLE_DOCS[key], kinds={"csv"}) for key in MINED_KEYS},
)
def mined_tables_from_folder(
    context: dg.AssetExecutionContext, inputs: BpoInputs, progress: Progress
) -> Any:
    """The four mined tables read back from a `bpo mine` output folder.

    Used by `bpo optimize --mined DIR`; without a folder each is None and the processes come
    from the cost file's overrides alone.
    """
    if not inputs.mined_folder:
        progress.step(context, "no --mined folder: processes from the cost file's overrides")
        for key in MINED_KEYS:
            yield dg.Output(None, output_name=key, metadata={"rows": dg.MetadataValue.int(0)})
        return
    progress.step(context, f"reading the mined tables from {inputs.mined_folder}")
    with input_errors_as_failure("mined tables"):
        tables = load_mined_dir(inputs.mined_folder)
    for key in MINED_KEYS:
        frame = getattr(tables, key)
        yield dg.Output(
            frame, output_name=key, metadata={"rows": dg.MetadataValue.int(frame.height)}
        )
