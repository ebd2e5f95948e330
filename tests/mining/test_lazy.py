"""The lazy KPI path (`scan_log` + streaming `compute_tables`) gives the eager path's tables.

Counts, strings and row order are identical; floats are equal to 1e-12 relative, because the
streaming engine adds the handling hours of a process in another order than the in-memory one.
"""

from datetime import UTC, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mining.kpis import MinedTables, MiningConfig, compute_tables
from pipelines.demo import generate
from pipelines.errors import InputError
from pipelines.read import LogOptions, read_log, scan_log
from pipelines.schema import CASE_ID, COLUMNS
from tests.mining.conftest import log_path


def assert_tables_equal(left: MinedTables, right: MinedTables) -> None:
    for name in ("process_kpis", "activity_stats", "handovers", "system_usage"):
        assert_frame_equal(getattr(left, name), getattr(right, name), rel_tol=1e-12, abs_tol=0.0)


@pytest.fixture(scope="module")
def demo_log() -> pl.DataFrame:
    return generate(cases=400, seed=3).log


def test_lazy_frame_equals_eager(demo_log):
    eager = compute_tables(demo_log)
    lazy = compute_tables(demo_log.lazy())
    assert_tables_equal(eager, lazy)
    assert eager.process_kpis.height == demo_log["process"].n_unique()


def test_scan_parquet_equals_read_log(demo_log, tmp_path):
    path = tmp_path / "demo.parquet"
    demo_log.write_parquet(path)
    scanned = scan_log(path)
    assert isinstance(scanned, pl.LazyFrame)
    assert scanned.collect_schema().names()[: len(COLUMNS)] == list(COLUMNS)
    assert_tables_equal(compute_tables(read_log(path)), compute_tables(scanned))


def test_scan_folder_of_parts_equals_whole(demo_log, tmp_path):
    cases = demo_log[CASE_ID].unique().sort()
    half = cases[len(cases) // 2]
    parts = tmp_path / "parts"
    parts.mkdir()
    demo_log.filter(pl.col(CASE_ID) < half).write_parquet(parts / "part-000.parquet")
    demo_log.filter(pl.col(CASE_ID) >= half).write_parquet(parts / "part-001.parquet")
    config = MiningConfig(hours_per_fte=1500.0)
    assert_tables_equal(compute_tables(demo_log, config), compute_tables(scan_log(parts), config))


@pytest.mark.parametrize("name", ["receipt.xes.gz", "repair_example.xes.gz"])
def test_scan_real_log_equals_eager(name, tmp_path):
    # receipt has no start timestamps (handling estimated from resource gaps), repair has them.
    log = read_log(log_path(name))
    path = tmp_path / "log.parquet"
    log.write_parquet(path)
    eager = compute_tables(log)
    assert_tables_equal(eager, compute_tables(scan_log(path)))
    expected = "estimated" if name == "receipt.xes.gz" else "measured"
    assert eager.process_kpis["handling_time_source"].to_list() == [expected]


def test_scan_reads_naive_timestamps_in_the_given_zone(tmp_path):
    path = tmp_path / "naive.parquet"
    pl.DataFrame(
        {
            "Case ID": ["c1", "c1"],
            "Activity": ["a", "b"],
            "Complete Timestamp": [datetime(2025, 1, 6, 9), datetime(2025, 1, 6, 10)],
        }
    ).write_parquet(path)
    log = scan_log(path, LogOptions(timezone="Europe/Berlin")).collect()
    assert log["timestamp"].to_list() == [
        datetime(2025, 1, 6, 8, tzinfo=UTC),
        datetime(2025, 1, 6, 9, tzinfo=UTC),
    ]
    assert log["process"].to_list() == ["naive", "naive"]


def test_scan_rejects_lifecycle_and_text_timestamps(tmp_path):
    life = tmp_path / "life.parquet"
    pl.DataFrame(
        {
            "case_id": ["c"],
            "activity": ["a"],
            "timestamp": [datetime(2025, 1, 1, tzinfo=UTC)],
            "lifecycle:transition": ["start"],
        }
    ).write_parquet(life)
    with pytest.raises(InputError, match="lifecycle transitions: scan_log needs one row"):
        scan_log(life)
    text = tmp_path / "text.parquet"
    pl.DataFrame({"case_id": ["c"], "activity": ["a"], "timestamp": ["2025-01-01"]}).write_parquet(
        text
    )
    with pytest.raises(InputError, match="'timestamp' is String, not a timestamp"):
        scan_log(text)


def test_lazy_empty_log_is_an_input_error(demo_log):
    with pytest.raises(InputError, match="no events"):
        compute_tables(demo_log.lazy().filter(pl.lit(False)))
