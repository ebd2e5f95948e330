"""Lifecycle values outside the XES standard, the activity classifier, and odd logs.

A process whose `lifecycle:transition` holds values outside the XES lifecycle model is read
as instants (every event kept, the raw value in the `lifecycle` column, one warning); the
XES model itself is paired as before. `mining.activity_classifier` names activities by
several attributes joined with "+".
"""

import statistics
import warnings
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from dagster_project.defs.ingestion import log_options
from dagster_project.defs.resources import BpoInputs
from optimize.costfile import load_costs
from pipelines.errors import InputError
from pipelines.normalize import XES_LIFECYCLE
from pipelines.quality import check_quality
from pipelines.read import LogOptions, read_log, scan_log

DATA = Path(__file__).resolve().parents[1] / "data"
BPIC2013 = DATA / "bpic2013_closed.xes.gz"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
STATUS_VALUES = {
    "In Progress": 3066,
    "Closed": 1565,
    "Awaiting Assignment": 875,
    "Assigned": 614,
    "Wait": 527,
    "Unmatched": 10,
    "Cancelled": 3,
}
CLASSIFIER = ("concept:name", "lifecycle:transition")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pm4py_frame():
    """bpic2013_closed as pm4py reads it, sorted stably by case and timestamp."""
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pm4py's note that it reads with rustxes
        frame = pm4py.read_xes(str(BPIC2013))
    return frame.sort_values(["case:concept:name", "time:timestamp"], kind="stable")


def _pm4py_counts(frame, activity_key: str) -> tuple[int, int, int, float]:
    import pm4py

    keys = {
        "activity_key": activity_key,
        "case_id_key": "case:concept:name",
        "timestamp_key": "time:timestamp",
    }
    variants = pm4py.get_variants(frame, **keys)
    durations = pm4py.get_all_case_durations(frame, **keys)
    return (
        frame["case:concept:name"].nunique(),
        len(frame),
        len(variants),
        statistics.median(durations),
    )


