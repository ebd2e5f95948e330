"""Monthly KPI history and drift detection (mining.history)."""

from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mining.history import (
    DRIFT_COLUMNS,
    HISTORY_COLUMNS,
    DriftThresholds,
    concat_history,
    detect_drift,
    month_bounds,
    month_kpis,
    month_slice,
    monthly_kpis,
    months_of,
)
from mining.kpis import MiningConfig, compute_tables
from pipelines.demo import generate
from pipelines.demo_drift import EXPECTED_DRIFT, generate_drift
from pipelines.errors import InputError
from tests.mining.helpers import make_log, t

# Two processes. P: case a starts 31 Jan 23:30 UTC (= 1 Feb 00:30 in Berlin) and ends in
# February; b and c start in February, c with rework. Q: one case in March.
ROWS = [
    {"case": "a", "act": "X", "ts": "2025-01-31 23:30", "start": "2025-01-31 23:00", "res": "r1"},
    {"case": "a", "act": "Y", "ts": "2025-02-01 02:00", "start": "2025-02-01 01:00", "res": "r1"},
    {"case": "b", "act": "X", "ts": "2025-02-03 10:00", "start": "2025-02-03 09:00", "res": "r1"},
    {"case": "b", "act": "Y", "ts": "2025-02-03 12:00", "start": "2025-02-03 11:30", "res": "r2"},
    {"case": "c", "act": "X", "ts": "2025-02-05 10:00", "start": "2025-02-05 08:00", "res": "r2"},
    {"case": "c", "act": "X", "ts": "2025-02-05 14:00", "start": "2025-02-05 13:00", "res": "r2"},
    {"case": "c", "act": "Y", "ts": "2025-02-06 10:00", "start": "2025-02-06 09:00", "res": "r1"},
    {"case": "q", "act": "Z", "ts": "2025-03-10 10:00", "proc": "Q", "res": "r3"},
]


def test_a_case_belongs_to_the_month_of_its_first_event() -> None:
    log = make_log(ROWS)
    assert months_of(log) == ["2025-01", "2025-02", "2025-03"]
    jan = month_slice(log, "2025-01")
    assert jan["case_id"].to_list() == ["a", "a"]  # also its February event
    assert jan.columns == log.columns
    assert month_slice(log, "2025-02")["case_id"].to_list() == ["b", "b", "c", "c", "c"]
    assert month_slice(log, "2025-04").height == 0
    # in Berlin case a starts on 1 February
    assert months_of(log, "Europe/Berlin") == ["2025-02", "2025-03"]
    assert month_slice(log, "2025-02", "Europe/Berlin")["case_id"].n_unique() == 3


def test_month_bounds_and_bad_month() -> None:
    assert month_bounds("2025-12") == (t("2025-12-01 00:00"), t("2026-01-01 00:00"))
    assert month_bounds("2025-07", "Europe/Berlin") == (
        t("2025-06-30 22:00"),
        t("2025-07-31 22:00"),
    )
    with pytest.raises(InputError, match="'2025-13' is not a month: write it as YYYY-MM"):
        month_slice(make_log(ROWS), "2025-13")


def test_monthly_kpis_exact_values() -> None:
    history = monthly_kpis(make_log(ROWS))
    assert history.columns == list(HISTORY_COLUMNS)
    expected = pl.DataFrame(
        {
            "process": ["P", "P", "Q"],
            "month": ["2025-01", "2025-02", "2025-03"],
            "cases": [1, 2, 1],
            # a: 0.5 + 1.0 h; b: 1.0 + 0.5; c: 2 + 1 + 1. Q has no start: no handling time.
            "effort_hours": [1.5, 5.5, None],
            "fte": [1.5 * 365.25 / 31 / 1600, 5.5 * 365.25 / 28 / 1600, None],
            "median_throughput_hours": [3.0, (3.0 + 26.0) / 2, 0.0],
            "p90_throughput_hours": [3.0, 3.0 + 0.9 * 23.0, 0.0],
            "rework_rate": [0.0, 0.5, 0.0],
            "variants": [1, 2, 1],
        }
    )
    assert_frame_equal(history, expected, check_dtypes=False)


