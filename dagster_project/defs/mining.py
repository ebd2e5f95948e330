"""Mining: discovered process models and maps, and the KPI tables of SPEC §5."""

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from dagster_project.defs.common import input_errors_as_failure, try_load_costs
from dagster_project.defs.resources import BpoInputs, Progress
from dagster_project.defs.tables import table_metadata
from mining.discovery import DiscoveryResult, discover_process
from mining.kpis import MinedTables, MiningConfig, compute_tables, with_model_quality
from optimize.build import load_mined_dir
from optimize.costfile import CostFile
from pipelines.schema import PROCESS

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
    head = f"**{result.process}**"
    if fitness is not None:
        head += f" — fitness {fitness:.3f}"
    if png is None:
        return head + "\n\n(no map rendered)"
    data = base64.b64encode(png).decode("ascii")
    return f"{head}\n\n![map](data:image/png;base64,{data})"


@dg.asset(group_name="mining", kinds={"pm4py", "graphviz"})
def process_models(
    context: dg.AssetExecutionContext,
    event_log: pl.DataFrame,
    inputs: BpoInputs,
    progress: Progress,
) -> dg.Output[ProcessModels]:
    """The discovered model and process map of each business process.

    BPMN and Petri net (Inductive Miner) and a map with frequencies and mean times. A process
    whose discovery fails is listed and skipped; the others proceed.
    """
    costs, _ = try_load_costs(inputs.cost_path(context.instance.root_directory))
    config = mining_config(costs)
    folder = Path(context.instance.storage_directory()) / "runs" / context.run_id / "models"
    folder.mkdir(parents=True, exist_ok=True)
    processes = sorted(event_log[PROCESS].unique().to_list())
    results: list[DiscoveryResult] = []
    failures: list[tuple[str, str]] = []
    for i, process in enumerate(processes, start=1):
        progress.step(context, f"discovering process {i}/{len(processes)}: {process}")
        one = event_log.filter(pl.col(PROCESS) == process)
        try:
            results.append(discover_process(one, process, folder, config))
        except Exception as err:
            context.log.error(f"discovery of {process!r} failed: {type(err).__name__}: {err}")
            failures.append((process, f"{type(err).__name__}: {err}"))
    metadata: dict[str, Any] = {
        "processes": dg.MetadataValue.int(len(results)),
        "failed_processes": dg.MetadataValue.int(len(failures)),
        "models_folder": dg.MetadataValue.path(str(folder)),
    }
    if failures:
        metadata["failures"] = dg.MetadataValue.md(
            "\n".join(f"- **{p}**: {msg}" for p, msg in failures)
        )
    for result in results:
        metadata[f"map_{result.process}"] = dg.MetadataValue.md(map_markdown(result))
    return dg.Output(ProcessModels(str(folder), tuple(results), tuple(failures)), metadata=metadata)


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
