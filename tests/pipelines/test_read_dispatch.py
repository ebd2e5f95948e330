"""Format recognition by suffix and content, timestamp formats and time zones."""

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.errors import InputError
from pipelines.read import LogOptions, detect_format, read_log
from pipelines.schema import COLUMNS
from pipelines.xes import has_naive_dates, read_xes


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_timestamp_spellings(tmp_path: Path) -> None:
    path = tmp_path / "stamps.csv"
    path.write_text(
        "Case,Activity,Timestamp\n"
        "c1,iso-z,2024-03-01T14:05:00Z\n"
        "c1,iso-offset,2024-07-01T14:05:00.250+02:00\n"
        "c1,iso-compact-offset,2024-07-01 14:05:00+0200\n"
        "c1,naive-winter,2024-01-15 09:30:00\n"
        "c1,naive-summer,2024-07-15T09:30\n"
        "c1,disco,2024/07/16 09:30:00.125\n"
        "c1,european,17.07.2024 09:30\n"
        "c1,date-only,2024-07-18\n"
    )
    log = read_log(path, LogOptions(timezone="Europe/Berlin"))
    got = dict(zip(log["activity"], log["timestamp"], strict=True))
    assert got == {
        "iso-z": utc(2024, 3, 1, 14, 5),
        "iso-offset": datetime(2024, 7, 1, 12, 5, 0, 250000, tzinfo=UTC),
        "iso-compact-offset": utc(2024, 7, 1, 12, 5),
        "naive-winter": utc(2024, 1, 15, 8, 30),
        "naive-summer": utc(2024, 7, 15, 7, 30),
        "disco": datetime(2024, 7, 16, 7, 30, 0, 125000, tzinfo=UTC),
        "european": utc(2024, 7, 17, 7, 30),
        "date-only": utc(2024, 7, 17, 22, 0),
    }


def test_unknown_time_zone(data_dir: Path) -> None:
    path = data_dir / "running-example.xes"
    with pytest.raises(InputError) as caught:
        read_log(path, LogOptions(timezone="Mars/Olympus"))
    assert str(caught.value) == (
        f"error: {path}: unknown time zone 'Mars/Olympus' (mining.timezone); use an IANA name "
        "such as Europe/Berlin or UTC"
    )


NAIVE_XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <trace><string key="concept:name" value="c1"/>
    <event><string key="concept:name" value="a"/>
      <date key="time:timestamp" value="2024-07-01T10:00:00"/></event>
    <event><string key="concept:name" value="b"/>
      <date key="time:timestamp" value="2024-07-01T10:00:00.000+00:00"/></event>
  </trace>
</log>
"""


def test_naive_xes_dates_in_configured_zone(tmp_path: Path) -> None:
    path = tmp_path / "naive.xes"
    path.write_text(NAIVE_XES)
    assert has_naive_dates(path, "naive.xes")
    berlin = read_log(path, LogOptions(timezone="Europe/Berlin"))
    assert berlin.select("activity", "timestamp").rows() == [
        ("a", utc(2024, 7, 1, 8)),
        ("b", utc(2024, 7, 1, 10)),
    ]
    assert read_log(path)["timestamp"].to_list() == [utc(2024, 7, 1, 10)] * 2


def test_offsets_only_keeps_fast_path(data_dir: Path) -> None:
    assert not has_naive_dates(data_dir / "repair_example.xes.gz", "repair")


def test_content_recognition(data_dir: Path, tmp_path: Path) -> None:
    xes_as_xml = tmp_path / "export.xml"
    shutil.copy(data_dir / "running-example.xes", xes_as_xml)
    no_suffix = tmp_path / "export"
    shutil.copy(data_dir / "running-example.xes", no_suffix)
    gz_as_xes = tmp_path / "running-example.xes"
    gz_as_xes.write_bytes(gzip.compress((data_dir / "running-example.xes").read_bytes()))
    ocel_json = tmp_path / "p2p.json"
    shutil.copy(data_dir / "ocel20_example.jsonocel", ocel_json)
    assert detect_format(xes_as_xml, "x") == "xes"
    assert detect_format(no_suffix, "x") == "xes"
    assert detect_format(ocel_json, "x") == "ocel-json"
    reference = read_log(data_dir / "running-example.xes").select(COLUMNS).drop("process")
    for path in (xes_as_xml, no_suffix, gz_as_xes):
        assert_frame_equal(read_log(path).select(COLUMNS).drop("process"), reference)
    assert read_log(ocel_json, LogOptions(object_type="Payment")).height == 3


def test_parquet_recognised_by_magic(data_dir: Path, tmp_path: Path) -> None:
    log = read_log(data_dir / "running-example.xes")
    path = tmp_path / "events.bin"
    log.select(COLUMNS).write_parquet(path)
    assert detect_format(path, "x") == "parquet"
    assert_frame_equal(read_log(path).select(COLUMNS), log.select(COLUMNS))


def test_json_that_is_not_ocel(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"events": 3}')
    with pytest.raises(InputError) as caught:
        read_log(path, LogOptions(object_type="Order"))
    assert str(caught.value) == (
        f"error: {path}: JSON file is not an OCEL 2.0 log (no 'events' and 'objectTypes')"
    )


def test_xes_engines_agree_on_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "naive.xes"
    path.write_text(NAIVE_XES)
    fast = read_xes(path, "n", engine="rustxes")
    safe = read_xes(path, "n", engine="lxml")
    assert_frame_equal(fast, safe)
    assert fast.schema["time:timestamp"] == pl.Datetime("us", "UTC")
