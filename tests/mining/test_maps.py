import threading
from pathlib import Path

import pytest

from mining.maps import (
    PendingMap,
    directly_follows,
    render,
    safe_filename,
    start_map,
    to_dot,
)
from tests.mining.helpers import make_log

ROWS = [
    dict(case="a", act='Prüfung "A"', ts="2024-01-01 09:00", start="2024-01-01 08:30", res="r"),
    dict(case="a", act="back\\slash", ts="2024-01-01 10:00", start="2024-01-01 09:40", res="r"),
    dict(case="b", act='Prüfung "A"', ts="2024-01-01 11:00", start="2024-01-01 10:00", res="r"),
    dict(case="b", act="back\\slash", ts="2024-01-01 11:30", res="r"),
    dict(case="b", act='Prüfung "A"', ts="2024-01-01 12:00", start="2024-01-01 11:50", res="r"),
]


def test_directly_follows_counts_and_times():
    dfg = directly_follows(make_log(ROWS))
    assert dfg.cases == 2
    nodes = {a: (f, m) for a, f, m in dfg.nodes.iter_rows()}
    assert nodes['Prüfung "A"'] == (3, pytest.approx((30 + 60 + 10) / 3))
    # back\slash: 20 min measured; case b has no start → the activity's median measured (20)
    assert nodes["back\\slash"] == (2, pytest.approx(20.0))
    edges = {(s, t): (f, w) for s, t, f, w in dfg.edges.iter_rows()}
    # waits: a: 09:00 → start 09:40 = 40; b: 11:00 → completion 11:30 (no start) = 30
    assert edges[('Prüfung "A"', "back\\slash")] == (2, pytest.approx(35.0))
    # b: 11:30 → start 11:50 = 20
    assert edges[("back\\slash", 'Prüfung "A"')] == (1, pytest.approx(20.0))
    assert dict(dfg.starts.iter_rows()) == {'Prüfung "A"': 2}
    assert dict(dfg.ends.iter_rows()) == {"back\\slash": 1, 'Prüfung "A"': 1}


def test_negative_waits_floor_at_zero():
    rows = [
        dict(case="a", act="X", ts="2024-01-01 10:00"),
        dict(case="a", act="Y", ts="2024-01-01 11:00", start="2024-01-01 09:00"),
    ]
    edges = directly_follows(make_log(rows)).edges
    assert edges["mean_wait_minutes"].to_list() == [0.0]


def test_dot_escapes_quotes_backslashes_newlines():
    dot = to_dot(directly_follows(make_log(ROWS)), 'Proc "X"\nline')
    assert 'label="Prüfung \\"A\\"\\n3× · 33.3 min"' in dot
    assert 'label="back\\\\slash\\n2× · 20.0 min"' in dot
    assert 'label="Proc \\"X\\"\\nline — 2 cases"' in dot


def test_render_svg_and_png_with_unicode(tmp_path):
    pending = start_map(make_log(ROWS), "Prüfung", tmp_path / "m.svg", tmp_path / "m.png")
    svg, png = pending.wait()
    text = svg.read_text(encoding="utf-8")
    assert "Prüfung &quot;A&quot;" in text and "back\\slash" in text
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_a_map_drawn_in_the_background_equals_the_synchronous_rendering(tmp_path):
    log = make_log(ROWS)
    pending = start_map(log, "Prüfung", tmp_path / "a.svg", tmp_path / "a.png")
    assert pending.wait() == (tmp_path / "a.svg", tmp_path / "a.png")
    dot = to_dot(directly_follows(log), "Prüfung")
    assert (tmp_path / "a.svg").read_bytes() == render(dot, "svg")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    # One `dot` writing both files gives what a `dot -Tsvg` and a `dot -Tpng` give apart.
    assert (tmp_path / "a.png").read_bytes() == render(dot, "png")
    pending.cancel()  # once collected, cancel leaves the files alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.svg"]


def _children() -> set[int]:
    """Child processes (running or not yet reaped) of this thread, from /proc."""
    listing = Path(f"/proc/self/task/{threading.get_native_id()}/children")
    return {int(pid) for pid in listing.read_text().split()}


@pytest.mark.skipif(
    not Path(f"/proc/self/task/{threading.get_native_id()}/children").exists(),
    reason="needs Linux /proc children lists",
)
def test_one_dot_process_draws_both_files(tmp_path):
    before = _children()
    pending = start_map(make_log(ROWS), "x", tmp_path / "x.svg", tmp_path / "x.png")
    started = _children() - before  # `dot` stays listed until waited for, even when done
    pending.wait()
    assert len(started) == 1
    assert _children() == before
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "x.svg").read_text(encoding="utf-8")


def test_a_failing_background_rendering_raises_and_leaves_no_files(tmp_path):
    pending = PendingMap("digraph {", tmp_path / "bad.svg", tmp_path / "bad.png")
    with pytest.raises(RuntimeError, match=r"Graphviz dot failed: .*syntax error"):
        pending.wait()
    assert list(tmp_path.iterdir()) == []


def test_a_cancelled_rendering_leaves_no_files(tmp_path):
    pending = start_map(make_log(ROWS), "x", tmp_path / "m" / "x.svg", tmp_path / "m" / "x.png")
    pending.cancel()
    assert list((tmp_path / "m").iterdir()) == []


def test_missing_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    with pytest.raises(RuntimeError, match="Graphviz `dot` is not installed"):
        start_map(make_log(ROWS), "x", tmp_path / "x.svg", tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_large_maps_are_cut_and_say_so():
    rows = [
        dict(case=f"c{k}", act=f"A{i:02d}", ts=f"2024-01-01 {i // 60:02d}:{i % 60:02d}")
        for k in range(2)
        for i in range(50)
    ]
    rows += [dict(case="c9", act="A00", ts="2024-01-01 00:00")]
    dfg = directly_follows(make_log(rows))
    dot = to_dot(dfg, "big", max_nodes=10, max_edges=5)
    assert "showing 10 of 50 activities, 5 of 49 edges (10.2 % of steps)" in dot
    assert dot.count(" -> n") - dot.count("start -> ") == 5
    full = to_dot(dfg, "big", max_nodes=50, max_edges=49)
    assert "showing" not in full


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("Order to Cash", "Order_to_Cash"),
        ("Prüfung/Ω", "Prüfung_Ω"),
        ("a\"b'c\\d", "a_b_c_d"),
        ("../etc", "_etc"),
        ("...", "process"),
        ("", "process"),
        ("受付.v2", "受付.v2"),
    ],
)
def test_safe_filename(name, stem):
    assert safe_filename(name) == stem
