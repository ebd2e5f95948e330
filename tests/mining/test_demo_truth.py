"""The demo company: mined KPIs against the generator's ground truth, and against pm4py."""

from datetime import UTC, datetime

import polars as pl
import pytest

from mining.discovery import discover_process
from mining.kpis import MiningConfig, compute_tables, process_cases
from mining.maps import directly_follows
from tests.mining.conftest import PM4PY_KEYS, to_pm4py

demo = pytest.importorskip("pipelines.demo")
pm4py = pytest.importorskip("pm4py")

YEAR_2025 = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def company():
    return demo.generate(cases=3000, seed=11)


@pytest.fixture(scope="module")
def tables(company):
    return compute_tables(company.log, MiningConfig())


def test_cases_per_year_within_2_percent(company, tables):
    kpis = {r["process"]: r for r in tables.process_kpis.iter_rows(named=True)}
    assert set(kpis) == {p.process for p in company.truth.processes}
    for truth in company.truth.processes:
        row = kpis[truth.process]
        assert row["cases"] == truth.cases
        assert row["events"] == truth.events
        assert row["activities"] == truth.activities
        assert row["cases_per_year"] == pytest.approx(truth.cases_per_year, rel=0.02)
    # with the cost file's observation period (the year 2025) only 365.25/365 remains
    period = compute_tables(company.log, MiningConfig(observation_period=YEAR_2025))
    for row in period.process_kpis.iter_rows(named=True):
        truth = company.truth.process(row["process"])
        assert row["cases_per_year"] == pytest.approx(truth.cases_per_year * 365.25 / 365)


def test_handling_hours_per_case_within_5_percent(company, tables):
    for row in tables.process_kpis.iter_rows(named=True):
        truth = company.truth.process(row["process"])
        assert row["handling_time_source"] == "measured"
        assert row["handling_hours_per_case"] == pytest.approx(
            truth.handling_hours_per_case, rel=0.05
        )
        # the definitions agree, so in fact it is exact up to rounding
        assert row["handling_hours_per_case"] == pytest.approx(
            truth.handling_hours_per_case, rel=1e-9
        )


def test_handovers_exact(company, tables):
    ours = {(f, t): n for f, t, n, _ in tables.handovers.iter_rows()}
    theirs = {(h.from_process, h.to_process): h.handovers for h in company.truth.handovers}
    assert ours == theirs
    assert theirs  # the demo does have cross-process cases


def test_systems_per_process_exact(company, tables):
    usage = tables.system_usage
    kpis = {r["process"]: r["systems"] for r in tables.process_kpis.iter_rows(named=True)}
    for truth in company.truth.processes:
        mine = usage.filter(pl.col("process") == truth.process).select("system", "events")
        assert dict(mine.iter_rows()) == dict(truth.systems)
        used = sorted(s for s, n in truth.systems if n >= 0.01 * truth.events)
        assert kpis[truth.process] == ";".join(used)


def test_counts_equal_pm4py_per_process(company):
    log = company.log
    for process in log["process"].unique().sort().to_list():
        part = log.filter(pl.col("process") == process)
        pm = to_pm4py(part)
        dfg, starts, ends = pm4py.discover_dfg(pm, **PM4PY_KEYS)
        ours = directly_follows(part)
        assert {(s, t): f for s, t, f, _ in ours.edges.iter_rows()} == dict(dfg)
        assert dict(ours.starts.iter_rows()) == dict(starts)
        assert dict(ours.ends.iter_rows()) == dict(ends)
        variants = pm4py.get_variants(pm, **PM4PY_KEYS)
        cases = process_cases(part)
        mine = cases.group_by(pl.col("variant").list.join("\x1f")).len().iter_rows()
        assert {tuple(v.split("\x1f")): n for v, n in mine} == dict(variants)
        # durations: pm4py on a lifecycle view (start events added) = first start → last end
        starts_ = part.filter(pl.col("start_timestamp").is_not_null()).with_columns(
            pl.col("start_timestamp").alias("timestamp")
        )
        lifecycle = to_pm4py(pl.concat([part, starts_]))
        theirs = sorted(pm4py.get_all_case_durations(lifecycle, **PM4PY_KEYS))
        assert sorted((cases["throughput_hours"] * 3600).to_list()) == pytest.approx(
            theirs, abs=1e-6
        )


def test_discovery_on_every_demo_process(company, tmp_path):
    log = company.log
    for process in log["process"].unique().sort().to_list():
        result = discover_process(log.filter(pl.col("process") == process), process, tmp_path)
        assert result.fitness >= 0.95, process
        net, im, fm = pm4py.read_pnml(str(result.pnml))
        pm4py.read_bpmn(str(result.bpmn))
        full = to_pm4py(log.filter(pl.col("process") == process))
        theirs = pm4py.fitness_token_based_replay(full, net, im, fm, **PM4PY_KEYS)
        assert result.fitness == pytest.approx(theirs["log_fitness"], abs=1e-12)
        assert result.precision == pytest.approx(
            pm4py.precision_token_based_replay(full, net, im, fm, **PM4PY_KEYS), abs=1e-12
        )
