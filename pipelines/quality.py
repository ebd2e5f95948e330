"""Data-quality checks on a normalized event log (`data_quality.csv`, the quality asset check).

Suspicious but usable data is reported, never dropped: each check yields one table row per
process (also when it found nothing) and, when it found something, a `Warning_`.
"""

import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from pipelines.errors import Warning_
from pipelines.normalize import LIFECYCLE, ROW, UNMATCHED_STARTS
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
    "nonstandard_lifecycle": (
        "warning",
        "events with lifecycle values outside the XES standard, read as instants: every event "
        "kept with its value in the 'lifecycle' column, no start/complete pairing",
    ),
    "single_activity": (
        "warning",
        "events, all of one activity: the map and model have a single step",
    ),
    "single_case": (
        "warning",
        "events, all in one case: variants, throughput and rework describe that case alone",
    ),
    "single_instant": (
        "warning",
        "events, all at one instant: throughput is zero, cases per year cannot be annualised "
        "and handling time cannot be estimated",
    ),
}
# at most this many distinct lifecycle values are named in the detail
LIFECYCLE_VALUES_SHOWN = 12
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

    The findings of the last frame checked are remembered (by object, while it is alive), so
    the steps of one run that check the same frame (the asset check, `data_quality.csv`, the
    CLI's warnings) compute them once; frames are never changed in place in this project.

    Args:
        log: A normalized event log (`pipelines.read.read_log`); the out-of-order and
            unmatched-start checks use its `bpo:row` / `bpo:unmatched_starts` columns and report
            0 when a log lacks them.
        source: The log source(s) as shown to the user, for the warnings.
        now: The current time (defaults to the clock), for the "future" bound.

    Returns:
        The warnings and the `data_quality.csv` table.
    """
    latest = (now or datetime.now(UTC)) + timedelta(days=365)
    table = _LAST.get(log, latest)
    if table is None:
        table = _findings(log, latest)
        done: Future[pl.DataFrame] = Future()
        done.set_result(table)
        _LAST.put(log, latest, done)
    warnings = tuple(
        Warning_(source, f"process '{process}': {n} {detail}")
        for process, severity, n, detail in table.select(
            "process", "severity", "rows", "detail"
        ).iter_rows()
        if severity == "warning"
    )
    return QualityReport(warnings=warnings, table=table)


def start_quality(log: pl.DataFrame, now: datetime | None = None) -> None:
    """Start checking `log` in a background thread; `check_quality(log, …)` takes the result.

    For runs whose steps share one process (the CLI): polars releases the GIL, so the checks
    run on the other core while the run goes on.

    Args:
        log: A normalized event log (frames are never changed in place in this project).
        now: The current time (defaults to the clock), for the "future" bound.
    """
    latest = (now or datetime.now(UTC)) + timedelta(days=365)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bpo-quality")
    _LAST.put(log, latest, pool.submit(_findings, log, latest))
    pool.shutdown(wait=False)


# the frame (weakly), its height and schema, the "future" bound, the findings table (to come)
_Entry = tuple[weakref.ref[pl.DataFrame], tuple[object, ...], datetime, Future[pl.DataFrame]]


class _LastFindings:
    """The findings table of the last frame checked, kept while that frame is alive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: _Entry | None = None

    @staticmethod
    def _shape(log: pl.DataFrame) -> tuple[object, ...]:
        return (log.height, tuple(log.schema.items()))

    def get(self, log: pl.DataFrame, latest: datetime) -> pl.DataFrame | None:
        """The table of `log` if it was the last frame checked and `latest` changes nothing."""
        with self._lock:
            entry = self._entry
        if entry is None:
            return None
        ref, shape, cached_latest, findings = entry
        if ref() is not log or shape != self._shape(log):
            return None
        table = findings.result()  # a check started in the background: its result or error
        if latest != cached_latest:
            # only timestamps between the two "future" bounds could be counted differently
            low, high = sorted((latest, cached_latest))
            between = log.select(pl.col(TIMESTAMP).is_between(low, high, closed="right").any())
            if between.item() is not False:
                return None
        return table

    def put(self, log: pl.DataFrame, latest: datetime, findings: Future[pl.DataFrame]) -> None:
        """Remember `findings` as the table of `log` with the future bound `latest`."""
        with self._lock:
            self._entry = (weakref.ref(log), self._shape(log), latest, findings)


_LAST = _LastFindings()


def _findings(log: pl.DataFrame, latest: datetime) -> pl.DataFrame:
    """The `data_quality.csv` table: every check for every process."""
    per_process = log.group_by(PROCESS).agg(
        # repeated (case, activity, timestamp, resource) beyond the first
        (pl.len() - pl.struct(CASE_ID, ACTIVITY, TIMESTAMP, RESOURCE).n_unique())
        .cast(pl.Int64)
        .alias("duplicate_events"),
        (pl.col(START_TIMESTAMP) > pl.col(TIMESTAMP)).sum().alias("start_after_complete"),
        pl.col(RESOURCE).is_null().sum().alias("missing_resource"),
        # odd but readable: the whole process is one activity, one case or one instant
        pl.when(pl.col(ACTIVITY).n_unique() == 1)
        .then(pl.len())
        .otherwise(0)
        .alias("single_activity"),
        pl.when(pl.col(CASE_ID).n_unique() == 1).then(pl.len()).otherwise(0).alias("single_case"),
        pl.when(pl.col(TIMESTAMP).min() == pl.col(TIMESTAMP).max())
        .then(pl.len())
        .otherwise(0)
        .alias("single_instant"),
    )
    counts: dict[str, pl.DataFrame] = {
        "out_of_order": _out_of_order(log),
        "timestamp_outliers": _outliers(log, latest),
        "unmatched_lifecycle_starts": _unmatched(log),
    }
    for check in (
        "duplicate_events",
        "start_after_complete",
        "missing_resource",
        "single_activity",
        "single_case",
        "single_instant",
    ):
        counts[check] = per_process.select(PROCESS, pl.col(check).alias("rows"))
    instants = _instants(log)
    counts["nonstandard_lifecycle"] = instants.select(PROCESS, "rows")
    details = {
        (process, "nonstandard_lifecycle"): detail
        for process, detail in instants.select(PROCESS, "detail").iter_rows()
    }
    found: dict[tuple[str, str], int] = {}
    for check, frame in counts.items():
        for process, n in frame.select(PROCESS, "rows").iter_rows():
            if process is not None and n is not None:
                found[(process, check)] = int(n)
    processes = sorted(log.get_column(PROCESS).unique().drop_nulls().to_list())
    rows: list[tuple[str, str, str, int, str]] = []
    for process in processes:
        for check, (severity, detail) in CHECKS.items():
            n = found.get((process, check), 0)
            shown = details.get((process, check), detail) if n else detail
            rows.append((process, check, severity if n else "ok", n, shown))
    return pl.DataFrame(rows, schema=TABLE_SCHEMA, orient="row")


def _out_of_order(log: pl.DataFrame) -> pl.DataFrame:
    if ROW not in log.columns:
        return _zeros(log)
    ordered = log.select(PROCESS, CASE_ID, TIMESTAMP, ROW).sort(ROW)
    bits = max(log.height, 1).bit_length()
    if 2 * bits + 1 < 63 and ordered.get_column(TIMESTAMP).null_count() == 0:
        # Number the cases, put each case's events together (in source order) and rank the
        # timestamps: `case * 2^bits + rank` grows from case to case, so the running maximum
        # over the whole log is the one within the case (a per-case window is much slower).
        case = pl.struct(PROCESS, CASE_ID).rank("dense").cast(pl.Int64).alias("_case")
        ordered = ordered.with_columns(case).sort("_case", maintain_order=True)
        key = pl.col("_case") * (1 << bits) + pl.col(TIMESTAMP).rank("dense").cast(pl.Int64)
        earlier = key < key.cum_max().shift(1)
    else:
        earlier = pl.col(TIMESTAMP) < pl.col(TIMESTAMP).cum_max().shift(1).over(PROCESS, CASE_ID)
    flagged = ordered.select(PROCESS, earlier.fill_null(False).alias("_earlier"))
    return flagged.group_by(PROCESS).agg(pl.col("_earlier").sum().alias("rows"))


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


def _instants(log: pl.DataFrame) -> pl.DataFrame:
    """Per process read as instants (a non-null `lifecycle` value): events and a detail text.

    The detail names the values found (most frequent first, with their counts) and what was
    done, including where the handling time will come from, since an instant has no start.
    """
    schema = pl.Schema({PROCESS: pl.String(), "rows": pl.Int64(), "detail": pl.String()})
    if LIFECYCLE not in log.columns:
        return pl.DataFrame(schema=schema)
    events = log.select(PROCESS, pl.col(LIFECYCLE).cast(pl.String), START_TIMESTAMP).filter(
        pl.col(LIFECYCLE).is_not_null()
    )
    if events.is_empty():
        return pl.DataFrame(schema=schema)
    values = (
        events.group_by(PROCESS, LIFECYCLE)
        .len()
        .sort([PROCESS, "len", LIFECYCLE], descending=[False, True, False])
    )
    started = dict(
        events.group_by(PROCESS).agg(pl.col(START_TIMESTAMP).is_not_null().any()).iter_rows()
    )
    rows: list[tuple[str, int, str]] = []
    for (process,), group in values.group_by(PROCESS, maintain_order=True):
        pairs = list(group.select(LIFECYCLE, "len").iter_rows())
        shown = ", ".join(f"'{v}' ×{n:,}" for v, n in pairs[:LIFECYCLE_VALUES_SHOWN])
        more = len(pairs) - LIFECYCLE_VALUES_SHOWN
        if more > 0:
            shown += f" and {more} more"
        handling = (
            "handling time measured where a start timestamp is given"
            if started.get(process)
            else "no start times, so handling time is estimated from the gaps between a "
            "resource's events where it can be, else left empty, never taken as zero"
        )
        detail = (
            f"events with lifecycle values outside the XES standard ({shown}), read as "
            "instants: every event kept with its value in the 'lifecycle' column, no "
            f"start/complete pairing; {handling}; to name activities by status, set "
            "mining.activity_classifier: [concept:name, lifecycle:transition]"
        )
        rows.append((str(process), sum(n for _, n in pairs), detail))
    return pl.DataFrame(rows, schema=schema, orient="row")


def _zeros(log: pl.DataFrame) -> pl.DataFrame:
    return log.select(PROCESS).unique().with_columns(pl.lit(0, pl.Int64).alias("rows"))
