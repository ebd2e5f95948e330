"""Monthly KPI history of each process and the drift of its KPIs against the trailing months.

**Months.** A process case (a `(case_id, process)` pair, as in `mining.kpis`) belongs to the
calendar month of its *first event*: its earliest start, or its earliest completion where no
start is recorded (the same instant its throughput time is measured from), in the time zone
`timezone` (UTC by default, as Dagster's `MonthlyPartitionsDefinition`). All events of the
process case belong to that month, also those completed later. `month_slice` cuts one month
out of the log; it is what a monthly-partitioned asset works on.

**Monthly KPIs** (`kpi_history.csv`, one row per process and month with at least one case) are
exactly `mining.kpis.compute_tables` on the month's slice with the observation period set to
the calendar month: `cases`, `median_throughput_hours`, `p90_throughput_hours`, `rework_rate`
and `variants` are its columns; `effort_hours` is the month's handling hours
(`handling_hours_per_case × cases`, not annualised) and `fte` the full-time equivalents that
this month's pace needs over a year (`effort_hours_per_year / hours_per_fte`, annualised with
the month's length). Handling times are estimated within the slice (see `mining.handling`).

**Drift** (`drift.csv`) — `detect_drift` looks at four KPIs: `cases` (volume), `effort_hours`,
`p90_throughput_hours` and `rework_rate`. FTE is effort divided by a constant and the variant
count grows with the volume, so neither carries a signal of its own; the median follows the
P90. For a process, KPI and month m:

1. *Evaluable months.* A month counts when the log covers at least `min_coverage` of it
   (drops a partial first or last month), the process has at least `min_cases` cases in it
   (below that, chance alone moves a month by 20 % and more), and its cases had time to
   finish: the month's end plus `settle_factor` (2) × the process's typical P90 throughput
   time (the median of its monthly P90s) lies before the log's last event. Cases that start
   shortly before the end of a log are still running (in the demo they are moved back into
   the year instead), and the long ones — rework cases among them — are missing, which
   biases volume, P90 and rework rate of the last months.
2. *Baseline*: the mean of the KPI over the latest `trailing_months` (k = 3) evaluable
   months before m of the current regime (see 5), odd months (see 4) left out, so that one
   odd month does not make the next normal month look like a change; change = value /
   baseline − 1. No baseline (fewer than k such months): m is not judged.
3. *Exceeds*: |change| > the KPI's threshold **and** the difference is at least `min_z` (3)
   standard errors of month-to-month sampling noise, with n the month's cases and n̄ the
   baseline months' mean: volume (Poisson, pooled rate λ of the k + 1 months) √(λ(1 + 1/k));
   rework rate (two-proportion test, pooled p) √(p(1−p)(1/n + 1/(k·n̄))); effort and P90
   throughput, relative to the baseline, c·√(1/n + 1/(k·n̄)) with c = 1.5 for effort (the
   case count's noise plus the spread of work per case) and c = 2.0 for the P90 (a
   quantile's standard error is √(0.09/n) over the density at the quantile; 2.0 bounds it
   for the right-skewed throughput times of business processes).
4. *Sustained*: the next month is evaluable and also exceeds against the same baseline, in
   the same direction. A month that exceeds without that is an *odd month*: not drift, and
   left out of later baselines.
5. *First month only*: a flag at m starts a new regime; later baselines use months from m
   on only (the next month that can be judged is m + k), so a lasting change is reported
   once, in the month it started, not again while a trailing mean catches up.

With these defaults, on 60 seeds of the demo company (`pipelines.demo`, 30,000 cases)
nothing is flagged, and on the drift demo (`pipelines.demo_drift`) exactly payables' volume
and effort and customer service's rework rate in 2025-07 (with `min_z` = 3, one seed in 40
also flagged a payroll rework month: 75 cases a month are few).

A month's flag is therefore final once the following month is in the history.
"""

import math
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from mining.kpis import MiningConfig, compute_tables
from pipelines.errors import InputError, Problem
from pipelines.schema import CASE_ID, PROCESS, START_TIMESTAMP, TIMESTAMP

HISTORY_COLUMNS: tuple[str, ...] = (
    "process",
    "month",
    "cases",
    "effort_hours",
    "fte",
    "median_throughput_hours",
    "p90_throughput_hours",
    "rework_rate",
    "variants",
)
DRIFT_COLUMNS: tuple[str, ...] = (
    "process",
    "month",
    "kpi",
    "value",
    "baseline",
    "change",
    "threshold",
)
DRIFT_KPIS: tuple[str, ...] = ("cases", "effort_hours", "p90_throughput_hours", "rework_rate")

