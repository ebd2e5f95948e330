"""`scan_log(..., process=…)`: one process's rows, read lazily, the filter inside the scan."""

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.demo import generate
from pipelines.errors import InputError
from pipelines.read import scan_log
from pipelines.schema import COLUMNS

ORDER = ["case_id", "timestamp", "activity"]


@pytest.fixture(scope="module")
def demo() -> pl.DataFrame:
    return generate(300, 7).log


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(COLUMNS).sort(ORDER)


def test_a_hive_partitioned_log_reads_only_the_process_folder(
    demo: pl.DataFrame, tmp_path: Path
) -> None:
    folder = tmp_path / "log"
    demo.write_parquet(folder, partition_by="process")
    assert sorted(p.name for p in folder.iterdir())[:2] == [
        "process=accounts_payable",
        "process=accounts_receivable",
    ]
    expected = _rows(demo.filter(pl.col("process") == "payroll"))
    scan = scan_log(folder, process="payroll")
    plan = scan.explain()
    assert "process=payroll" in plan and "process=procurement" not in plan  # pruned files
    assert_frame_equal(_rows(scan.collect()), expected)
    assert expected.height == 67

    # proof that the other partitions are never read: they may even be damaged (all but the
    # first, whose footer gives the schema)
    damaged = [
        part
        for part in folder.glob("process=*/*.parquet")
        if part.parent.name not in ("process=payroll", "process=accounts_payable")
    ]
    assert len(damaged) == 7
    for part in damaged:
        part.write_bytes(b"not parquet")
    assert_frame_equal(_rows(scan_log(folder, process="payroll").collect()), expected)
    with pytest.raises((InputError, pl.exceptions.PolarsError, OSError)):
        scan_log(folder).collect()


def test_a_single_file_pushes_the_process_predicate_into_the_scan(
    demo: pl.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "log.parquet"
    demo.write_parquet(path, row_group_size=100)
    scan = scan_log(path, process="recruiting")
    plan = scan.explain()
    scan_part = plan[plan.index("Parquet SCAN") :]
    assert 'SELECTION: col("process") == "recruiting"' in scan_part  # inside the scan
    got = scan.collect()
    assert_frame_equal(_rows(got), _rows(demo.filter(pl.col("process") == "recruiting")))
    assert set(got["process"]) == {"recruiting"}
    assert scan_log(path, process="no such process").collect().height == 0


def test_without_a_process_column_the_file_name_is_the_process(
    demo: pl.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "payroll_export.parquet"
    demo.filter(pl.col("process") == "payroll").drop("process").write_parquet(path)
    assert scan_log(path, process="payroll_export").collect().height == 67
    assert scan_log(path, process="payroll").collect().height == 0
