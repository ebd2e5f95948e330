"""The parallel XES path: pieces cut at trace boundaries, parsed by worker processes, prefetch."""

import gzip
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import xes, xes_cut
from pipelines.errors import InputError
from pipelines.xes import NotSplittable, XesCutter, read_xes

HEAD = b'<?xml version="1.0"?>\n<log><global scope="event"><string key="a" value="x"/></global>\n'


def _single_threshold(monkeypatch: pytest.MonkeyPatch, min_bytes: int) -> None:
    monkeypatch.setenv("BPO_XES_PARALLEL_MIN_BYTES", str(min_bytes))


def _cut(document: bytes, piece_bytes: int, chunk: int) -> list[bytes]:
    cutter = XesCutter(piece_bytes)
    pieces = []
    for start in range(0, len(document), chunk):
        pieces += cutter.feed(document[start : start + chunk])
    return [*pieces, cutter.finish()]


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_cutter_pieces_are_whole_traces_with_the_header(chunk: int) -> None:
    """Fed byte by byte or at once, the cuts are the same: after a `</trace>`, header first."""
    trace = b"<trace><event/></trace>\n"  # 24 bytes
    document = HEAD + trace * 9 + b"</log>\n"
    pieces = _cut(document, piece_bytes=2 * len(trace), chunk=chunk)
    # A piece is cut at the first boundary after 48 bytes: three traces, then the rest.
    closing = b"\n</log>\n"
    assert pieces == [
        HEAD + trace * 2 + trace[:-1] + closing,
        HEAD + b"\n" + trace * 2 + trace[:-1] + closing,
        HEAD + b"\n" + trace * 3 + b"</log>\n",
    ]


def test_cutter_refuses_comments_and_documents_without_traces() -> None:
    body = b"<trace><event/></trace>\n<trace><event/></trace>\n</log>\n"
    with pytest.raises(NotSplittable, match="comment or CDATA"):
        _cut(HEAD + body.replace(b"<event/>", b"<!-- c --><event/>", 1), 1, 1 << 20)
    with pytest.raises(NotSplittable, match="CDATA"):
        _cut(HEAD + body.replace(b"<event/>", b"<![CDATA[</trace>]]><event/>", 1), 1, 1 << 20)
    with pytest.raises(NotSplittable, match="no <trace>"):
        _cut(HEAD + b"</log>\n", 1, 1 << 20)
    assert _cut(HEAD.replace(b"<log>", b"<!-- header comments are fine --><log>") + body, 1, 9)


