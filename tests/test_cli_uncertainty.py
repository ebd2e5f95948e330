"""`bpo run` with `study.uncertainty`: the log's months are resampled, one line in the summary."""

import re
from pathlib import Path

import polars as pl
import pytest

from tests.robustness.conftest import bpo

SECTION = """study:
  uncertainty:
    scenarios: 300
    seed: 3
    resolves: 10
    ranges: {provider_prices: [0.95, 1.0, 1.1], transition_costs: [0.8, 1.0, 1.5]}
"""


@pytest.mark.slow  # a subprocess running the whole pipeline on a small demo: ~30 s
def test_run_with_uncertainty_resamples_the_months_and_prints_the_line(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert bpo("sample", "--out", "in", "--cases", "1500", "--format", "parquet", home=home,
               cwd=tmp_path).returncode == 0  # fmt: skip
    costs = tmp_path / "in" / "costs.yaml"
    costs.write_text(costs.read_text().replace("study:\n", SECTION, 1))
    done = bpo("run", "--log", "in/demo_log.parquet", "--costs", costs, "--out", "res",
               home=home, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pl.read_csv(tmp_path / "res" / "uncertainty.csv")
    share = (table["saving"] >= 0).mean()
    line = f"  saving ≥ 0 in {round(100 * share)} % of 300 scenarios"
    assert line in done.stdout.splitlines()
    assert "  … how sure is the saving (scenarios and re-solves)" in done.stderr.splitlines()
    # every scenario resampled twelve whole months of the demo year, in blocks of three
    for months in table["months"].to_list():
        drawn = months.split(";")
        assert len(drawn) == 12 and all(re.fullmatch(r"2025-\d\d", m) for m in drawn)
    assert table["volume:accounts_payable"].n_unique() > 20
    stability = pl.read_csv(tmp_path / "res" / "decision_stability.csv")
    plan = pl.read_csv(tmp_path / "res" / "sourcing_plan.csv")
    chosen = stability.filter(pl.col("chosen")).select("process", "option").rows()
    assert sorted(chosen) == sorted(plan.select("process", "decision").rows())
    assert stability.group_by("process").agg(pl.col("share_optimal").sum())[
        "share_optimal"
    ].to_list() == pytest.approx([1.0] * plan.height)
