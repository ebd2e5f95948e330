"""Process KPIs of docs/results.md from the normalized event log, in polars.

Definitions (the README repeats them):

- A *process case* is a (case_id, process) pair: a case that runs through several processes
  counts once in each, with only its events of that process. Events are ordered per case by
  completion `timestamp`, stably (ties keep the log's row order), as pm4py orders them.
- *Observation window*: `MiningConfig.observation_period` if given, else from the first event
  (earliest start or completion) to the last completion of the whole log. Counts are not
  filtered by the window; it only annualises. `x_per_year = x × 365.25 / observation_days`
  (365.25 days: the mean calendar year, leap years included). A zero-length window gives null
  annual figures.
- *Variant*: the activity sequence of a process case. *Throughput*: from the process case's
  first start (its first completion where no start is recorded) to its last completion, in
  hours; median and P90 use linear interpolation between order statistics (numpy's default).
  pm4py's `get_all_case_durations` measures first to last *completion*; both agree on logs
  without start timestamps.
- *Rework rate*: share of process cases in which some activity occurs more than once.
- *Handling*: `mining.handling` (measured / estimated / instant / none, documented there).
  `handling_hours_per_case` = Σ handling hours / cases; `effort_hours_per_year` =
  handling_hours_per_case × cases_per_year; `fte` = effort_hours_per_year / hours_per_fte.
- *Systems*: `;`-joined sorted systems carrying ≥ `system_share_threshold` (1 %) of the
  process's events; `system_usage` lists every system with its share.
- *Handovers*: directly-follows steps of a case (whole case, all processes, same ordering)
  whose process changes.
"""

import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from mining.handling import HANDLING_HOURS, add_handling, hours_mean, process_handling
from pipelines.errors import InputError, Problem
from pipelines.schema import (
    ACTIVITY,
    CASE_ID,
    PROCESS,
    REQUIRED,
    RESOURCE,
    ROLE,
    SCHEMA,
    START_TIMESTAMP,
    SYSTEM,
    TIMESTAMP,
)

if TYPE_CHECKING:
    from mining.discovery import DiscoveryResult

DAYS_PER_YEAR = 365.25
_US_PER_HOUR = 3_600_000_000.0
_US_PER_DAY = 86_400_000_000.0

PROCESS_KPI_COLUMNS: tuple[str, ...] = (
    "process",
    "cases",
    "events",
    "observation_days",
    "cases_per_year",
    "activities",
    "variants",
    "top_variant_share",
    "median_throughput_hours",
    "p90_throughput_hours",
    "handling_hours_per_case",
    "handling_time_source",
    "effort_hours_per_year",
    "fte",
    "rework_rate",
    "resources",
    "systems",
    "fitness",
    "precision",
    "f_score",
    "model",
)
ACTIVITY_STATS_COLUMNS: tuple[str, ...] = (
    "process",
    "activity",
    "executions",
    "executions_per_case",
    "mean_handling_minutes",
    "median_handling_minutes",
    "resources",
    "main_role",
    "main_system",
)
HANDOVER_COLUMNS: tuple[str, ...] = (
    "from_process",
    "to_process",
    "handovers",
    "handovers_per_year",
)
SYSTEM_USAGE_COLUMNS: tuple[str, ...] = (
    "process",
    "system",
    "events",
    "events_per_year",
    "share_of_process_events",
)


@dataclass(frozen=True)
class MiningConfig:
    """Settings of KPI computation and discovery.

    Attributes:
        hours_per_fte: Productive hours of one full-time employee per year.
        observation_period: (start, end) used for annualisation; None = first to last event.
        discovery_seconds: Wall-time budget of one process's model discovery (its
            candidates, `mining.candidates`); the map and KPIs are made in any case.
        model: A candidate name (`mining.candidates.NAMES`) to use instead of choosing.
        system_share_threshold: A process uses a system when ≥ this share of its events
            are recorded in it.
        handling_gap_cap_hours: Longest resource gap taken as an estimated handling time.
        working_day_timezone: Time zone whose calendar dates delimit a working day for the
            estimated handling time.
    """

    hours_per_fte: float = 1600.0
    observation_period: tuple[datetime, datetime] | None = None
    discovery_seconds: float = 60.0
    model: str | None = None
    system_share_threshold: float = 0.01
    handling_gap_cap_hours: float = 4.0
    working_day_timezone: str = "UTC"


