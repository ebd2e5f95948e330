"""Data-quality checks on small literal logs with known findings."""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from pipelines.quality import CHECKS, check_quality
from pipelines.read import read_log

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["case,activity,start,end,resource,process", *rows]) + "\n")
    return path


def test_findings_per_process(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "log.csv",
        [
            # ap: c1 listed out of order (b before a in time), one duplicate, one missing resource
            "c1,a,,2025-01-02 10:00,ann,ap",
            "c1,b,,2025-01-01 10:00,ann,ap",
            "c1,b,,2025-01-01 10:00,ann,ap",
            "c2,a,,2025-01-03 10:00,,ap",
            "c2,b,2025-01-03 12:00,2025-01-03 11:00,bob,ap",
            "c3,a,,2025-01-04 10:00,bob,ap",
            "c3,b,,1970-01-01 00:00,bob,ap",
            # hr: clean
            "h1,x,2025-02-01 09:00,2025-02-01 10:00,eve,hr",
            "h1,y,,2025-02-02 10:00,eve,hr",
            "h2,x,,2025-02-03 10:00,eve,hr",
        ],
    )
    report = check_quality(read_log(path), "log.csv", now=NOW)
    found = {
        (p, c): (s, n)
        for p, c, s, n in report.table.select("process", "check", "severity", "rows").rows()
    }
    assert found == {
        ("ap", "out_of_order"): ("warning", 3),  # b, b after a(01-02); c3's 1970 event
        ("ap", "duplicate_events"): ("warning", 1),
        ("ap", "timestamp_outliers"): ("warning", 1),
        ("ap", "start_after_complete"): ("warning", 1),
        ("ap", "missing_resource"): ("info", 1),
        ("ap", "unmatched_lifecycle_starts"): ("ok", 0),
        ("ap", "nonstandard_lifecycle"): ("ok", 0),
        ("ap", "single_activity"): ("ok", 0),
        ("ap", "single_case"): ("ok", 0),
        ("ap", "single_instant"): ("ok", 0),
        **{("hr", check): ("ok", 0) for check in CHECKS},
    }
    assert report.table.columns == ["process", "check", "severity", "rows", "detail"]
    assert [w.message.split(":")[0] for w in report.warnings] == ["process 'ap'"] * 4
    assert all(w.file == "log.csv" for w in report.warnings)


def test_outlier_by_iqr_and_future(tmp_path: Path) -> None:
    days = [f"c{i},a,,2025-01-{i:02d} 10:00,ann,p" for i in range(1, 21)]
    path = write_csv(
        tmp_path / "log.csv",
        [*days, "c21,a,,2024-01-01 10:00,ann,p", "c22,a,,2027-01-01 10:00,ann,p"],
    )
    report = check_quality(read_log(path), "log.csv", now=NOW)
    rows = report.table.filter(pl.col("check") == "timestamp_outliers")["rows"].to_list()
    assert rows == [2]


def test_unmatched_starts_counted(tmp_path: Path) -> None:
    path = tmp_path / "lc.csv"
    path.write_text(
        "case,activity,timestamp,lifecycle:transition\n"
        "c1,a,2025-01-01 08:00,start\n"
        "c1,a,2025-01-01 09:00,complete\n"
        "c1,b,2025-01-01 09:30,start\n"
        "c2,a,2025-01-01 08:00,start\n"
        "c2,a,2025-01-01 08:10,start\n"
        "c2,a,2025-01-01 09:00,complete\n"
    )
    log = read_log(path)
    assert log.select("case_id", "activity").rows() == [("c1", "a"), ("c2", "a")]
    assert log["start_timestamp"].dt.strftime("%H:%M").to_list() == ["08:00", "08:00"]
    report = check_quality(log, "lc.csv", now=NOW)
    row = report.table.filter(pl.col("check") == "unmatched_lifecycle_starts")
    assert row.select("process", "rows").rows() == [("lc", 2)]


def test_log_without_bookkeeping_columns() -> None:
    log = pl.DataFrame(
        {
            "case_id": ["1", "2"],
            "activity": ["a", "b"],
            "timestamp": [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)],
            "start_timestamp": [None, None],
            "resource": ["x", "x"],
            "process": ["p", "p"],
        },
        schema_overrides={"start_timestamp": pl.Datetime("us", "UTC")},
    )
    report = check_quality(log, "demo", now=NOW)
    expected = pl.DataFrame(
        {
            "process": ["p"] * len(CHECKS),
            "check": list(CHECKS),
            "severity": ["ok"] * len(CHECKS),
            "rows": [0] * len(CHECKS),
            "detail": [d for _, d in CHECKS.values()],
        }
    )
    assert_frame_equal(report.table, expected)
    assert report.warnings == ()
