"""An IEEE XES writer for the normalized event log, built with polars string expressions.

We write XES ourselves: with `rustxes` installed, `pm4py.write_xes` writes pandas microsecond
timestamps 1000× too small (1970 dates). A row with a `start_timestamp` becomes two events
(`lifecycle:transition` `start` and `complete`), a row without one a single `complete` event;
events are ordered by time within a trace, traces by the first appearance of their case.
Timestamps are ISO 8601 in UTC with microseconds and offset (`2025-03-04T07:15:00.000000+00:00`).
The XML text is built in chunks of rows by polars and streamed to the file; a `.gz` suffix
gzips it with a zero modification time, so the same log gives the same bytes.
"""

import gzip
from pathlib import Path
from typing import BinaryIO

import polars as pl

from pipelines import schema

_CHUNK_ROWS = 200_000
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f+00:00"

# Normalized column → XES key of the event attribute (case id and activity handled apart).
_STANDARD_KEYS = {
    schema.RESOURCE: "org:resource",
    schema.ROLE: "org:role",
    schema.PROCESS: "process",
    schema.SYSTEM: "system",
}

_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<log xes.version="1849-2016" xes.features="nested-attributes" '
    'xmlns="http://www.xes-standard.org/">\n'
    '<extension name="Lifecycle" prefix="lifecycle" '
    'uri="http://www.xes-standard.org/lifecycle.xesext"/>\n'
    '<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>\n'
    '<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
    '<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
    '<global scope="trace">\n<string key="concept:name" value="__INVALID__"/>\n</global>\n'
    '<global scope="event">\n<string key="concept:name" value="__INVALID__"/>\n'
    '<string key="lifecycle:transition" value="complete"/>\n'
    '<date key="time:timestamp" value="1970-01-01T00:00:00.000000+00:00"/>\n</global>\n'
    '<classifier name="Activity" keys="concept:name"/>\n'
    '<classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>\n'
)
_FOOTER = "</log>\n"


def _escape(expr: pl.Expr) -> pl.Expr:
    """XML-escape a string expression for use inside a double-quoted attribute."""
    return (
        expr.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all('"', "&quot;", literal=True)
        .str.replace_all("\n", "&#10;", literal=True)
        .str.replace_all("\r", "&#13;", literal=True)
        .str.replace_all("\t", "&#9;", literal=True)
        .str.replace_all(r"[\x00-\x08\x0B\x0C\x0E-\x1F]", "")  # not allowed in XML 1.0
    )


_NEEDS_ESCAPE = r'[&<>"\x00-\x1F]'


def _escape_strings(frame: pl.DataFrame) -> pl.DataFrame:
    """XML-escape every string column that needs it (most need nothing: skipped quickly)."""
    fixes = [
        _escape(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items()
        if dtype == pl.String and frame[c].str.contains(_NEEDS_ESCAPE).any()
    ]
    return frame.with_columns(fixes) if fixes else frame


def _xml_key(name: str) -> str:
    return (
        name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _attribute(column: str, key: str, dtype: pl.DataType) -> pl.Expr:
    """`<type key=".." value=".."/>` for one column, empty where the value is null."""
    col = pl.col(column)
    if dtype == pl.Boolean:
        tag, value = "boolean", pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))
    elif dtype.is_integer():
        tag, value = "int", col.cast(pl.String)
    elif dtype.is_float():
        tag, value = "float", col.cast(pl.String)
    elif isinstance(dtype, pl.Datetime):
        utc = col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col
        tag, value = "date", utc.dt.convert_time_zone("UTC").dt.strftime(_TS_FORMAT)
    elif dtype == pl.Date:
        tag, value = "date", col.dt.strftime("%Y-%m-%dT00:00:00.000000+00:00")
    else:
        tag, value = "string", col  # escaped beforehand by `_escape_strings`
    text = pl.concat_str([pl.lit(f'<{tag} key="{_xml_key(key)}" value="'), value, pl.lit('"/>\n')])
    return pl.when(col.is_null()).then(pl.lit("")).otherwise(text)