@dataclass(frozen=True)
class MinedTables:
    """The four KPI tables of docs/results.md (polars frames, columns in the documented order)."""

    process_kpis: pl.DataFrame
    activity_stats: pl.DataFrame
    handovers: pl.DataFrame
    system_usage: pl.DataFrame


Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _prepare(log: Frame) -> Frame:
    """Check the required columns, add missing optional ones as nulls, cast to the schema."""
    columns = log.collect_schema().names() if isinstance(log, pl.LazyFrame) else log.columns
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InputError(
            Problem(
                "event log",
                f"missing required column(s) {', '.join(missing)}: read the log with "
                "pipelines.read.read_log or map the columns in the cost file's `mining:` section",
            )
        )
    if isinstance(log, pl.DataFrame) and log.height == 0:
        raise _empty()
    adds = [pl.lit(None, dtype).alias(c) for c, dtype in SCHEMA.items() if c not in columns]
    return log.with_columns(adds).with_columns(
        pl.col(c).cast(SCHEMA[c]) for c in SCHEMA if c in (START_TIMESTAMP, TIMESTAMP)
    )


def _empty() -> InputError:
    return InputError(Problem("event log", "the event log has no events: check the source"))


def _window_and_count(
    log: pl.DataFrame | pl.LazyFrame, config: MiningConfig, engine: str
) -> tuple[datetime | None, datetime | None, int]:
    row = (
        log.lazy()
        .select(
            lo=pl.min_horizontal(pl.col(START_TIMESTAMP).min(), pl.col(TIMESTAMP).min()),
            hi=pl.col(TIMESTAMP).max(),
            n=pl.len(),
        )
        .collect(engine=engine)
        .row(0)
    )
    if config.observation_period is not None:
        return config.observation_period[0], config.observation_period[1], row[2]
    return row[0], row[1], row[2]


def observation_window(
    log: pl.DataFrame | pl.LazyFrame, config: MiningConfig
) -> tuple[datetime, datetime]:
    """The annualisation window: the configured period, else first to last event of the log.

    Args:
        log: Normalized event log (eager or lazy).
        config: Mining settings.

    Returns:
        (start, end) as datetimes.
    """
    if config.observation_period is not None:
        return config.observation_period
    start, end, _ = _window_and_count(log, config, "auto")
    return start, end  # type: ignore[return-value]


def _per_year(expr: pl.Expr, days: float) -> pl.Expr:
    if days <= 0:
        return pl.lit(None, pl.Float64)
    return expr.cast(pl.Float64) * (DAYS_PER_YEAR / days)


def _mode(frame: pl.LazyFrame, keys: list[str], col: str, name: str) -> pl.LazyFrame:
    """Most frequent non-null value of `col` per `keys` (ties: alphabetically first)."""
    return (
        frame.filter(pl.col(col).is_not_null())
        .group_by([*keys, col])
        .len()
        .sort([*keys, "len", col], descending=[*([False] * len(keys)), True, False])
        .group_by(keys, maintain_order=True)
        .first()
        .select(*keys, pl.col(col).alias(name))
    )


def process_cases(log: Frame) -> Frame:
    """One row per process case: its variant, event count, first/last time, rework flag.

    Args:
        log: Normalized event log (eager, or lazy for a lazy result).

    Returns:
        Frame `process, case_id, variant (list[str]), events, first, last, throughput_hours,
        rework`.
    """
    ordered = log.sort([CASE_ID, TIMESTAMP], maintain_order=True)
    return (
        ordered.group_by([PROCESS, CASE_ID], maintain_order=True)
        .agg(
            variant=pl.col(ACTIVITY),
            events=pl.len(),
            distinct=pl.col(ACTIVITY).n_unique(),
            first=pl.coalesce(START_TIMESTAMP, TIMESTAMP).min(),
            last=pl.col(TIMESTAMP).max(),
        )
        .with_columns(
            throughput_hours=(pl.col("last") - pl.col("first")).dt.total_microseconds()
            / _US_PER_HOUR,
            rework=pl.col("distinct") < pl.col("events"),
        )
        .drop("distinct")
    )


class _Started:
    """Tables being computed in a background thread, for one frame object and config."""

    lock = threading.Lock()
    entry: tuple[weakref.ref[pl.DataFrame], MiningConfig, Future[MinedTables]] | None = None


def start_tables(log: pl.DataFrame, config: MiningConfig | None = None) -> None:
    """Start `compute_tables(log, config)` in a background thread.

    For runs whose steps share one process (the CLI): polars releases the GIL, so the tables
    are computed on the other core while pm4py discovers the models; the next
    `compute_tables` call with this very frame object and an equal config takes the result
    (or its error). Only the latest start is kept.

    Args:
        log: The normalized event log (eager; frames are never changed in place here).
        config: Mining settings; defaults to `MiningConfig()`.
    """
    config = config or MiningConfig()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bpo-kpis")
    future = pool.submit(_compute_tables, log, config)
    pool.shutdown(wait=False)
    with _Started.lock:
        _Started.entry = (weakref.ref(log), config, future)


