"""Handling time per event: how long someone actually worked on an activity instance.

The method, per process (a process's events are the rows with that `process` value):

1. **Measured.** Where an event has a `start_timestamp`, its handling time is
   `timestamp − start_timestamp` (completion minus start). A start later than the completion
   is treated as a missing start (the data-quality check reports it).
2. **Process with start timestamps** (at least one measured event). Events without a start are
   filled per activity:
   - the activity has measured events in this process → the activity's *median measured*
     handling time (source `estimated`);
   - the activity never has a start in this process → it is taken as an **instantaneous**
     step (0 hours, source `instant`): in logs that record starts, the activities recorded
     only at completion are automatic or external events (a system registering a case, a
     customer's claim arriving), which is also how pm4py's service time treats them.
3. **Process without any start timestamp** (`estimated`, the resource-gap method). For each
   event, the gap since the *same resource's previous completion* in the whole log (any case,
   any process; events sorted stably by completion time) is a *valid gap* when
   - the previous completion falls on the same working day (the same calendar date in
     `MiningConfig.working_day_timezone`, UTC by default) — the resource went from one item
     straight to the next, and
   - `0 < gap ≤ MiningConfig.handling_gap_cap_hours` (default 4 h) — longer gaps contain
     breaks or other work; a zero gap (two completions at the same instant, e.g. a batch) is
     not a measurement of work.
   A valid gap is the event's handling time. Events without a valid gap (the first item of a
   day, no resource, a too-long gap) get the median of the valid gaps of the same
   (process, activity). An activity with no valid gap at all gets none (null), and is
   reported as such, never as zero.

The per-event source is one of `measured`, `estimated`, `instant`, `none`. A process's
`handling_time_source` is `none` when no event has a measured or estimated time; otherwise
the majority of its events with a time from the log (measured vs estimated; a tie counts as
`measured`), so a process whose log is mixed is labelled by its larger part. Handling hours
per case are the sum of all events' handling hours divided by the number of cases; with
source `none` they are null, never a silent zero.
"""

from typing import TypeVar

import polars as pl

from pipelines.schema import ACTIVITY, PROCESS, RESOURCE, START_TIMESTAMP, TIMESTAMP

HANDLING_HOURS = "handling_hours"
HANDLING_SOURCE = "handling_source"

MEASURED = "measured"
ESTIMATED = "estimated"
INSTANT = "instant"
NONE = "none"

_US_PER_HOUR = 3_600_000_000.0
_ROW = "__row"

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _hours(expr: pl.Expr) -> pl.Expr:
    """Duration expression → float hours."""
    return expr.dt.total_microseconds().cast(pl.Float64) / _US_PER_HOUR


_HALF_US_PER_HOUR = 2 * _US_PER_HOUR


def hours_sum(hours: pl.Expr) -> pl.Expr:
    """Σ of handling hours, added as whole half-microseconds: exact, so equal in every run.

    Polars adds a group's floats in the order its threads finish, so a float sum may differ
    in its last bits from one run to the next. Handling hours are whole microseconds or
    medians of them (`add_handling`), which half-microseconds represent exactly.
    """
    return (hours * _HALF_US_PER_HOUR).round().cast(pl.Int64).sum() / _HALF_US_PER_HOUR


def hours_mean(hours: pl.Expr) -> pl.Expr:
    """Mean of handling hours (null without any), from `hours_sum`: equal in every run."""
    return pl.when(hours.count() > 0).then(hours_sum(hours) / hours.count())


