"""The drift demo: the demo company with a known change from July (pipelines.demo_drift)."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.demo import RegimeChange, generate
from pipelines.demo_catalogue import FLOWS
from pipelines.demo_drift import AP_ROOT_FACTOR, CHANGE_MONTH, drift_changes, generate_drift
from pipelines.errors import InputError

CASES = 30_000


@pytest.fixture(scope="module")
def drift_log() -> pl.DataFrame:
    return generate_drift(CASES, 5).log


def _starts(log: pl.DataFrame) -> pl.DataFrame:
    """Process cases with the month of their first event (local time of the demo company)."""
    return log.group_by("process", "case_id").agg(
        month=pl.coalesce("start_timestamp", "timestamp")
        .min()
        .dt.convert_time_zone("Europe/Berlin")
        .dt.month(),
        rework=pl.col("activity").n_unique() < pl.len(),
        details=(pl.col("activity") == "Request Customer Details").any(),
    )


def test_root_factor_makes_the_payables_process_grow_by_40_percent() -> None:
    # root share 0.30; continued from procurement 0.16 × 0.70 → 1 + 0.4 × 0.412 / 0.30
    assert pytest.approx(1 + 0.4 * 0.412 / 0.30) == AP_ROOT_FACTOR
    assert CHANGE_MONTH == 7


def test_payables_volume_rises_by_40_percent_from_july(drift_log: pl.DataFrame) -> None:
    per_month = _starts(drift_log).group_by("process", "month").len()
    ap = per_month.filter(pl.col("process") == "accounts_payable")
    before = ap.filter(pl.col("month").is_between(2, 6))["len"].mean()  # January ramps up
    after = ap.filter(pl.col("month").is_between(7, 11))["len"].mean()  # December is cut
    assert 1.3 < after / before < 1.55  # type: ignore[operator]


def test_other_root_processes_keep_their_volume(drift_log: pl.DataFrame) -> None:
    plain = generate(CASES, 5).log
    for process in ("procurement", "customer_service", "accounts_receivable", "payroll"):
        ids = [
            log.filter(pl.col("process") == process)["case_id"].unique().sort()
            for log in (drift_log, plain)
        ]
        assert ids[0].equals(ids[1]), process


def test_new_rework_loop_in_customer_service_from_july(drift_log: pl.DataFrame) -> None:
    cs = _starts(drift_log).filter(pl.col("process") == "customer_service")
    before, after = cs.filter(pl.col("month") < 7), cs.filter(pl.col("month") >= 7)
    assert before["details"].sum() == 0  # the new activity exists only in the new regime
    assert 0.20 < after["details"].mean() < 0.30  # loop probability 0.25  # type: ignore[operator]
    assert before["rework"].mean() < 0.12  # type: ignore[operator]
    assert after["rework"].mean() > 0.25  # type: ignore[operator]


def test_same_seed_same_log_and_unchanged_default() -> None:
    assert_frame_equal(generate_drift(500, 3).log, generate_drift(500, 3).log)
    plain = generate(500, 3)
    assert_frame_equal(generate(500, 3, changes=None).log, plain.log)
    assert_frame_equal(generate(500, 3, changes=()).log, plain.log)
    assert generate(500, 3, changes=()).truth == plain.truth
    drift = generate_drift(500, 3)
    assert drift.costs_yaml == plain.costs_yaml
    assert drift.truth.cases == drift.log["case_id"].n_unique() > 500


def test_case_ids_stay_unique_and_numbered_per_prefix(drift_log: pl.DataFrame) -> None:
    ids = drift_log["case_id"].unique()
    inv = ids.filter(ids.str.starts_with("INV-")).sort()
    assert inv[0] == "INV-0000001"
    assert inv[-1] == f"INV-{inv.len():07d}"


def test_change_month_is_a_parameter() -> None:
    changes = drift_changes(10)
    assert [c.month for c in changes] == [10, 10]
    assert (
        changes[1].flow is not None and len(changes[1].flow) == len(FLOWS["customer_service"]) + 1
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (RegimeChange("nobody", 7), "'nobody' is not a root process"),
        (RegimeChange("payroll", 1), "month must be 2..12, got 1"),
        (RegimeChange("payroll", 7, volume_factor=0.0), "volume_factor must be > 0"),
    ],
)
def test_bad_changes(change: RegimeChange, message: str) -> None:
    with pytest.raises(InputError, match=message):
        generate(500, 1, changes=[change])