def _take_started(
    log: pl.DataFrame | pl.LazyFrame, config: MiningConfig
) -> Future[MinedTables] | None:
    with _Started.lock:
        entry = _Started.entry
        if entry is None or entry[0]() is not log or entry[1] != config:
            return None
        _Started.entry = None
    return entry[2]


def compute_tables(
    log: pl.DataFrame | pl.LazyFrame, config: MiningConfig | None = None
) -> MinedTables:
    """Compute the docs/results.md KPI tables for every process in the log.

    The tables are built as one lazy query plan. An eager log is computed in memory; a
    `pl.LazyFrame` (e.g. `pipelines.read.scan_log` over Parquet parts) runs on polars'
    streaming engine, so only the columns the KPIs need are read, in batches where the
    operation allows (the sorts of the handling-time and ordering steps need their columns
    in memory; see bench/README.md, "Scaling beyond memory"). Both give the same tables.

    Args:
        log: Normalized event log (docs/event-log.md), eager or lazy; extra columns are ignored.
        config: Mining settings; defaults to `MiningConfig()`.

    A computation started for this frame object and config by `start_tables` is taken over.

    Returns:
        MinedTables with `fitness` and `precision` null (see `with_model_quality`).

    Raises:
        InputError: The log lacks a required column or has no events.
    """
    config = config or MiningConfig()
    started = _take_started(log, config)
    if started is not None:
        return started.result()
    return _compute_tables(log, config)