@pytest.fixture(scope="module")
def small_demo() -> pl.DataFrame:
    return generate(3_000, 11).log


def test_each_month_equals_compute_tables_on_its_slice(small_demo: pl.DataFrame) -> None:
    config = MiningConfig(hours_per_fte=1500.0)
    history = monthly_kpis(small_demo, config)
    assert history["month"].unique().sort().to_list() == [f"2025-{m:02d}" for m in range(1, 13)]
    for month in ("2025-01", "2025-07", "2025-12"):
        start, end = month_bounds(month)
        own = compute_tables(
            month_slice(small_demo, month), replace(config, observation_period=(start, end))
        ).process_kpis
        mine = history.filter(pl.col("month") == month).drop("month")
        theirs = own.select(
            "process",
            "cases",
            (pl.col("handling_hours_per_case") * pl.col("cases")).alias("effort_hours"),
            "fte",
            "median_throughput_hours",
            "p90_throughput_hours",
            "rework_rate",
            "variants",
        )
        assert_frame_equal(mine, theirs)
    # every process case is in exactly one month
    totals = history.group_by("process").agg(pl.col("cases").sum()).sort("process")
    whole = compute_tables(small_demo).process_kpis.select("process", "cases")
    assert_frame_equal(totals, whole)


def test_partitions_concatenated_equal_the_history(small_demo: pl.DataFrame) -> None:
    parts = [month_kpis(month_slice(small_demo, m), m) for m in reversed(months_of(small_demo))]
    assert_frame_equal(concat_history(parts), monthly_kpis(small_demo))
    empty = month_kpis(month_slice(small_demo, "2026-01"), "2026-01")
    assert empty.height == 0 and empty.columns == list(HISTORY_COLUMNS)


def test_empty_log_is_bad_input() -> None:
    with pytest.raises(InputError, match="no events"):
        monthly_kpis(make_log(ROWS).head(0))


# --------------------------------------------------------------------------- drift, synthetic


def _history(values: dict[str, list[float]], cases: list[int] | None = None) -> pl.DataFrame:
    """A 12-month history of process P; KPIs not given are constant."""
    n = 12
    cases = cases or [1000] * n
    base = {
        "process": ["P"] * n,
        "month": [f"2024-{m:02d}" for m in range(1, n + 1)],
        "cases": cases,
        "effort_hours": [500.0] * n,
        "fte": [4.0] * n,
        "median_throughput_hours": [10.0] * n,
        "p90_throughput_hours": [24.0] * n,
        "rework_rate": [0.1] * n,
        "variants": [5] * n,
    }
    return pl.DataFrame(base | values).select(HISTORY_COLUMNS)


def test_a_lasting_change_is_flagged_once_in_its_first_month() -> None:
    cases = [1000] * 6 + [1400] * 6
    drift = detect_drift(_history({"effort_hours": [c / 2 for c in cases]}, cases))
    assert drift.columns == list(DRIFT_COLUMNS)
    expected = pl.DataFrame(
        {
            "process": ["P", "P"],
            "month": ["2024-07", "2024-07"],
            "kpi": ["cases", "effort_hours"],
            "value": [1400.0, 700.0],
            "baseline": [1000.0, 500.0],
            "change": [0.4, 0.4],
            "threshold": [0.15, 0.15],
        }
    )
    assert_frame_equal(drift, expected, check_exact=False, rel_tol=1e-12)


