"""Turn a raw table read from any source into the normalized event log of docs/event-log.md.

Every reader (XES, CSV, Parquet, OCEL, SQL) hands its raw frame — source column names, source
types — to `normalize`, which matches the columns, parses timestamps into UTC, pairs lifecycle
start/complete events, fills `process`, `role` and `system`, drops excluded resources and puts
the columns of `pipelines.schema.SCHEMA` first. Two bookkeeping columns follow the schema
columns: `ROW` (1-based position of the event in its source, for the out-of-order check and for
pointing users at a row) and `UNMATCHED_STARTS` (per case: lifecycle starts that had no
complete and were dropped).

Lifecycle values: a process whose `lifecycle:transition` values all belong to the XES
lifecycle model (`XES_LIFECYCLE`, any letter case; an empty value counts as `complete`) is
paired as described in `pair_lifecycle`. A process with any other value (status-valued
exports such as "Queued", "In Progress", "Closed") is read as *instants*: every event is kept
as it is, without start/complete pairing, and its raw value is kept in the `LIFECYCLE`
column (null for the events of paired processes; the column exists only when some process is
read as instants). `pipelines.quality` reports such processes.

`NormalizeSettings.activity_classifier` builds the activity name from several source
attributes joined with `CLASSIFIER_SEPARATOR` ("+", as in pm4py and ProM), e.g.
`concept:name` + `lifecycle:transition` → "Queued+Awaiting Assignment". Pairing still matches
starts and completes by the activity column; the kept event's attributes give the name.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from pipelines import exclusions
from pipelines.errors import InputError, Problem
from pipelines.schema import (
    ACTIVITY,
    CASE_ID,
    COLUMNS,
    PROCESS,
    RESOURCE,
    ROLE,
    SCHEMA,
    START_TIMESTAMP,
    SYSTEM,
    TIMESTAMP,
    TS_DTYPE,
)

ROW = "bpo:row"
UNMATCHED_STARTS = "bpo:unmatched_starts"
LIFECYCLE = "lifecycle"
CLASSIFIER_SEPARATOR = "+"
_CLASSIFIED = "bpo:classified activity"

# The XES standard lifecycle model (transitional model of the lifecycle extension), lower case.
XES_LIFECYCLE = frozenset(
    {
        "schedule",
        "assign",
        "reassign",
        "start",
        "suspend",
        "resume",
        "autoskip",
        "manualskip",
        "complete",
        "ate_abort",
        "pi_abort",
        "withdraw",
    }
)

# Usual spellings per normalized column, compared after `column_key` (lower case, no spaces,
# underscores or hyphens); the first that is present wins.
CANDIDATES: dict[str, tuple[str, ...]] = {
    CASE_ID: ("case:concept:name", "caseid", "case", "casename", "case:id", "traceid"),
    ACTIVITY: ("concept:name", "activity", "activityname", "eventname", "event", "task"),
    TIMESTAMP: (
        "time:timestamp",
        "completetimestamp",
        "endtimestamp",
        "timestamp",
        "completetime",
        "endtime",
        "datetime",
        "time",
        "end",
        "complete",
    ),
    START_TIMESTAMP: ("starttimestamp", "time:start", "starttime", "start"),
    RESOURCE: ("org:resource", "resource", "user", "performer"),
    ROLE: ("org:role", "role", "org:group", "group"),
    LIFECYCLE: ("lifecycle:transition", "lifecycle", "transition"),
}
MAPPABLE: tuple[str, ...] = (*CANDIDATES, PROCESS, SYSTEM)
REQUIRED_SOURCE = (CASE_ID, ACTIVITY, TIMESTAMP)

_TS_HINT = (
    "use ISO 8601 (2024-03-01T14:05:00+01:00), 'YYYY/MM/DD HH:MM:SS' or 'DD.MM.YYYY HH:MM', "
    "or fix the value"
)
# Timestamp formats tried in order; the first that parses a column's first value is used for
# the whole column, the others only for values it cannot parse.
_AWARE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M%#z",
    "%Y-%m-%d %H:%M%#z",
)
_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%d.%m.%Y %H:%M:%S%.f",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y",
)


@dataclass(frozen=True)
class NormalizeSettings:
    """What `normalize` needs besides the raw frame (a reader-side view of `LogOptions`).

    Attributes:
        source: The file or (password-free) URI, for messages.
        default_process: Process name when the log carries no process attribute.
        column_map: Normalized name → source column, overriding the usual spellings.
        process_attribute: Source attribute holding the process name.
        system_attribute: Source attribute holding the IT system.
        activity_to_system: Activity → system, for events without a system attribute.
        exclude_resources: Resources whose events are dropped.
        timezone: Time zone of naive timestamps.
        row_label: How to call a source row in messages ("row" for tables, "event" for XES).
        activity_classifier: Source attributes whose values, joined with
            `CLASSIFIER_SEPARATOR`, name the activity; empty: the matched activity column.
    """

    source: str
    default_process: str
    column_map: Mapping[str, str]
    process_attribute: str | None
    system_attribute: str | None
    activity_to_system: Mapping[str, str]
    exclude_resources: tuple[str, ...]
    timezone: str
    row_label: str = "row"
    activity_classifier: tuple[str, ...] = ()


def column_key(name: str) -> str:
    """Fold a column name for matching: lower case without spaces, underscores or hyphens."""
    return "".join(ch for ch in name.strip().lower() if ch not in " _-")


def _listed(columns: Sequence[str]) -> str:
    """Column names for a one-line message (a quoted header may hold line breaks)."""
    return ", ".join(c.replace("\r", "\\r").replace("\n", "\\n") for c in columns)


def match_columns(columns: Sequence[str], settings: NormalizeSettings) -> dict[str, str]:
    """Find the source column of each normalized column.

    Args:
        columns: The source frame's column names.
        settings: Carries `column_map`, `process_attribute` and `system_attribute`.

    Returns:
        Normalized name → source column, for the columns found.

    Raises:
        InputError: A mapped column is absent, or a required column is missing.
    """
    problems: list[Problem] = []
    found: dict[str, str] = {}
    for target, column in settings.column_map.items():
        if target not in MAPPABLE:
            problems.append(
                Problem(
                    settings.source,
                    f"mining.column_map: unknown column '{target}'; "
                    f"use one of {', '.join(MAPPABLE)}",
                )
            )
        elif column not in columns:
            problems.append(
                Problem(
                    settings.source,
                    f"mining.column_map.{target}: column '{column}' is not in the log "
                    f"(columns: {_listed(columns)})",
                )
            )
        else:
            found[target] = column
    if problems:
        raise InputError(problems)
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(column_key(column), column)
    taken = set(found.values())
    for target, spellings in CANDIDATES.items():
        if target in found:
            continue
        for spelling in spellings:
            column = by_key.get(column_key(spelling))
            if column is not None and column not in taken:
                found[target] = column
                taken.add(column)
                break
    for target, attribute in (
        (PROCESS, settings.process_attribute or PROCESS),
        (SYSTEM, settings.system_attribute or SYSTEM),
    ):
        if target in found:
            continue
        wanted = (column_key(attribute), column_key(f"case:{attribute}"))
        column = next(
            (c for w in wanted for c in columns if column_key(c) == w and c not in taken), None
        )
        if column is not None:
            found[target] = column
            taken.add(column)
    missing = [t for t in REQUIRED_SOURCE if t not in found]
    if missing:
        raise InputError(
            Problem(
                settings.source,
                f"missing required column '{target}': looked for "
                f"{', '.join(repr(s) for s in CANDIDATES[target])} (case, spaces and "
                f"underscores ignored); map it with mining.column_map.{target} in the cost file "
                f"(columns present: {_listed(columns) or 'none'})",
            )
            for target in missing
        )
    return found


def parse_timestamps(
    frame: pl.DataFrame, column: str, label: str, settings: NormalizeSettings
) -> pl.Series:
    """Parse one column into `datetime[us, UTC]`.

    Strings are tried against ISO 8601 with or without offset and the usual European/Disco
    formats; naive values (and naive datetimes) are read in `settings.timezone`.

    Args:
        frame: The raw frame, with the `ROW` column.
        column: The column to parse.
        label: The column's name in the source, for messages.
        settings: Time zone and source name.

    Returns:
        The parsed series (nulls where the source is null).

    Raises:
        InputError: A non-null value cannot be parsed; names the first one and its row.
    """
    series = frame.get_column(column)
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            parsed = _localize(series.cast(pl.Datetime("us")), settings.timezone)
        else:
            parsed = series.dt.convert_time_zone("UTC").cast(TS_DTYPE)
    elif dtype == pl.Date:
        parsed = _localize(series.cast(pl.Datetime("us")), settings.timezone)
    elif dtype == pl.String:
        parsed = _parse_strings(series, settings.timezone)
    else:
        raise InputError(
            Problem(
                settings.source,
                f"column '{label}' holds {dtype} values, not timestamps; "
                "map the right column with mining.column_map",
            )
        )
    bad = series.is_not_null() & parsed.is_null()
    if bad.any():
        index = int(bad.arg_true()[0])
        value = series[index]
        where, line = _location(int(frame.get_column(ROW)[index]), settings)
        raise InputError(
            Problem(
                settings.source,
                f"{where}column '{label}': cannot parse '{value}' as a timestamp "
                f"(or it does not exist in time zone {settings.timezone}); {_TS_HINT}",
                line,
            )
        )
    return parsed.alias(column)


def _localize(series: pl.Series, timezone: str) -> pl.Series:
    return (
        series.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .cast(TS_DTYPE)
    )


def _parse_strings(series: pl.Series, timezone: str) -> pl.Series:
    text = series.str.strip_chars().str.replace(r"[zZ]$", "+00:00")
    first = text.drop_nulls()
    if first.is_empty():
        return pl.Series(series.name, [None] * len(series), dtype=TS_DTYPE)
    probe = first.head(1)
    formats = [(f, True) for f in _AWARE_FORMATS] + [(f, False) for f in _NAIVE_FORMATS]
    formats.sort(key=lambda fa: _parse_one(probe, *fa, timezone).is_null().all())
    result: pl.Series | None = None
    for fmt, aware in formats:
        parsed = _parse_one(text, fmt, aware, timezone)
        result = parsed if result is None else result.fill_null(parsed)
        if result.null_count() == text.null_count():
            break
    assert result is not None
    return result


def _parse_one(text: pl.Series, fmt: str, aware: bool, timezone: str) -> pl.Series:
    if aware:
        return text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC").cast(
            TS_DTYPE
        )
    naive = text.str.to_datetime(fmt, strict=False, time_unit="us", exact=True)
    return _localize(naive, timezone)


def _check_not_null(frame: pl.DataFrame, column: str, label: str, s: NormalizeSettings) -> None:
    nulls = frame.get_column(column).is_null()
    if nulls.any():
        where, line = _location(int(frame.get_column(ROW).filter(nulls)[0]), s)
        raise InputError(
            Problem(
                s.source,
                f"{where}column '{label}' is empty; every event needs a case id, an activity "
                "and a timestamp",
                line,
            )
        )


def _location(row: int, settings: NormalizeSettings) -> tuple[str, int | None]:
    """A message's `(prefix, line)` for a source row: a table row is the line, an event is named."""
    if settings.row_label == "row":
        return "", row
    return f"{settings.row_label} {row}: ", None


