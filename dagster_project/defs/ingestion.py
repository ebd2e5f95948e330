"""Ingestion: the user's event logs read into one normalized event log (docs/event-log.md)."""

from pathlib import Path

import dagster as dg
import polars as pl

from dagster_project.defs.common import input_errors_as_failure, try_load_costs
from dagster_project.defs.inputs import EVENT_LOG_FILES
from dagster_project.defs.resources import BpoInputs, Progress
from mining import discovery_pool
from mining.pm4py_api import preload as preload_pm4py
from optimize.costfile import CostFile, Mining
from pipelines import exclusions
from pipelines.quality import start_quality
from pipelines.read import LogOptions, read_logs
from pipelines.schema import PROCESS


def log_options(inputs: BpoInputs, costs: CostFile | None) -> LogOptions:
    """Reading options: the resource's settings win over the cost file's `mining:` section."""
    mining = costs.mining if costs is not None else Mining()
    return LogOptions(
        object_type=inputs.object_type or mining.object_type,
        query=inputs.query or mining.query,
        process_attribute=inputs.process_attribute or mining.process_attribute,
        system_attribute=mining.system_attribute,
        column_map=dict(mining.column_map),
        activity_to_system=dict(mining.activity_to_system),
        exclude_resources=tuple(mining.exclude_resources),
        timezone=inputs.timezone or mining.timezone or "UTC",
        activity_classifier=tuple(mining.activity_classifier or ()),
    )


def observation_window(log: pl.DataFrame) -> str:
    """First to last event of the log, as text for the UI."""
    if log.is_empty():
        return "empty"
    first, last = log["timestamp"].min(), log["timestamp"].max()
    return f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M} UTC"


@dg.asset(group_name="ingestion", kinds={"polars", "parquet"}, deps=[EVENT_LOG_FILES])
def event_log(
    context: dg.AssetExecutionContext, inputs: BpoInputs, progress: Progress
) -> dg.Output[pl.DataFrame]:
    """Every event of the company's logs in one table.

    Case, activity, completion and start time, resource, role, process and IT system: what all
    process maps, KPIs and costs are computed from.
    """
    root = context.instance.root_directory
    if not inputs.sources:
        progress.step(
            context,
            f"demo company with {inputs.demo_cases:,} cases (generated once under {root}/demo)",
        )
    sources = inputs.log_sources(root)
    costs, _ = try_load_costs(inputs.cost_path(root))  # cost problems are cost_model's check
    progress.step(context, f"reading {len(sources)} event log source(s)")
    exclusions.take(sources)  # forget counts of earlier reads of these sources
    with input_errors_as_failure("event log"):
        log = read_logs(sources, log_options(inputs, costs))
    if inputs.one_process:
        if discovery_pool.current() is None:
            # Discovery needs pm4py; importing it now in the background uses the core that the
            # next steps (polars, mostly) leave free. A discovery worker imports its own.
            preload_pm4py()
        start_quality(log)  # the quality check step takes the findings; computed meanwhile
    excluded = exclusions.message(exclusions.take(sources))
    if excluded:
        progress.step(context, excluded)
    processes = log[PROCESS].n_unique() if PROCESS in log.columns else 0
    cases = log["case_id"].n_unique() if "case_id" in log.columns else 0
    progress.step(context, f"read {log.height:,} events, {cases:,} cases, {processes} processes")
    return dg.Output(
        log,
        metadata={
            "events": dg.MetadataValue.int(log.height),
            "cases": dg.MetadataValue.int(cases),
            "processes": dg.MetadataValue.int(processes),
            "observation_window": dg.MetadataValue.text(observation_window(log)),
            "sources": dg.MetadataValue.md("\n".join(f"- `{s}`" for s in sources)),
            "source_files": dg.MetadataValue.text(", ".join(Path(s).name for s in sources)),
            "excluded": dg.MetadataValue.text(excluded or "nothing"),
        },
    )