def test_one_odd_month_is_not_drift_and_a_drop_is() -> None:
    spike = [0.1] * 5 + [0.3] + [0.1] * 6
    assert detect_drift(_history({"rework_rate": spike})).height == 0
    p90 = [24.0] * 4 + [12.0] * 8
    drift = detect_drift(_history({"p90_throughput_hours": p90}))
    assert drift.select("month", "kpi", "change").rows() == [
        ("2024-05", "p90_throughput_hours", -0.5)
    ]


def test_below_threshold_or_within_noise_is_not_drift() -> None:
    # +14 % is below the 15 % threshold however many cases there are
    assert detect_drift(_history({}, [1000] * 6 + [1140] * 6)).height == 0
    # 100 → 150 cases: pooled λ = 112.5, z = 50 / √(112.5 · 4/3) = 4.08 ≥ 3.5 ...
    small = detect_drift(_history({}, [100] * 6 + [150] * 6))
    assert small.select("month", "kpi").rows() == [("2024-07", "cases")]
    # ... but not with a stricter noise test; 60 → 84 is z = 2.4; below min_cases never
    strict = DriftThresholds(min_z=4.5)
    assert detect_drift(_history({}, [100] * 6 + [150] * 6), strict).height == 0
    assert detect_drift(_history({}, [60] * 6 + [84] * 6)).height == 0
    assert detect_drift(_history({}, [40] * 6 + [80] * 6)).height == 0


def test_the_threshold_is_configurable() -> None:
    cases = [2000] * 6 + [2200] * 6
    assert detect_drift(_history({}, cases)).height == 0
    drift = detect_drift(_history({}, cases), DriftThresholds(volume=0.05))
    assert drift.select("month", "kpi", "threshold").rows() == [("2024-07", "cases", 0.05)]


def test_the_last_month_and_unfinished_months_are_not_judged() -> None:
    cases = [1000] * 11 + [1500]
    assert detect_drift(_history({}, cases)).height == 0  # no month after it to confirm
    cases = [1000] * 9 + [1500] * 3
    assert detect_drift(_history({}, cases)).height == 1
    # a log ending on 5 December: November's cases (P90 24 h) have not settled → not judged
    h = _history({}, cases)
    assert detect_drift(h, log_end=t("2024-12-05 00:00")).height == 1
    slow = h.with_columns(pl.lit(200.0).alias("p90_throughput_hours"))  # 2 × 200 h > 5 days
    assert detect_drift(slow, log_end=t("2024-12-05 00:00")).height == 0
    # a log starting on 20 January: January is partial and cannot be in a baseline
    early = _history({}, [500] + [1000] * 11)
    assert detect_drift(early).select("month", "baseline").rows() == [("2024-04", 2500 / 3)]
    assert detect_drift(early, log_start=t("2024-01-20 00:00")).height == 0


# --------------------------------------------------------------------------- drift, demo


def _drift_of(log: pl.DataFrame) -> pl.DataFrame:
    history = monthly_kpis(log)
    return detect_drift(
        history,
        log_start=log.select(
            pl.min_horizontal(pl.col("start_timestamp").min(), pl.col("timestamp").min())
        ).item(),
        log_end=log["timestamp"].max(),
    )


@pytest.mark.parametrize("seed", [7, 12])
def test_demo_with_a_known_change_in_july_flags_exactly_that(seed: int) -> None:
    drift = _drift_of(generate_drift(30_000, seed).log)
    assert set(drift["month"]) == {"2025-07"}
    assert set(drift.select("process", "kpi").iter_rows()) == EXPECTED_DRIFT
    ap = drift.filter(pl.col("process") == "accounts_payable", pl.col("kpi") == "cases")
    assert 0.30 < ap["change"].item() < 0.60  # designed: +40 %
    cs = drift.filter(pl.col("process") == "customer_service")
    assert cs["value"].item() > 0.2
    assert cs["baseline"].item() < 0.12


@pytest.mark.parametrize("seed", [7, 12])
def test_the_unchanged_demo_company_has_no_drift(seed: int) -> None:
    assert _drift_of(generate(30_000, seed).log).height == 0