_MONTH = "__month"
_HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "process": pl.String(),
    "month": pl.String(),
    "cases": pl.Int64(),
    "effort_hours": pl.Float64(),
    "fte": pl.Float64(),
    "median_throughput_hours": pl.Float64(),
    "p90_throughput_hours": pl.Float64(),
    "rework_rate": pl.Float64(),
    "variants": pl.Int64(),
}
_DRIFT_SCHEMA: dict[str, pl.DataType] = {
    "process": pl.String(),
    "month": pl.String(),
    "kpi": pl.String(),
    "value": pl.Float64(),
    "baseline": pl.Float64(),
    "change": pl.Float64(),
    "threshold": pl.Float64(),
}
_NOISE_FACTOR = {"effort_hours": 1.5, "p90_throughput_hours": 2.0}


@dataclass(frozen=True)
class DriftThresholds:
    """When a KPI change counts as drift (see the module docstring for the rule).

    Attributes:
        volume: Relative change of `cases` (0.15 = ±15 %).
        effort: Relative change of `effort_hours`.
        p90_throughput: Relative change of `p90_throughput_hours`.
        rework_rate: Relative change of `rework_rate` (0.25: 8 % → 10.5 % can be drift).
        trailing_months: Months whose mean is the baseline.
        min_z: Least size of the change in standard errors of sampling noise.
        min_coverage: Least share of a month the log must cover for the month to count.
        min_cases: Least process cases in a month for the month to count.
        settle_factor: A month counts once its end lies this many typical P90 throughput
            times of the process before the log's last event (its cases have finished).
    """

    volume: float = 0.15
    effort: float = 0.15
    p90_throughput: float = 0.25
    rework_rate: float = 0.25
    trailing_months: int = 3
    min_z: float = 3.5
    min_coverage: float = 0.9
    min_cases: int = 50
    settle_factor: float = 2.0

    def by_kpi(self) -> dict[str, float]:
        """The threshold of each drift KPI, keyed by its `kpi_history` column."""
        return {
            "cases": self.volume,
            "effort_hours": self.effort,
            "p90_throughput_hours": self.p90_throughput,
            "rework_rate": self.rework_rate,
        }


def _month_expr(timezone: str) -> pl.Expr:
    first = pl.coalesce(START_TIMESTAMP, TIMESTAMP).min().over([PROCESS, CASE_ID])
    return first.dt.convert_time_zone(timezone).dt.strftime("%Y-%m")


def _with_month(log: pl.DataFrame, timezone: str) -> pl.DataFrame:
    missing = [c for c in (CASE_ID, PROCESS, TIMESTAMP) if c not in log.columns]
    if missing:
        raise InputError(Problem("event log", f"missing required column(s) {', '.join(missing)}"))
    if START_TIMESTAMP not in log.columns:
        log = log.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias(START_TIMESTAMP))
    return log.with_columns(_month_expr(timezone).alias(_MONTH))


def month_bounds(month: str, timezone: str = "UTC") -> tuple[datetime, datetime]:
    """First instant of a month and of the next one, as time-zone-aware datetimes.

    Args:
        month: `YYYY-MM`.
        timezone: Time zone whose calendar defines the month.

    Returns:
        (start, end) with end exclusive, in UTC.

    Raises:
        InputError: `month` is not `YYYY-MM`.
    """
    try:
        start = datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise InputError(
            Problem("month", f"{month!r} is not a month: write it as YYYY-MM")
        ) from None
    end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
    bounds = (
        pl.Series([start, end], dtype=pl.Datetime("us"))
        .dt.replace_time_zone(timezone)
        .dt.convert_time_zone("UTC")
    )
    return bounds[0], bounds[1]


def months_of(log: pl.DataFrame, timezone: str = "UTC") -> list[str]:
    """The months (`YYYY-MM`, ascending) in which at least one process case starts.

    Args:
        log: Normalized event log.
        timezone: Time zone whose calendar defines the months.

    Returns:
        Sorted month labels.
    """
    return _with_month(log, timezone)[_MONTH].unique().sort().to_list()


def month_slice(log: pl.DataFrame, month: str, timezone: str = "UTC") -> pl.DataFrame:
    """The events of the process cases whose first event falls in `month`.

    Args:
        log: Normalized event log.
        month: `YYYY-MM`.
        timezone: Time zone whose calendar defines the month.

    Returns:
        The rows of `log` (same columns, same order) of that month's process cases; empty
        when none starts in it.

    Raises:
        InputError: `month` is not `YYYY-MM` or the log lacks a required column.
    """
    month_bounds(month, timezone)
    return _with_month(log, timezone).filter(pl.col(_MONTH) == month).drop(_MONTH)


