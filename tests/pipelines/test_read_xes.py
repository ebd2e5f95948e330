"""XES reading against pm4py's own lxml importer, lifecycle pairing, and unsafe/broken XML."""

import gzip
import time
import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.errors import InputError
from pipelines.normalize import UNMATCHED_STARTS
from pipelines.read import LogOptions, read_log
from pipelines.schema import COLUMNS, SCHEMA
from pipelines.xes import DTD_MESSAGE, read_xes

XES_LOGS = [
    "running-example.xes",
    "repair_example.xes.gz",
    "receipt.xes.gz",
    "roadtraffic100traces.xes",
]


def pm4py_events(path: Path) -> pd.DataFrame:
    """pm4py's reference reading (the classic lxml `iterparse` variant, not rustxes)."""
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pm4py.read_xes(str(path), variant="iterparse", show_progress_bar=False)
    return frame


def complete_only(frame: pd.DataFrame) -> pd.DataFrame:
    """pm4py keeps every lifecycle event; ours keeps one row per completed instance, so the
    reference is restricted to complete events and events without a lifecycle."""
    if "lifecycle:transition" not in frame.columns:
        return frame
    lc = frame["lifecycle:transition"].fillna("complete").str.lower()
    return frame[lc == "complete"]


@pytest.mark.parametrize("name", XES_LOGS)
def test_counts_and_events_equal_pm4py(data_dir: Path, name: str) -> None:
    log = read_log(data_dir / name)
    ref = complete_only(pm4py_events(data_dir / name))
    assert log.height == len(ref)
    assert log["case_id"].n_unique() == ref["case:concept:name"].nunique()
    assert log["activity"].n_unique() == ref["concept:name"].nunique()
    ours = sorted(
        zip(
            log["case_id"].to_list(),
            log["activity"].to_list(),
            log["timestamp"].to_list(),
            strict=True,
        )
    )
    theirs = sorted(
        zip(
            ref["case:concept:name"].astype(str),
            ref["concept:name"].astype(str),
            (t.to_pydatetime() for t in ref["time:timestamp"]),
            strict=True,
        )
    )
    assert ours == theirs
    assert log.schema == {**log.schema, **SCHEMA}
    assert log.columns[: len(COLUMNS)] == list(COLUMNS)
    assert log["process"].unique().to_list() == [name.split(".", maxsplit=1)[0]]


def test_known_sizes(data_dir: Path) -> None:
    sizes = {
        name: (log["case_id"].n_unique(), log.height, log["activity"].n_unique())
        for name in XES_LOGS
        for log in [read_log(data_dir / name)]
    }
    assert sizes == {
        "running-example.xes": (6, 42, 8),
        "repair_example.xes.gz": (1104, 7733, 8),
        "receipt.xes.gz": (1434, 8577, 27),
        "roadtraffic100traces.xes": (100, 390, 10),
    }


def test_repair_pairing_one_row_per_instance(data_dir: Path) -> None:
    path = data_dir / "repair_example.xes.gz"
    log = read_log(path)
    ref = pm4py_events(path)
    lc = ref["lifecycle:transition"].str.lower()
    assert set(lc) == {"start", "complete"}
    assert log.height == int((lc == "complete").sum())  # 7733 of 11855 events
    starts = int((lc == "start").sum())
    paired = log.filter(pl.col("start_timestamp").is_not_null())
    unmatched = int(
        log.group_by("case_id").agg(pl.col(UNMATCHED_STARTS).first())[UNMATCHED_STARTS].sum()
    )
    assert paired.height + unmatched == starts
    assert unmatched == 1
    assert paired.filter(pl.col("start_timestamp") > pl.col("timestamp")).height == 0
    # Four activities are recorded with start and complete; every complete of them is paired.
    nulls = log.group_by("activity").agg(pl.col("start_timestamp").null_count(), pl.len())
    assert sorted(nulls.rows()) == [
        ("Analyze Defect", 0, 1104),
        ("Archive Repair", 1000, 1000),
        ("Inform User", 1102, 1102),
        ("Register", 1104, 1104),
        ("Repair (Complex)", 0, 724),
        ("Repair (Simple)", 0, 785),
        ("Restart Repair", 406, 406),
        ("Test Repair", 0, 1508),
    ]
    assert paired.height == 1104 + 724 + 785 + 1508


