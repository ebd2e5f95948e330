import math
import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mining.handling import add_handling, hours_mean, hours_sum, process_handling
from mining.kpis import MiningConfig, compute_tables
from tests.mining.helpers import make_log

# No start timestamps: resource r1's completions (gaps in minutes after the arrow).
NO_START = [
    dict(case="k1", act="A", ts="2024-01-01 09:00", res="r1"),  # first of the day → A median
    dict(case="k1", act="B", ts="2024-01-01 09:20", res="r1"),  # gap 20
    dict(case="k2", act="A", ts="2024-01-01 10:00", res="r1"),  # gap 40
    dict(case="k2", act="B", ts="2024-01-01 15:00", res="r1"),  # gap 5 h > cap → B median
    dict(case="k3", act="A", ts="2024-01-02 09:10", res="r1"),  # new day → A median
    dict(case="k1", act="C", ts="2024-01-01 12:00"),  # no resource, no valid C gap → none
]


def test_estimated_resource_gaps_and_medians():
    out = add_handling(make_log(NO_START))
    minutes = [None if h is None else round(h * 60, 9) for h in out["handling_hours"]]
    assert minutes == [40.0, 20.0, 40.0, 20.0, 40.0, None]
    assert out["handling_source"].to_list() == ["estimated"] * 5 + ["none"]
    kpis = compute_tables(make_log(NO_START)).process_kpis.row(0, named=True)
    assert kpis["handling_time_source"] == "estimated"
    assert kpis["handling_hours_per_case"] == pytest.approx(160 / 60 / 3)
    assert kpis["fte"] > 0
    assert kpis["fte"] == pytest.approx(
        kpis["effort_hours_per_year"] / MiningConfig().hours_per_fte
    )
    assert kpis["effort_hours_per_year"] == pytest.approx(
        kpis["handling_hours_per_case"] * kpis["cases_per_year"]
    )


def test_gap_cap_is_inclusive_and_configurable():
    rows = [
        dict(case="a", act="X", ts="2024-01-01 08:00", res="r"),
        dict(case="b", act="X", ts="2024-01-01 12:00", res="r"),  # exactly 4 h
    ]
    assert add_handling(make_log(rows))["handling_hours"].to_list() == [4.0, 4.0]
    capped = add_handling(make_log(rows), cap_hours=3.0)
    assert capped["handling_hours"].to_list() == [None, None]
    assert capped["handling_source"].to_list() == ["none", "none"]


def test_zero_gap_is_not_a_measurement():
    rows = [
        dict(case="a", act="X", ts="2024-01-01 08:00", res="r"),
        dict(case="b", act="X", ts="2024-01-01 08:30", res="r"),
        dict(case="c", act="X", ts="2024-01-01 08:30", res="r"),  # same instant (batch)
    ]
    hours = add_handling(make_log(rows))["handling_hours"].to_list()
    assert hours == [0.5, 0.5, 0.5]  # first and batch twin: X's median valid gap


def test_working_day_in_configured_time_zone():
    rows = [
        dict(case="a", act="X", ts="2024-01-01 22:30", res="r"),
        dict(case="b", act="Y", ts="2024-01-01 23:30", res="r"),  # 00:30 next day in Berlin
    ]
    utc = add_handling(make_log(rows))["handling_hours"].to_list()
    berlin = add_handling(make_log(rows), working_day_timezone="Europe/Berlin")
    assert utc == [None, 1.0]
    assert berlin["handling_hours"].to_list() == [None, None]


def test_gaps_span_cases_and_processes():
    rows = [
        dict(case="a", act="X", ts="2024-01-01 09:00", res="r", proc="P1"),
        dict(case="b", act="Y", ts="2024-01-01 09:45", res="r", proc="P2"),
    ]
    assert add_handling(make_log(rows))["handling_hours"].to_list() == [None, 0.75]


def test_measured_process_fills_missing_starts_per_activity():
    rows = [
        dict(case="a", act="Work", ts="2024-01-01 10:00", start="2024-01-01 09:00", res="r"),
        dict(case="b", act="Work", ts="2024-01-01 11:00", start="2024-01-01 10:30", res="r"),
        dict(case="c", act="Work", ts="2024-01-01 12:00", res="r"),  # no start: median 0.75
        dict(case="a", act="Arrive", ts="2024-01-01 08:00", res="web"),  # never a start
    ]
    out = add_handling(make_log(rows))
    assert out["handling_hours"].to_list() == [1.0, 0.5, 0.75, 0.0]
    assert out["handling_source"].to_list() == ["measured", "measured", "estimated", "instant"]
    summary = process_handling(out).row(0, named=True)
    assert summary == {"process": "P", "handling_hours_total": 2.25,
                       "handling_time_source": "measured"}  # fmt: skip