def month_kpis(
    slice_: pl.DataFrame, month: str, config: MiningConfig | None = None, timezone: str = "UTC"
) -> pl.DataFrame:
    """The `kpi_history` rows of one month from its slice (what a monthly partition computes).

    Args:
        slice_: `month_slice(log, month)`.
        month: `YYYY-MM`.
        config: Mining settings (`observation_period` is replaced by the month).
        timezone: Time zone whose calendar defines the month.

    Returns:
        One row per process with the `HISTORY_COLUMNS`; empty for an empty slice.
    """
    if slice_.height == 0:
        return pl.DataFrame(schema=_HISTORY_SCHEMA)
    config = replace(config or MiningConfig(), observation_period=month_bounds(month, timezone))
    kpis = compute_tables(slice_, config).process_kpis
    return kpis.select(
        PROCESS,
        pl.lit(month).alias("month"),
        "cases",
        (pl.col("handling_hours_per_case") * pl.col("cases")).alias("effort_hours"),
        "fte",
        "median_throughput_hours",
        "p90_throughput_hours",
        "rework_rate",
        "variants",
    ).cast(_HISTORY_SCHEMA)  # type: ignore[arg-type]


def monthly_kpis(
    log: pl.DataFrame, config: MiningConfig | None = None, timezone: str = "UTC"
) -> pl.DataFrame:
    """The KPI history: one row per process and month (`kpi_history.csv`).

    Args:
        log: Normalized event log.
        config: Mining settings.
        timezone: Time zone whose calendar defines the months.

    Returns:
        `HISTORY_COLUMNS`, sorted by process and month; equal, month by month, to
        `month_kpis(month_slice(log, m), m, config)`.

    Raises:
        InputError: The log lacks a required column or has no events.
    """
    if log.height == 0:
        raise InputError(Problem("event log", "the event log has no events: check the source"))
    with_month = _with_month(log, timezone)
    frames = [
        month_kpis(part.drop(_MONTH), month, config, timezone)
        for (month,), part in with_month.group_by(_MONTH, maintain_order=False)
    ]
    return concat_history(frames)


