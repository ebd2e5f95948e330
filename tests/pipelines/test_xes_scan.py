"""The C scanner of XES: the frame rustxes gives, or None (then rustxes and lxml read the file)."""

import gzip
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines import xes, xes_scan
from pipelines.errors import InputError
from pipelines.read import read_log
from pipelines.xes import read_xes
from tests.mining.conftest import LOGS, log_path

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0" '
    'xmlns="http://www.xes-standard.org/">\n'
)


def _write(tmp_path: Path, body: str, header: str = HEADER, name: str = "log.xes") -> Path:
    path = tmp_path / name
    document = f"{header}{body}</log>\n".encode()
    path.write_bytes(gzip.compress(document) if name.endswith(".gz") else document)
    return path


def _rustxes(path: Path) -> pl.DataFrame:
    return read_xes(path, path.name, engine="rustxes")


def _scan(path: Path) -> pl.DataFrame | None:
    frame = xes_scan.scan_xes(path, xes.is_gzip(path))
    return None if frame is None else frame.select(sorted(frame.columns))


def test_the_scanner_is_built() -> None:
    """`pip install` compiles it (setup.py); without it every XES read would be slow."""
    assert xes_scan.available()


@pytest.mark.parametrize("name", LOGS)
def test_real_logs_equal_rustxes(name: str) -> None:
    """Every real log is scanned (none falls back) into exactly rustxes's frame."""
    path = log_path(name)
    scanned = _scan(path)
    assert scanned is not None
    assert_frame_equal(scanned, _rustxes(path))
    assert_frame_equal(read_xes(path, name, engine="scan"), scanned)


