from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mining.kpis import (
    ACTIVITY_STATS_COLUMNS,
    HANDOVER_COLUMNS,
    PROCESS_KPI_COLUMNS,
    SYSTEM_USAGE_COLUMNS,
    MiningConfig,
    compute_tables,
    with_model_quality,
)
from mining.tables import write_tables
from pipelines.errors import InputError
from tests.mining.helpers import make_log, t

# Order → Billing (c1), Order only (c2), Order → Billing → Order (c3); all starts recorded.
ROWS = [
    dict(case="c1", act="Receive", ts="2024-01-01 09:00", start="2024-01-01 08:30", res="ann",
         role="clerk", proc="Order", sys="ERP"),
    dict(case="c1", act="Check", ts="2024-01-01 10:00", start="2024-01-01 09:30", res="ann",
         role="clerk", proc="Order", sys="ERP"),
    dict(case="c1", act="Check", ts="2024-01-01 11:00", start="2024-01-01 10:45", res="bob",
         role="clerk", proc="Order", sys="CRM"),
    dict(case="c1", act="Invoice", ts="2024-01-01 12:00", start="2024-01-01 11:00", res="cid",
         role="acct", proc="Billing", sys="ERP"),
    dict(case="c2", act="Receive", ts="2024-01-02 09:00", start="2024-01-02 08:00", res="bob",
         role="clerk", proc="Order", sys="ERP"),
    dict(case="c2", act="Check", ts="2024-01-02 10:00", start="2024-01-02 09:00", res="ann",
         role="clerk", proc="Order", sys="ERP"),
    dict(case="c3", act="Receive", ts="2024-01-03 09:00", start="2024-01-03 08:45", res="ann",
         role="clerk", proc="Order", sys="ERP"),
    dict(case="c3", act="Invoice", ts="2024-01-03 10:00", start="2024-01-03 09:00", res="cid",
         role="acct", proc="Billing", sys="ERP"),
    dict(case="c3", act="Check", ts="2024-01-03 11:00", start="2024-01-03 10:00", res="ann",
         role="clerk", proc="Order", sys="ERP"),
]  # fmt: skip
DAYS = (t("2024-01-03 11:00") - t("2024-01-01 08:30")) / timedelta(days=1)
PER_YEAR = 365.25 / DAYS


@pytest.fixture
def tables():
    return compute_tables(make_log(ROWS), MiningConfig())


def test_columns_in_spec_order(tables):
    assert tuple(tables.process_kpis.columns) == PROCESS_KPI_COLUMNS
    assert PROCESS_KPI_COLUMNS[-4:] == ("fitness", "precision", "f_score", "model")
    assert tuple(tables.activity_stats.columns) == ACTIVITY_STATS_COLUMNS
    assert tuple(tables.handovers.columns) == HANDOVER_COLUMNS
    assert tuple(tables.system_usage.columns) == SYSTEM_USAGE_COLUMNS


def test_process_kpis_exact(tables):
    expected = pl.DataFrame(
        {
            "process": ["Billing", "Order"],
            "cases": [2, 3],
            "events": [2, 7],
            "observation_days": [DAYS, DAYS],
            "cases_per_year": [2 * PER_YEAR, 3 * PER_YEAR],
            "activities": [1, 2],
            "variants": [1, 2],
            "top_variant_share": [1.0, 2 / 3],
            "median_throughput_hours": [1.0, 2.25],
            "p90_throughput_hours": [1.0, 2.45],  # linear between 2.25 and 2.5
            "handling_hours_per_case": [1.0, 4.5 / 3],
            "handling_time_source": ["measured", "measured"],
            "effort_hours_per_year": [2 * PER_YEAR, 4.5 * PER_YEAR],
            "fte": [2 * PER_YEAR / 1600, 4.5 * PER_YEAR / 1600],
            "rework_rate": [0.0, 1 / 3],
            "resources": [1, 2],
            "systems": ["ERP", "CRM;ERP"],
            "fitness": [None, None],
            "precision": [None, None],
            "f_score": [None, None],
            "model": [None, None],
        },
        schema_overrides={
            "fitness": pl.Float64,
            "precision": pl.Float64,
            "f_score": pl.Float64,
            "model": pl.String,
        },
    )
    assert_frame_equal(tables.process_kpis, expected, check_exact=False, rel_tol=1e-12)


def test_activity_stats_exact(tables):
    expected = pl.DataFrame(
        {
            "process": ["Billing", "Order", "Order"],
            "activity": ["Invoice", "Check", "Receive"],
            "executions": [2, 4, 3],
            "executions_per_case": [1.0, 4 / 3, 1.0],
            "mean_handling_minutes": [60.0, 41.25, 35.0],
            "median_handling_minutes": [60.0, 45.0, 30.0],
            "resources": [1, 2, 2],
            "main_role": ["acct", "clerk", "clerk"],
            "main_system": ["ERP", "ERP", "ERP"],
        }
    )
    assert_frame_equal(tables.activity_stats, expected, check_exact=False, rel_tol=1e-12)


def test_handovers_cross_process_steps_only(tables):
    expected = pl.DataFrame(
        {
            "from_process": ["Billing", "Order"],
            "to_process": ["Order", "Billing"],
            "handovers": [1, 2],
            "handovers_per_year": [PER_YEAR, 2 * PER_YEAR],
        }
    )
    assert_frame_equal(tables.handovers, expected, check_exact=False, rel_tol=1e-12)