def concat_history(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Join monthly partitions' rows into one history, sorted by process and month.

    Args:
        frames: `month_kpis` outputs (any order).

    Returns:
        The `kpi_history` frame.
    """
    if not frames:
        return pl.DataFrame(schema=_HISTORY_SCHEMA)
    return pl.concat(frames, how="vertical").sort(PROCESS, "month").select(HISTORY_COLUMNS)


def _evaluable(
    history: pl.DataFrame,
    log_start: datetime,
    log_end: datetime,
    thresholds: DriftThresholds,
    timezone: str,
) -> pl.DataFrame:
    """Per process and month: whether the month counts (coverage, finished cases)."""
    p90 = history.group_by(PROCESS).agg(
        __p90=pl.col("p90_throughput_hours").median()  # robust overall level per process
    )
    rows = []
    for month in history["month"].unique().to_list():
        start, end = month_bounds(month, timezone)
        length = (end - start).total_seconds()
        covered = (min(end, log_end) - max(start, log_start)).total_seconds()
        rows.append((month, end, covered / length >= thresholds.min_coverage))
    months = pl.DataFrame(
        rows,
        schema={"month": pl.String, "__end": pl.Datetime("us", "UTC"), "__covered": pl.Boolean},
        orient="row",
    )
    return (
        history.join(months, on="month")
        .join(p90, on=PROCESS)
        .with_columns(
            __ok=pl.col("__covered")
            & (pl.col("cases") >= thresholds.min_cases)
            & (
                pl.col("__end")
                + pl.duration(
                    microseconds=(pl.col("__p90") * thresholds.settle_factor * 3.6e9).cast(pl.Int64)
                )
                <= pl.lit(log_end, pl.Datetime("us", "UTC"))
            )
        )
        .drop("__end", "__covered", "__p90")
    )


def _z(kpi: str, value: float, n: float, base: float, n_base: float, *, k: int) -> float:
    """Size of (value − baseline) in standard errors of month-to-month sampling noise.

    Pooled estimates, as in the two-sample tests: the Poisson rate of the k + 1 months for
    the volume, the pooled proportion for the rework rate.
    """
    diff = abs(value - base)
    inv = 1.0 / n + 1.0 / (k * n_base)
    if kpi == "cases":
        rate = (value + k * base) / (k + 1)
        se = math.sqrt(rate * (1.0 + 1.0 / k))
    elif kpi == "rework_rate":
        pooled = (value * n + base * k * n_base) / (n + k * n_base)
        se = math.sqrt(pooled * (1.0 - pooled) * inv)
    else:
        se = _NOISE_FACTOR[kpi] * base * math.sqrt(inv)
    if se <= 0:
        return math.inf if diff > 0 else 0.0
    return diff / se


@dataclass(frozen=True)
class _Point:
    month: str
    ok: bool
    value: float | None
    cases: float | None


def _flags(
    points: list[_Point], kpi: str, threshold: float, t: DriftThresholds
) -> list[tuple[_Point, float, float]]:
    """(point, baseline, change) of each flagged month of one process and KPI."""
    k = t.trailing_months
    flags: list[tuple[_Point, float, float]] = []
    usable: list[_Point] = []  # evaluable months of the current regime, odd months left out

    def exceeds(p: _Point, base: float, n_base: float) -> float | None:
        change = p.value / base - 1.0  # type: ignore[operator]
        big = abs(change) > threshold
        if big and _z(kpi, p.value, p.cases, base, n_base, k=k) >= t.min_z:  # type: ignore[arg-type]
            return change
        return None

    for i, cur in enumerate(points):
        if not cur.ok:
            continue
        window = usable[-k:]
        base = sum(p.value for p in window) / k if len(window) == k else 0.0  # type: ignore[misc]
        if base > 0:
            n_base = sum(p.cases for p in window) / k  # type: ignore[misc]
            change = exceeds(cur, base, n_base)
            if change is not None:
                nxt = points[i + 1] if i + 1 < len(points) else None
                change_next = exceeds(nxt, base, n_base) if nxt is not None and nxt.ok else None
                if change_next is not None and (change > 0) == (change_next > 0):
                    flags.append((cur, base, change))
                    usable = [cur]  # a new regime starts
                # else: an odd month (or one not yet confirmed), kept out of later baselines
                continue
        usable.append(cur)
    return flags


def detect_drift(
    history: pl.DataFrame,
    thresholds: DriftThresholds | None = None,
    *,
    log_start: datetime | None = None,
    log_end: datetime | None = None,
    timezone: str = "UTC",
) -> pl.DataFrame:
    """KPI changes against the trailing months that exceed the thresholds (`drift.csv`).

    The rule (evaluable months, baseline, noise test, sustained, first month only) is in the
    module docstring.

    Args:
        history: `monthly_kpis` output (or the concatenated monthly partitions).
        thresholds: Thresholds; defaults to `DriftThresholds()`.
        log_start: First event of the log (for the coverage of the first month); default: the
            first month is covered.
        log_end: Last event of the log (coverage of the last month, finished cases); default:
            the end of the last month in the history.
        timezone: Time zone whose calendar defined the history's months.

    Returns:
        `DRIFT_COLUMNS`: process, month, kpi, value, baseline, change (relative), threshold;
        sorted by month, process, kpi.
    """
    thresholds = thresholds or DriftThresholds()
    if history.height == 0:
        return pl.DataFrame(schema=_DRIFT_SCHEMA)
    months = sorted(history["month"].unique().to_list())
    log_start = log_start or month_bounds(months[0], timezone)[0]
    log_end = log_end or month_bounds(months[-1], timezone)[1]
    frame = _evaluable(history, log_start, log_end, thresholds, timezone)
    grid = (
        pl.DataFrame({"month": _month_range(months[0], months[-1])})
        .join(history.select(PROCESS).unique(), how="cross")
        .join(frame, on=[PROCESS, "month"], how="left")
        .with_columns(pl.col("__ok").fill_null(False))
        .sort(PROCESS, "month")
    )
    rows = []
    for (process,), part in grid.group_by(PROCESS, maintain_order=True):
        for kpi, threshold in thresholds.by_kpi().items():
            points = [
                _Point(m, bool(ok) and v is not None, v, n)
                for m, ok, v, n in part.select(
                    "month", "__ok", pl.col(kpi).alias("__v"), pl.col("cases").alias("__n")
                ).iter_rows()
            ]
            for point, base, change in _flags(points, kpi, threshold, thresholds):
                rows.append((process, point.month, kpi, point.value, base, change, threshold))
    return pl.DataFrame(rows, schema=_DRIFT_SCHEMA, orient="row").sort("month", PROCESS, "kpi")


def _month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
