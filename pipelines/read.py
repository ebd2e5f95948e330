"""Read any event-log source of docs/event-log.md into the normalized polars event log.

`read_log` dispatches on the URI scheme, then the file suffix (`.gz` looked through), then the
content (OCEL `.json`/`.xml` versus XES, Parquet and SQLite magic bytes), hands the raw table
to the format's reader and the result to `pipelines.normalize.normalize`.
"""

import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from pipelines import csvlog, ocel, sql, xes
from pipelines.errors import InputError, Problem
from pipelines.normalize import (
    LIFECYCLE,
    NormalizeSettings,
    classifier_expr,
    match_columns,
    normalize,
    resolve_classifier,
)
from pipelines.schema import (
    ACTIVITY,
    CASE_ID,
    COLUMNS,
    PROCESS,
    RESOURCE,
    SCHEMA,
    SYSTEM,
    TIMESTAMP,
    TS_DTYPE,
)

SUPPORTED = (
    ".xes, .xes.gz, .csv, .csv.gz, .parquet, OCEL 2.0 (.jsonocel, .xmlocel, .sqlite, .json, "
    ".xml), postgresql://…?table=NAME or sqlite:///…?table=NAME"
)
_SUFFIXES = {
    ".xes": "xes",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonocel": "ocel-json",
    ".xmlocel": "ocel-xml",
    ".sqlite": "ocel-sqlite",
    ".sqlite3": "ocel-sqlite",
    ".db": "ocel-sqlite",
    ".json": "json",
    ".xml": "xml",
}
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class LogOptions:
    """How to read event logs (the `mining:` section of the cost file and CLI flags).

    Attributes:
        object_type: OCEL object type to flatten on (one case per object of that type).
        query: SELECT statement for database sources, instead of `?table=`.
        process_attribute: Event or case attribute naming the process (default `process`).
        system_attribute: Event attribute naming the IT system (default `system`).
        column_map: Normalized column name → source column, overriding the usual spellings.
        activity_to_system: Activity → IT system, for events without a system attribute.
        exclude_resources: Resources whose events are dropped (batch users, system accounts).
        timezone: Time zone of naive timestamps.
        activity_classifier: Attributes whose values, joined with "+", name the activity
            (e.g. `("concept:name", "lifecycle:transition")`); empty: the activity column.
    """

    object_type: str | None = None
    query: str | None = None
    process_attribute: str | None = None
    system_attribute: str | None = None
    column_map: Mapping[str, str] = field(default_factory=dict)
    activity_to_system: Mapping[str, str] = field(default_factory=dict)
    exclude_resources: tuple[str, ...] = ()
    timezone: str = "UTC"
    activity_classifier: tuple[str, ...] = ()


def read_log(src: str | os.PathLike[str], options: LogOptions = LogOptions()) -> pl.DataFrame:
    """Read one event-log source into the normalized event log.

    Args:
        src: A file path (a format of docs/event-log.md) or a `sqlite:///…` / `postgresql://…` URI.
        options: Column mapping, time zone, OCEL object type, query, systems and exclusions.

    Returns:
        The normalized log (`pipelines.schema.SCHEMA` columns first), sorted by case and time.

    Raises:
        InputError: Any bad input, as `error: <file>[:<line>]: <message>` problems.
    """
    text = os.fspath(src)
    _check_timezone(options.timezone, sql.mask_password(text))
    if sql.is_sql_uri(text):
        frame, source = sql.read_sql(text, options.query)
        return normalize(frame, _settings(source.shown, source.name, options, "row"))
    path = Path(text)
    _check_readable(path, text)
    kind = detect_format(path, text)
    stem = _stem(path)
    if kind == "xes":
        raw = xes.read_xes(path, text, timezone=options.timezone)
        return normalize(raw, _settings(text, stem, options, "event"))
    if kind == "csv":
        raw = csvlog.read_csv(path, text)
        return normalize(raw, _settings(text, stem, options, "row"))
    if kind == "parquet":
        return normalize(_read_parquet(path, text), _settings(text, stem, options, "row"))
    if kind == "ocel-sqlite":
        log = _ocel_sqlite(path, text)
    else:
        data = csvlog.read_bytes(path, text)
        log = ocel.parse_json(data, text) if kind == "ocel-json" else ocel.parse_xml(data, text)
    raw = ocel.flatten(log, options.object_type, text)
    return normalize(raw, _settings(text, stem, options, "event"))