def _events(log: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
    """One row per XES event in output order, and the expression of its XML text.

    The text (trace tags included) is evaluated chunk by chunk, so memory stays bounded.
    """
    cols = log.columns
    extra = [c for c in cols if c not in schema.COLUMNS]
    utc = {
        c: (
            pl.col(c).dt.replace_time_zone("UTC")
            if log.schema[c].time_zone is None  # type: ignore[union-attr]
            else pl.col(c).dt.convert_time_zone("UTC")
        )
        for c in (schema.TIMESTAMP, schema.START_TIMESTAMP)
        if c in cols
    }
    strings = [
        pl.col(c).cast(pl.String)
        for c, dtype in log.schema.items()
        if c in (schema.CASE_ID, schema.ACTIVITY, *_STANDARD_KEYS)
        or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    base = log.with_row_index("_row").with_columns(*strings, *(e.alias(c) for c, e in utc.items()))
    base = _escape_strings(base).with_columns(
        pl.col("_row").min().over(schema.CASE_ID).alias("_case_rank")
    )
    shared = [_attribute(c, k, base.schema[c]) for c, k in _STANDARD_KEYS.items() if c in cols] + [
        _attribute(c, c, base.schema[c]) for c in extra if not base.schema[c].is_nested()
    ]
    completes = base.with_columns(
        pl.col(schema.TIMESTAMP).alias("_ts"), pl.lit(1, pl.Int8).alias("_life")
    )
    parts = [completes]
    if schema.START_TIMESTAMP in cols:
        starts = base.filter(pl.col(schema.START_TIMESTAMP).is_not_null()).with_columns(
            pl.col(schema.START_TIMESTAMP).alias("_ts"), pl.lit(0, pl.Int8).alias("_life")
        )
        parts.insert(0, starts)
    events = pl.concat(parts).sort(["_case_rank", "_ts", "_row", "_life"])
    lifecycle = pl.when(pl.col("_life") == 0).then(pl.lit("start")).otherwise(pl.lit("complete"))
    body = pl.concat_str(
        [
            pl.lit('<event>\n<string key="concept:name" value="'),
            pl.col(schema.ACTIVITY),
            pl.lit('"/>\n<string key="lifecycle:transition" value="'),
            lifecycle,
            pl.lit('"/>\n<date key="time:timestamp" value="'),
            pl.col("_ts").dt.strftime(_TS_FORMAT),
            pl.lit('"/>\n'),
            *shared,
            pl.lit("</event>\n"),
        ]
    )
    case = pl.col(schema.CASE_ID)
    xml = pl.concat_str(
        [
            pl.when(pl.col("_opens")).then(_trace_head()).otherwise(pl.lit("")),
            body,
            pl.when(pl.col("_closes")).then(pl.lit("</trace>\n")).otherwise(pl.lit("")),
        ]
    ).alias("xml")
    flags = events.with_columns(
        (case != case.shift(1)).fill_null(True).alias("_opens"),
        (case != case.shift(-1)).fill_null(True).alias("_closes"),
    )
    return flags, xml


def _trace_head() -> pl.Expr:
    return pl.concat_str(
        [
            pl.lit('<trace>\n<string key="concept:name" value="'),
            pl.col(schema.CASE_ID),
            pl.lit('"/>\n'),
        ]
    )


def _write(log: pl.DataFrame, out: BinaryIO) -> None:
    out.write(_HEADER.encode())
    if log.height:
        events, xml = _events(log)
        for chunk in events.iter_slices(_CHUNK_ROWS):
            # One string column, written verbatim: no quoting, no separators, no line ends.
            chunk.select(xml).write_csv(
                out, include_header=False, quote_style="never", line_terminator=""
            )
    out.write(_FOOTER.encode())


def write_xes(log: pl.DataFrame, path: str | Path) -> Path:
    """Write a normalized event log as IEEE XES (gzipped when the name ends in `.gz`).

    Args:
        log: Normalized event log (docs/event-log.md columns; other columns become event attributes
            typed by their dtype: string, int, float, boolean, date; list and struct columns
            are left out). Needs `case_id`, `activity`, `timestamp`; naive timestamps are
            taken as UTC.
        path: Target file, `.xes` or `.xes.gz`.

    Returns:
        The path written.

    Raises:
        ValueError: A required column is missing or has empty values.
    """
    missing = [c for c in (schema.CASE_ID, schema.ACTIVITY, schema.TIMESTAMP) if c not in log]
    if missing:
        raise ValueError(f"write_xes: the log has no column {', '.join(missing)}")
    empty = [c for c in (schema.CASE_ID, schema.ACTIVITY, schema.TIMESTAMP) if log[c].null_count()]
    if empty:
        raise ValueError(f"write_xes: column {', '.join(empty)} has empty values")
    target = Path(path)
    with target.open("wb") as raw:
        if target.suffix == ".gz":
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3) as gz:
                _write(log, gz)  # type: ignore[arg-type]
        else:
            _write(log, raw)
    return target
