"""Faults: a run killed while publishing, re-execution from failure, two runs into one folder.

(a) SIGKILL while the results are being written leaves the earlier `results/` as it was; the
next run succeeds and removes the dead run's temporary folder. (b) A run whose export step
failed is re-executed from failure in Dagster and gives the same files as a clean run.
(c) Two concurrent runs into one folder end with one complete, consistent set.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dagster_project import definitions
from dagster_project.defs.resources import build_resources
from dagster_project.exports import MARKER
from pipelines.demo import SamplePaths
from tests.robustness.conftest import ROOT, bpo, tree_hash

RESULT_FILES = {
    MARKER,
    "normalized_log.parquet",
    "data_quality.csv",
    "process_kpis.csv",
    "activity_stats.csv",
    "handovers.csv",
    "system_usage.csv",
    "sourcing_plan.csv",
    "systems_plan.csv",
    "providers.csv",
    "cost_breakdown.csv",
    "break_even.csv",
    "sensitivity.csv",
    "pareto.csv",
    "solver.csv",
    "report.html",
}
"""Files every complete `bpo demo` results folder has (besides models/)."""


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _staging(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f"{out.name}.tmp-*"))


# ------------------------------------------------------------------ (a) SIGKILL


@pytest.mark.slow  # two 1,500-case demo runs in subprocesses: ~40 s
def test_sigkill_while_publishing_keeps_earlier_results(earlier_results: Path) -> None:
    home = earlier_results.parent / "dagster_home"
    before = tree_hash(earlier_results)
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "bpo", "demo", "--cases", "1500", "--out", str(earlier_results)]
    proc = subprocess.Popen(
        argv,
        cwd=earlier_results.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    killed_in: list[Path] = []
    seen: list[str] = []
    with proc.stderr:
        for line in proc.stderr:  # progress lines; the last step is "… publishing N files"
            seen.append(line)
            if "… publishing" in line:
                break
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            killed_in = _staging(earlier_results)
            if killed_in:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=60)
    assert killed_in, "the run ended before it started writing its results:\n" + "".join(seen)
    assert proc.returncode == -signal.SIGKILL
    # Killed half-way: its temporary folder is incomplete (no marker) and results/ is untouched.
    stale = _staging(earlier_results)
    assert stale == killed_in
    assert not (stale[0] / MARKER).exists()
    assert tree_hash(earlier_results) == before

    done = bpo("demo", "--cases", "1500", "--out", earlier_results, home=home,
               cwd=earlier_results.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _staging(earlier_results) == []  # the dead run's folder was removed
    assert list(earlier_results.parent.glob("results.old-*")) == []
    files = _listing(earlier_results)
    assert files >= RESULT_FILES
    assert "models/accounts_payable.bpmn" in files
    kpis = pl.read_csv(earlier_results / "process_kpis.csv")
    assert kpis["cases"].sum() > 1000  # the new 1,500-case run, not the earlier 300-case one


# ------------------------------------------------------------------ (b) re-execution


def pipeline_job() -> dg.JobDefinition:
    """The `bpo_pipeline` job with resources read from the environment now (for reconstructable)."""
    code_location = definitions.defs
    defs = dg.Definitions(
        assets=code_location.assets,
        asset_checks=code_location.asset_checks,
        jobs=code_location.jobs,
        resources=build_resources(),
    )
    return defs.resolve_job_def("bpo_pipeline")


IN_PROCESS = {
    "execution": {"config": {"in_process": {}}},
    "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
}
SOLVER_TIMES = re.compile(r"^(seconds|time|wall_time|solve_seconds)", re.IGNORECASE)


GENERATED = re.compile(
    r"id[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|imdf_net_[\d.]+|tau_\d+|p_\d+|n\d+"
)
"""Element ids pm4py draws at random or from the clock (uuid4, time.time(), counters)."""


def _model_shape(path: Path) -> list[tuple[str, str, str]]:
    """A BPMN/PNML model without pm4py's random ids, element order and diagram layout:
    every element's tag, name and text, sorted."""
    root = ElementTree.parse(path).getroot()
    return sorted(
        (el.tag, GENERATED.sub("", el.get("name", "")), GENERATED.sub("", el.text or "").strip())
        for el in root.iter()
        if "/DD/" not in el.tag and "/DI}" not in el.tag  # layout: waypoints, bounds, shapes
    )


def _same_results(got: Path, expected: Path) -> None:
    """The two folders hold the same files with the same content (solver time, the report's
    generation time and the last digit of floating-point sums aside)."""
    assert _listing(got) == _listing(expected)
    for rel in sorted(_listing(expected)):
        a, b = got / rel, expected / rel
        if rel == "solver.csv" or rel.endswith("_candidates.csv"):  # times of the solve / miners
            left, right = pl.read_csv(a), pl.read_csv(b)
            keep = [c for c in left.columns if not SOLVER_TIMES.match(c)]
            assert_frame_equal(left.select(keep), right.select(keep))
        elif rel.endswith(".parquet"):
            assert_frame_equal(pl.read_parquet(a), pl.read_parquet(b))
        elif rel.endswith((".bpmn", ".pnml")):
            assert _model_shape(a) == _model_shape(b), rel
        elif rel == "report.html":
            stamp = re.compile(r"Generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC|\d+\.\d+ s")
            assert stamp.sub("", a.read_text()) == stamp.sub("", b.read_text())
        elif rel.endswith(".csv") and a.read_bytes() != b.read_bytes():
            # Polars' parallel aggregations may sum in another order: the last digit of a
            # float can differ between any two runs (seen in kpi_history.csv), nothing more.
            assert_frame_equal(
                pl.read_csv(a), pl.read_csv(b), check_exact=False, rel_tol=1e-12, abs_tol=1e-12
            )
        else:
            assert a.read_bytes() == b.read_bytes(), rel


