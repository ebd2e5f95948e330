"""The fast path of `pipelines.xes`: the C scanner `pipelines._xesscan` and the log header.

`scan_xes` reads the log header (everything before the first `<trace>`) with lxml and hands
the traces to the C scanner in chunks of whole traces, while ISA-L gunzips the next chunk in
its own thread; both release the GIL, so the scan runs beside the caller's imports
(`ScanInBackground`). The frame equals the one rustxes gives (dates as `datetime[us, UTC]`,
global defaults filled in), or the scan gives None: on anything the scanner does not accept
(see the C file: comments, nested attributes, mixed types, a value rustxes would read
differently, malformed XML) the caller reads the file with rustxes or lxml as before, which
also report errors with their lines.
"""

import re
import threading
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
from isal import igzip_threaded, isal_zlib
from lxml import etree

try:  # built by `pip install` (setup.py); without a compiler the slower readers serve alone
    from pipelines import _xesscan
except ImportError:  # pragma: no cover - the suite checks that it is built
    _xesscan = None  # type: ignore[assignment]

CHUNK_BYTES = 8 << 20
_UTC = ZoneInfo("UTC")
_FIRST_TRACE = re.compile(rb"<trace[\s>]")
_ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ARROW_TYPES = {
    "date": pa.timestamp("us", "UTC"),
    "int": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
}


def available() -> bool:
    """Whether the C scanner is built."""
    return _xesscan is not None


def convert_value(kind: str, value: str, zone: ZoneInfo) -> Any:
    """An XES attribute value as Python: dates aware (a naive one in `zone`), then in UTC."""
    if kind == "date":
        stamp = datetime.fromisoformat(value)
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=zone)).astimezone(UTC)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "boolean":
        return value.strip().lower() == "true"
    return value


_DEFAULT_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Datetime("us", "UTC"),
}


def global_defaults(header: bytes) -> dict[str, pl.Series | None]:
    """The `<global>` attribute defaults of an XES log header, by raw-frame column name.

    Args:
        header: Everything before the first `<trace>` (prolog, `<log>`, extensions, globals).

    Returns:
        Column (`case:`-prefixed for trace scope) → a one-value series of the default (dates
        in UTC, naive ones read as UTC as rustxes does), or None for a kind not reproduced here
        (ids, which rustxes rewrites as UUIDs; lists, containers).

    Raises:
        etree.XMLSyntaxError: The header is not well-formed.
        ValueError: A default value that does not convert to its type.
    """
    return _defaults_of(_parse_header(header))


def _defaults_of(root: Any) -> dict[str, pl.Series | None]:
    """`global_defaults` of a parsed header."""
    defaults: dict[str, pl.Series | None] = {}
    for element in root:
        if not isinstance(element.tag, str) or etree.QName(element).localname != "global":
            continue
        prefix = "case:" if element.get("scope", "event") == "trace" else ""
        for child in element:
            if not isinstance(child.tag, str) or child.get("key") is None:
                continue
            kind, value = etree.QName(child).localname, child.get("value", "")
            dtype = _DEFAULT_TYPES.get(kind)
            defaults[prefix + child.get("key")] = (
                None
                if dtype is None
                else pl.Series([convert_value(kind, value, _UTC)], dtype=dtype)
            )
    return defaults