def test_system_usage_and_threshold(tables):
    expected = pl.DataFrame(
        {
            "process": ["Billing", "Order", "Order"],
            "system": ["ERP", "ERP", "CRM"],
            "events": [2, 6, 1],
            "events_per_year": [2 * PER_YEAR, 6 * PER_YEAR, PER_YEAR],
            "share_of_process_events": [1.0, 6 / 7, 1 / 7],
        }
    )
    assert_frame_equal(tables.system_usage, expected, check_exact=False, rel_tol=1e-12)
    strict = compute_tables(make_log(ROWS), MiningConfig(system_share_threshold=0.2))
    assert strict.process_kpis["systems"].to_list() == ["ERP", "ERP"]


def test_observation_period_overrides_window():
    period = (t("2024-01-01 00:00"), t("2024-12-31 00:00"))  # 365 days
    kpis = compute_tables(make_log(ROWS), MiningConfig(observation_period=period)).process_kpis
    assert kpis["observation_days"].to_list() == [365.0, 365.0]
    assert kpis["cases_per_year"].to_list() == pytest.approx([2 * 365.25 / 365, 3 * 365.25 / 365])


def test_row_order_does_not_matter():
    shuffled = make_log(ROWS).sample(fraction=1.0, shuffle=True, seed=3)
    a, b = compute_tables(make_log(ROWS)), compute_tables(shuffled)
    for name in ("process_kpis", "activity_stats", "handovers", "system_usage"):
        assert_frame_equal(getattr(a, name), getattr(b, name))


def test_hours_per_fte():
    kpis = compute_tables(make_log(ROWS), MiningConfig(hours_per_fte=2000.0)).process_kpis
    assert kpis["fte"].to_list() == pytest.approx([2 * PER_YEAR / 2000, 4.5 * PER_YEAR / 2000])


def test_edge_cases_one_case_one_event_quotes_unicode():
    rows = [
        dict(case="x1", act='Prüfung "A"', ts="2024-03-01 10:00", res="zoë", proc="Prüfung/Ω"),
        dict(case="y1", act="Start", ts="2024-03-01 09:00", start="2024-03-01 08:00", proc="Q"),
        dict(case="y1", act="Done", ts="2024-03-02 09:00", start="2024-03-02 08:00", proc="Q"),
    ]
    tables = compute_tables(make_log(rows))
    kpis = tables.process_kpis
    one = kpis.filter(pl.col("process") == "Prüfung/Ω").row(0, named=True)
    assert one["cases"] == 1 and one["events"] == 1 and one["variants"] == 1
    assert one["median_throughput_hours"] == 0.0 and one["rework_rate"] == 0.0
    assert one["handling_time_source"] == "none"  # one event, no start, no gap
    assert one["handling_hours_per_case"] is None and one["fte"] is None
    assert one["systems"] == ""
    stats = tables.activity_stats.filter(pl.col("process") == "Prüfung/Ω")
    assert stats["activity"].to_list() == ['Prüfung "A"']
    q = kpis.filter(pl.col("process") == "Q").row(0, named=True)
    assert q["median_throughput_hours"] == 25.0 and q["handling_hours_per_case"] == 2.0


def test_single_event_log_has_no_annual_figures():
    kpis = compute_tables(make_log([dict(case="a", act="A", ts="2024-01-01 10:00")])).process_kpis
    row = kpis.row(0, named=True)
    assert row["observation_days"] == 0.0
    assert row["cases_per_year"] is None and row["effort_hours_per_year"] is None


def test_bad_input_raises_input_error():
    with pytest.raises(InputError, match="no events"):
        compute_tables(make_log(ROWS).head(0))
    with pytest.raises(InputError, match=r"missing required column.*process"):
        compute_tables(make_log(ROWS).drop("process"))


def test_with_model_quality_fills_named_processes(tables):
    from mining.discovery import DiscoveryResult

    p = Path("x")
    result = DiscoveryResult("Order", p, p, p, p, 0.97, 0.8, 2, 2, 1.0, "imf_0.4", 0.875)
    filled = with_model_quality(tables.process_kpis, [result])
    assert filled.columns == tables.process_kpis.columns
    assert filled["fitness"].to_list() == [None, 0.97]
    assert filled["precision"].to_list() == [None, 0.8]
    assert filled["f_score"].to_list() == [None, 0.875]
    assert filled["model"].to_list() == [None, "imf_0.4"]


def test_write_tables_round_trip(tables, tmp_path):
    paths = write_tables(tables, tmp_path)
    assert sorted(p.name for p in paths.values()) == [
        "activity_stats.csv",
        "handovers.csv",
        "process_kpis.csv",
        "system_usage.csv",
    ]
    back = pl.read_csv(paths["handovers"])
    assert_frame_equal(back, tables.handovers, check_exact=False, rel_tol=1e-12)
    kpis = pl.read_csv(paths["process_kpis"])
    assert kpis.columns == list(PROCESS_KPI_COLUMNS)


def test_tables_started_in_the_background_are_taken_over():
    from mining.kpis import start_tables

    log = make_log(ROWS)
    expected = compute_tables(make_log(ROWS), MiningConfig())
    start_tables(log, MiningConfig())
    started = compute_tables(log, MiningConfig())
    for name in ("process_kpis", "activity_stats", "handovers", "system_usage"):
        assert_frame_equal(getattr(started, name), getattr(expected, name))
    # taken once: a second call computes again (an equal result, a new object)
    again = compute_tables(log, MiningConfig())
    assert again.process_kpis is not started.process_kpis
    assert_frame_equal(again.process_kpis, expected.process_kpis)
    # another config is not the started computation
    start_tables(log, MiningConfig())
    other = compute_tables(log, MiningConfig(hours_per_fte=800.0))
    assert other.process_kpis["fte"].to_list() == [
        pytest.approx(2 * v) for v in expected.process_kpis["fte"].to_list()
    ]
    with pytest.raises(InputError, match="no events"):  # the background's error is raised
        empty = make_log(ROWS).clear()
        start_tables(empty, MiningConfig())
        compute_tables(empty, MiningConfig())
