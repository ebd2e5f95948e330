"""The `bpo` command end to end, in a subprocess as a user runs it."""

from pathlib import Path

import polars as pl
import pytest

from tests.robustness.conftest import ROOT, bpo

DATA = ROOT / "tests" / "data"


def _quiet(stderr: str) -> None:
    """No traceback, no pm4py banner and no Dagster log lines reach the terminal."""
    assert "Traceback" not in stderr
    assert "PM4Py" not in stderr and "Welcome" not in stderr
    for line in stderr.splitlines():
        assert line.startswith(("bpo ", "  … ", "error: ", "warning: ", "hint: ")), line


def test_sample_writes_the_demo_log_and_cost_file(tmp_path: Path) -> None:
    done = bpo("sample", "--out", "s", "--cases", "200", "--format", "csv", home=tmp_path / "h",
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "event log:    s/demo_log.csv",
        "cost file:    s/costs.yaml",
        "ground truth: s/ground_truth.json",
    ]
    assert pl.read_csv(tmp_path / "s" / "demo_log.csv").height > 200
    assert (tmp_path / "s" / "costs.yaml").read_text().startswith("#")


def test_validate_lists_every_problem_and_changes_nothing(tmp_path: Path) -> None:
    costs = DATA / "costs" / "bad" / "negative_price.yaml"
    log = DATA / "bad" / "bad_timestamp.csv"
    done = bpo("validate", "--costs", costs, "--log", log, home=tmp_path / "h", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {costs}:12: offers[0].price_per_case: must be ≥ 0 — got -3.1; amounts, "
        "counts and hours cannot be negative",
        f"error: {log}:17: column 'Complete Timestamp': cannot parse '2024-13-45' as a "
        "timestamp (or it does not exist in time zone UTC); use ISO 8601 "
        "(2024-03-01T14:05:00+01:00), 'YYYY/MM/DD HH:MM:SS' or 'DD.MM.YYYY HH:MM', or fix "
        "the value",
        "bpo validate: 2 problem(s) found",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow  # a subprocess importing dagster, pm4py and OR-Tools: ~10 s
def test_infeasible_study_exits_3_with_the_explanation(tmp_path: Path) -> None:
    done = bpo("optimize", "--costs", DATA / "costs" / "I5.yaml", "--out", "out",
               home=tmp_path / "h", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 3, done.stderr
    _quiet(done.stderr)
    text = (tmp_path / "out" / "infeasibility.txt").read_text()
    assert text.startswith("The sourcing model is infeasible")
    assert done.stdout.startswith(text)
    assert len(text.splitlines()) == 5
    assert "P1 is core" in text and "in-house FTE cap 4.0" in text
    # the run is in the instance's history, so the UI shows it
    assert any((tmp_path / "h").rglob("*.db"))


@pytest.mark.slow  # a subprocess importing dagster, pm4py and OR-Tools: ~10 s
def test_optimize_from_the_cost_file_alone(tmp_path: Path) -> None:
    done = bpo("optimize", "--costs", DATA / "costs" / "I1.yaml", "--out", "out",
               home=tmp_path / "h", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    _quiet(done.stderr)
    assert "  P1       A                  €17,500" in done.stdout.splitlines()
    plan = pl.read_csv(tmp_path / "out" / "sourcing_plan.csv")
    assert plan.select("process", "decision", "plan_cost").rows() == [("P1", "A", 282_500.0)]


@pytest.mark.slow
def test_run_on_a_small_demo_then_a_failing_run_leaves_the_results_untouched(
    tmp_path: Path,
) -> None:
    home = tmp_path / "h"
    assert bpo("sample", "--out", "in", "--cases", "1500", home=home, cwd=tmp_path).returncode == 0
    log, costs = tmp_path / "in" / "demo_log.xes.gz", tmp_path / "in" / "costs.yaml"
    done = bpo("run", "--log", log, "--costs", costs, "--out", "res", "--time-limit", "20",
               home=home, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    _quiet(done.stderr)
    assert done.stdout.splitlines()[-1] == f"results: {tmp_path / 'res'}  (open report.html)"
    out = tmp_path / "res"
    expected = {
        "process_kpis.csv", "activity_stats.csv", "handovers.csv", "system_usage.csv",
        "data_quality.csv", "sourcing_plan.csv", "systems_plan.csv", "providers.csv",
        "cost_breakdown.csv", "break_even.csv", "sensitivity.csv", "pareto.csv", "solver.csv",
        "normalized_log.parquet", "report.html", "models",
    }  # fmt: skip
    assert expected <= {p.name for p in out.iterdir()}
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    bad = bpo("run", "--log", DATA / "bad" / "bad_timestamp.csv", "--costs", costs, "--out",
              "res", home=home, cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2
    _quiet(bad.stderr)
    assert bad.stderr.splitlines()[-1] == f"bpo run: bad input; nothing written, {out} is unchanged"
    broken_costs = tmp_path / "broken.yaml"
    broken_costs.write_text(costs.read_text().replace("schema_version: 1", "schema_version: 2"))
    worse = bpo("run", "--log", log, "--costs", broken_costs, "--out", "res", home=home,
                cwd=tmp_path)  # fmt: skip
    assert worse.returncode == 2
    assert worse.stderr.splitlines()[-2].startswith(f"error: {broken_costs}")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_mine_then_optimize_from_the_mined_folder(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert bpo("sample", "--out", "in", "--cases", "800", "--format", "parquet", home=home,
               cwd=tmp_path).returncode == 0  # fmt: skip
    mined = bpo("mine", "--log", "in/demo_log.parquet", "--out", "mined", home=home, cwd=tmp_path)
    assert mined.returncode == 0, mined.stderr
    assert {"process_kpis.csv", "data_quality.csv", "models", "report.html"} <= {
        p.name for p in (tmp_path / "mined").iterdir()
    }
    assert not (tmp_path / "mined" / "sourcing_plan.csv").exists()
    done = bpo("optimize", "--mined", "mined", "--costs", "in/costs.yaml", "--out", "plan",
               home=home, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = pl.read_csv(tmp_path / "plan" / "sourcing_plan.csv")
    assert plan.height == pl.read_csv(tmp_path / "mined" / "process_kpis.csv").height
