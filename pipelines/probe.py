"""A cheap first look at every event-log source, before any is read in full.

`probe_log` opens a source and reads only its start: the file exists and is readable, its
format is one bpo reads, an XML log declares no DTD, and a CSV or Parquet header has a case,
an activity and a timestamp column (`mining.column_map` applied). It reports with the same
messages as the full reader, so that `bpo run` can list the problems of all inputs at once
in well under a second instead of after the other logs have been read.
"""

import csv
import os
from pathlib import Path

import polars as pl

from pipelines import csvlog, sql, xes
from pipelines.errors import InputError, Problem
from pipelines.normalize import match_columns
from pipelines.read import (
    LogOptions,
    _check_readable,
    _check_timezone,
    _settings,
    _stem,
    detect_format,
)

HEAD_BYTES = 64 * 1024
"""How much of a file (after gunzipping) the probe reads."""


def probe_log(src: str | os.PathLike[str], options: LogOptions | None = None) -> list[Problem]:
    """The problems a quick look at one source finds (none: the full read may still fail).

    Args:
        src: A file path or a database URI (a database is checked when it is queried).
        options: Column mapping, process attribute and time zone, as for `read_log`.

    Returns:
        The problems found, each as the full reader would report it.
    """
    options = options or LogOptions()
    text = os.fspath(src)
    try:
        _check_timezone(options.timezone, sql.mask_password(text))
        if sql.is_sql_uri(text):
            return []
        path = Path(text)
        _check_readable(path, text)
        kind = detect_format(path, text)
        if kind == "csv":
            _probe_csv(path, text, options)
        elif kind == "parquet" and not xes.is_gzip(path):
            _probe_parquet(path, text, options)
        elif kind in ("xes", "ocel-xml"):
            xes.reject_dtd(xes.read_head(path, text, HEAD_BYTES), text)
        else:
            xes.read_head(path, text, HEAD_BYTES)
    except InputError as err:
        return list(err.problems)
    return []


def probe_logs(srcs: list[str], options: LogOptions | None = None) -> list[Problem]:
    """`probe_log` for every source; all problems together."""
    return [problem for src in srcs for problem in probe_log(src, options)]


def _probe_csv(path: Path, source: str, options: LogOptions) -> None:
    head = xes.read_head(path, source, HEAD_BYTES)
    csvlog.refuse_empty_or_binary(head, source)
    text = head.decode("utf-8-sig", errors="replace")
    if len(head) == HEAD_BYTES and "\n" in text:
        text = text[: text.rindex("\n")]  # the last line may be cut
    delimiter = csvlog.sniff_delimiter(text)
    lines = text.splitlines()
    header = next(csv.reader(lines[:1], delimiter=delimiter), [])
    names = [c.strip() for c in header]
    if len(names) == 1:
        csvlog._refuse_other_delimiter(names[0], source)
    match_columns(names, _settings(source, _stem(path), options, "row"))


def _probe_parquet(path: Path, source: str, options: LogOptions) -> None:
    try:
        names = list(pl.read_parquet_schema(path))
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(Problem(source, f"cannot read as Parquet: {first}")) from None
    match_columns(names, _settings(source, _stem(path), options, "row"))