def _run_start(gid: str) -> pl.Expr:
    """True on the first row of each run of equal `gid` values."""
    return (pl.col(gid) != pl.col(gid).shift(1)).fill_null(True)


def _run_cum_sum(values: pl.Expr, first: str) -> pl.Expr:
    """Cumulative sum of `values` restarting on every row where `first` is true."""
    total = values.cum_sum()
    return total - pl.when(first).then(total - values).forward_fill()


def pair_lifecycle(frame: pl.DataFrame) -> pl.DataFrame:
    """Merge lifecycle start/complete events into one row per activity instance.

    Events without a lifecycle value count as completes; values other than start/complete
    (schedule, assign, …) are dropped. Each complete is matched to the earliest open start of
    the same case and activity (and resource, when the log has one), in time order with starts
    before completes at equal times. Unmatched starts are dropped and counted per case in
    `UNMATCHED_STARTS`.

    Args:
        frame: Normalized-name frame with `LIFECYCLE`, `TIMESTAMP` (UTC) and `ROW` columns.

    Returns:
        The complete events with `START_TIMESTAMP` filled where matched; without `LIFECYCLE`.
    """
    lc = pl.col(LIFECYCLE).cast(pl.String).str.strip_chars().str.to_lowercase()
    kind = (
        pl.when(lc.is_null() | (lc == "") | (lc == "complete"))
        .then(pl.lit("complete"))
        .when(lc == "start")
        .then(pl.lit("start"))
        .otherwise(None)
    )
    frame = frame.with_columns(kind.alias(LIFECYCLE)).filter(pl.col(LIFECYCLE).is_not_null())
    is_start = pl.col(LIFECYCLE) == "start"
    if not frame.select(is_start.any()).item():
        return frame.drop(LIFECYCLE).with_columns(pl.lit(0, pl.UInt32).alias(UNMATCHED_STARTS))
    keys = [CASE_ID, ACTIVITY] + ([RESOURCE] if RESOURCE in frame.columns else [])
    step = pl.when(is_start).then(1).otherwise(-1)
    ordered = frame.sort(
        [*keys, TIMESTAMP, LIFECYCLE, ROW],
        descending=[False] * len(keys)
        + [
            False,
            True,  # "start" after "complete" alphabetically: descending puts starts first
            False,
        ],
    )
    # Open starts before each event = reflected random walk: X - min(0, min X so far).
    # The frame is sorted by the keys, so each (case, activity, resource) group is a run of
    # rows with one integer id; cumulative sums, minima and ranks restart at each run by
    # arithmetic on whole columns instead of window functions over millions of tiny groups.
    changed = pl.lit(False)
    for key in keys:
        changed = changed | pl.col(key).ne_missing(pl.col(key).shift(1))
    walk = ordered.with_columns(
        _gid=changed.cast(pl.Int64).cum_sum(), _step=step.cast(pl.Int64)
    ).with_columns(_first=_run_start("_gid"))
    span = 2 * (walk.height + 1) + 1  # larger than twice any |X|: runs cannot mix below
    walk = (
        walk.with_columns(_x=_run_cum_sum(pl.col("_step"), "_first"))
        .with_columns(_cm=(pl.col("_x") - pl.col("_gid") * span).cum_min() + pl.col("_gid") * span)
        .with_columns(
            _m=pl.when("_first").then(0).otherwise(pl.col("_cm").shift(1)).clip(upper_bound=0)
        )
        .with_columns(((pl.col("_x") - pl.col("_step") - pl.col("_m")) > 0).alias("_matched"))
    )
    completes = walk.filter(~is_start).with_columns(_first=_run_start("_gid"))
    completes = completes.with_columns(
        pl.when(pl.col("_matched"))
        .then(_run_cum_sum(pl.col("_matched").cast(pl.Int64), "_first"))
        .otherwise(None)
        .alias("_rank")
    )
    starts = walk.filter(is_start).with_columns(_first=_run_start("_gid"))
    starts = starts.with_columns(_i=pl.int_range(pl.len(), dtype=pl.Int64)).select(
        "_gid",
        (pl.col("_i") - pl.when("_first").then(pl.col("_i")).forward_fill() + 1).alias("_rank"),
        pl.col(TIMESTAMP).alias("_start"),
    )
    paired = completes.join(starts, on=["_gid", "_rank"], how="left", maintain_order="left")
    start_col = (
        pl.coalesce(pl.col("_start"), pl.col(START_TIMESTAMP))
        if START_TIMESTAMP in paired.columns
        else pl.col("_start")
    )
    unmatched = (
        walk.group_by(CASE_ID)
        .agg((is_start.sum() - pl.col("_matched").filter(~is_start).sum()).alias(UNMATCHED_STARTS))
        .with_columns(pl.col(UNMATCHED_STARTS).cast(pl.UInt32))
    )
    return (
        paired.with_columns(start_col.alias(START_TIMESTAMP))
        .drop(
            "_gid", "_first", "_step", "_x", "_cm", "_m", "_matched", "_rank", "_start", LIFECYCLE
        )
        .join(unmatched, on=CASE_ID, how="left")
        .sort(ROW)
    )