def test_the_feeder_module_imports_only_the_standard_library() -> None:
    """The feeder (`python -m pipelines.xes_cut feed …`) starts without polars, lxml, isal."""
    probe = (
        "import sys, pipelines.xes_cut; "
        "heavy = {'polars', 'lxml', 'isal', 'pyarrow', 'numpy', 'pandas', 'rustxes'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy "
        "or m.startswith('pipelines.') and m != 'pipelines.xes_cut'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
    assert (XesCutter, NotSplittable) == (xes_cut.XesCutter, xes_cut.NotSplittable)


@pytest.mark.parametrize("name", ["demo", "receipt.xes.gz", "roadtraffic100traces.xes"])
def test_pieces_equal_whole_file(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Pieces parsed by the workers give exactly the frame of one parse (globals included)."""
    from pipelines.demo import write_sample

    if name == "demo":
        path = write_sample(tmp_path, cases=1_500, seed=7, fmt="xes").log
    else:
        path = data_dir / name
    gz = name != "roadtraffic100traces.xes"
    with xes.ParallelXes(path, gz) as parse:
        assert parse.result() is not None  # the parallel path really runs
        assert int((parse._dir / "pieces").read_text()) >= 4  # two pieces per worker at least
    _single_threshold(monkeypatch, 1)
    parallel = read_xes(path, path.name, engine="rustxes")
    _single_threshold(monkeypatch, 1 << 62)
    whole = read_xes(path, path.name, engine="rustxes")
    assert parallel.height >= 390
    assert_frame_equal(parallel, whole)


@pytest.mark.parametrize("default", [None, "5"])
def test_attribute_in_one_piece_only(tmp_path: Path, default: str | None) -> None:
    """A piece without an attribute gets its global default (or null), as in one parse."""
    trace = (
        '<trace><string key="concept:name" value="c{i}"/>'
        '<event><string key="concept:name" value="A"/>'
        '<date key="time:timestamp" value="2025-01-0{d}T10:00:00+00:00"/>{extra}</event></trace>\n'
    )
    body = "".join(
        trace.format(i=i, d=i % 9 + 1, extra='<int key="cost" value="7"/>' if i == 39 else "")
        for i in range(40)
    )
    header = '<?xml version="1.0"?>\n<log>\n'
    if default is not None:
        header += f'<global scope="event"><int key="cost" value="{default}"/></global>\n'
    path = tmp_path / "rare.xes"
    path.write_text(f"{header}{body}</log>\n")
    with xes.ParallelXes(path, gz_content=False) as parse:
        parallel = parse.result()
        assert int((parse._dir / "pieces").read_text()) >= 4
    whole = xes._import_quietly(path)
    assert parallel is not None and whole is not None
    assert parallel["cost"].dtype == pl.Int64
    if default is None:
        assert parallel["cost"].null_count() == 39
    else:
        assert parallel["cost"].to_list() == [5] * 39 + [7]
    assert_frame_equal(
        parallel.select(sorted(parallel.columns)), whole.select(sorted(whole.columns))
    )


def test_global_defaults_of_a_header() -> None:
    header = (
        b'<?xml version="1.0"?>\n<log xes.version="1.0"><!-- c -->'
        b'<global scope="trace"><string key="group" value="UNKNOWN"/></global>'
        b'<global><float key="cost" value="2.5"/><boolean key="ok" value="true"/></global>'
        b'<classifier name="x" keys="concept:name"/>\n'
    )
    defaults = xes.global_defaults(header)
    assert {k: v.to_list() for k, v in defaults.items()} == {
        "case:group": ["UNKNOWN"],
        "cost": [2.5],
        "ok": [True],
    }
    dated = xes.global_defaults(
        b'<log><global><date key="d" value="2025-01-01T01:00:00+01:00"/>'
        b'<date key="naive" value="2025-01-01T00:00:00"/></global>'
    )
    assert {k: v.to_list() for k, v in dated.items()} == {
        "d": [datetime(2025, 1, 1, tzinfo=UTC)],
        "naive": [datetime(2025, 1, 1, tzinfo=UTC)],  # read as UTC, as rustxes does
    }
    listed = xes.global_defaults(b'<log><global><list key="l"><values/></list></global>')
    assert listed == {"l": None}  # not reproduced: a piece lacking `l` falls back
    a = pl.DataFrame({"x": [1], "l": [1]})
    assert xes._concat_pieces([a, a.drop("l")], listed) is None
    assert xes._concat_pieces([a, a], listed) is not None
    with pytest.raises(ValueError):
        xes.global_defaults(b'<log><global><int key="n" value="many"/></global>')


def test_disagreeing_piece_types_fall_back() -> None:
    a = pl.DataFrame({"x": [1], "y": ["a"]})
    b = pl.DataFrame({"x": ["1"], "y": ["b"]})
    assert xes._concat_pieces([a, b], {}) is None
    assert xes._concat_pieces([a, a.clear()], {}) is None
    joined = xes._concat_pieces([a, pl.DataFrame({"y": ["c"]})], {})
    assert joined is not None and joined.to_dict(as_series=False) == {
        "x": [1, None],
        "y": ["a", "c"],
    }


def _broken_copy(text: str, tmp_path: Path) -> tuple[Path, int]:
    """`text` with its first `<event>` after three quarters of the lines misspelt; its index."""
    lines = text.splitlines(keepends=True)
    target = len(lines) * 3 // 4
    while "<event>" not in lines[target]:
        target += 1
    lines[target] = lines[target].replace("<event>", "<evnt>")
    broken = tmp_path / "broken.xes"
    broken.write_text("".join(lines))
    return broken, target


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pieces' RAM folder, redirected to an empty folder of the test."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(xes, "_scratch_dir", lambda: str(folder))
    return folder


def test_malformed_xml_names_line_with_parallel_path(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken late piece falls back to the whole-file path and its exact error and line."""
    text = gzip.decompress((data_dir / "receipt.xes.gz").read_bytes()).decode()
    path, target = _broken_copy(text, tmp_path)
    errors = []
    for min_bytes in (1, 1 << 62):
        _single_threshold(monkeypatch, min_bytes)
        with pytest.raises(InputError) as caught:
            read_xes(path, "broken.xes")
        errors.append(caught.value.problems)
    assert errors[0] == errors[1]
    assert errors[0][0].file == "broken.xes"
    assert errors[0][0].line is not None and errors[0][0].line > target
    assert "malformed XML: Opening and ending tag mismatch: evnt" in errors[0][0].message


def test_parallel_path_leaves_no_scratch_files(
    tmp_path: Path, data_dir: Path, scratch: Path
) -> None:
    """The pieces and the workers' frames are removed, on success and on a broken piece."""
    good = data_dir / "roadtraffic100traces.xes"
    assert xes._read_rustxes_parallel(good, False) is not None
    assert list(scratch.iterdir()) == []
    broken, _ = _broken_copy(good.read_text(), tmp_path)
    assert xes._read_rustxes_parallel(broken, False) is None
    assert list(scratch.iterdir()) == []


def test_prefetch_is_taken_by_read_xes_and_cancel_stops_it(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prefetched scan is what read_xes returns; unused ones are stopped."""
    path = data_dir / "receipt.xes.gz"
    assert xes.prefetch_xes(path)
    assert not xes.prefetch_xes(path)  # one scan per file
    assert len(xes._PREFETCHED) == 1
    scans = []
    monkeypatch.setattr(xes, "scan_xes", lambda *args: scans.append(args))  # no scan but it
    prefetched = read_xes(path, path.name)
    assert xes._PREFETCHED == {} and scans == []
    assert_frame_equal(prefetched, read_xes(path, path.name, engine="rustxes"))

    copy = tmp_path / "copy.xes.gz"
    copy.write_bytes(path.read_bytes())
    assert xes.prefetch_xes(copy)
    copy.touch()  # changed since the prefetch started: not taken
    monkeypatch.undo()
    assert_frame_equal(read_xes(copy, copy.name), prefetched)
    assert len(xes._PREFETCHED) == 1
    xes.cancel_prefetches()
    assert xes._PREFETCHED == {}


def test_prefetch_refuses_what_read_xes_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _single_threshold(monkeypatch, 1)
    dtd = tmp_path / "bomb.xes"
    dtd.write_text('<?xml version="1.0"?><!DOCTYPE log [<!ENTITY a "a">]><log><trace/></log>')
    assert not xes.prefetch_xes(dtd)
    assert not xes.prefetch_xes(tmp_path / "missing.xes")
    csv = tmp_path / "log.csv"
    csv.write_text("case,activity\n")
    assert not xes.prefetch_xes(csv)
    assert xes._PREFETCHED == {}
    with pytest.raises(InputError, match="remove the DOCTYPE"):
        read_xes(dtd, dtd.name)
