"""Steering: monthly KPI history, drift, conformance, re-optimization on change (issue 8).

**Monthly partitions.** `monthly_event_log` and `monthly_kpis` are partitioned by calendar
month (UTC, the calendar of `mining.history`); a backfill over a year gives one row per
process and month. Dagster needs the partitions when the code location loads, before any log
is read, so the first month is `BPO_HISTORY_START` (`YYYY-MM`) when set, else the demo
company's first month (January of `pipelines.demo.YEAR`); set it to your log's first month.
A month before the log's first event is simply empty.

**History.** `kpi_history` is not partitioned: it is computed from the whole event log by
the same function each monthly partition runs (`mining.history.monthly_kpis`, equal month by
month to `month_kpis(month_slice(...))`, which the tests check against a 12-month backfill).
So the full pipeline (`bpo run`, "Materialize all") has the history without a backfill, and
the monthly partitions serve month-by-month runs and their metadata in the UI.

**Drift** is `drift` plus the warning check `kpi_drift` (thresholds in the asset's run
config). **Conformance** runs for each process whose `processes[].reference_model` the cost
file names. **Re-optimization**: the `reoptimize` job runs the cost model and everything
downstream of it from the stored KPIs; the same assets re-run on their own, through their
automation conditions (`dagster_project.defs.automation`), when the cost file's content or
the mined tables change.
"""

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from dagster_project.defs.common import input_errors_as_failure, try_load_costs
from dagster_project.defs.inputs import COST_FILE
from dagster_project.defs.mining import ProcessModels, mining_config
from dagster_project.defs.resources import BpoInputs, Progress
from dagster_project.defs.tables import table_metadata
from dagster_project.report import kpi_history_svg
from mining import history as mining_history
from mining.conformance import CONFORMANCE_COLUMNS, conformance, read_reference_model
from mining.history import DriftThresholds, detect_drift, month_kpis, month_slice
from mining.kpis import MiningConfig, observation_window
from mining.maps import render
from pipelines.demo import YEAR
from pipelines.schema import CASE_ID, PROCESS

HISTORY_TIMEZONE = "UTC"
"""Calendar of the monthly partitions and of `kpi_history`'s months."""

DEFAULT_HISTORY_START = f"{YEAR}-01"
"""First month of the partitions without `BPO_HISTORY_START`: the demo company's first."""

CONFORMANCE_CSV_COLUMNS: tuple[str, ...] = (
    "process",
    "reference_model",
    "fitness",
    "precision",
    "deviation",
    "activity",
    "cases",
    "share_of_cases",
)
"""Columns of `conformance.csv`: per deviation, with its process's fitness and precision."""


def history_start(value: str | None = None) -> str:
    """The first day of the first monthly partition, `YYYY-MM-01`.

    Args:
        value: `YYYY-MM` (default: `BPO_HISTORY_START`, else `DEFAULT_HISTORY_START`).

    Returns:
        The partitions' start date.

    Raises:
        ValueError: The month is not written as `YYYY-MM`.
    """
    month = (value or os.environ.get("BPO_HISTORY_START") or DEFAULT_HISTORY_START).strip()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ValueError(
            f"BPO_HISTORY_START={month!r} is not a month: write the log's first month as YYYY-MM"
        )
    return f"{month}-01"


MONTHS = dg.MonthlyPartitionsDefinition(start_date=history_start(), timezone=HISTORY_TIMEZONE)
"""Calendar months from the history's start to the last complete month."""


def partition_month(context: dg.AssetExecutionContext) -> str:
    """The `YYYY-MM` month of a monthly partition run."""
    return context.partition_key[:7]


def _costs_config(context: dg.AssetExecutionContext, inputs: BpoInputs) -> MiningConfig:
    costs, _ = try_load_costs(inputs.cost_path(context.instance.root_directory))
    return mining_config(costs)