def _parse_header(header: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(header + b"</log>", parser)


def _open(path: Path, gz_content: bool) -> BinaryIO:
    if gz_content:
        return igzip_threaded.open(path, "rb", threads=1, block_size=CHUNK_BYTES)
    return path.open("rb")


def scan_xes(
    path: Path, gz_content: bool, stop: threading.Event | None = None
) -> pl.DataFrame | None:
    """The raw frame of an XES file read by the C scanner, or None when it does not apply.

    Args:
        path: The file.
        gz_content: Whether its content is gzip.
        stop: Set by another thread to give up early (the result is then None).

    Returns:
        The frame in file order, columns in first-seen order; None when the scanner is not
        built, the file is outside its subset, unreadable or corrupt, or `stop` was set.
    """
    if _xesscan is None:
        return None
    try:
        with _open(path, gz_content) as stream:
            header, body = _split_header(stream)
            root = None if header is None else _supported_header(header)
            if root is None:
                return None
            defaults = _defaults_of(root)
            parser = _xesscan.Parser()
            while chunk := stream.read(CHUNK_BYTES):
                if stop is not None and stop.is_set():
                    return None
                body += chunk
                cut = body.rfind(b"</trace>")
                if cut >= 0:
                    cut += len(b"</trace>")
                    parser.feed(memoryview(body)[:cut])
                    del body[:cut]
            parser.feed(body)
            return _frame(parser.finish(), defaults)
    except (_xesscan.Unsupported, etree.XMLSyntaxError):
        return None
    except (OSError, EOFError, zlib.error, isal_zlib.error):
        return None  # unreadable, truncated or corrupt: the other readers report it
    except (ValueError, pl.exceptions.PolarsError, pa.ArrowException):
        return None  # a global default that does not convert, or a frame that does not build


def _split_header(stream: BinaryIO) -> tuple[bytes | None, bytearray]:
    """The header (before the first `<trace>`) and the body bytes read so far."""
    data = bytearray()
    while chunk := stream.read(1 << 16):
        data += chunk
        first = _FIRST_TRACE.search(data)
        if first is not None:
            header = bytes(data[: first.start()])
            del data[: first.start()]
            return header, data
        if len(data) > CHUNK_BYTES:
            break  # a header of megabytes: not the common case this path is for
    return None, data


def _supported_header(header: bytes) -> Any:
    """The parsed header when the scanner can take the file, else None.

    It can when the header is UTF-8 without a byte-order mark, has a `<log>` root and no
    events outside the traces.

    Raises:
        etree.XMLSyntaxError: The header is not well-formed.
    """
    if header.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"<event" in header:
        return None
    declared = _ENCODING.search(header)
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return None
    root = _parse_header(header)
    return root if etree.QName(root).localname == "log" else None


def _frame(
    columns: list[tuple[str, str, int, int, bytes, bytes, bytes | None]],
    defaults: dict[str, pl.Series | None],
) -> pl.DataFrame | None:
    """The scanner's columns as a frame; global defaults fill the gaps (None: one cannot)."""
    if not columns or columns[0][2] == 0:
        return None
    arrays: dict[str, pa.Array] = {}
    for name, kind, rows, nulls, valid, data, chars in columns:
        validity = pa.py_buffer(valid) if nulls else None
        if chars is not None:
            arrays[name] = pa.LargeStringArray.from_buffers(
                rows, pa.py_buffer(data), pa.py_buffer(chars), validity, nulls
            )
        else:
            arrays[name] = pa.Array.from_buffers(
                _ARROW_TYPES[kind], rows, [validity, pa.py_buffer(data)], null_count=nulls
            )
    frame = pl.from_arrow(pa.table(arrays))
    assert isinstance(frame, pl.DataFrame)
    fills = []
    for name, _kind, _rows, nulls, *_buffers in columns:
        if not nulls or name not in defaults:
            continue
        default = defaults[name]
        if default is None or default.dtype != frame.schema[name]:
            return None
        fills.append(pl.col(name).fill_null(pl.lit(default[0], default.dtype)))
    return frame.with_columns(fills) if fills else frame


class ScanInBackground:
    """`scan_xes` of one file in a daemon thread, started at construction.

    The scanner and ISA-L release the GIL, so the caller's own work (the CLI imports Dagster)
    overlaps the scan. `result()` waits for it; `close()` asks it to stop early.
    """

    def __init__(self, path: Path, gz_content: bool) -> None:
        self._stop = threading.Event()
        self._frame: pl.DataFrame | None = None
        self._thread = threading.Thread(
            target=self._run, args=(path, gz_content), name="bpo-xes-scan", daemon=True
        )
        self._thread.start()

    def _run(self, path: Path, gz_content: bool) -> None:
        try:
            self._frame = scan_xes(path, gz_content, self._stop)
        except Exception:  # e.g. MemoryError: no traceback from a thread; rustxes reads instead
            self._frame = None

    def result(self) -> pl.DataFrame | None:
        """The frame (or None, as `scan_xes`), once the scan has ended."""
        self._thread.join()
        frame, self._frame = self._frame, None
        return frame

    def close(self) -> None:
        """Stop the scan at its next chunk and wait for it."""
        self._stop.set()
        self._thread.join()
        self._frame = None
