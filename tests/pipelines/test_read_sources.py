"""The same log as XES, CSV (`,` `;` tab, Disco headers), Parquet, SQLite and PostgreSQL
normalizes to the same frame."""

import gzip
import shutil
import sqlite3
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.read import LogOptions, read_log, read_logs
from pipelines.schema import COLUMNS


@pytest.fixture(scope="module")
def reference(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """repair_example (start/complete pairs) read from XES, as `repair`, schema columns only."""
    path = tmp_path_factory.mktemp("xes") / "repair.xes.gz"
    shutil.copy(data_dir / "repair_example.xes.gz", path)
    log = read_log(path).select(COLUMNS)
    assert log.height == 7733
    assert log["start_timestamp"].null_count() == 7733 - 4121
    return log


def _same(log: pl.DataFrame, reference: pl.DataFrame) -> None:
    assert_frame_equal(log.select(COLUMNS), reference)


def test_csv_comma_iso_with_offsets(reference: pl.DataFrame, tmp_path: Path) -> None:
    berlin = reference.select(
        pl.col("case_id").alias("case:concept:name"),
        pl.col("activity").alias("concept:name"),
        *[
            pl.col(c)
            .dt.convert_time_zone("Asia/Kolkata")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .alias(n)
            for c, n in (("start_timestamp", "start_timestamp"), ("timestamp", "time:timestamp"))
        ],
        pl.col("resource").alias("org:resource"),
    )
    path = tmp_path / "repair.csv"
    berlin.write_csv(path)
    assert path.read_text().splitlines()[0] == (
        "case:concept:name,concept:name,start_timestamp,time:timestamp,org:resource"
    )
    _same(read_log(path), reference)


def _disco(reference: pl.DataFrame, fmt: str, tz: str = "UTC") -> pl.DataFrame:
    return reference.select(
        pl.col("case_id").alias("Case ID"),
        pl.col("activity").alias("Activity"),
        pl.col("start_timestamp")
        .dt.convert_time_zone(tz)
        .dt.strftime(fmt)
        .alias("Start Timestamp"),
        pl.col("timestamp").dt.convert_time_zone(tz).dt.strftime(fmt).alias("Complete Timestamp"),
        pl.col("resource").alias("Resource"),
    )


def test_csv_semicolon_disco_headers(reference: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "repair.csv"
    _disco(reference, "%Y/%m/%d %H:%M:%S%.3f").write_csv(path, separator=";")
    assert path.read_text().splitlines()[0] == (
        "Case ID;Activity;Start Timestamp;Complete Timestamp;Resource"
    )
    _same(read_log(path), reference)


def test_csv_gz_tab_european_dates_in_local_time(reference: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "repair.csv.gz"
    frame = _disco(reference, "%d.%m.%Y %H:%M:%S", tz="Europe/Berlin").rename(
        {"Case ID": "case_id", "Complete Timestamp": "End Timestamp"}
    )
    path.write_bytes(gzip.compress(frame.write_csv(separator="\t").encode()))
    _same(read_log(path, LogOptions(timezone="Europe/Berlin")), reference)


def test_csv_column_map(reference: pl.DataFrame, tmp_path: Path) -> None:
    frame = reference.select(
        pl.col("case_id").alias("Ticket"),
        pl.col("activity").alias("Step"),
        pl.col("start_timestamp").alias("Began"),
        pl.col("timestamp").alias("Ended"),
        pl.col("resource").alias("Agent"),
    )
    path = tmp_path / "repair.csv"
    frame.write_csv(path)
    mapping = {
        "case_id": "Ticket",
        "activity": "Step",
        "start_timestamp": "Began",
        "timestamp": "Ended",
        "resource": "Agent",
    }
    _same(read_log(path, LogOptions(column_map=mapping)), reference)


def test_parquet(reference: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "repair.parquet"
    reference.drop("process", "system", "role").rename(
        {"case_id": "CaseID", "activity": "Activity", "timestamp": "Timestamp"}
    ).write_parquet(path)
    _same(read_log(path), reference)


def test_parquet_naive_timestamps_in_options_timezone(
    reference: pl.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "repair.parquet"
    naive = reference.with_columns(
        pl.col(c).dt.convert_time_zone("America/New_York").dt.replace_time_zone(None)
        for c in ("timestamp", "start_timestamp")
    )
    naive.drop("process").write_parquet(path)
    _same(read_log(path, LogOptions(timezone="America/New_York")), reference)


def _sqlite(reference: pl.DataFrame, path: Path) -> None:
    rows = reference.select(
        "case_id",
        "activity",
        pl.col("start_timestamp").dt.strftime("%Y-%m-%d %H:%M:%S%.f"),
        pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S%.f"),
        "resource",
    ).rows()
    with sqlite3.connect(path) as db:
        db.execute(
            'CREATE TABLE events ("Case ID" TEXT, "Activity" TEXT, "Start Timestamp" TEXT, '
            '"Complete Timestamp" TEXT, "Resource" TEXT)'
        )
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
    db.close()


def test_sqlite_table_and_query(reference: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    _sqlite(reference, path)
    by_table = read_log(f"sqlite:///{path}?table=events")
    assert by_table["process"].unique().to_list() == ["events"]
    _same(by_table.with_columns(process=pl.lit("repair")), reference)
    query = "SELECT * FROM events WHERE \"Activity\" = 'Register'"
    registers = read_log(f"sqlite:///{path}", LogOptions(query=query))
    assert registers.height == 1104


@pytest.mark.postgres
def test_postgresql(reference: pl.DataFrame, postgres_uri: str) -> None:
    reference.select(
        pl.col("case_id").alias("case_id"),
        pl.col("activity").alias("activity"),
        "start_timestamp",
        pl.col("timestamp").alias("complete_timestamp"),
        "resource",
    ).write_database("repair", postgres_uri, engine="adbc", if_table_exists="replace")
    log = read_log(f"{postgres_uri}?table=repair")
    _same(log, reference)


def test_read_logs_concatenates(data_dir: Path) -> None:
    log = read_logs([data_dir / "running-example.xes", data_dir / "roadtraffic100traces.xes"])
    assert log.height == 42 + 390
    assert dict(log.group_by("process").len().rows()) == {
        "running-example": 42,
        "roadtraffic100traces": 390,
    }
    assert log.columns[: len(COLUMNS)] == list(COLUMNS)
    assert {"Costs", "amount"} <= set(log.columns)