def resolve_classifier(columns: Sequence[str], attributes: Sequence[str], source: str) -> list[str]:
    """The source columns of `mining.activity_classifier`'s attributes.

    An attribute matches a column of the same name, else the one column equal to it after
    `column_key` folding (case, spaces, underscores and hyphens ignored).

    Args:
        columns: The source frame's column names.
        attributes: The classifier's attributes, in order.
        source: The file or URI, for messages.

    Returns:
        One source column per attribute.

    Raises:
        InputError: An attribute is not in the log; names it and the columns present.
    """
    found: list[str] = []
    problems: list[Problem] = []
    for attribute in attributes:
        if attribute in columns:
            found.append(attribute)
            continue
        folded = [c for c in columns if column_key(c) == column_key(attribute)]
        if len(folded) == 1:
            found.append(folded[0])
            continue
        problems.append(
            Problem(
                source,
                f"mining.activity_classifier: attribute '{attribute}' is not in the log; "
                f"use attributes the log has (columns: {', '.join(columns) or 'none'})",
            )
        )
    if problems:
        raise InputError(problems)
    return found


def classifier_expr(columns: Sequence[str]) -> pl.Expr:
    """The activity name from several columns: their values joined with "+", nulls left out."""
    parts = [pl.col(c).cast(pl.String) for c in columns]
    return pl.concat_str(parts, separator=CLASSIFIER_SEPARATOR, ignore_nulls=True)


