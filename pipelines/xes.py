"""Read IEEE XES (`.xes`, `.xes.gz`) into a raw polars frame, safely and fast.

Before any parser sees the file, its prolog is scanned and a DOCTYPE (the only place entity
declarations can live) is rejected, so neither external entities nor entity bombs are ever
expanded. Then three readers, each taking over when the one before gives up:

1. The C scanner (`pipelines.xes_scan`, `pipelines._xesscan`): a strict subset of XES (flat
   attributes, the predefined entities, UTF-8, no comments), about 4× faster on one core than
   rustxes on two, the GIL released. It gives rustxes's frame or gives up; it never guesses.
   `prefetch_xes` starts it in a background thread before the file is asked for, so that the
   CLI's own start-up (Dagster) overlaps the scan.
2. `rustxes` (a Rust XES parser returning polars). Files of `PARALLEL_MIN_BYTES` (uncompressed;
   env `BPO_XES_PARALLEL_MIN_BYTES` overrides) or more are parsed in pieces on all cores
   (`ParallelXes`): a feeder process (`pipelines.xes_cut`, standard library only) gunzips the
   file (ISA-L), cuts it at `</trace>` boundaries into well-formed XES documents of about
   `PIECE_BYTES` (each with the log header) in a RAM directory, and worker processes parse the
   pieces with rustxes (it holds the GIL, so threads would not help); on any doubt or failure
   the file is parsed whole.
3. A safe lxml `iterparse` (no entity resolution, no network, no huge trees): it either reads
   the file or yields the exact line of the XML error for the message.

Raw frame: event attributes under their XES keys, trace attributes prefixed `case:`, dates as
`datetime[us, UTC]` (XES dates without an offset are read in the configured time zone), in
file order. Columns are sorted by name, so all readers give the same frame.
"""

import gzip
import os
import re
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import polars as pl
from lxml import etree

from pipelines.errors import InputError, Problem
from pipelines.xes_cut import NotSplittable, XesCutter  # noqa: F401 - part of this API too
from pipelines.xes_scan import ScanInBackground, convert_value, global_defaults, scan_xes
from pipelines.xes_scan import available as scan_available

GZIP_MAGIC = b"\x1f\x8b"
DTD_MESSAGE = "XML with DTD/entity declarations is not accepted: remove the DOCTYPE"
_PROLOG_BYTES = 1 << 16


def is_gzip(path: Path) -> bool:
    """Whether the file's content starts with the gzip magic (whatever its suffix)."""
    with path.open("rb") as probe:
        return probe.read(2) == GZIP_MAGIC


def open_maybe_gzip(path: Path) -> BinaryIO:
    """Open a file for binary reading, transparently gunzipping it when it starts with gzip magic.

    Args:
        path: The file.

    Returns:
        A binary file object (the caller closes it).
    """
    if is_gzip(path):
        return gzip.open(path, "rb")
    return path.open("rb")


def read_head(path: Path, source: str, size: int = _PROLOG_BYTES) -> bytes:
    """The first `size` bytes of a file's (gunzipped) content.

    Raises:
        InputError: The gzip stream is corrupt or truncated before `size` bytes.
    """
    try:
        with open_maybe_gzip(path) as handle:
            return handle.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        raise corrupt_gzip(source, exc) from None


def corrupt_gzip(source: str, exc: Exception) -> InputError:
    """The error for a file whose gzip data is truncated or corrupt."""
    return InputError(
        Problem(source, f"cannot read the file: truncated or corrupt gzip data ({exc})")
    )


def reject_dtd(head: bytes, source: str) -> None:
    """Reject XML whose prolog declares a DOCTYPE or entities, before any parser expands them.

    Args:
        head: The first bytes of the (gunzipped) document.
        source: File name for the message.

    Raises:
        InputError: A `<!DOCTYPE` or `<!ENTITY` appears before the root element.
    """
    text = _decode_head(head)
    pos = 0
    length = len(text)
    while pos < length:
        while pos < length and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if text.startswith("<?", pos):
            end = text.find("?>", pos)
            pos = length if end < 0 else end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos)
            pos = length if end < 0 else end + 3
        elif text.startswith("<!", pos):
            raise InputError(Problem(source, DTD_MESSAGE, _line_of(text, pos)))
        else:
            break
    if "<!ENTITY" in text:
        raise InputError(Problem(source, DTD_MESSAGE, _line_of(text, text.index("<!ENTITY"))))


