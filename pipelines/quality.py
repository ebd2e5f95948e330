"""Data-quality checks on a normalized event log (`data_quality.csv`, the quality asset check).

Suspicious but usable data is reported, never dropped: each check yields one table row per
process (also when it found nothing) and, when it found something, a `Warning_`.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from pipelines.errors import Warning_
from pipelines.normalize import ROW, UNMATCHED_STARTS
from pipelines.schema import (
    ACTIVITY,
    CASE_ID,
    PROCESS,
    RESOURCE,
    START_TIMESTAMP,
    TIMESTAMP,
)

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
IQR_FACTOR = 3.0

# check name → (severity when found, what it means and what to do)
CHECKS: dict[str, tuple[str, str]] = {
    "out_of_order": (
        "warning",
        "events earlier than an event listed before them in the same case (source order); "
        "check the export's sort order and clocks",
    ),
    "duplicate_events": (
        "warning",
        "repeated events (same case, activity, timestamp and resource) beyond the first; "
        "check the export for double rows",
    ),
    "timestamp_outliers": (
        "warning",
        "timestamps before 1990, more than a year in the future, or beyond 3×IQR of the "
        "process's event dates; check time zone, clocks and placeholder dates",
    ),
    "start_after_complete": (
        "warning",
        "start timestamp later than the completion timestamp; handling time is unreliable",
    ),
    "missing_resource": (
        "info",
        "events without a resource; they count toward no role",
    ),
    "unmatched_lifecycle_starts": (
        "warning",
        "lifecycle start events without a matching complete; dropped",
    ),
}
TABLE_SCHEMA: dict[str, pl.DataType] = {
    "process": pl.String(),
    "check": pl.String(),
    "severity": pl.String(),
    "rows": pl.Int64(),
    "detail": pl.String(),
}


@dataclass(frozen=True)
class QualityReport:
    """Result of `check_quality`.

    Attributes:
        warnings: One per process and check that found something (severity `warning`).
        table: `process, check, severity, rows, detail`; every check for every process;
            `severity` is `ok` where nothing was found.
    """

    warnings: tuple[Warning_, ...]
    table: pl.DataFrame


def check_quality(log: pl.DataFrame, source: str, now: datetime | None = None) -> QualityReport:
    """Run every data-quality check per process.

    Args:
        log: A normalized event log (`pipelines.read.read_log`); the out-of-order and
            unmatched-start checks use its `bpo:row` / `bpo:unmatched_starts` columns and report
            0 when a log lacks them.
        source: The log source(s) as shown to the user, for the warnings.
        now: The current time (defaults to the clock), for the "future" bound.

    Returns:
        The warnings and the `data_quality.csv` table.
    """
    now = now or datetime.now(UTC)
    latest = now + timedelta(days=365)
    counts: dict[str, pl.DataFrame] = {
        "out_of_order": _out_of_order(log),
        "duplicate_events": _duplicates(log),
        "timestamp_outliers": _outliers(log, latest),
        "start_after_complete": log.group_by(PROCESS).agg(
            (pl.col(START_TIMESTAMP) > pl.col(TIMESTAMP)).sum().alias("rows")
        ),
        "missing_resource": log.group_by(PROCESS).agg(
            pl.col(RESOURCE).is_null().sum().alias("rows")
        ),
        "unmatched_lifecycle_starts": _unmatched(log),
    }
    processes = sorted(log.get_column(PROCESS).unique().drop_nulls().to_list())
    rows: list[dict[str, object]] = []
    warnings: list[Warning_] = []
    for process in processes:
        for check, (severity, detail) in CHECKS.items():
            found = counts[check].filter(pl.col(PROCESS) == process).get_column("rows")
            n = int(found[0]) if len(found) and found[0] is not None else 0
            rows.append(
                {
                    "process": process,
                    "check": check,
                    "severity": severity if n else "ok",
                    "rows": n,
                    "detail": detail,
                }
            )
            if n and severity == "warning":
                warnings.append(Warning_(source, f"process '{process}': {n} {detail}"))
    table = pl.DataFrame(rows, schema=TABLE_SCHEMA, orient="row")
    return QualityReport(warnings=tuple(warnings), table=table)


def _out_of_order(log: pl.DataFrame) -> pl.DataFrame:
    if ROW not in log.columns:
        return _zeros(log)
    ordered = log.select(PROCESS, CASE_ID, TIMESTAMP, ROW).sort(ROW)
    earlier = pl.col(TIMESTAMP) < pl.col(TIMESTAMP).cum_max().shift(1).over(PROCESS, CASE_ID)
    return ordered.group_by(PROCESS).agg(earlier.fill_null(False).sum().alias("rows"))


def _duplicates(log: pl.DataFrame) -> pl.DataFrame:
    keys = [PROCESS, CASE_ID, ACTIVITY, TIMESTAMP, RESOURCE]
    return (
        log.group_by(keys)
        .agg(pl.len().alias("n"))
        .group_by(PROCESS)
        .agg((pl.col("n") - 1).sum().cast(pl.Int64).alias("rows"))
    )


def _outliers(log: pl.DataFrame, latest: datetime) -> pl.DataFrame:
    epoch = pl.col(TIMESTAMP).dt.epoch("us")
    q1 = epoch.quantile(0.25).over(PROCESS)
    q3 = epoch.quantile(0.75).over(PROCESS)
    spread = IQR_FACTOR * (q3 - q1)
    outside = (
        (pl.col(TIMESTAMP) < EARLIEST)
        | (pl.col(TIMESTAMP) > latest)
        | (epoch < q1 - spread)
        | (epoch > q3 + spread)
    )
    flagged = log.select(PROCESS, TIMESTAMP).with_columns(outside.alias("_outside"))
    return flagged.group_by(PROCESS).agg(pl.col("_outside").sum().cast(pl.Int64).alias("rows"))


def _unmatched(log: pl.DataFrame) -> pl.DataFrame:
    if UNMATCHED_STARTS not in log.columns:
        return _zeros(log)
    return (
        log.group_by(PROCESS, CASE_ID)
        .agg(pl.col(UNMATCHED_STARTS).first())
        .group_by(PROCESS)
        .agg(pl.col(UNMATCHED_STARTS).sum().cast(pl.Int64).alias("rows"))
    )


def _zeros(log: pl.DataFrame) -> pl.DataFrame:
    return log.select(PROCESS).unique().with_columns(pl.lit(0, pl.Int64).alias("rows"))