def standard_lifecycle(value: str | None) -> bool:
    """Whether a lifecycle value belongs to the XES lifecycle model (or is empty)."""
    return value is None or value.strip().lower() in XES_LIFECYCLE | {""}


def split_lifecycle(frame: pl.DataFrame) -> pl.DataFrame:
    """Pair the processes with XES lifecycle values; keep the others' events as instants.

    Args:
        frame: Normalized-name frame with `PROCESS` filled and `LIFECYCLE`, `TIMESTAMP`, `ROW`.

    Returns:
        `pair_lifecycle` of the standard processes; when a process has values outside the XES
        model, its events unchanged with their raw value in `LIFECYCLE` (null for the paired
        events) and `UNMATCHED_STARTS` 0; in source order.
    """
    frame = frame.with_columns(pl.col(LIFECYCLE).cast(pl.String))
    # the distinct values first: a handful, against millions of events
    values = frame.get_column(LIFECYCLE).unique().to_list()
    other = [v for v in values if not standard_lifecycle(v)]
    if not other:
        return pair_lifecycle(frame)
    odd = frame.filter(pl.col(LIFECYCLE).is_in(other)).get_column(PROCESS).unique().to_list()
    is_odd = pl.col(PROCESS).is_in(odd)
    instants = frame.filter(is_odd).with_columns(pl.lit(0, pl.UInt32).alias(UNMATCHED_STARTS))
    rest = frame.filter(~is_odd)
    if rest.height == 0:
        return instants
    paired = pair_lifecycle(rest).with_columns(pl.lit(None, pl.String).alias(LIFECYCLE))
    return pl.concat([paired, instants], how="diagonal_relaxed").sort(ROW)