def test_pairing_fifo_per_resource(tmp_path: Path) -> None:
    events = [
        ("a", "start", "2024-01-01T08:00:00Z", "ann"),
        ("a", "start", "2024-01-01T08:30:00Z", "bob"),
        ("a", "complete", "2024-01-01T09:00:00Z", "bob"),
        ("a", "complete", "2024-01-01T09:10:00Z", "ann"),
        ("b", "schedule", "2024-01-01T09:20:00Z", "ann"),
        ("b", "complete", "2024-01-01T09:30:00Z", "ann"),
        ("a", "start", "2024-01-01T10:00:00Z", "ann"),
        ("a", "start", "2024-01-01T10:05:00Z", "ann"),
        ("a", "complete", "2024-01-01T11:00:00Z", "ann"),
    ]
    body = "".join(
        f'<event><string key="concept:name" value="{a}"/>'
        f'<string key="lifecycle:transition" value="{lc}"/>'
        f'<date key="time:timestamp" value="{t}"/><string key="org:resource" value="{r}"/></event>'
        for a, lc, t, r in events
    )
    path = tmp_path / "pairs.xes"
    path.write_text(
        f'<?xml version="1.0"?><log><trace><string key="concept:name" value="c1"/>'
        f'<string key="region" value="north"/>{body}</trace></log>'
    )
    log = read_log(path)
    got = log.select(
        "activity",
        "resource",
        pl.col("start_timestamp").dt.strftime("%H:%M"),
        pl.col("timestamp").dt.strftime("%H:%M"),
        "case:region",
        UNMATCHED_STARTS,
    ).rows()
    assert got == [
        ("a", "bob", "08:30", "09:00", "north", 1),
        ("a", "ann", "08:00", "09:10", "north", 1),
        ("b", "ann", None, "09:30", "north", 1),
        ("a", "ann", "10:00", "11:00", "north", 1),
    ]


@pytest.mark.parametrize("name", XES_LOGS)
def test_rustxes_and_lxml_fallback_agree(data_dir: Path, name: str) -> None:
    fast = read_xes(data_dir / name, name, engine="rustxes")
    safe = read_xes(data_dir / name, name, engine="lxml")
    assert_frame_equal(fast, safe)


def test_options_applied(data_dir: Path) -> None:
    log = read_log(
        data_dir / "running-example.xes",
        LogOptions(
            activity_to_system={"register request": "CRM", "pay compensation": "ERP"},
            exclude_resources=("Pete",),
            process_attribute="creator",
        ),
    )
    assert "Pete" not in log["resource"].to_list()
    assert log.height == 42 - 7
    assert log["process"].unique().to_list() == ["Fluxicon Nitro"]  # case:creator
    systems = dict(log.group_by("system").len().rows())
    assert systems == {"CRM": 3, "ERP": 3, None: 29}  # Pete registered 3 of 6


def _xes(tmp_path: Path, name: str, text: str, gz: bool = False) -> Path:
    path = tmp_path / name
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<log><trace><string key="concept:name" value="&lol9;"/><event>
<string key="concept:name" value="a"/><date key="time:timestamp" value="2024-01-01T00:00:00Z"/>
</event></trace></log>
"""
XXE = """<?xml version="1.0" encoding="UTF-8"?>
<!-- an export -->
<!DOCTYPE log [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<log><trace><string key="concept:name" value="&xxe;"/><event>
<string key="concept:name" value="a"/><date key="time:timestamp" value="2024-01-01T00:00:00Z"/>
</event></trace></log>
"""


@pytest.mark.parametrize(
    ("name", "text", "gz", "line"),
    [
        ("bomb.xes", BILLION_LAUGHS, False, 2),
        ("xxe.xes", XXE, False, 3),
        ("xxe.xes.gz", XXE, True, 3),
        ("bomb.xml", BILLION_LAUGHS, False, 2),
    ],
)
def test_dtd_rejected_fast(tmp_path: Path, name: str, text: str, gz: bool, line: int) -> None:
    path = _xes(tmp_path, name, text, gz)
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        read_log(path)
    assert time.perf_counter() - started < 0.5
    assert str(caught.value) == f"error: {path}:{line}: {DTD_MESSAGE}"


def test_dtd_rejected_by_fallback_parser_too(tmp_path: Path) -> None:
    path = _xes(tmp_path, "xxe.xes", XXE)
    with pytest.raises(InputError, match="remove the DOCTYPE"):
        read_xes(path, str(path), engine="lxml")


def test_truncated_gzip(tmp_path: Path, data_dir: Path) -> None:
    data = (data_dir / "repair_example.xes.gz").read_bytes()
    path = tmp_path / "cut.xes.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as caught:
        read_log(path)
    assert str(caught.value).startswith(
        f"error: {path}: cannot read the file: truncated or corrupt gzip data"
    )


def test_malformed_xml_names_line(tmp_path: Path, data_dir: Path) -> None:
    lines = (data_dir / "running-example.xes").read_text().splitlines()
    lines[40] = lines[40].replace("</event>", "</evnt>") if "</event>" in lines[40] else "</evnt>"
    path = tmp_path / "broken.xes"
    path.write_text("\n".join(lines))
    with pytest.raises(InputError) as caught:
        read_log(path)
    assert str(caught.value).startswith(f"error: {path}:41: malformed XML: ")


def test_truncated_plain_xml(tmp_path: Path, data_dir: Path) -> None:
    text = (data_dir / "running-example.xes").read_text()
    path = tmp_path / "short.xes"
    path.write_text(text[:3000])
    with pytest.raises(InputError, match=rf"^error: {path}:\d+: malformed XML: "):
        read_log(path)