def _svg_markdown(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"![{alt}](data:image/svg+xml;base64,{data})"


# --------------------------------------------------------------------------- monthly partitions


@dg.asset(group_name="steering", partitions_def=MONTHS, kinds={"polars"})
def monthly_event_log(
    context: dg.AssetExecutionContext, event_log: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    """The events of the cases that started in one calendar month.

    A case belongs to the month of its first event, with all its events, also those done in
    later months: one month of work as the KPIs of that month count it.
    """
    month = partition_month(context)
    with input_errors_as_failure("monthly event log"):
        part = month_slice(event_log, month, HISTORY_TIMEZONE)
    return dg.Output(
        part,
        metadata={
            "month": dg.MetadataValue.text(month),
            "events": dg.MetadataValue.int(part.height),
            "cases": dg.MetadataValue.int(part[CASE_ID].n_unique() if part.height else 0),
            "processes": dg.MetadataValue.int(part[PROCESS].n_unique() if part.height else 0),
        },
    )


@dg.asset(group_name="steering", partitions_def=MONTHS, kinds={"polars"})
def monthly_kpis(
    context: dg.AssetExecutionContext,
    monthly_event_log: pl.DataFrame,
    inputs: BpoInputs,
) -> dg.Output[pl.DataFrame]:
    """Each process's KPIs in one calendar month: cases, effort, FTE, throughput, rework.

    One row per process with cases that month; the rows of `kpi_history.csv` for the month.
    """
    month = partition_month(context)
    config = _costs_config(context, inputs)
    rows = month_kpis(monthly_event_log, month, config, HISTORY_TIMEZONE)
    return dg.Output(
        rows,
        metadata={
            "month": dg.MetadataValue.text(month),
            "processes": dg.MetadataValue.int(rows.height),
            "cases": dg.MetadataValue.int(int(rows["cases"].sum()) if rows.height else 0),
            "effort_hours": dg.MetadataValue.float(
                float(rows["effort_hours"].fill_null(0).sum()) if rows.height else 0.0
            ),
            "table": table_metadata(rows),
        },
    )


# --------------------------------------------------------------------------- history and drift


@dg.asset(group_name="steering", kinds={"polars"})
def kpi_history(
    context: dg.AssetExecutionContext,
    event_log: pl.DataFrame,
    inputs: BpoInputs,
    progress: Progress,
) -> dg.Output[pl.DataFrame]:
    """How each process moves month by month: cases, effort hours, FTE, median and P90.

    Throughput, rework rate and variants per process and calendar month, the same figures each
    monthly partition computes: what the drift warnings and the history charts are based on.
    """
    progress.step(context, "monthly KPI history per process")
    with input_errors_as_failure("KPI history"):
        history = mining_history.monthly_kpis(
            event_log, _costs_config(context, inputs), HISTORY_TIMEZONE
        )
    months = history["month"].unique().sort().to_list()
    metadata: dict[str, Any] = {
        "rows": dg.MetadataValue.int(history.height),
        "months": dg.MetadataValue.int(len(months)),
        "first_month": dg.MetadataValue.text(months[0] if months else "—"),
        "last_month": dg.MetadataValue.text(months[-1] if months else "—"),
        "table": table_metadata(history, max_rows=200),
    }
    if history.height:
        metadata["chart"] = dg.MetadataValue.md(
            _svg_markdown(kpi_history_svg(history), "KPI history per process")
        )
    return dg.Output(history, metadata=metadata)


_DEFAULT_DRIFT = DriftThresholds()  # one source for the defaults of the rule


class DriftConfig(dg.Config):
    """Thresholds of the drift rule (relative changes against the trailing months)."""

    volume: float = _DEFAULT_DRIFT.volume
    effort: float = _DEFAULT_DRIFT.effort
    p90_throughput: float = _DEFAULT_DRIFT.p90_throughput
    rework_rate: float = _DEFAULT_DRIFT.rework_rate
    trailing_months: int = _DEFAULT_DRIFT.trailing_months
    min_cases: int = _DEFAULT_DRIFT.min_cases

    def thresholds(self) -> DriftThresholds:
        """The `DriftThresholds` of this configuration."""
        return DriftThresholds(
            volume=self.volume,
            effort=self.effort,
            p90_throughput=self.p90_throughput,
            rework_rate=self.rework_rate,
            trailing_months=self.trailing_months,
            min_cases=self.min_cases,
        )


def drift_markdown(drift: pl.DataFrame) -> str:
    """The drift rows as a Markdown table (for the check's metadata)."""
    if drift.is_empty():
        return "no drift"
    lines = ["| process | month | KPI | value | baseline | change |", "|---|---|---|---|---|---|"]
    for row in drift.iter_rows(named=True):
        lines.append(
            f"| {row['process']} | {row['month']} | {row['kpi']} | {row['value']:.4g} | "
            f"{row['baseline']:.4g} | {row['change']:+.1%} |"
        )
    return "\n".join(lines)


@dg.asset(group_name="steering", kinds={"polars"})
def drift(
    context: dg.AssetExecutionContext,
    config: DriftConfig,
    kpi_history: pl.DataFrame,
    event_log: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """KPI changes large enough to matter: volume or effort ±15 %, P90 or rework ±25 %.

    Against the mean of the trailing three months, sustained for a second month and beyond
    month-to-month noise; each change is listed once, in the month it started.
    """
    if event_log.is_empty():
        start = end = None
    else:
        start, end = observation_window(event_log, MiningConfig())
    found = detect_drift(
        kpi_history,
        config.thresholds(),
        log_start=start,
        log_end=end,
        timezone=HISTORY_TIMEZONE,
    )
    context.log.info(f"{found.height} KPI change(s) beyond the drift thresholds")
    return dg.Output(
        found,
        metadata={
            "drifts": dg.MetadataValue.int(found.height),
            "table": table_metadata(found),
        },
    )


@dg.asset_check(asset=drift)
def kpi_drift(drift: pl.DataFrame) -> dg.AssetCheckResult:
    """No process KPI drifted beyond its threshold; a warning lists every drift otherwise.

    Each row: process, month, KPI, its value, the trailing baseline and the relative change.
    """
    return dg.AssetCheckResult(
        passed=drift.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "drifts": dg.MetadataValue.int(drift.height),
            "details": dg.MetadataValue.md(drift_markdown(drift)),
        },
    )


# --------------------------------------------------------------------------- conformance


@dataclass(frozen=True)
class ConformanceReport:
    """Conformance of the log to each documented process (the cost file's reference models).

    Attributes:
        table: `conformance.csv` (`CONFORMANCE_CSV_COLUMNS`); a process without deviations has
            one row with `deviation` "none" and 0 cases.
        references: (process, reference model path) of each process checked.
        skipped: Processes with a reference model but no events in the log.
    """

    table: pl.DataFrame
    references: tuple[tuple[str, str], ...] = ()
    skipped: tuple[str, ...] = ()


_CONFORMANCE_SCHEMA: dict[str, pl.DataType] = {
    "process": pl.String(),
    "reference_model": pl.String(),
    "fitness": pl.Float64(),
    "precision": pl.Float64(),
    "deviation": pl.String(),
    "activity": pl.String(),
    "cases": pl.Int64(),
    "share_of_cases": pl.Float64(),
}


def conformance_rows(process: str, reference: str, log_of_process: pl.DataFrame) -> pl.DataFrame:
    """The `conformance.csv` rows of one process against its reference model.

    Args:
        process: The process name.
        reference: Path of its reference model (`.bpmn` or `.pnml`).
        log_of_process: Its events.

    Returns:
        One row per deviation (or one "none" row), with fitness and precision.
    """
    result = conformance(log_of_process, reference, process)
    deviations = result.deviations.select(CONFORMANCE_COLUMNS)
    if deviations.is_empty():
        deviations = pl.DataFrame(
            {
                "process": [process],
                "deviation": ["none"],
                "activity": [""],
                "cases": [0],
                "share_of_cases": [0.0],
            }
        )
    return deviations.with_columns(
        pl.lit(reference).alias("reference_model"),
        pl.lit(result.fitness).alias("fitness"),
        pl.lit(result.precision).alias("precision"),
    ).select(
        [pl.col(c).cast(t) for c, t in _CONFORMANCE_SCHEMA.items()]  # type: ignore[arg-type]
    )


@dg.asset(name="conformance", group_name="steering", kinds={"pm4py"})
def conformance_asset(
    context: dg.AssetExecutionContext,
    event_log: pl.DataFrame,
    inputs: BpoInputs,
    progress: Progress,
) -> dg.Output[ConformanceReport]:
    """The process as it runs held against the process as it is documented.

    For each process whose documented model the cost file names: fitness, precision and the
    deviations a process owner understands (skipped, done twice, out of order, not in the
    model) with how many cases each affects.
    """
    costs, _ = try_load_costs(inputs.cost_path(context.instance.root_directory))
    references = [
        (p.id, str(p.reference_model))
        for p in (costs.processes if costs is not None else [])
        if p.reference_model
    ]
    present = set(event_log[PROCESS].unique().to_list()) if event_log.height else set()
    frames: list[pl.DataFrame] = []
    checked: list[tuple[str, str]] = []
    skipped: list[str] = []
    for process, reference in references:
        if process not in present:
            skipped.append(process)
            context.log.warning(f"{process}: reference model given, but no events in the log")
            continue
        progress.step(context, f"conformance of {process} to {Path(reference).name}")
        with input_errors_as_failure("conformance"):
            frames.append(
                conformance_rows(process, reference, event_log.filter(pl.col(PROCESS) == process))
            )
        checked.append((process, reference))
    table = pl.concat(frames) if frames else pl.DataFrame(schema=_CONFORMANCE_SCHEMA)
    metadata: dict[str, Any] = {
        "processes_checked": dg.MetadataValue.int(len(checked)),
        "deviations": dg.MetadataValue.int(table.filter(pl.col("deviation") != "none").height),
        "table": table_metadata(table),
    }
    for process, fitness in table.group_by(PROCESS).agg(pl.col("fitness").first()).iter_rows():
        metadata[f"fitness_{process}"] = dg.MetadataValue.float(float(fitness))
    if skipped:
        metadata["skipped"] = dg.MetadataValue.md("\n".join(f"- {p}" for p in skipped))
    report = ConformanceReport(table, tuple(checked), tuple(skipped))
    return dg.Output(report, metadata=metadata)


def petri_net_svg(path: str | Path, title: str) -> str:
    """Draw a Petri net (PNML or BPMN file) as SVG: places as circles, transitions as boxes.

    Args:
        path: The model file.
        title: Graph label.

    Returns:
        SVG text (Graphviz).
    """
    net, im, fm = read_reference_model(path)
    ids: dict[object, str] = {}
    lines = [
        "digraph G {",
        f'  rankdir=LR; label="{_dot(title)}"; labelloc=t; fontname="Helvetica";',
        '  node [fontname="Helvetica", fontsize=10]; edge [arrowsize=0.6];',
    ]
    for i, place in enumerate(sorted(net.places, key=lambda p: str(p.name))):
        ids[place] = f"p{i}"
        fill = "#1b8a6b" if place in im else ("#1f3a5f" if place in fm else "white")
        lines.append(
            f'  p{i} [shape=circle, label="", width=0.25, style=filled, fillcolor="{fill}"];'
        )
    for i, trans in enumerate(sorted(net.transitions, key=lambda t: str(t.name))):
        ids[trans] = f"t{i}"
        if trans.label is None:
            lines.append(f'  t{i} [shape=box, label="", width=0.1, style=filled, fillcolor=black];')
        else:
            lines.append(f'  t{i} [shape=box, style="rounded", label="{_dot(trans.label)}"];')
    for arc in net.arcs:
        lines.append(f"  {ids[arc.source]} -> {ids[arc.target]};")
    lines.append("}")
    return render("\n".join(lines) + "\n", "svg").decode("utf-8")


def _dot(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def model_pairs(
    report: ConformanceReport | None, models: ProcessModels | None
) -> tuple[tuple[str, str, str | None], ...]:
    """(process, reference SVG, discovered SVG or None) for each process checked."""
    if report is None:
        return ()
    discovered = {r.process: r.pnml for r in (models.results if models is not None else ())}
    out = []
    for process, reference in report.references:
        ref_svg = petri_net_svg(reference, f"documented: {Path(reference).name}")
        mined = discovered.get(process)
        mined_svg = petri_net_svg(mined, "discovered (Inductive Miner)") if mined else None
        out.append((process, ref_svg, mined_svg))
    return tuple(out)


# --------------------------------------------------------------------------- re-optimization

reoptimize = dg.define_asset_job(
    "reoptimize",
    selection=dg.AssetSelection.assets("cost_model").downstream()
    | dg.AssetSelection.assets(COST_FILE),  # observed first: the plan records the file's version
    description="Re-runs the sourcing optimization and the exports from the stored KPIs: the "
    "cost model, the plan, its analyses, the results folder (with plan_changes.csv).",
)

monthly_history = dg.define_asset_job(
    "monthly_history",
    selection=dg.AssetSelection.assets("monthly_event_log", "monthly_kpis"),
    partitions_def=MONTHS,
    description="One calendar month's event-log slice and KPIs; backfill it over a year for "
    "the month-by-month view.",
)