def _counts(log: pl.DataFrame) -> tuple[int, int, int, float]:
    ordered = log.sort(["case_id", "timestamp"], maintain_order=True)
    traces = ordered.group_by("case_id", maintain_order=True).agg(
        pl.col("activity"),
        (pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_seconds().alias("s"),
    )
    return (
        traces.height,
        log.height,
        traces["activity"].n_unique(),
        statistics.median(traces["s"].to_list()),
    )


# ----------------------------------------------------------------- status-valued lifecycles


def test_status_valued_log_equals_pm4py(pm4py_frame) -> None:
    log = read_log(BPIC2013)
    assert _counts(log) == _pm4py_counts(pm4py_frame, "concept:name")
    assert _counts(log) == (1487, 6660, 183, 7086718.0)
    assert log["start_timestamp"].null_count() == log.height
    assert log["bpo:unmatched_starts"].sum() == 0
    assert dict(log["lifecycle"].value_counts().iter_rows()) == STATUS_VALUES
    # the raw value of each event, event by event
    pm4py_values = pm4py_frame["lifecycle:transition"].tolist()
    ordered = log.sort(["case_id", "timestamp"], maintain_order=True)
    assert ordered["lifecycle"].to_list() == pm4py_values
    assert log.columns[: log.columns.index("lifecycle") + 1][-3:] == [
        "bpo:row",
        "bpo:unmatched_starts",
        "lifecycle",
    ]


def test_status_valued_log_gives_one_warning_naming_the_values() -> None:
    log = read_log(BPIC2013)
    report = check_quality(log, "bpic", now=NOW)
    row = report.table.filter(pl.col("check") == "nonstandard_lifecycle")
    assert row.select("process", "severity", "rows").rows() == [
        ("bpic2013_closed", "warning", 6660)
    ]
    lifecycle = [w.message for w in report.warnings if "lifecycle" in w.message]
    assert len(lifecycle) == 1
    assert lifecycle[0].startswith(
        "process 'bpic2013_closed': 6660 events with lifecycle values outside the XES "
        "standard ('In Progress' ×3,066, 'Closed' ×1,565, 'Awaiting Assignment' ×875, "
        "'Assigned' ×614, 'Wait' ×527, 'Unmatched' ×10, 'Cancelled' ×3), read as instants: "
        "every event kept with its value in the 'lifecycle' column, no start/complete pairing; "
        "no start times, so handling time is estimated"
    )


def test_classifier_names_activities_by_status_and_equals_pm4py(pm4py_frame) -> None:
    log = read_log(BPIC2013, LogOptions(activity_classifier=CLASSIFIER))
    frame = pm4py_frame.copy()
    frame["cls"] = frame["concept:name"] + "+" + frame["lifecycle:transition"]
    assert _counts(log) == _pm4py_counts(frame, "cls")
    assert _counts(log)[2] == 327
    assert sorted(log["activity"].unique()) == sorted(frame["cls"].unique())
    assert "Queued+Awaiting Assignment" in set(log["activity"])


def test_each_process_is_judged_on_its_own(tmp_path: Path) -> None:
    """One file, two processes: the standard one is paired, the status-valued one is not."""
    path = _write(
        tmp_path / "mixed.csv",
        "case,activity,timestamp,lifecycle:transition,process,resource\n"
        "a1,Check,2025-01-01 08:00,START,ap,ann\n"
        "a1,Check,2025-01-01 08:30,Complete,ap,ann\n"
        "a1,Pay,2025-01-01 09:00,schedule,ap,ann\n"
        "a1,Pay,2025-01-01 10:00,complete,ap,ann\n"
        "t1,Queued,2025-01-01 08:00,Awaiting Assignment,desk,bob\n"
        "t1,Accepted,2025-01-01 09:00,In Progress,desk,bob\n"
        "t1,Accepted,2025-01-01 09:30,start,desk,bob\n"
        "t1,Completed,2025-01-01 10:00,Closed,desk,bob\n",
    )
    log = read_log(path)
    rows = log.select(
        "case_id",
        "activity",
        pl.col("start_timestamp").dt.strftime("%H:%M"),
        pl.col("timestamp").dt.strftime("%H:%M"),
        "process",
        "lifecycle",
    ).rows()
    assert rows == [
        ("a1", "Check", "08:00", "08:30", "ap", None),
        ("a1", "Pay", None, "10:00", "ap", None),
        ("t1", "Queued", None, "08:00", "desk", "Awaiting Assignment"),
        ("t1", "Accepted", None, "09:00", "desk", "In Progress"),
        ("t1", "Accepted", None, "09:30", "desk", "start"),
        ("t1", "Completed", None, "10:00", "desk", "Closed"),
    ]
    table = check_quality(log, "mixed.csv", now=NOW).table
    found = table.filter(pl.col("check") == "nonstandard_lifecycle")
    assert found.select("process", "severity", "rows").rows() == [
        ("ap", "ok", 0),
        ("desk", "warning", 4),
    ]


@pytest.mark.parametrize("value", sorted(XES_LIFECYCLE))
def test_every_xes_value_in_any_case_is_paired_not_instant(tmp_path: Path, value: str) -> None:
    path = _write(
        tmp_path / "x.csv",
        "case,activity,timestamp,lifecycle\n"
        "c1,a,2025-01-01 08:00,start\n"
        f"c1,a,2025-01-01 08:10,{value.upper()}\n"
        f"c1,a,2025-01-01 08:20,{value.title()}\n"
        "c1,a,2025-01-01 09:00,complete\n",
    )
    log = read_log(path)
    assert "lifecycle" not in log.columns
    kept = 3 if value == "complete" else 1
    assert log.height == kept
    assert log["start_timestamp"].dt.strftime("%H:%M")[0] == "08:00"


def test_classifier_on_a_paired_log_names_the_kept_complete(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "p.csv",
        "case,activity,timestamp,lifecycle:transition,channel\n"
        "c1,a,2025-01-01 08:00,start,web\n"
        "c1,a,2025-01-01 09:00,complete,web\n"
        "c1,b,2025-01-01 10:00,complete,\n",
    )
    log = read_log(path, LogOptions(activity_classifier=("activity", "channel")))
    assert log.select("activity", pl.col("start_timestamp").dt.strftime("%H:%M")).rows() == [
        ("a+web", "08:00"),
        ("b", None),  # a missing part is left out
    ]
    lazy = scan_log(_parquet(tmp_path, log), LogOptions(activity_classifier=("case_id",)))
    assert lazy.collect()["activity"].to_list() == ["c1", "c1"]


def _parquet(tmp_path: Path, log: pl.DataFrame) -> Path:
    path = tmp_path / "p.parquet"
    log.drop("bpo:row", "bpo:unmatched_starts").write_parquet(path)
    return path


def test_classifier_attribute_missing_names_it_and_the_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", "case,activity,timestamp\nc1,a,2025-01-01 08:00\n")
    with pytest.raises(InputError) as info:
        read_log(path, LogOptions(activity_classifier=("activity", "lifecycle:transition")))
    assert [str(p) for p in info.value.problems] == [
        f"error: {path}: mining.activity_classifier: attribute 'lifecycle:transition' is not "
        "in the log; use attributes the log has (columns: case, activity, timestamp)"
    ]


def test_classifier_reaches_log_options_from_the_cost_file(tmp_path: Path) -> None:
    costs = _write(
        tmp_path / "costs.yaml",
        "schema_version: 1\nmining:\n  activity_classifier: [concept:name, lifecycle:transition]\n"
        "  exclude_resources: [robot]\n",
    )
    options = log_options(BpoInputs(), load_costs(costs))
    assert options.activity_classifier == CLASSIFIER
    assert options.exclude_resources == ("robot",)
    assert log_options(BpoInputs(), None).activity_classifier == ()
