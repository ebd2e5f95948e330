"""Read a CSV event log (`.csv`, `.csv.gz`, any delimiter among `,` `;` tab) as strings.

Every column is read as text; `pipelines.normalize` matches the columns and parses timestamps
(so that a bad value can be reported with its row). UTF-8 (with or without BOM) is expected;
files that are not UTF-8 are read as Windows-1252/Latin-1, the usual Excel export encodings.
"""

import csv
import gzip
import io
import zlib
from pathlib import Path

import polars as pl

from pipelines.errors import InputError, Problem
from pipelines.xes import GZIP_MAGIC, corrupt_gzip

DELIMITERS = (",", ";", "\t")
OTHER_DELIMITERS = ("|", "^", "~", "#")
"""Unsupported separators some exports use; the error names them when they merge columns."""
_SNIFF_CHARS = 64 * 1024


def read_bytes(path: Path, source: str) -> bytes:
    """The file's content, gunzipped when it starts with gzip magic.

    Raises:
        InputError: The file cannot be read or its gzip data is truncated/corrupt.
    """
    try:
        data = path.read_bytes()
        if data[:2] == GZIP_MAGIC:
            data = gzip.decompress(data)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise corrupt_gzip(source, exc) from None
    except OSError as exc:
        raise InputError(Problem(source, f"cannot read the file: {exc.strerror}")) from None
    return data


def refuse_empty_or_binary(data: bytes, source: str) -> None:
    """Raise the reader's error for an empty file, or one that is not text (`data`: its start)."""
    if not data.strip():
        raise InputError(Problem(source, "empty log: the file is empty"))
    sample = data[:8192]
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or control > len(sample) // 50:
        raise InputError(
            Problem(
                source,
                "not a CSV text file (binary content); export the log as CSV, XES or Parquet",
            )
        )


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter among `,` `;` tab from the first lines of a CSV text.

    The delimiter is the candidate that splits the header into the most fields while giving
    every sampled line the same number of fields; ties go to the order `,` `;` tab.

    Args:
        text: The start of the file (header first).

    Returns:
        The delimiter (`,` when nothing splits the header).
    """
    lines = text[:_SNIFF_CHARS].splitlines()[:20]
    if len(lines) > 1 and len(text) >= _SNIFF_CHARS:
        lines = lines[:-1]  # the last sampled line may be cut
    best, best_score = ",", (False, 1)
    for delimiter in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter))
        if not rows:
            continue
        width = len(rows[0])
        consistent = all(len(r) == width for r in rows if r)
        score = (consistent, width)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv(path: Path, source: str) -> pl.DataFrame:
    """Read a CSV event log into a frame of strings, in file order.

    Args:
        path: The file (gzip recognised by content).
        source: The name the user gave, for messages.

    Returns:
        One row per data row; every column `String`; empty fields null.

    Raises:
        InputError: Unreadable, binary or empty file, or malformed CSV.
    """
    data = read_bytes(path, source)
    refuse_empty_or_binary(data, source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = (
            data.decode("cp1252", errors="strict") if _is_cp1252(data) else data.decode("latin-1")
        )
    delimiter = sniff_delimiter(text)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=delimiter,
            infer_schema=False,
            has_header=True,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(Problem(source, f"cannot read as CSV: {first}")) from None
    if frame.width == 1:
        _refuse_other_delimiter(frame.columns[0], source)
    stripped = [c.strip() for c in frame.columns]
    repeated = sorted({c for c in stripped if stripped.count(c) > 1})
    if repeated:
        names = ", ".join(f"'{c}'" for c in repeated)
        raise InputError(
            Problem(
                source,
                f"the header repeats the column name(s) {names} (spaces around names ignored); "
                "give every column a unique, non-empty name",
                1,
            )
        )
    return frame.rename(dict(zip(frame.columns, stripped, strict=True)))


def _refuse_other_delimiter(header: str, source: str) -> None:
    """One column whose header holds an unsupported separator: name it instead of 3 misses."""
    found = [d for d in OTHER_DELIMITERS if d in header]
    if found:
        shown = header if len(header) <= 80 else header[:77] + "..."
        raise InputError(
            Problem(
                source,
                f"only one column found ('{shown}'): the header looks separated by "
                f"'{found[0]}', but the delimiter must be ',', ';' or tab; re-export the CSV "
                "with one of them",
                1,
            )
        )


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True
