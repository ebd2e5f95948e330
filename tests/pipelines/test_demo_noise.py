"""The noisy demo (`generate(..., noise=LEVEL)`, `bpo sample --noise`): disorder of real logs.

Level 0 is today's demo byte for byte (SHA-256 pinned from the generator before noise
existed); a noisy demo has many more variants and keeps what the optimisation relies on: the
ground truth equals what a miner computes, processes keep their systems, roles and
handovers, the calendar holds, and the designed plan still comes out at a moderate level.
"""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines.demo import NOISE_KINDS, DemoCompany, generate, write_sample
from pipelines.demo_catalogue import BATCH, ROLES, SYSTEM
from pipelines.errors import InputError
from tests.pipelines import test_demo as designed
from tests.pipelines.test_demo import EXPECTED_PLAN, EXPECTED_SYSTEMS, SYSTEMS_BY_PROCESS
from tests.robustness.conftest import bpo

CASES = 2_000
LEVEL = 0.3
AUTOMATED = [BATCH, SYSTEM]
# sha256 of `write_sample(out, cases=300, seed=7, fmt=...)` written before noise existed (the
# cost file is left out: other features change its text; noise 0 must leave it as without noise)
PINNED = {
    "csv": {
        "demo_log.csv": "89cc28a51591bba1ddd742dd52b4cfd53cf2219c3719872a3a7dde3caebe9806",
        "ground_truth.json": "aaaeddf2000405547b32dcbbb007c125bce08a3784c9f3ae3bf92cfd34446b85",
    },
    "parquet": {
        "demo_log.parquet": "2792498f1affc94242282a82a27a1570fa6a2e8a9dca81fdd950140ba5d794a1",
    },
    "xes": {
        "demo_log.xes.gz": "50773797987d75e88a713adfc4babd0c54bfb6385a3aba0f7fd8248e42b5cfab",
    },
}


@pytest.fixture(scope="module")
def clean() -> DemoCompany:
    return generate(CASES, seed=7)


@pytest.fixture(scope="module")
def noisy() -> DemoCompany:
    return generate(CASES, seed=7, noise=LEVEL)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _traces(log: pl.DataFrame) -> pl.DataFrame:
    """One row per (case, process): the activities in order, joined with '>'."""
    return log.group_by("case_id", "process", maintain_order=True).agg(
        pl.col("activity").str.join(">").alias("trace")
    )


def _variants(log: pl.DataFrame) -> dict[str, int]:
    per = _traces(log).group_by("process").agg(pl.col("trace").n_unique())
    return dict(per.iter_rows())


# ----------------------------------------------------------------- level 0 is today's demo


@pytest.mark.parametrize("fmt", sorted(PINNED))
def test_level_zero_is_todays_demo_byte_for_byte(tmp_path: Path, fmt: str) -> None:
    paths = write_sample(tmp_path, cases=300, seed=7, fmt=fmt, noise=0.0)
    written = {p.name: _sha(p) for p in (paths.log, paths.costs, paths.truth)}
    assert PINNED[fmt].items() <= written.items()
    without = generate(300, seed=7)
    assert generate(300, seed=7, noise=0).log.equals(without.log)
    assert paths.costs.read_text(encoding="utf-8") == without.costs_yaml
    assert '"noise"' not in paths.truth.read_text()


# ----------------------------------------------------------------- disorder


def test_noise_gives_many_more_variants(clean: DemoCompany, noisy: DemoCompany) -> None:
    before, after = _variants(clean.log), _variants(noisy.log)
    assert before.keys() == after.keys()
    assert sum(after.values()) > 10 * sum(before.values())
    assert after["accounts_payable"] > 20 * before["accounts_payable"]
    assert all(after[p] > before[p] for p in before)
    # a higher level gives more disorder still
    louder = _variants(generate(CASES, seed=7, noise=0.6).log)
    assert louder["accounts_payable"] > after["accounts_payable"]


# the benchmark's noisy demos (docs/demo.md): cases, level → at least these events
BENCHMARK = [(14_000, 0.5, 100_000), pytest.param(140_000, 0.5, 1_000_000, marks=pytest.mark.slow)]


@pytest.mark.parametrize(("cases", "level", "events"), BENCHMARK)
def test_benchmark_settings_give_3000_variants_in_one_process(
    cases: int, level: float, events: int
) -> None:
    log = generate(cases, seed=7, noise=level).log
    assert log.height >= events
    assert max(_variants(log).values()) >= 3_000


def test_every_kind_of_disturbance_occurs(clean: DemoCompany, noisy: DemoCompany) -> None:
    """The walk draws the same paths; the noise then skips, repeats, swaps and inserts."""
    assert set(NOISE_KINDS) == {"skip", "repeat", "swap", "insert"}
    assert sum(NOISE_KINDS.values()) == pytest.approx(1.0)
    invoices = {
        name: _traces(demo.log.filter(pl.col("case_id").str.starts_with("INV-")))["trace"]
        for name, demo in (("clean", clean), ("noisy", noisy))
    }
    for name, traces in invoices.items():
        expect = name == "noisy"
        # skipped: the batch scan (never first or last of the run) is missing
        assert (~traces.str.contains("Scan Invoice")).any() == expect
        # repeated: the same step twice in a row
        assert traces.str.contains("Receive Invoice>Receive Invoice").any() == expect
        # swapped neighbours: the scan before the receipt
        assert traces.str.contains("Scan Invoice>Receive Invoice").any() == expect
        # rare path: a step of the PO flow inserted in an invoice without a purchase order
        assert traces.str.contains("Match Invoice to Purchase Order").any() == expect