def test_demo_log_equals_rustxes_in_small_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks that cut traces anywhere give the frame of one chunk; globals, lifecycle pairs."""
    from pipelines.demo import write_sample

    path = write_sample(tmp_path, cases=400, seed=3, fmt="xes").log
    whole = _scan(path)
    monkeypatch.setattr(xes_scan, "CHUNK_BYTES", 997)
    chunked = _scan(path)
    assert whole is not None and chunked is not None and whole.height > 1_000
    assert_frame_equal(chunked, whole)
    assert_frame_equal(whole, _rustxes(path))
    scanned_log = read_log(path)
    monkeypatch.setattr(xes_scan, "_xesscan", None)  # as if not built: rustxes reads
    assert not xes_scan.available()
    assert_frame_equal(scanned_log, read_log(path))


EVENT = '<event><string key="concept:name" value="A"/>{}</event>'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # entities and character references, both quote styles, key after value, extra XML
        # attributes and odd spacing
        (
            '<trace><string key="concept:name" value="c&amp;1"/>'
            "<event><string value='a&lt;b&gt;&quot;&apos;&#65;&#x42;&#xe4;&#8364;\"' key='s'/>"
            '<string  key = "concept:name"\n value="A"  note="x" /></event></trace>\n',
            {"case:concept:name": ["c&1"], "concept:name": ["A"], "s": ['a<b>"\'ABä€"']},
        ),
        # dates: offsets, Z, none (UTC), fractions up to nanoseconds that are whole microseconds
        (
            "<trace>"
            + EVENT.format('<date key="t" value="2020-01-01T10:00:00+01:30"/>')
            + EVENT.format('<date key="t" value="2020-02-29T23:59:59.123456Z"/>')
            + EVENT.format('<date key="t" value="2020-01-01T10:00:00.5"/>')
            + EVENT.format('<date key="t" value="1969-12-31T23:59:59.250000000-00:00"/>')
            + "</trace>",
            {
                "concept:name": ["A"] * 4,
                "t": [
                    "2020-01-01 08:30:00",
                    "2020-02-29 23:59:59.123456",
                    "2020-01-01 10:00:00.5",
                    "1969-12-31 23:59:59.25",
                ],
            },
        ),
        # trace attributes after the events, of every type; a trace without events is dropped
        (
            '<trace><string key="concept:name" value="empty"/></trace>'
            '<trace><string key="concept:name" value="c"/>'
            + EVENT.format('<int key="n" value="-7"/><float key="f" value="1e3"/>')
            + EVENT.format('<int key="n" value="+5"/><float key="f" value=".5"/>')
            + '<int key="n" value="3"/><boolean key="b" value="true"/>'
            '<float key="f" value="2."/><id key="i" value="123e4567-e89b-12d3-a456-426614174000"/>'
            '<date key="d" value="2025-06-01T00:00:00Z"/></trace>',
            {
                "case:b": [True, True],
                "case:concept:name": ["c", "c"],
                "case:d": ["2025-06-01 00:00:00", "2025-06-01 00:00:00"],
                "case:f": [2.0, 2.0],
                "case:i": ["123e4567-e89b-12d3-a456-426614174000"] * 2,
                "case:n": [3, 3],
                "concept:name": ["A", "A"],
                "f": [1000.0, 0.5],
                "n": [-7, 5],
            },
        ),
        # an attribute some events lack is null there; UTF-8 of every length
        (
            "<trace>"
            + EVENT.format('<string key="s" value="ä€😀"/>')
            + EVENT.format("")
            + "</trace>",
            {"concept:name": ["A", "A"], "s": ["ä€😀", None]},
        ),
    ],
    ids=["entities-quotes-order", "dates", "trace-attributes", "nulls-utf8"],
)
def test_supported_constructs_equal_rustxes(
    tmp_path: Path, body: str, expected: dict[str, list[object]]
) -> None:
    path = _write(tmp_path, body)
    scanned = _scan(path)
    assert scanned is not None
    assert_frame_equal(scanned, _rustxes(path))
    dates = [n for n, t in scanned.schema.items() if t == pl.Datetime("us", "UTC")]
    shown = scanned.with_columns(pl.col(dates).dt.to_string("%Y-%m-%d %H:%M:%S%.f"))
    shown = shown.with_columns(pl.col(dates).str.replace(r"\.0+$|(\.\d*?)0+$", "${1}"))
    assert shown.to_dict(as_series=False) == expected


def test_global_defaults_fill_the_gaps(tmp_path: Path) -> None:
    header = HEADER + (
        '<global scope="trace"><string key="group" value="UNKNOWN"/></global>'
        '<global scope="event"><date key="t" value="2000-01-01T00:00:00+00:00"/>'
        '<int key="unused" value="1"/></global>\n'
    )
    body = (
        '<trace><string key="group" value="g"/>'
        + EVENT.format('<date key="t" value="2020-01-01T00:00:00Z"/>')
        + "</trace><trace>"
        + EVENT.format("")
        + "</trace>"
    )
    path = _write(tmp_path, body, header)
    scanned = _scan(path)
    assert scanned is not None
    assert_frame_equal(scanned, _rustxes(path))
    assert scanned["case:group"].to_list() == ["g", "UNKNOWN"]
    assert scanned["t"].dt.year().to_list() == [2020, 2000]
    assert "unused" not in scanned.columns  # a default alone makes no column


@pytest.mark.parametrize(
    "body",
    [
        "<trace>" + EVENT.format('<int key="m" value="5"/>') + EVENT.format(
            '<string key="m" value="x"/>'
        ) + "</trace>",
        "<trace>" + EVENT.format('<string key="n" value="x"><int key="i" value="1"/></string>')
        + "</trace>",
        "<trace>" + EVENT.format('<list key="l"><values/></list>') + "</trace>",
        "<trace><!-- a comment -->" + EVENT.format("") + "</trace>",
        "<trace>" + EVENT.format('<int key="i" value="x"/>') + "</trace>",
        "<trace>" + EVENT.format('<int key="i" value="12345678901234567890"/>') + "</trace>",
        "<trace>" + EVENT.format('<float key="f" value="NaN"/>') + "</trace>",
        "<trace>" + EVENT.format('<boolean key="b" value="TRUE"/>') + "</trace>",
        "<trace>" + EVENT.format('<date key="t" value="2020-01-01"/>') + "</trace>",
        "<trace>" + EVENT.format('<date key="t" value="2020-01-01T10:00:00.5+0130"/>') + "</trace>",
        "<trace>" + EVENT.format('<date key="t" value="2020-01-01T10:00:00.123456789Z"/>')
        + "</trace>",
        "<trace>" + EVENT.format('<date key="t" value="2020-02-30T10:00:00Z"/>') + "</trace>",
        "<trace>" + EVENT.format('<date key="t" value="1000-01-01T00:00:00Z"/>') + "</trace>",
        "<trace>" + EVENT.format('<string key="s"/>') + "</trace>",
        "<trace>" + EVENT.format('<string key="s" value="1"/><string key="s" value="2"/>')
        + "</trace>",
        "<trace>" + EVENT.format('<string key="s" value="a\nb"/>') + "</trace>",
        "<trace>" + EVENT.format('<string key="s" value="&unknown;"/>') + "</trace>",
        "<trace>" + EVENT.format('<id key="i" value="x-1"/>') + "</trace>",
        "<trace>" + EVENT.format('<id key="i" value="123E4567-E89B-12D3-A456-426614174000"/>')
        + "</trace>",
        '<trace><string key="x" value="T"/>' + EVENT.format('<string key="case:x" value="E"/>')
        + "</trace>",
        '<trace><string key="only" value="T"/></trace><trace>' + EVENT.format("") + "</trace>",
        "<trace>" + EVENT.format("") + "</trace><event/>",
    ],
    ids=[
        "mixed-types", "nested", "list", "comment", "bad-int", "long-int", "nan", "TRUE",
        "date-only", "offset-without-colon", "nanoseconds", "february-30", "year-1000",
        "no-value", "key-twice", "line-break", "unknown-entity", "id-not-a-uuid",
        "id-in-capitals", "case-prefix-clash", "attribute-of-an-empty-trace",
        "event-outside-a-trace",
    ],
)  # fmt: skip
def test_outside_the_subset_falls_back_to_rustxes(tmp_path: Path, body: str) -> None:
    """The scanner gives up (never guesses); read_xes then gives what rustxes or lxml give."""
    path = _write(tmp_path, body)
    assert _scan(path) is None
    with pytest.raises(InputError, match="the XES scanner does not read this file"):
        read_xes(path, path.name, engine="scan")
    try:
        expected = _rustxes(path)
    except InputError:
        expected = read_xes(path, path.name, engine="lxml")
    assert_frame_equal(read_xes(path, path.name), expected)


@pytest.mark.parametrize(
    ("header", "body"),
    [
        (HEADER.replace("UTF-8", "ISO-8859-1"), "<trace>" + EVENT.format("") + "</trace>"),
        ("\ufeff" + HEADER, "<trace>" + EVENT.format("") + "</trace>"),
        (HEADER + EVENT.format(""), "<trace>" + EVENT.format("") + "</trace>"),
        (HEADER.replace("<log", "<other"), "<trace>" + EVENT.format("") + "</trace>"),
    ],
    ids=["latin-1", "byte-order-mark", "event-in-the-header", "root-not-log"],
)
def test_unusual_headers_fall_back(tmp_path: Path, header: str, body: str) -> None:
    path = tmp_path / "log.xes"
    closing = "</other>" if "<other" in header else "</log>"
    path.write_bytes(f"{header}{body}{closing}".encode("latin-1" if "8859" in header else "utf-8"))
    assert _scan(path) is None


def test_malformed_files_are_left_to_the_readers_that_report_them(
    tmp_path: Path, data_dir: Path
) -> None:
    """Truncated files get the errors and lines of before; what rustxes tolerates, it reads."""
    text = (data_dir / "roadtraffic100traces.xes").read_text()
    cut = tmp_path / "cut.xes"
    cut.write_text(text[: len(text) // 2])
    truncated_gz = tmp_path / "cut.xes.gz"
    truncated_gz.write_bytes(gzip.compress(text.encode())[:-100])
    corrupt_gz = tmp_path / "corrupt.xes.gz"
    data = bytearray(gzip.compress(text.encode()))
    data[len(data) // 2 : len(data) // 2 + 16] = bytes(16)  # after the first 64 KiB of XML
    corrupt_gz.write_bytes(bytes(data))
    for path, message in (
        (cut, r"cut.xes:\d+: malformed XML"),
        (truncated_gz, "truncated"),
        (corrupt_gz, "corrupt.xes.gz"),  # the first reader to meet the damage names it
    ):
        assert _scan(path) is None, path.name
        with pytest.raises(InputError, match=message):
            read_xes(path, path.name)
    unclosed = tmp_path / "unclosed.xes"
    unclosed.write_text(text.replace("</log>", ""))
    bad_utf8 = tmp_path / "bad.xes"
    bad_utf8.write_bytes(text.encode().replace(b"Create Fine", b"Create \xff Fine", 1))
    for path in (unclosed, bad_utf8):
        assert _scan(path) is None, path.name
        assert_frame_equal(read_xes(path, path.name), _rustxes(path))


def test_a_stopped_scan_gives_none(data_dir: Path) -> None:
    import threading

    stop = threading.Event()
    stop.set()
    assert xes_scan.scan_xes(data_dir / "receipt.xes.gz", True, stop) is None


_KEYS = st.sampled_from(["concept:name", "org:resource", "cost", "a", "ß"])
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")), max_size=12)


def _escape(text: str) -> str:
    return "".join({"&": "&amp;", "<": "&lt;", '"': "&quot;", "'": "&#39;"}.get(c, c) for c in text)


@st.composite
def _attribute(draw: st.DrawFn) -> tuple[str, str]:
    """A key (one type per key) and its XES element."""
    key = draw(_KEYS)
    kind = {"concept:name": "string", "org:resource": "string", "cost": "float"}.get(key)
    kind = kind or {"a": "int", "ß": "date"}[key]
    if kind == "string":
        value = _escape(draw(_TEXT))
    elif kind == "float":
        value = repr(draw(st.floats(allow_nan=False, allow_infinity=False, width=32)))
    elif kind == "int":
        value = str(draw(st.integers(-(10**17), 10**17)))
    else:
        micros = draw(st.integers(0, 10**6 - 1))
        offset = draw(st.sampled_from(["Z", "+05:30", "-01:00", ""]))
        value = f"2024-0{draw(st.integers(1, 9))}-1{draw(st.integers(0, 9))}T0{draw(st.integers(0, 9))}:3{draw(st.integers(0, 9))}:00.{micros:06d}{offset}"  # noqa: E501
    return key, f'<{kind} key="{key}" value="{value}"/>'


@st.composite
def _document(draw: st.DrawFn) -> str:
    traces = []
    for number in range(draw(st.integers(1, 6))):
        events = []
        for _ in range(draw(st.integers(1, 4))):
            attributes = dict(draw(st.lists(_attribute(), max_size=5)))
            events.append("<event>" + "".join(attributes.values()) + "</event>")
        case = f'<string key="concept:name" value="c{number}"/>'
        traces.append("<trace>" + case + "\n ".join(events) + "</trace>\n")
    return "".join(traces)


@pytest.mark.slow
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_document())
def test_random_documents_equal_rustxes(tmp_path: Path, body: str) -> None:
    """Generated logs inside the subset are scanned, equal to rustxes's frame."""
    path = _write(tmp_path, body)
    scanned = _scan(path)
    assert scanned is not None
    assert_frame_equal(scanned, _rustxes(path))
