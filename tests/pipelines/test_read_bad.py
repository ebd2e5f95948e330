"""Every bad input (docs/event-log.md) gives one `error: <file>[:<line>]: …` line, no traceback."""

import re
from pathlib import Path

import polars as pl
import pytest

from pipelines.errors import InputError
from pipelines.read import LogOptions, read_log, read_logs

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def message(src: object, options: LogOptions = LogOptions()) -> str:  # noqa: B008
    with pytest.raises(InputError) as caught:
        read_log(src, options)  # type: ignore[arg-type]
    return str(caught.value)


def test_missing_file() -> None:
    assert (
        message(BAD / "nope.xes")
        == f"error: {BAD / 'nope.xes'}: cannot read the file: no such file"
    )


def test_directory() -> None:
    assert message(BAD) == f"error: {BAD}: cannot read the file: it is a directory"


def test_bad_timestamp_names_value_and_row() -> None:
    path = BAD / "bad_timestamp.csv"
    assert message(path) == (
        f"error: {path}:17: column 'Complete Timestamp': cannot parse '2024-13-45' as a "
        "timestamp (or it does not exist in time zone UTC); use ISO 8601 "
        "(2024-03-01T14:05:00+01:00), 'YYYY/MM/DD HH:MM:SS' or 'DD.MM.YYYY HH:MM', or fix the value"
    )


def test_missing_required_column_says_how_to_map() -> None:
    path = BAD / "missing_case.csv"
    assert message(path) == (
        f"error: {path}: missing required column 'case_id': looked for 'case:concept:name', "
        "'caseid', 'case', 'casename', 'case:id', 'traceid' (case, spaces and underscores "
        "ignored); map it with mining.column_map.case_id in the cost file "
        "(columns present: Ticket, Activity, Timestamp)"
    )


def test_column_map_to_absent_column() -> None:
    path = BAD / "missing_case.csv"
    got = message(path, LogOptions(column_map={"case_id": "Case"}))
    assert got == (
        f"error: {path}: mining.column_map.case_id: column 'Case' is not in the log "
        "(columns: Ticket, Activity, Timestamp)"
    )
    assert read_log(path, LogOptions(column_map={"case_id": "Ticket"})).height == 1


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty.csv", "empty log: the file is empty"),
        ("header_only.csv", "empty log: no events found"),
    ],
)
def test_empty(name: str, text: str) -> None:
    assert message(BAD / name) == f"error: {BAD / name}: {text}"


def test_everything_excluded_is_empty(data_dir: Path) -> None:
    path = data_dir / "running-example.xes"
    people = tuple(read_log(path)["resource"].unique().to_list())
    assert message(path, LogOptions(exclude_resources=people)) == (
        f"error: {path}: empty log: no completed events left after reading"
    )


def test_binary_junk() -> None:
    path = BAD / "junk.csv"
    assert message(path) == (
        f"error: {path}: not a CSV text file (binary content); "
        "export the log as CSV, XES or Parquet"
    )


def test_unknown_format() -> None:
    path = BAD / "notes.log"
    assert message(path).startswith(
        f"error: {path}: unknown event-log format ('.log'); supported: .xes, .xes.gz, .csv"
    )


def test_truncated_gzip_xes() -> None:
    path = BAD / "truncated.xes.gz"
    assert re.fullmatch(
        rf"error: {re.escape(str(path))}: cannot read the file: "
        r"truncated or corrupt gzip data \(.+\)",
        message(path),
    )


def test_gzip_of_truncated_xml_names_line() -> None:
    path = BAD / "truncated_xml.xes.gz"
    assert re.fullmatch(rf"error: {re.escape(str(path))}:\d+: malformed XML: .+", message(path))


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    path.write_text("Case ID,Activity\n")
    assert message(path).startswith(f"error: {path}: cannot read as Parquet: ")


def test_null_case_id_names_row(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("case,activity,timestamp\nc1,a,2024-01-01 10:00\n,b,2024-01-01 11:00\n")
    assert message(path) == (
        f"error: {path}:2: column 'case' is empty; every event needs a case id, an activity "
        "and a timestamp"
    )


def test_unreachable_postgres_hides_password() -> None:
    uri = "postgresql://bpo:s3cret-pw@127.0.0.1:1/erp?table=events"
    got = message(uri)
    assert got.startswith(
        "error: postgresql://bpo:***@127.0.0.1:1/erp?table=events: cannot connect to the database: "
    )
    assert "s3cret-pw" not in got
    assert "\n" not in got


def test_sqlite_missing_table_and_file(tmp_path: Path) -> None:
    path = tmp_path / "erp.db"
    pl.DataFrame({"a": [1]}).write_database("other", f"sqlite:///{path}", engine="adbc")
    got = message(f"sqlite:///{path}?table=events")
    assert got.startswith(
        f"error: sqlite:///{path}?table=events: table 'events' does not exist in the database; "
        "check ?table= ("
    )
    assert message(f"sqlite:///{tmp_path}/none.db?table=events") == (
        f"error: sqlite:///{tmp_path}/none.db?table=events: SQLite database file "
        f"'{str(tmp_path).lstrip('/')}/none.db' does not exist"
    )
    assert message(f"sqlite:///{path}") == (
        f'error: sqlite:///{path}: name the table with ?table=NAME or give --query "SELECT …"'
    )


def test_read_logs_reports_every_source() -> None:
    with pytest.raises(InputError) as caught:
        read_logs([BAD / "empty.csv", BAD / "notes.log"])
    assert [p.file for p in caught.value.problems] == [
        str(BAD / "empty.csv"),
        str(BAD / "notes.log"),
    ]
