"""Odd but readable logs through `bpo mine`: a warning and a result, never an error.

Status-valued lifecycles (a public service-desk log), a single activity, one case, all events
at one instant, a single event; and `mining.activity_classifier` from the cost file.
"""

import statistics
import warnings
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from bpo import cli
from tests.robustness.conftest import ROOT, bpo

DATA = ROOT / "tests" / "data"
BPIC2013 = DATA / "bpic2013_closed.xes.gz"
HEADER = "case,activity,timestamp,resource"

# name → (CSV rows, the data_quality.csv checks expected to warn with their row counts)
ODD_LOGS: dict[str, tuple[list[str], dict[str, int]]] = {
    "single_activity": (
        ["c1,a,2025-01-01 08:00,ann", "c1,a,2025-01-01 09:00,ann", "c2,a,2025-01-02 08:00,bob"],
        {"single_activity": 3},
    ),
    "one_case": (
        ["c1,a,2025-01-01 08:00,ann", "c1,b,2025-01-01 09:00,ann", "c1,c,2025-01-01 10:00,bob"],
        {"single_case": 3},
    ),
    "one_instant": (
        [
            "c1,a,2025-01-01 08:00,ann",
            "c1,b,2025-01-01 08:00,ann",
            "c2,a,2025-01-01 08:00,bob",
            "c2,c,2025-01-01 08:00,bob",
        ],
        {"single_instant": 4},
    ),
    "one_event": (
        ["c1,a,2025-01-01 08:00,ann"],
        {"single_activity": 1, "single_case": 1, "single_instant": 1},
    ),
}
STATUS_LOG = (
    "case,activity,timestamp,lifecycle:transition,resource\n"
    "c1,Queued,2025-01-01 08:00,Awaiting Assignment,ann\n"
    "c1,Accepted,2025-01-01 09:00,In Progress,ann\n"
    "c1,Completed,2025-01-01 10:00,Closed,bob\n"
    "c2,Queued,2025-01-02 08:00,Awaiting Assignment,bob\n"
    "c2,Completed,2025-01-02 11:00,Closed,bob\n"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh `DAGSTER_HOME` for in-process `bpo.cli.main` calls."""
    folder = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(folder))
    yield folder


def _mine(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["mine", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def _warned(out: Path) -> dict[str, int]:
    quality = pl.read_csv(out / "data_quality.csv")
    return dict(quality.filter(pl.col("severity") == "warning").select("check", "rows").rows())


@pytest.mark.slow  # a subprocess importing dagster and pm4py, and pm4py's own reading
def test_status_valued_xes_is_mined_with_pm4py_counts(tmp_path: Path) -> None:
    import pm4py

    done = bpo("mine", "--log", BPIC2013, "--out", "out", home=tmp_path / "h", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    warning = [line for line in done.stderr.splitlines() if "outside the XES standard" in line]
    assert len(warning) == 1
    assert warning[0].startswith(
        f"warning: {BPIC2013}: process 'bpic2013_closed': 6660 events with lifecycle values "
        "outside the XES standard ('In Progress' ×3,066, 'Closed' ×1,565,"
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pm4py.read_xes(str(BPIC2013))
    frame = frame.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    keys = {
        "activity_key": "concept:name",
        "case_id_key": "case:concept:name",
        "timestamp_key": "time:timestamp",
    }
    median_hours = statistics.median(pm4py.get_all_case_durations(frame, **keys)) / 3600
    out = tmp_path / "out"
    kpis = pl.read_csv(out / "process_kpis.csv").row(0, named=True)
    assert kpis["process"] == "bpic2013_closed"
    assert kpis["cases"] == frame["case:concept:name"].nunique() == 1487
    assert kpis["events"] == len(frame) == 6660
    assert kpis["variants"] == len(pm4py.get_variants(frame, **keys)) == 183
    assert kpis["median_throughput_hours"] == pytest.approx(median_hours, rel=1e-12)
    # instants have no start: the handling time is estimated from resource gaps, never zero
    assert kpis["handling_time_source"] == "estimated"
    assert kpis["handling_hours_per_case"] > 0
    normalized = pl.read_parquet(out / "normalized_log.parquet")
    assert normalized.height == 6660
    assert normalized["lifecycle"].null_count() == 0
    assert normalized["lifecycle"].n_unique() == 7
    assert _warned(out)["nonstandard_lifecycle"] == 6660


@pytest.mark.slow  # five in-process runs of the mining pipeline
@pytest.mark.parametrize("name", sorted(ODD_LOGS))
def test_odd_log_is_a_warning_and_a_result(
    name: str, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, expected = ODD_LOGS[name]
    log = tmp_path / f"{name}.csv"
    log.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code, err = _mine(["--log", str(log), "--out", str(out)], capsys)
    assert code == 0, err
    assert _warned(out) == expected
    ours = [line for line in err.splitlines() if line.startswith(f"warning: {log}: ")]
    assert len(ours) == len(expected), ours
    kpis = pl.read_csv(out / "process_kpis.csv")
    assert kpis.select("process", "events").rows() == [(name, len(rows))]
    assert (out / "models" / f"{name}.bpmn").is_file()


@pytest.mark.slow  # two in-process runs of the mining pipeline
def test_classifier_from_the_cost_file_names_activities_by_status(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "desk.csv"
    log.write_text(STATUS_LOG, encoding="utf-8")
    costs = tmp_path / "costs.yaml"
    costs.write_text(
        "schema_version: 1\nmining:\n  activity_classifier: [activity, lifecycle:transition]\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, err = _mine(["--log", str(log), "--costs", str(costs), "--out", str(out)], capsys)
    assert code == 0, err
    stats = pl.read_csv(out / "activity_stats.csv")
    assert sorted(stats["activity"]) == [
        "Accepted+In Progress",
        "Completed+Closed",
        "Queued+Awaiting Assignment",
    ]
    assert _warned(out) == {"nonstandard_lifecycle": 5}

    costs.write_text(
        "schema_version: 1\nmining:\n  activity_classifier: [activity, status]\n",
        encoding="utf-8",
    )
    before = sorted(p.name for p in out.iterdir())
    code, err = _mine(["--log", str(log), "--costs", str(costs), "--out", str(out)], capsys)
    assert code == 2
    assert err.splitlines()[-2:] == [
        f"error: {log}: mining.activity_classifier: attribute 'status' is not in the log; use "
        "attributes the log has (columns: case, activity, timestamp, lifecycle:transition, "
        "resource)",
        f"bpo mine: bad input; nothing written, {out} is unchanged",
    ]
    assert sorted(p.name for p in out.iterdir()) == before
