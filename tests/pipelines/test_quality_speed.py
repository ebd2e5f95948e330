"""The fast paths of the quality checks: the out-of-order count and the per-frame memo."""

from datetime import UTC, datetime, timedelta

import polars as pl

from pipelines.normalize import ROW
from pipelines.quality import check_quality

NOW = datetime(2025, 6, 1, tzinfo=UTC)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def frame(events: list[tuple[str, str, int | None]]) -> pl.DataFrame:
    """A normalized log of (process, case, hour after T0) events in source order."""
    return pl.DataFrame(
        {
            "case_id": [case for _, case, _ in events],
            "activity": ["ab"[i % 2] for i in range(len(events))],  # not one activity
            "timestamp": [None if h is None else T0 + timedelta(hours=h) for _, _, h in events],
            "start_timestamp": [None] * len(events),
            "resource": [f"r{i}" for i in range(len(events))],
            "process": [process for process, _, _ in events],
            ROW: list(range(len(events))),
        },
        schema_overrides={
            "timestamp": pl.Datetime("us", "UTC"),
            "start_timestamp": pl.Datetime("us", "UTC"),
        },
    )


def counts(log: pl.DataFrame, check: str) -> dict[str, int]:
    table = check_quality(log, "log", now=NOW).table.filter(pl.col("check") == check)
    return dict(table.select("process", "rows").iter_rows())


# interleaved cases; "earlier" means before the latest event listed before it in the same case
INTERLEAVED = [
    ("p", "c1", 10),
    ("p", "c2", 5),
    ("p", "c1", 9),  # earlier than 10
    ("p", "c2", 5),  # a tie is not earlier
    ("q", "c1", 1),  # another process: its own case c1
    ("p", "c2", 4),  # earlier than 5
    ("p", "c1", 11),
    ("q", "c1", 0),  # earlier than 1
    ("p", "c1", 10),  # earlier than 11
]


def test_out_of_order_counts_interleaved_cases() -> None:
    assert counts(frame(INTERLEAVED), "out_of_order") == {"p": 3, "q": 1}


def test_out_of_order_with_a_missing_timestamp_uses_the_window() -> None:
    # 9 is earlier than 10; after the missing time the running maximum is unknown, so 8 is not
    events = [*INTERLEAVED[:3], ("p", "c1", None), ("p", "c1", 8)]
    assert counts(frame(events), "out_of_order") == {"p": 1}


def test_out_of_order_follows_the_source_order_not_the_frame_order() -> None:
    log = frame(INTERLEAVED).reverse()
    assert counts(log, "out_of_order") == {"p": 3, "q": 1}


def test_findings_of_the_same_frame_are_computed_once() -> None:
    log = frame([("p", "c1", 2), ("p", "c1", 1), ("p", "c2", 3)])
    first = check_quality(log, "one.csv", now=NOW)
    second = check_quality(log, "two.csv", now=NOW + timedelta(days=3))
    assert second.table is first.table  # no timestamp between the two "future" bounds
    assert [w.file for w in first.warnings] == ["one.csv"]
    assert [w.file for w in second.warnings] == ["two.csv"]
    assert second.warnings[0].message == first.warnings[0].message

    copy = log.clone()
    assert check_quality(copy, "one.csv", now=NOW).table is not first.table
    assert check_quality(copy, "one.csv", now=NOW).table.equals(first.table)


def test_a_moved_future_bound_that_counts_differently_recomputes() -> None:
    future = T0 + timedelta(days=400)  # beyond NOW + 365 days, not beyond T0 + 365 days
    log = frame([("p", "c1", 0)]).with_columns(pl.lit(future).alias("timestamp"))
    outliers = pl.col("check") == "timestamp_outliers"
    assert check_quality(log, "x", now=NOW).table.filter(outliers)["rows"].to_list() == [0]
    assert check_quality(log, "x", now=T0).table.filter(outliers)["rows"].to_list() == [1]


def test_a_check_started_in_the_background_is_taken_over() -> None:
    from pipelines.quality import start_quality

    log = frame(INTERLEAVED)
    start_quality(log, now=NOW)
    started = check_quality(log, "log", now=NOW)
    assert started.table.filter(pl.col("check") == "out_of_order").select(
        "process", "rows"
    ).rows() == [("p", 3), ("q", 1)]
    assert check_quality(log, "log", now=NOW).table is started.table  # computed once

    broken = frame(INTERLEAVED).drop("process")
    start_quality(broken, now=NOW)
    try:
        check_quality(broken, "log", now=NOW)
    except pl.exceptions.ColumnNotFoundError:
        pass  # the background's error reaches the caller, as if computed there
    else:
        raise AssertionError("the background check's error was lost")