def test_noise_keeps_each_cases_sequence_of_processes(
    clean: DemoCompany, noisy: DemoCompany
) -> None:
    """Runs of one process's events within a case keep their order: handovers are as designed."""

    def runs(log: pl.DataFrame) -> dict[str, str]:
        ordered = log.with_columns(pl.col("process").shift(1).over("case_id").alias("prev"))
        first = ordered.filter(pl.col("prev").is_null() | (pl.col("prev") != pl.col("process")))
        joined = first.group_by("case_id").agg(pl.col("process").str.join(">"))
        return dict(joined.iter_rows())

    assert runs(noisy.log) == runs(clean.log)
    assert noisy.truth.handovers != ()
    pairs = {(h.from_process, h.to_process) for h in noisy.truth.handovers}
    assert pairs == {(h.from_process, h.to_process) for h in clean.truth.handovers}
    for h in clean.truth.handovers:
        assert noisy.truth.handover_count(h.from_process, h.to_process) == h.handovers


# ----------------------------------------------------------------- invariants


def test_noisy_truth_equals_what_a_miner_computes(noisy: DemoCompany) -> None:
    designed.test_truth_equals_what_a_miner_computes(noisy)  # the clean demo's own check
    assert noisy.truth.noise == LEVEL
    assert noisy.truth.cases == CASES == noisy.log["case_id"].n_unique()
    assert noisy.truth.events == noisy.log.height


def test_noisy_log_keeps_systems_roles_and_calendar(noisy: DemoCompany) -> None:
    log = noisy.log
    mined = log.group_by("process").agg(pl.col("system").unique())
    assert {p: set(s) for p, s in mined.iter_rows()} == SYSTEMS_BY_PROCESS
    people = log.filter(~pl.col("resource").is_in(AUTOMATED))
    by_role = dict(people.group_by("role").agg(pl.col("resource").unique()).iter_rows())
    assert {r: set(p) for r, p in by_role.items()} == {r.id: set(r.resources) for r in ROLES}
    assert log.equals(log.sort(["case_id", "timestamp"], maintain_order=True))
    steps = log.with_columns(pl.col("timestamp").shift(1).over("case_id").alias("prev"))
    steps = steps.drop_nulls("prev")
    assert (steps["timestamp"] > steps["prev"]).all()
    local = log.with_columns(
        pl.col("timestamp").dt.convert_time_zone("Europe/Berlin").alias("done"),
        pl.col("start_timestamp").dt.convert_time_zone("Europe/Berlin").alias("began"),
    )
    human = local.filter(pl.col("start_timestamp").is_not_null())
    assert human.height == noisy.truth.events - local["start_timestamp"].null_count()
    assert (human["began"].dt.weekday() <= 5).all()
    assert (human["began"].dt.hour() >= 8).all()
    assert (human["began"].dt.date() == human["done"].dt.date()).all()
    assert local["done"].dt.year().unique().to_list() == [2025]


def test_designed_plan_survives_moderate_noise(tmp_path: Path, noisy: DemoCompany) -> None:
    from mining.kpis import MiningConfig, compute_tables
    from optimize.build import build_instance
    from optimize.costfile import load_costs
    from optimize.model import solve

    assert noisy.costs_yaml == generate(CASES, seed=7).costs_yaml
    year = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    mined = compute_tables(noisy.log, MiningConfig(observation_period=year))
    path = tmp_path / "costs.yaml"
    path.write_text(noisy.costs_yaml, encoding="utf-8")
    result = solve(build_instance(load_costs(path), mined, source=str(path)).instance)
    assert result.status == "optimal"
    assert result.plan.assignment == EXPECTED_PLAN
    assert result.plan.systems == EXPECTED_SYSTEMS


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize("level", [-0.1, 1.5, float("nan"), True, "0.5"])
def test_level_outside_zero_to_one_is_refused(tmp_path: Path, level: object) -> None:
    with pytest.raises(InputError, match=r"error: --noise: must be a number from 0 to 1"):
        write_sample(tmp_path, cases=300, noise=level)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"error: --noise: must be a number from 0 to 1"):
        generate(300, noise=level)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())


def test_bpo_sample_noise(tmp_path: Path) -> None:
    bad = bpo("sample", "--out", "s", "--cases", "300", "--noise", "1.5", home=tmp_path / "h",
              cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "error: --noise: must be a number from 0 to 1 (share of events disturbed), got 1.5"
    ]
    assert not (tmp_path / "s").exists()
    done = bpo("sample", "--out", "s", "--cases", "300", "--noise", "0.4", "--format", "csv",
               home=tmp_path / "h", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = pl.read_csv(tmp_path / "s" / "demo_log.csv", try_parse_dates=True)
    expected = generate(300, seed=7, noise=0.4).log
    assert written.select("case_id", "activity").equals(expected.select("case_id", "activity"))
    assert '"noise": 0.4' in (tmp_path / "s" / "ground_truth.json").read_text()