@pytest.mark.slow  # three in-process runs of the pipeline on 300 demo cases: ~40 s
def test_failed_export_is_reexecuted_from_failure_with_clean_results(
    tmp_path: Path, sample: SamplePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BPO_LOGS", str(sample.log))
    monkeypatch.setenv("BPO_COSTS", str(sample.costs))
    monkeypatch.setenv("BPO_SOLVER_WORKERS", "1")
    monkeypatch.setenv("BPO_SOLVER_SECONDS", "30")
    job = dg.reconstructable(pipeline_job)
    home = tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        monkeypatch.setenv("BPO_OUT", str(tmp_path / "clean"))
        with dg.execute_job(job, instance=instance, run_config=IN_PROCESS) as clean:
            assert clean.success

        # The output folder's parent is a file: the export step fails, everything else is done.
        blocker = tmp_path / "blocked"
        blocker.write_text("not a folder")
        monkeypatch.setenv("BPO_OUT", str(blocker / "results"))
        with dg.execute_job(job, instance=instance, run_config=IN_PROCESS) as failed:
            assert not failed.success
            failed_steps = {e.step_key for e in failed.get_step_failure_events()}
            run_id = failed.run_id
        assert failed_steps == {"csv_exports"}

        blocker.unlink()  # the operator fixes the cause
        options = dg.ReexecutionOptions.from_failure(run_id, instance)
        with dg.execute_job(
            job, instance=instance, run_config=IN_PROCESS, reexecution_options=options
        ) as again:
            assert again.success
            rerun = {e.step_key for e in again.get_step_success_events()}
            assert again.dagster_run.parent_run_id == run_id
    assert "csv_exports" in rerun
    assert "event_log" not in rerun and "sourcing_plan" not in rerun  # not computed twice
    _same_results(blocker / "results", tmp_path / "clean")


# ------------------------------------------------------------------ (c) concurrent runs


def _winner(out: Path, home: Path) -> int:
    """The seed whose demo log holds every event of `out/normalized_log.parquet`."""
    keys = ["case_id", "activity", "timestamp"]
    published = pl.read_parquet(out / "normalized_log.parquet").select(keys)
    matches = []
    for seed in (1, 2):
        folder = home / "demo" / f"1500-cases-seed-{seed}"
        log_name = (folder / ".complete").read_text().split()[0]
        source = pl.read_parquet(folder / log_name).select(keys)
        if published.join(source, on=keys, how="anti").is_empty():
            matches.append(seed)
    assert len(matches) == 1, matches
    return matches[0]


@pytest.mark.slow  # two 1,500-case demo runs at once: ~60 s
def test_two_concurrent_runs_leave_one_complete_set(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    out = tmp_path / "results"
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT)}

    def start(seed: int) -> subprocess.Popen[str]:
        argv = ["demo", "--cases", "1500", "--seed", str(seed), "--out", str(out)]
        return subprocess.Popen(
            [sys.executable, "-m", "bpo", *argv],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    runs = {seed: start(seed) for seed in (1, 2)}
    outputs = {seed: proc.communicate(timeout=900) for seed, proc in runs.items()}
    for seed, proc in runs.items():
        assert proc.returncode == 0, outputs[seed][1]

    assert _staging(out) == []
    files = _listing(out)
    assert files >= RESULT_FILES
    seed = _winner(out, home)
    log = pl.read_parquet(out / "normalized_log.parquet")
    kpis = pl.read_csv(out / "process_kpis.csv")
    # Every file comes from the winner's run: KPIs, plan and report agree with its log.
    per_process = log.group_by("process").agg(
        pl.col("case_id").n_unique().alias("cases"), pl.len().alias("events")
    )
    assert_frame_equal(
        kpis.select("process", "cases", "events").sort("process"),
        per_process.sort("process"),
        check_dtypes=False,
    )
    plan = pl.read_csv(out / "sourcing_plan.csv")
    assert sorted(plan["process"]) == sorted(kpis["process"])
    report = (out / "report.html").read_text()
    assert f"{log['case_id'].n_unique():,} cases, {log.height:,} events" in report
    # The winner's own summary printed the plan that is on disk.
    stdout = outputs[seed][0]
    for row in plan.iter_rows(named=True):
        assert re.search(
            rf"^  {re.escape(row['process'])}\s+{re.escape(row['decision'])}\s", stdout, re.M
        )
    models = {p.name for p in (out / "models").iterdir()}
    assert {f"{p}.bpmn" for p in kpis["process"]} <= models