def test_start_after_completion_is_not_measured():
    rows = [dict(case="a", act="X", ts="2024-01-01 10:00", start="2024-01-01 11:00", res="r")]
    out = add_handling(make_log(rows))
    assert out["handling_source"].to_list() == ["none"]


def test_mixed_sources_take_the_majority():
    log = pl.DataFrame(
        {
            "process": ["P"] * 5 + ["Q"] * 2,
            "handling_hours": [1.0, 1.0, 1.0, 1.0, None, 1.0, 2.0],
            "handling_source": [*["estimated"] * 3, "measured", "none", "measured", "estimated"],
        }
    )
    out = process_handling(log).sort("process")
    assert out["handling_time_source"].to_list() == ["estimated", "measured"]  # tie → measured
    assert out["handling_hours_total"].to_list() == [4.0, 3.0]


def test_real_log_without_starts_is_estimated_and_non_zero(real_log):
    kpis = compute_tables(real_log("receipt.xes.gz"), MiningConfig()).process_kpis
    row = kpis.row(0, named=True)
    assert row["handling_time_source"] == "estimated"
    assert row["handling_hours_per_case"] > 0 and row["fte"] > 0


def test_real_lifecycle_log_is_measured(real_log):
    log = real_log("repair_example.xes.gz")
    out = add_handling(log)
    measured = out.filter(pl.col("start_timestamp").is_not_null())
    expected = (
        (measured["timestamp"] - measured["start_timestamp"]).dt.total_seconds() / 3600
    ).to_list()
    assert measured["handling_hours"].to_list() == pytest.approx(expected)
    kpis = compute_tables(log).process_kpis.row(0, named=True)
    assert kpis["handling_time_source"] == "measured"
    total = out["handling_hours"].sum()
    assert kpis["handling_hours_per_case"] == pytest.approx(total / 1104)


@pytest.mark.parametrize("starts_in_q", [True, False])
def test_eager_and_lazy_agree_with_and_without_resource_gaps(starts_in_q):
    # Every process measured → the eager path skips the resource gaps; Q without any start
    # needs them (b's Y follows r's completion of Z in P at 09:10: 20 min; c's Y takes the median).
    rows = [
        dict(case="a", act="X", ts="2024-01-01 09:00", start="2024-01-01 08:00", res="r"),
        dict(case="a", act="Z", ts="2024-01-01 09:10", res="r"),
        dict(case="b", act="Y", ts="2024-01-01 09:30", res="r", proc="Q"),
        dict(case="c", act="Y", ts="2024-01-01 09:40", res="s", proc="Q"),
    ]
    if starts_in_q:
        rows[2]["start"] = "2024-01-01 09:20"
    log = make_log(rows)
    eager = add_handling(log)
    assert_frame_equal(eager, add_handling(log.lazy()).collect())
    expected = [1.0, 0.0, 1 / 6, 1 / 6] if starts_in_q else [1.0, 0.0, 1 / 3, 1 / 3]
    assert eager["handling_hours"].to_list() == pytest.approx(expected)
    assert eager.columns == [*log.columns, "handling_hours", "handling_source"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hours_sum_is_exact_whatever_the_order(seed: int) -> None:
    """Σ hours equals the exact sum of the microseconds, in any row order and thread split."""
    rng = random.Random(seed)
    micros = [rng.randrange(0, 4 * 3_600_000_000) for _ in range(200_000)]
    micros += [m + 0.5 for m in micros[:1_000]]  # medians of two events: half microseconds
    groups = [rng.randrange(3) for _ in micros]
    frame = pl.DataFrame({"g": groups, "h": [m / 3_600_000_000 for m in micros]})
    expected = {
        g: sum(2 * m for m, k in zip(micros, groups, strict=True) if k == g) / 7_200_000_000
        for g in range(3)
    }
    totals = []
    for order in range(3):
        shuffled = frame.sample(fraction=1.0, shuffle=True, seed=order)
        found = shuffled.group_by("g").agg(total=hours_sum(pl.col("h")))
        totals.append(dict(found.iter_rows()))
    assert totals[0] == totals[1] == totals[2]  # bit for bit, whatever the order
    for g, total in totals[0].items():  # the exact sum, but for the division's last bit
        assert math.isclose(total, expected[g], rel_tol=2**-52, abs_tol=0.0)
    mean = frame.filter(pl.col("g") == 0).select(hours_mean(pl.col("h"))).item()
    assert math.isclose(mean, expected[0] / groups.count(0), rel_tol=2**-51, abs_tol=0.0)
    assert (
        pl.DataFrame({"h": [None]}, schema={"h": pl.Float64}).select(hours_mean(pl.col("h"))).item()
        is None
    )
