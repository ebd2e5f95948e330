"""Fuzz the CSV event-log reader: any file gives a normalized log or an `InputError`, nothing else.

The cost-file reader has its own fuzz tests (tests/optimize/test_costfile.py, `test_fuzz_*`).
"""

import gzip
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.errors import InputError
from pipelines.read import LogOptions, read_log
from pipelines.schema import COLUMNS, SCHEMA

HEADERS = [
    "case_id",
    "Case ID",
    "case:concept:name",
    "activity",
    "Activity",
    "concept:name",
    "timestamp",
    "Complete Timestamp",
    "time:timestamp",
    "start_timestamp",
    "lifecycle:transition",
    "resource",
    "org:resource",
    "process",
    "system",
    "",
    " case ",
    "x",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "c1",
            "c2",
            "Register",
            "Approve",
            "2024-01-01 10:00:00",
            "2024-01-01T10:00:00+01:00",
            "2024-01-01T10:00:00Z",
            "01.02.2024 10:00",
            "2024/02/30 10:00",
            "1800-01-01",
            "9999-12-31 23:59:59",
            "start",
            "complete",
            "NaN",
            "inf",
            "",
            '"',
            '"a,b"',
            "ann",
        ]
    ),
    st.text(max_size=12),
)
SEPARATORS = st.sampled_from([",", ";", "\t", "|", " "])


def read_or_reject(data: bytes, suffix: str = ".csv", timezone: str = "UTC") -> None:
    """Read `data` as a file: either a well-formed normalized log or an `InputError`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            log = read_log(path, LogOptions(timezone=timezone))
        except InputError as err:
            assert err.problems
            for problem in err.problems:
                assert str(problem).startswith(f"error: {path}")
                assert "\n" not in problem.message
            return
    assert isinstance(log, pl.DataFrame)
    assert log.height > 0
    assert tuple(log.columns[: len(COLUMNS)]) == COLUMNS
    for name, dtype in SCHEMA.items():
        assert log.schema[name] == dtype
    assert log.select(pl.col("case_id", "activity", "timestamp", "process").null_count()).row(
        0
    ) == (0, 0, 0, 0)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600), gz=st.booleans())
def test_fuzz_random_bytes_give_a_log_or_input_error(data: bytes, gz: bool) -> None:
    read_or_reject(gzip.compress(data) if gz else data, ".csv.gz" if gz else ".csv")


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=7),
    rows=st.lists(st.lists(VALUES, min_size=0, max_size=8), max_size=6),
    sep=SEPARATORS,
    eol=st.sampled_from(["\n", "\r\n"]),
    timezone=st.sampled_from(["UTC", "Europe/Berlin"]),
)
def test_fuzz_csvish_text_gives_a_log_or_input_error(
    header: list[str], rows: list[list[str]], sep: str, eol: str, timezone: str
) -> None:
    lines = [sep.join(header), *(sep.join(r) for r in rows)]
    read_or_reject(eol.join(lines).encode(), timezone=timezone)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutated_good_csv_gives_a_log_or_input_error(data: st.DataObject) -> None:
    text = (
        "case_id,activity,timestamp,start_timestamp,resource,process\n"
        "c1,Register,2024-01-01T10:00:00+00:00,2024-01-01T09:00:00+00:00,ann,claims\n"
        "c1,Approve,2024-01-01T11:00:00+00:00,,bob,claims\n"
        "c2,Register,2024-01-02T10:00:00+00:00,,ann,claims\n"
    )
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 6))
        insert = data.draw(st.text(alphabet=',;\t|"\n\r\x00:-+TZ0123456789 abc\u00e9', max_size=4))
        text = text[:at] + insert + text[at + cut :]
    read_or_reject(text.encode("utf-8", errors="surrogatepass"))


def test_header_names_equal_after_trimming_are_refused(tmp_path: Path) -> None:
    """Found by the fuzz test: ' case' and 'case' used to crash the reader (DuplicateError)."""
    path = tmp_path / "log.csv"
    path.write_text("case, case,activity,timestamp\nc1,c1,a,2024-01-01 10:00\n")
    with pytest.raises(InputError) as caught:
        read_log(path)
    assert str(caught.value) == (
        f"error: {path}:1: the header repeats the column name(s) 'case' (spaces around names "
        "ignored); give every column a unique, non-empty name"
    )
    read_or_reject(b"\xef\xbb\xbf\t ")  # the fuzz test's own minimal example
