"""Our XES writer: round trips through pm4py's readers and our own, escaping, gzip, order."""

import gzip
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import schema
from pipelines.demo import generate
from pipelines.xes_writer import write_xes


def ts(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Two cases; odd values on purpose: quotes, markup, ampersands, non-ASCII, microseconds,
# a row without start, null resource/role/system, extra typed attributes.
LOG = pl.DataFrame(
    {
        "case_id": ["c<1>", "c<1>", "c<1>", 'c"2"'],
        "activity": ['Check "Invoice"', "Prüfung & <Freigabe>", "Pay", "Zoë's task"],
        "timestamp": [
            ts(2025, 3, 3, 9, 0, 0, 123456),
            ts(2025, 3, 3, 10, 30, 0, 1),
            ts(2025, 3, 3, 22, 5, 0),
            ts(2025, 3, 4, 8, 15, 30, 999999),
        ],
        "start_timestamp": [
            ts(2025, 3, 3, 8, 45, 0, 500000),
            ts(2025, 3, 3, 10, 0, 0),
            None,
            ts(2025, 3, 4, 8, 0, 0),
        ],
        "resource": ["Łukasz", "Anna", "BATCH", None],
        "role": ["ap_clerk", "manager", None, None],
        "process": ["accounts_payable", "accounts_payable", "accounts_payable", "payroll"],
        "system": ["ERP", "ERP", "ERP", None],
        "amount": [120.5, 99.0, None, 7.25],
        "lines": [3, 1, 1, None],
        "urgent": [True, False, None, True],
        "note": ["a\tb", None, "x > y", "€ 5"],
    },
    schema_overrides={"timestamp": schema.TS_DTYPE, "start_timestamp": schema.TS_DTYPE},
)


def pm4py_read(path: Path, variant: str | None = None) -> pd.DataFrame:
    import pm4py

    with warnings.catch_warnings():
        # pm4py announces its rustxes default on every read; not ours to fix.
        warnings.filterwarnings("ignore", message="In the current version", category=UserWarning)
        kwargs = {"variant": variant} if variant else {}
        return pm4py.read_xes(str(path), show_progress_bar=False, **kwargs)


@pytest.mark.parametrize("name", ["log.xes", "log.xes.gz"])
@pytest.mark.parametrize("variant", ["iterparse", None])
def test_round_trip_through_pm4py(tmp_path: Path, name: str, variant: str | None) -> None:
    path = write_xes(LOG, tmp_path / name)
    events = pm4py_read(path, variant)
    assert len(events) == LOG.height + LOG["start_timestamp"].count()  # 4 completes + 3 starts
    got = pl.from_pandas(events[["case:concept:name", "concept:name", "lifecycle:transition"]])
    got = got.with_columns(
        pl.Series("t", pd.to_datetime(events["time:timestamp"], utc=True)).cast(schema.TS_DTYPE)
    )
    expected = pl.DataFrame(
        {
            "case:concept:name": ["c<1>"] * 5 + ['c"2"'] * 2,
            "concept:name": [
                'Check "Invoice"',
                'Check "Invoice"',
                "Prüfung & <Freigabe>",
                "Prüfung & <Freigabe>",
                "Pay",
                "Zoë's task",
                "Zoë's task",
            ],
            "lifecycle:transition": ["start", "complete"] * 2 + ["complete", "start", "complete"],
            "t": [
                ts(2025, 3, 3, 8, 45, 0, 500000),
                ts(2025, 3, 3, 9, 0, 0, 123456),
                ts(2025, 3, 3, 10, 0, 0),
                ts(2025, 3, 3, 10, 30, 0, 1),
                ts(2025, 3, 3, 22, 5, 0),
                ts(2025, 3, 4, 8, 0, 0),
                ts(2025, 3, 4, 8, 15, 30, 999999),
            ],
        },
        schema_overrides={"t": schema.TS_DTYPE},
    )
    assert_frame_equal(got, expected)
    assert list(events["org:resource"].fillna("-")) == [
        "Łukasz",
        "Łukasz",
        "Anna",
        "Anna",
        "BATCH",
        "-",
        "-",
    ]
    assert set(events["process"]) == {"accounts_payable", "payroll"}


def test_round_trip_through_our_reader(tmp_path: Path) -> None:
    read = pytest.importorskip("pipelines.read")
    path = write_xes(LOG, tmp_path / "log.xes.gz")
    back = read.read_log(str(path))
    # typed extra attributes come back typed (the reader may widen integer widths)
    assert_frame_equal(
        back.select(LOG.columns).sort("case_id", "timestamp"),
        LOG.sort("case_id", "timestamp"),
        check_dtypes=False,
    )
    assert back.schema["amount"] == pl.Float64
    assert back.schema["urgent"] == pl.Boolean


def test_demo_log_round_trip_is_lossless(tmp_path: Path) -> None:
    read = pytest.importorskip("pipelines.read")
    log = generate(500, seed=5).log
    path = write_xes(log, tmp_path / "demo.xes.gz")
    assert_frame_equal(read.read_log(str(path)).select(log.columns), log)
    events = pm4py_read(path, "iterparse")
    assert len(events) == log.height + log["start_timestamp"].count()
    assert events["case:concept:name"].nunique() == 500


def test_xml_text_escaped_and_typed(tmp_path: Path) -> None:
    text = write_xes(LOG, tmp_path / "log.xes").read_text(encoding="utf-8")
    assert '<string key="concept:name" value="c&lt;1&gt;"/>' in text
    assert 'value="Check &quot;Invoice&quot;"' in text
    assert 'value="Prüfung &amp; &lt;Freigabe&gt;"' in text
    assert '<string key="note" value="a&#9;b"/>' in text
    assert '<float key="amount" value="120.5"/>' in text
    assert '<int key="lines" value="3"/>' in text
    assert '<boolean key="urgent" value="true"/>' in text
    assert '<date key="time:timestamp" value="2025-03-03T09:00:00.123456+00:00"/>' in text
    assert text.count("<trace>") == 2
    assert text.count("<event>") == 7
    # a null attribute is left out, not written empty
    assert 'value=""' not in text


def test_gzip_is_deterministic_and_undated(tmp_path: Path) -> None:
    a = write_xes(LOG, tmp_path / "a.xes.gz").read_bytes()
    b = write_xes(LOG, tmp_path / "b.xes.gz").read_bytes()
    assert a == b
    assert a[4:8] == b"\x00\x00\x00\x00"
    plain = write_xes(LOG, tmp_path / "c.xes").read_bytes()
    assert gzip.decompress(a) == plain


def test_naive_timestamps_are_taken_as_utc(tmp_path: Path) -> None:
    naive = LOG.with_columns(
        pl.col("timestamp").dt.replace_time_zone(None),
        pl.col("start_timestamp").dt.replace_time_zone(None),
    )
    berlin = LOG.with_columns(
        pl.col("timestamp").dt.convert_time_zone("Europe/Berlin"),
        pl.col("start_timestamp").dt.convert_time_zone("Europe/Berlin"),
    )
    reference = write_xes(LOG, tmp_path / "utc.xes").read_bytes()
    assert write_xes(naive, tmp_path / "naive.xes").read_bytes() == reference
    assert write_xes(berlin, tmp_path / "berlin.xes").read_bytes() == reference


def test_empty_log_and_missing_column(tmp_path: Path) -> None:
    path = write_xes(LOG.clear(), tmp_path / "empty.xes")
    assert path.read_text(encoding="utf-8").endswith("</log>\n")
    with pytest.raises(ValueError, match="write_xes: the log has no column activity"):
        write_xes(LOG.drop("activity"), tmp_path / "bad.xes")
    with pytest.raises(ValueError, match="write_xes: column case_id has empty values"):
        write_xes(LOG.with_columns(pl.lit(None, pl.String).alias("case_id")), tmp_path / "b.xes")