def read_logs(
    srcs: Iterable[str | os.PathLike[str]],
    options: LogOptions = LogOptions(),
) -> pl.DataFrame:
    """Read several sources and concatenate them (columns united, missing ones null).

    Args:
        srcs: Paths or URIs.
        options: Applied to every source.

    Returns:
        One normalized log, sorted by case and time.

    Raises:
        InputError: Every problem of every source, together.
    """
    frames: list[pl.DataFrame] = []
    problems: list[Problem] = []
    for src in srcs:
        try:
            frames.append(read_log(src, options))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    if not frames:
        raise InputError(Problem("--log", "no event log given"))
    if len(frames) == 1:
        return frames[0]
    log = pl.concat(frames, how="diagonal_relaxed")
    head = [c for c in frames[0].columns if c in log.columns]
    order = [*COLUMNS, *[c for c in head if c not in COLUMNS]]
    log = log.select(*order, *[c for c in log.columns if c not in order])
    return log.sort([CASE_ID, TIMESTAMP], maintain_order=True)


def scan_log(
    src: str | os.PathLike[str],
    options: LogOptions = LogOptions(),
    *,
    process: str | None = None,
    storage_options: Mapping[str, str] | None = None,
) -> pl.LazyFrame:
    """Open a Parquet source lazily as the normalized event log (nothing is read yet).

    For logs larger than memory: `mining.kpis.compute_tables` runs a LazyFrame on polars'
    streaming engine and reads only the columns it needs. `src` is a Parquet file, a folder of
    Parquet parts (`*.parquet`, read in name order) or a glob. The source must hold one row
    per completed activity instance with typed timestamps (Parquet written by `bpo sample`,
    by polars/pandas/Spark…); column names are matched as in `read_log`, naive timestamps are
    read in `options.timezone`. Rows keep the source order (`read_log` sorts by case and
    time; the KPIs are the same when the source is in that order, as `bpo sample` writes it).
    A database URI is fetched by its driver into memory and then handed on lazily.

    A folder written Hive-style (`process=<name>/….parquet`, e.g. by
    `DataFrame.write_parquet(folder, partition_by="process")`) is read with its partition
    columns. An object-store URL (`s3://…`, `gs://…`, `az://…`; a folder URL ends with `/`) is
    scanned by polars itself with `storage_options` (e.g. `{"aws_region": "eu-central-1"}`;
    credentials are best left to the store's environment variables).

    With `process`, only that process's rows are read: the predicate is applied to the source's
    own process column, before any renaming, so polars pushes it into the scan — whole Hive
    partitions of other processes are never opened, and Parquet row groups whose statistics
    exclude the process are skipped.

    Args:
        src: Parquet file, folder or glob; an object-store URL; or a `sqlite:///…` /
            `postgresql://…` URI.
        options: Column mapping, time zone, systems and exclusions (as for `read_log`).
        process: Keep only this process's rows.
        storage_options: Options of polars' object-store reader (object-store URLs only).

    Returns:
        A LazyFrame with the `pipelines.schema.SCHEMA` columns first.

    Raises:
        InputError: Unreadable source, missing required column, untyped timestamps, or a
            lifecycle column (start/complete pairs need `read_log`).
    """
    text = os.fspath(src)
    _check_timezone(options.timezone, sql.mask_password(text))
    if sql.is_sql_uri(text):
        log = read_log(text, options).lazy()
        return log if process is None else log.filter(pl.col(PROCESS) == process)
    path = Path(text)
    pattern: str | Path = path
    hive = False
    remote = "://" in text and not text.startswith("file://")
    if remote:
        hive = text.endswith("/")
        pattern = text + "**/*.parquet" if hive else text
    elif path.is_dir():
        hive = any(child.is_dir() and "=" in child.name for child in path.iterdir())
        pattern = path / ("**/*.parquet" if hive else "*.parquet")
    elif not any(ch in text for ch in "*?["):
        _check_readable(path, text)
    try:
        frame = pl.scan_parquet(
            pattern,
            hive_partitioning=hive or None,
            storage_options=dict(storage_options) if remote and storage_options else None,
        )
        schema = frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _parquet_error(exc, text) from None
    names = schema.names()
    name = _stem(path) if path.is_file() else path.name or text.rstrip("/").rsplit("/", 1)[-1]
    settings = _settings(text, name, options, "row")
    found = match_columns(names, settings)
    if process is not None:
        frame = frame.filter(_process_predicate(found.get(PROCESS), process, settings))
    if LIFECYCLE in found:
        raise InputError(
            Problem(
                text,
                f"column '{found[LIFECYCLE]}' holds lifecycle transitions: scan_log needs one "
                "row per completed activity instance; read this log with read_log instead",
            )
        )
    columns: list[pl.Expr] = []
    for target, dtype in SCHEMA.items():
        if target not in found:
            columns.append(pl.lit(None, dtype).alias(target))
            continue
        column, source_type = found[target], schema[found[target]]
        if dtype == TS_DTYPE:
            if not isinstance(source_type, pl.Datetime | pl.Date):
                raise InputError(
                    Problem(
                        text,
                        f"column '{column}' is {source_type}, not a timestamp: scan_log needs "
                        "typed timestamps; read this log with read_log, which parses text",
                    )
                )
            expr = pl.col(column).cast(pl.Datetime("us", getattr(source_type, "time_zone", None)))
            if getattr(source_type, "time_zone", None) is None:
                expr = expr.dt.replace_time_zone(options.timezone)
            columns.append(expr.dt.convert_time_zone("UTC").alias(target))
        else:
            columns.append(pl.col(column).cast(pl.String).alias(target))
    rest = [pl.col(c) for c in names if c not in found.values() and c not in SCHEMA]
    if options.activity_classifier:
        parts = resolve_classifier(names, options.activity_classifier, text)
        columns[list(SCHEMA).index(ACTIVITY)] = classifier_expr(parts).alias(ACTIVITY)
    log = frame.select(*columns, *rest)
    log = log.with_columns(pl.col(PROCESS).fill_null(settings.default_process))
    if options.activity_to_system:
        log = log.with_columns(
            pl.col(SYSTEM).fill_null(
                pl.col(ACTIVITY).replace_strict(
                    dict(options.activity_to_system), default=None, return_dtype=pl.String
                )
            )
        )
    if options.exclude_resources:
        log = log.filter(~pl.col(RESOURCE).is_in(list(options.exclude_resources)).fill_null(False))
    return log