def normalize(raw: pl.DataFrame, settings: NormalizeSettings) -> pl.DataFrame:
    """Build the normalized event log from a raw source frame.

    Args:
        raw: Source columns under their source names, one row per source event, in source order.
        settings: Source name, default process and the user's mining options.

    Returns:
        `SCHEMA` columns first, then `ROW`, `UNMATCHED_STARTS` and the other source attributes;
        sorted stably by case id and timestamp.

    Raises:
        InputError: Empty log, missing or unparseable required columns.
    """
    if raw.height == 0:
        raise InputError(Problem(settings.source, "empty log: no events found"))
    for name in (ROW, UNMATCHED_STARTS):
        if name in raw.columns:
            raw = raw.rename({name: f"{name} (source)"})
    raw = raw.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    found = match_columns([c for c in raw.columns if c != ROW], settings)
    if settings.activity_classifier:
        parts = resolve_classifier(
            [c for c in raw.columns if c != ROW], settings.activity_classifier, settings.source
        )
        raw = raw.with_columns(classifier_expr(parts).alias(_CLASSIFIED))
    label = {target: column for target, column in found.items()}
    # Source columns that collide with a normalized name they do not feed keep a suffix.
    collide = {
        c: f"{c} (source)"
        for c in raw.columns
        if c in (*COLUMNS, LIFECYCLE) and c not in found.values()
    }
    frame = raw.rename(collide).rename({column: target for target, column in found.items()})
    strings = [c for c in (CASE_ID, ACTIVITY, RESOURCE, ROLE, PROCESS, SYSTEM) if c in found]
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in strings)
    for target in (TIMESTAMP, START_TIMESTAMP):
        if target in found:
            frame = frame.with_columns(parse_timestamps(frame, target, label[target], settings))
    for target in REQUIRED_SOURCE:
        _check_not_null(frame, target, label[target], settings)
    if settings.exclude_resources and RESOURCE in frame.columns:
        dropped = pl.col(RESOURCE).is_in(list(settings.exclude_resources)).fill_null(False)
        counts = frame.filter(dropped).group_by(RESOURCE).len()
        exclusions.record(settings.source, dict(counts.iter_rows()))
        frame = frame.filter(~dropped)
    process = pl.lit(settings.default_process)
    if PROCESS in frame.columns:
        process = pl.col(PROCESS).fill_null(process)
    frame = frame.with_columns(process.alias(PROCESS))  # lifecycles are judged per process
    if LIFECYCLE in frame.columns:
        frame = split_lifecycle(frame)
    else:
        frame = frame.with_columns(pl.lit(0, pl.UInt32).alias(UNMATCHED_STARTS))
    if frame.height == 0:
        raise InputError(
            Problem(settings.source, "empty log: no completed events left after reading")
        )
    if _CLASSIFIED in frame.columns:
        frame = frame.with_columns(
            pl.col(_CLASSIFIED).fill_null(pl.col(ACTIVITY)).alias(ACTIVITY)
        ).drop(_CLASSIFIED)
    system = pl.col(SYSTEM) if SYSTEM in frame.columns else pl.lit(None, pl.String)
    if settings.activity_to_system:
        system = system.fill_null(
            pl.col(ACTIVITY).replace_strict(
                dict(settings.activity_to_system), default=None, return_dtype=pl.String
            )
        )
    frame = frame.with_columns(system.alias(SYSTEM))
    for name, dtype in SCHEMA.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(name))
    frame = frame.with_columns(pl.col(name).cast(dtype) for name, dtype in SCHEMA.items())
    head = [*COLUMNS, ROW, UNMATCHED_STARTS, *([LIFECYCLE] if LIFECYCLE in frame.columns else [])]
    rest = [c for c in frame.columns if c not in head]
    return frame.select(*head, *rest).sort([CASE_ID, TIMESTAMP], maintain_order=True)