def _decode_head(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace")


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2: a rustxes panic prints a Rust backtrace there."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def read_xes(path: Path, source: str, engine: str = "auto", timezone: str = "UTC") -> pl.DataFrame:
    """Read an XES file into the raw frame described in the module docstring.

    Args:
        path: The `.xes` or `.xes.gz` file (gzip recognised by content).
        source: The name the user gave, for messages.
        engine: `auto` (the C scanner, rustxes when the file is outside its subset, lxml when
            rustxes fails), `scan`, `rustxes` or `lxml`.
        timezone: Time zone of dates written without an offset. The scanner and rustxes read
            those as UTC, so with another zone a file that has such dates is read by lxml.

    Returns:
        One row per event, in file order.

    Raises:
        InputError: DTD present, corrupt gzip, malformed XML (with its line).
    """
    head = read_head(path, source)
    reject_dtd(head, source)
    if engine == "auto" and timezone != "UTC" and has_naive_dates(path, source):
        engine = "lxml"
    if engine in ("auto", "scan"):
        frame = _read_scanned(path)
        if frame is not None:
            return frame.select(sorted(frame.columns))
        if engine == "scan":
            raise InputError(Problem(source, "the XES scanner does not read this file"))
    if engine in ("auto", "rustxes") and path.name.lower().endswith((".xes", ".xes.gz")):
        frame = _read_rustxes(path)
        if frame is not None:
            return frame
        if engine == "rustxes":
            raise InputError(Problem(source, "rustxes could not read this XES file"))
    return _read_lxml(path, source, ZoneInfo(timezone))


def _read_scanned(path: Path) -> pl.DataFrame | None:
    """The prefetched scan of this file (same size and mtime), else a scan now."""
    try:
        prefetched = _PREFETCHED.pop(_file_key(path), None)
        if prefetched is not None:
            return prefetched.result()
        return scan_xes(path, is_gzip(path))
    except OSError:
        return None


_NAIVE_DATE = re.compile(rb'<date\s[^>]*value="\d{4}-\d\d-\d\dT[\d:.]+"')


def has_naive_dates(path: Path, source: str) -> bool:
    """Whether any `<date>` value in the file lacks a UTC offset (streamed, stops at the first)."""
    tail = b""
    try:
        with open_maybe_gzip(path) as handle:
            while chunk := handle.read(1 << 22):
                if _NAIVE_DATE.search(tail + chunk):
                    return True
                tail = chunk[-256:]
    except (OSError, EOFError, zlib.error):
        return False  # the reader reports the corrupt file
    return False


def _read_rustxes(path: Path) -> pl.DataFrame | None:
    gz_content = is_gzip(path)
    if gz_content != path.name.lower().endswith(".gz"):
        return None  # rustxes decides on gzip by suffix; let lxml read mislabelled files
    frame = _read_rustxes_parallel(path, gz_content) if _parallel_wanted(path, gz_content) else None
    if frame is None:
        frame = _import_quietly(path)
    if frame is None or frame.height == 0:
        return None
    datetimes = [n for n, t in frame.schema.items() if isinstance(t, pl.Datetime)]
    frame = frame.with_columns(
        pl.col(c).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") for c in datetimes
    )
    return frame.select(sorted(frame.columns))


def _import_quietly(path: Path) -> pl.DataFrame | None:
    """`rustxes.import_xes`'s frame, or None when rustxes panics (its backtrace silenced)."""
    import rustxes  # noqa: PLC0415 - loaded on first XES read only

    try:
        with quiet_stderr():
            return rustxes.import_xes(str(path))[0]
    except BaseException as exc:  # a Rust panic is a BaseException (pyo3 PanicException)
        if type(exc).__name__ != "PanicException":
            raise
        return None


PARALLEL_MIN_BYTES = 50 << 20
"""Uncompressed size from which an XES file is parsed in pieces on all cores."""

PIECE_BYTES = 24 << 20
"""Largest piece: rustxes is superlinear in the document size (1M demo log, one core: 9.2 s
whole, 6.9 s as four quarters), and small pieces let the workers start while the file is still
being gunzipped."""

# Parses well-formed XES pieces named on stdin and writes each raw frame as Arrow IPC: a separate
# Python process because rustxes holds the GIL. Only rustxes and polars are imported: no project
# code, no re-import of the caller's main module (as multiprocessing's spawn would do). A piece
# is removed once parsed, so the RAM directory holds little more than the frames.
_WORKER = """
import os, sys, rustxes
for line in sys.stdin:
    source, target = line.rstrip("\\n").split("\\t")
    frame, _meta = rustxes.import_xes(source)
    os.remove(source)
    frame.write_ipc(target)
"""


def _workers_wanted() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(2, min(cores, 8))


def _parallel_wanted(path: Path, gz_content: bool) -> bool:
    min_bytes = int(os.environ.get("BPO_XES_PARALLEL_MIN_BYTES", PARALLEL_MIN_BYTES))
    if (os.cpu_count() or 1) < 2 and "BPO_XES_PARALLEL_MIN_BYTES" not in os.environ:
        return False
    return _content_size(path, gz_content) >= min_bytes


def _content_size(path: Path, gz_content: bool) -> int:
    """Uncompressed size: the file size, or for gzip the ISIZE trailer.

    ISIZE is the size modulo 2**32, so it is never taken below the compressed size.
    """
    size = path.stat().st_size
    if not gz_content:
        return size
    with path.open("rb") as handle:
        handle.seek(max(size - 4, 0))
        return max(int.from_bytes(handle.read(4), "little"), size)


def _scratch_dir() -> str | None:
    """A RAM-backed directory for the pieces when there is one (6x faster to write than disk)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


class ParallelXes:
    """One XES file being parsed in pieces by worker processes, started at construction.

    A feeder process gunzips the file, cuts it at trace boundaries (`XesCutter`) and hands the
    pieces to the workers round-robin while they parse; the caller is free meanwhile (a feeder
    thread would contend with the caller for the GIL and starve the workers). `result()` gives
    the frame, equal to `rustxes.import_xes(path)`, or None on any doubt (then the caller
    parses the file whole, which also produces the usual errors). Always `close()` it (or use
    it as a context manager).
    """

    def __init__(self, path: Path, gz_content: bool, workers: int | None = None) -> None:
        self.path = path
        self._tmp = tempfile.TemporaryDirectory(prefix="bpo-xes-", dir=_scratch_dir())
        self._dir = Path(self._tmp.name)
        self._procs: list[subprocess.Popen[bytes]] = []
        write_fds: list[int] = []
        try:
            for _ in range(workers or _workers_wanted()):
                read_fd, write_fd = os.pipe()
                write_fds.append(write_fd)
                try:
                    self._procs.append(_python(["-c", _WORKER], stdin=read_fd))
                finally:
                    os.close(read_fd)
            size = _content_size(path, gz_content)
            piece_bytes = min(PIECE_BYTES, size // (4 * len(write_fds)) + 1)
            feed = ["feed", str(path), str(int(gz_content)), str(piece_bytes), str(self._dir)]
            self._procs.append(
                _python(
                    ["-m", "pipelines.xes_cut", *feed, *map(str, write_fds)], pass_fds=write_fds
                )
            )
        except OSError:
            self.close()
            raise
        finally:
            for fd in write_fds:
                os.close(fd)

    def result(self) -> pl.DataFrame | None:
        """Wait for the workers; the frame, or None when any piece failed or pieces disagree."""
        if any([proc.wait() for proc in self._procs]):
            return None
        try:
            pieces = int((self._dir / "pieces").read_text())
            if pieces < 2:
                return None
            frames = [pl.read_ipc(self._dir / f"piece{k}.arrow") for k in range(pieces)]
            defaults = global_defaults((self._dir / "header.xml").read_bytes())
            return _concat_pieces(frames, defaults)
        except (OSError, pl.exceptions.PolarsError, etree.XMLSyntaxError, ValueError):
            return None

    def close(self) -> None:
        """Stop the feeder and the workers (a no-op once they have exited); remove the pieces."""
        for proc in self._procs:
            proc.kill()
        for proc in self._procs:
            proc.wait()
        self._tmp.cleanup()

    def __enter__(self) -> "ParallelXes":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _python(args: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """A Python child of this interpreter, silent (a rustxes panic prints a Rust backtrace)."""
    return subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen
    )


def _concat_pieces(
    frames: list[pl.DataFrame], defaults: dict[str, pl.Series | None]
) -> pl.DataFrame | None:
    """The pieces' frames as one, or None when they disagree on a column's type.

    A column missing from a piece (no event there has the attribute) takes the log's global
    default in its rows when there is one, else null: as rustxes does for the whole file, where
    a global default fills the gaps of every attribute the log uses. None also when such a
    default is one `global_defaults` does not reproduce.
    """
    dtypes: dict[str, pl.DataType] = {}
    for frame in frames:
        if frame.height == 0:
            return None
        for name, dtype in frame.schema.items():
            if dtypes.setdefault(name, dtype) != dtype:
                return None

    missing = {name for frame in frames for name in dtypes if name not in frame.columns}
    if any(name in defaults and defaults[name] is None for name in missing):
        return None

    def fill(name: str, dtype: pl.DataType) -> pl.Expr:
        default = defaults.get(name)
        if default is None:
            return pl.lit(None, dtype).alias(name)
        return pl.lit(default.cast(dtype, strict=True)[0], dtype).alias(name)

    return pl.concat(
        [
            frame.with_columns(
                fill(name, dtype) for name, dtype in dtypes.items() if name not in frame.columns
            ).select(list(dtypes))
            for frame in frames
        ]
    )


_PREFETCHED: dict[tuple[str, int, int], ScanInBackground] = {}


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def prefetch_xes(path: Path) -> bool:
    """Start scanning an XES file in a background thread now, for a `read_xes` of it later.

    For a caller that has other work to do first (the CLI imports Dagster; the scan releases
    the GIL): the prolog is checked as `read_xes` checks it, and nothing starts for a
    file that is unsafe or unreadable (`read_xes` then reports it), or without the C scanner.
    Stop unused scans with `cancel_prefetches`.

    Args:
        path: An `.xes` or `.xes.gz` file.

    Returns:
        Whether a scan was started.
    """
    try:
        if not path.name.lower().endswith((".xes", ".xes.gz")) or not scan_available():
            return False
        key = _file_key(path)
        if key in _PREFETCHED:
            return False
        reject_dtd(read_head(path, path.name), path.name)
        _PREFETCHED[key] = ScanInBackground(path, is_gzip(path))
    except (OSError, InputError):
        return False
    return True


def cancel_prefetches() -> None:
    """Stop every prefetched scan that no `read_xes` has taken."""
    while _PREFETCHED:
        _PREFETCHED.popitem()[1].close()


def _read_rustxes_parallel(path: Path, gz_content: bool) -> pl.DataFrame | None:
    """The file parsed in pieces by worker processes (None on any doubt)."""
    try:
        parse = ParallelXes(path, gz_content)
    except OSError:
        return None
    with parse:
        return parse.result()


_TYPES = {"string", "date", "int", "float", "boolean", "id"}


def _attributes(element: Any, prefix: str, zone: ZoneInfo) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        kind = etree.QName(child).localname
        key = child.get("key")
        if kind in _TYPES and key is not None:
            values[prefix + key] = convert_value(kind, child.get("value", ""), zone)
    return values


def _read_lxml(path: Path, source: str, zone: ZoneInfo) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    defaults: dict[str, dict[str, Any]] = {"event": {}, "trace": {}}
    trace_start = 0
    try:
        with open_maybe_gzip(path) as handle:
            for _event, element in etree.iterparse(
                handle,
                events=("end",),
                resolve_entities=False,
                no_network=True,
                huge_tree=False,
                load_dtd=False,
            ):
                name = etree.QName(element).localname
                if name == "event":
                    rows.append(_attributes(element, "", zone))
                    element.clear()
                elif name == "trace":
                    case = _attributes(element, "case:", zone)
                    for row in rows[trace_start:]:
                        row.update(case)
                    trace_start = len(rows)
                    element.clear()
                    while element.getprevious() is not None:
                        del element.getparent()[0]
                elif name == "global" and element.get("scope", "event") in defaults:
                    scope = element.get("scope", "event")
                    defaults[scope] = _attributes(
                        element, "case:" if scope == "trace" else "", zone
                    )
    except etree.XMLSyntaxError as exc:
        raise InputError(Problem(source, f"malformed XML: {exc.msg}", exc.lineno or None)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise corrupt_gzip(source, exc) from None
    except ValueError as exc:
        raise InputError(Problem(source, f"bad attribute value in XES: {exc}")) from None
    if not rows:
        raise InputError(Problem(source, "empty log: no events found"))
    # XES globals are defaults for attributes the log uses (as rustxes applies them).
    present = {k for row in rows for k in row}
    for key, value in {**defaults["event"], **defaults["trace"]}.items():
        if key in present:
            for row in rows:
                row.setdefault(key, value)
    return _rows_to_frame(rows)


def _rows_to_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    keys = sorted({k for row in rows for k in row})
    columns: dict[str, pl.Series] = {}
    for key in keys:
        values = [row.get(key) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) > 1:
            values = [None if v is None else str(v) for v in values]
            kinds = {str}
        dtype: pl.DataType | None = None
        if kinds == {datetime}:
            dtype = pl.Datetime("us", "UTC")
        elif kinds == {int}:
            dtype = pl.Int64()
        elif kinds == {float}:
            dtype = pl.Float64()
        elif kinds == {bool}:
            dtype = pl.Boolean()
        else:
            dtype = pl.String()
        columns[key] = pl.Series(key, values, dtype=dtype)
    return pl.DataFrame(list(columns.values()))