def _process_predicate(column: str | None, process: str, settings: NormalizeSettings) -> pl.Expr:
    """Rows of `process`, on the source's own column (so polars pushes it into the scan)."""
    is_default = process == settings.default_process
    if column is None:
        return pl.lit(is_default)
    own = pl.col(column).cast(pl.String) == process
    return own | pl.col(column).is_null() if is_default else own


def detect_format(path: Path, source: str) -> str:
    """Decide the reader for a file: by suffix, then by content.

    Returns:
        One of `xes`, `csv`, `parquet`, `ocel-json`, `ocel-xml`, `ocel-sqlite`.

    Raises:
        InputError: The format is not recognised.
    """
    name = path.name.lower()
    base = name[:-3] if name.endswith(".gz") else name
    kind = _SUFFIXES.get(Path(base).suffix)
    if kind in ("xes", "csv", "parquet", "ocel-json", "ocel-xml"):
        return kind
    head = xes.read_head(path, source, 1 << 14)
    if head.startswith(_SQLITE_MAGIC):
        return "ocel-sqlite"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return "ocel-xml" if ocel.looks_like_ocel_xml(head) else "xes"
    if stripped.startswith(b"{"):
        return "ocel-json"
    described = f"'{Path(base).suffix}'" if Path(base).suffix else "without a suffix"
    raise InputError(
        Problem(source, f"unknown event-log format ({described}); supported: {SUPPORTED}")
    )


def _check_timezone(timezone: str, source: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            Problem(
                source,
                f"unknown time zone '{timezone}' (mining.timezone); use an IANA name such as "
                "Europe/Berlin or UTC",
            )
        ) from None


def _check_readable(path: Path, source: str) -> None:
    if not path.exists():
        raise InputError(Problem(source, "cannot read the file: no such file"))
    if path.is_dir():
        raise InputError(Problem(source, "cannot read the file: it is a directory"))
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise InputError(Problem(source, f"cannot read the file: {exc.strerror}")) from None


def _stem(path: Path) -> str:
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    return Path(name).stem


def _settings(source: str, stem: str, options: LogOptions, row_label: str) -> NormalizeSettings:
    return NormalizeSettings(
        source=source,
        default_process=stem,
        column_map=options.column_map,
        process_attribute=options.process_attribute,
        system_attribute=options.system_attribute,
        activity_to_system=options.activity_to_system,
        exclude_resources=tuple(options.exclude_resources),
        timezone=options.timezone,
        row_label=row_label,
        activity_classifier=tuple(options.activity_classifier),
    )


def _read_parquet(path: Path, source: str) -> pl.DataFrame:
    try:
        if xes.is_gzip(path):
            return pl.read_parquet(io.BytesIO(csvlog.read_bytes(path, source)))
        return pl.scan_parquet(path).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _parquet_error(exc, source) from None


def _parquet_error(exc: Exception, source: str) -> InputError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(Problem(source, f"cannot read as Parquet: {first}"))


def _ocel_sqlite(path: Path, source: str) -> ocel.Ocel:
    if not xes.is_gzip(path):
        return ocel.parse_sqlite(path, source)
    import tempfile  # noqa: PLC0415 - only for gzipped SQLite

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "ocel.sqlite"
        plain.write_bytes(csvlog.read_bytes(path, source))
        return ocel.parse_sqlite(plain, source)