def add_handling(
    log: Frame,
    cap_hours: float = 4.0,
    working_day_timezone: str = "UTC",
) -> Frame:
    """Add `handling_hours` (Float64, null where unknown) and `handling_source` to each event.

    See the module docstring for the exact method. Vectorised: one sort by resource and
    completion time, no Python loop over cases or events. For an eager frame whose every
    process has measured events the resource gaps are not needed and not computed.

    Args:
        log: Normalized event log (needs `process, activity, timestamp, start_timestamp,
            resource`), eager or lazy.
        cap_hours: Longest gap since the resource's previous completion taken as handling.
        working_day_timezone: Time zone whose calendar dates define a working day.

    Returns:
        The log, same row order, with the two columns added (replaced if present); a
        LazyFrame for a LazyFrame (nothing is computed then).
    """
    base = log.lazy().drop([HANDLING_HOURS, HANDLING_SOURCE], strict=False).with_row_index(_ROW)
    measured = pl.when(pl.col(TIMESTAMP) >= pl.col(START_TIMESTAMP)).then(
        _hours(pl.col(TIMESTAMP) - pl.col(START_TIMESTAMP))
    )
    base = base.with_columns(__measured=measured)

    if isinstance(log, pl.DataFrame) and _every_process_measured(log):
        # The gaps only fill processes without any measured event: skip the resource sort.
        base = base.with_columns(__gap=pl.lit(None, dtype=pl.Float64))
    else:
        gaps = _resource_gaps(base, cap_hours, working_day_timezone)
        base = base.join(gaps, on=_ROW, how="left", maintain_order="left")

    keys = [PROCESS, ACTIVITY]
    base = base.with_columns(
        __process_measured=pl.col("__measured").is_not_null().any().over(PROCESS),
        __act_measured_median=pl.col("__measured").median().over(keys),
        __act_gap_median=pl.col("__gap").median().over(keys),
    )
    in_measured_process = pl.col("__process_measured")
    hours = (
        pl.when(pl.col("__measured").is_not_null())
        .then(pl.col("__measured"))
        .when(in_measured_process & pl.col("__act_measured_median").is_not_null())
        .then(pl.col("__act_measured_median"))
        .when(in_measured_process)
        .then(pl.lit(0.0))
        .otherwise(pl.coalesce("__gap", "__act_gap_median"))
    )
    source = (
        pl.when(pl.col("__measured").is_not_null())
        .then(pl.lit(MEASURED))
        .when(in_measured_process & pl.col("__act_measured_median").is_not_null())
        .then(pl.lit(ESTIMATED))
        .when(in_measured_process)
        .then(pl.lit(INSTANT))
        .when(pl.col("__gap").is_not_null() | pl.col("__act_gap_median").is_not_null())
        .then(pl.lit(ESTIMATED))
        .otherwise(pl.lit(NONE))
    )
    out = base.with_columns(hours.alias(HANDLING_HOURS), source.alias(HANDLING_SOURCE)).drop(
        _ROW,
        "__measured",
        "__gap",
        "__process_measured",
        "__act_measured_median",
        "__act_gap_median",
    )
    return out.collect() if isinstance(log, pl.DataFrame) else out


def _every_process_measured(log: pl.DataFrame) -> bool:
    """Whether each process has at least one event with a start no later than its completion."""
    per_process = log.group_by(PROCESS).agg(
        (pl.col(TIMESTAMP) >= pl.col(START_TIMESTAMP)).any().alias("__any")
    )
    return bool(per_process["__any"].all())


def _resource_gaps(base: pl.LazyFrame, cap_hours: float, timezone: str) -> pl.LazyFrame:
    """`__row, __gap`: the valid gap since the same resource's previous completion.

    Over the whole log (a resource works across cases and processes).
    """
    day = pl.col(TIMESTAMP).dt.convert_time_zone(timezone).dt.date()
    return (
        base.select(_ROW, RESOURCE, TIMESTAMP)
        .filter(pl.col(RESOURCE).is_not_null())
        .sort([RESOURCE, TIMESTAMP], maintain_order=True)
        .with_columns(__day=day)
        .with_columns(
            __gap=pl.when(
                (pl.col(RESOURCE) == pl.col(RESOURCE).shift(1))
                & (pl.col("__day") == pl.col("__day").shift(1))
            ).then(_hours(pl.col(TIMESTAMP) - pl.col(TIMESTAMP).shift(1)))
        )
        .with_columns(
            __gap=pl.when((pl.col("__gap") > 0) & (pl.col("__gap") <= cap_hours)).then(
                pl.col("__gap")
            )
        )
        .select(_ROW, "__gap")
    )


def process_handling(log_with_handling: Frame) -> Frame:
    """Per process: total handling hours and the `handling_time_source`.

    Args:
        log_with_handling: Output of `add_handling`, eager or lazy.

    Returns:
        Frame `process, handling_hours_total, handling_time_source`; the total is null when
        the source is `none`.
    """
    src = pl.col(HANDLING_SOURCE)
    n_measured = (src == MEASURED).sum()
    n_estimated = (src == ESTIMATED).sum()
    out = (
        log_with_handling.lazy()
        .group_by(PROCESS)
        .agg(
            __total=hours_sum(pl.col(HANDLING_HOURS)),
            __m=n_measured,
            __e=n_estimated,
        )
        .with_columns(
            handling_time_source=pl.when((pl.col("__m") == 0) & (pl.col("__e") == 0))
            .then(pl.lit(NONE))
            .when(pl.col("__m") >= pl.col("__e"))
            .then(pl.lit(MEASURED))
            .otherwise(pl.lit(ESTIMATED))
        )
        .with_columns(
            handling_hours_total=pl.when(pl.col("handling_time_source") != NONE).then(
                pl.col("__total")
            )
        )
        .select(PROCESS, "handling_hours_total", "handling_time_source")
    )
    return out.collect() if isinstance(log_with_handling, pl.DataFrame) else out