def _compute_tables(log: pl.DataFrame | pl.LazyFrame, config: MiningConfig) -> MinedTables:
    engine = "streaming" if isinstance(log, pl.LazyFrame) else "auto"
    prepared = _prepare(log)
    lazy = prepared.lazy().select(*SCHEMA)
    if engine == "streaming":
        # No table shows case ids: a categorical code (4 bytes) orders and groups them alike.
        lazy = lazy.with_columns(pl.col(CASE_ID).cast(pl.Categorical))
    start, end, n_events = _window_and_count(lazy, config, engine)
    if n_events == 0:
        raise _empty()
    days = (end - start).total_seconds() / 86_400.0  # type: ignore[operator]
    handled = add_handling(lazy, config.handling_gap_cap_hours, config.working_day_timezone)
    if engine == "auto":
        handled = handled.collect().lazy()  # computed once, shared by the four tables

    def small(query: pl.LazyFrame) -> pl.LazyFrame:
        """Streaming: compute an aggregate on its own, so one heavy step runs at a time."""
        return query.collect(engine=engine).lazy() if engine == "streaming" else query

    pcases = process_cases(handled.select(PROCESS, CASE_ID, ACTIVITY, TIMESTAMP, START_TIMESTAMP))
    variants = small(
        pcases.group_by([PROCESS, "variant"])
        .len()
        .group_by(PROCESS)
        .agg(variants=pl.len(), __top=pl.col("len").max())
    )
    case_stats = small(
        pcases.group_by(PROCESS).agg(
            cases=pl.len().cast(pl.Int64),
            median_throughput_hours=pl.col("throughput_hours").median(),
            p90_throughput_hours=pl.col("throughput_hours").quantile(0.9, "linear"),
            rework_rate=pl.col("rework").mean(),
        )
    )

    system_usage = small(
        handled.filter(pl.col(SYSTEM).is_not_null())
        .group_by([PROCESS, SYSTEM])
        .agg(events=pl.len().cast(pl.Int64))
        .join(handled.group_by(PROCESS).agg(__n=pl.len()), on=PROCESS)
        .with_columns(
            events_per_year=_per_year(pl.col("events"), days),
            share_of_process_events=pl.col("events") / pl.col("__n"),
        )
        .sort([PROCESS, "events", SYSTEM], descending=[False, True, False])
        .select(SYSTEM_USAGE_COLUMNS)
    )
    systems = (
        system_usage.filter(pl.col("share_of_process_events") >= config.system_share_threshold)
        .group_by(PROCESS)
        .agg(systems=pl.col(SYSTEM).sort().str.join(";"))
    )

    event_stats = small(
        handled.group_by(PROCESS).agg(
            events=pl.len().cast(pl.Int64),
            activities=pl.col(ACTIVITY).n_unique().cast(pl.Int64),
            resources=pl.col(RESOURCE).drop_nulls().n_unique().cast(pl.Int64),
        )
    )
    kpis = (
        event_stats.join(case_stats, on=PROCESS)
        .join(variants, on=PROCESS)
        .join(small(process_handling(handled)), on=PROCESS)
        .join(systems, on=PROCESS, how="left")
        .with_columns(
            observation_days=pl.lit(days, pl.Float64),
            cases_per_year=_per_year(pl.col("cases"), days),
            variants=pl.col("variants").cast(pl.Int64),
            top_variant_share=pl.col("__top") / pl.col("cases"),
            handling_hours_per_case=pl.col("handling_hours_total") / pl.col("cases"),
            systems=pl.col("systems").fill_null(""),
            fitness=pl.lit(None, pl.Float64),
            precision=pl.lit(None, pl.Float64),
            f_score=pl.lit(None, pl.Float64),
            model=pl.lit(None, pl.String),
        )
        .with_columns(
            effort_hours_per_year=pl.col("handling_hours_per_case") * pl.col("cases_per_year"),
        )
        .with_columns(fte=pl.col("effort_hours_per_year") / config.hours_per_fte)
        .sort(PROCESS)
        .select(PROCESS_KPI_COLUMNS)
    )

    minutes = pl.col(HANDLING_HOURS) * 60.0
    activity_stats = (
        small(
            handled.group_by([PROCESS, ACTIVITY]).agg(
                executions=pl.len().cast(pl.Int64),
                mean_handling_minutes=hours_mean(pl.col(HANDLING_HOURS)) * 60.0,
                median_handling_minutes=minutes.median(),
                resources=pl.col(RESOURCE).drop_nulls().n_unique().cast(pl.Int64),
            )
        )
        .join(case_stats.select(PROCESS, "cases"), on=PROCESS)
        .with_columns(executions_per_case=pl.col("executions") / pl.col("cases"))
        .join(
            small(_mode(handled, [PROCESS, ACTIVITY], ROLE, "main_role")),
            on=[PROCESS, ACTIVITY],
            how="left",
        )
        .join(
            small(_mode(handled, [PROCESS, ACTIVITY], SYSTEM, "main_system")),
            on=[PROCESS, ACTIVITY],
            how="left",
        )
        .sort([PROCESS, "executions", ACTIVITY], descending=[False, True, False])
        .select(ACTIVITY_STATS_COLUMNS)
    )

    ordered = handled.select(CASE_ID, TIMESTAMP, PROCESS).sort(
        [CASE_ID, TIMESTAMP], maintain_order=True
    )
    handovers = (
        ordered.with_columns(
            from_process=pl.col(PROCESS).shift(1),
            __same_case=pl.col(CASE_ID) == pl.col(CASE_ID).shift(1),
        )
        .filter(pl.col("__same_case") & (pl.col("from_process") != pl.col(PROCESS)))
        .group_by(["from_process", PROCESS])
        .agg(handovers=pl.len().cast(pl.Int64))
        .rename({PROCESS: "to_process"})
        .with_columns(handovers_per_year=_per_year(pl.col("handovers"), days))
        .sort(["from_process", "to_process"])
        .select(HANDOVER_COLUMNS)
    )
    queries = [kpis, activity_stats, handovers, system_usage]
    if engine == "auto":
        return MinedTables(*pl.collect_all(queries))
    # One query at a time: each reads only its columns again, so the peak memory is that of
    # the largest query, not of all four.
    return MinedTables(*(query.collect(engine=engine) for query in queries))


def with_model_quality(
    process_kpis: pl.DataFrame, results: Sequence["DiscoveryResult"]
) -> pl.DataFrame:
    """Fill `fitness`, `precision`, `f_score` and `model` of `process_kpis` from discovery.

    Args:
        process_kpis: The `process_kpis` table of `compute_tables`.
        results: Discovery results; processes without one keep nulls.

    Returns:
        A new frame, same rows and columns.
    """
    quality = pl.DataFrame(
        {
            PROCESS: [r.process for r in results],
            "__fitness": [r.fitness for r in results],
            "__precision": [r.precision for r in results],
            "__f_score": [r.f_score for r in results],
            "__model": [r.model or None for r in results],
        },
        schema={
            PROCESS: pl.String,
            "__fitness": pl.Float64,
            "__precision": pl.Float64,
            "__f_score": pl.Float64,
            "__model": pl.String,
        },
    )
    return (
        process_kpis.join(quality, on=PROCESS, how="left")
        .with_columns(
            fitness=pl.coalesce("__fitness", "fitness"),
            precision=pl.coalesce("__precision", "precision"),
            f_score=pl.coalesce("__f_score", "f_score"),
            model=pl.coalesce("__model", "model"),
        )
        .select(process_kpis.columns)
    )
