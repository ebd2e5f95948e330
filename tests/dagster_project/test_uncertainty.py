"""The `uncertainty` asset, its files and its report section (issue 15)."""

import re
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from dagster_project.defs import checks, exports, mining, optimization
from dagster_project.defs.uncertainty import uncertainty_asset
from dagster_project.report import ReportData, UncertaintyView, render_report
from tests.dagster_project.conftest import DATA, QUIET, resources

SECTION_7 = [
    ".bpo-results",
    "break_even.csv",
    "cost_breakdown.csv",
    "inputs.json",
    "pareto.csv",
    "providers.csv",
    "report.html",
    "sensitivity.csv",
    "solver.csv",
    "sourcing_plan.csv",
    "systems_plan.csv",
]


def _assets() -> list:
    return [
        mining.mined_tables_from_folder,
        optimization.cost_model,
        optimization.sourcing_plan,
        optimization.break_even,
        optimization.sensitivity,
        optimization.pareto_front,
        uncertainty_asset(history=False),
        *exports.export_assets(mining=False, optimization=True, uncertainty=True),
        checks.cost_model_valid,
        checks.plan_feasible,
    ]


def _i1_with(tmp_path: Path, scenarios: int) -> Path:
    text = (DATA / "costs" / "I1_uncertainty.yaml").read_text(encoding="utf-8")
    path = tmp_path / "costs.yaml"
    path.write_text(text.replace("scenarios: 20000", f"scenarios: {scenarios}"), encoding="utf-8")
    return path


def _metadata(instance: dg.DagsterInstance) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey("uncertainty"))
    # `path`: where the IO manager stored the value (every output has it)
    metadata = event.asset_materialization.metadata
    return {k: v.value for k, v in metadata.items() if k != "path"}


def test_the_asset_publishes_its_files_and_numbers(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    costs = _i1_with(tmp_path, 2_000)
    out = tmp_path / "out"
    result = dg.materialize(
        _assets(), instance=instance, resources=resources(out, cost_file=str(costs)),
        run_config=QUIET,
    )  # fmt: skip
    assert result.success
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted([*SECTION_7, "uncertainty.csv", "decision_stability.csv"])
    table = pl.read_csv(out / "uncertainty.csv")
    assert table.height == 2_000
    assert table.columns == [
        "scenario", "volume:P1", "hours:P1", "price:A", "inhouse_rates", "transition_costs",
        "months", "status_quo_cost", "plan_cost", "saving", "plan_feasible", "optimum_cost",
        "regret",
    ]  # fmt: skip
    assert set(table["status_quo_cost"]) == {300_000.0}  # nothing but A's price moves
    assert table["months"].null_count() == 2_000  # no log: no bootstrap
    meta = _metadata(instance)
    assert meta["enabled"] is True
    assert meta["scenarios"] == 2_000
    assert meta["p_loss"] == pytest.approx((table["saving"] < 0).mean(), abs=1e-12)
    assert 0.40 < meta["p_loss"] < 0.51  # 0.4537 ± sampling noise of 2,000 draws
    savings = sorted(table["saving"].to_list())
    assert meta["saving_p5"] == savings[99]  # the 100th of 2,000: inverse CDF at 5 %
    assert meta["saving_p50"] == savings[999]
    assert meta["saving_p95"] == savings[1899]
    assert meta["resolves"] == 20
    stability = pl.read_csv(out / "decision_stability.csv")
    assert stability.columns == ["process", "option", "share_optimal", "chosen"]
    assert stability["option"].to_list() == ["in_house", "A"]
    regret = table.filter(pl.col("regret").is_not_null())
    assert regret.height == 20
    # a scenario whose plan loses money has the status quo as its optimum
    for row in regret.iter_rows(named=True):
        assert row["optimum_cost"] == pytest.approx(min(row["plan_cost"], 300_000.0))
    share_in_house = stability.filter(pl.col("option") == "in_house")["share_optimal"][0]
    assert share_in_house == pytest.approx((regret["saving"] < 0).mean(), abs=1e-6)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "How sure is the saving?" in html
    assert "How often each decision is optimal" in html
    assert re.search(r"The saving is ≥ 0 in \d+ % of them", html)


def test_without_the_section_nothing_changes(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    out = tmp_path / "out"
    result = dg.materialize(
        _assets(), instance=instance,
        resources=resources(out, cost_file=str(DATA / "costs" / "I1.yaml")), run_config=QUIET,
    )  # fmt: skip
    assert result.success
    assert sorted(p.name for p in out.iterdir()) == SECTION_7
    assert result.asset_value("uncertainty") is None
    assert _metadata(instance) == {"enabled": False}
    assert "How sure is the saving?" not in (out / "report.html").read_text(encoding="utf-8")


def test_the_report_section_draws_losses_red_and_lists_the_stability() -> None:
    view = UncertaintyView(
        savings=(-2_000.0, -500.0, 1_000.0, 3_000.0, 5_000.0),
        p_loss=0.4, mean=1_300.0, p5=-2_000.0, p50=1_000.0, p95=5_000.0,
        stability=pl.DataFrame({"process": ["P1", "P1"], "option": ["in_house", "A"],
                                "share_optimal": [0.25, 0.75]}),
        basis="prices moved",
    )  # fmt: skip
    html = render_report(ReportData(title="t", uncertainty=view))
    section = html.split("How sure is the saving?")[1]
    assert "The saving is ≥ 0 in 60 % of them" in section
    assert "expected €1,300, P5 −€2,000, median €1,000, P95 €5,000" in section
    bins = re.findall(r'fill="(#[0-9a-f]{6})" class="bin"', section)
    assert bins.count("#c0392b") == 2 and bins.count("#1b8a6b") == 3  # two losses, three gains
    assert "0.750" in section and "0.250" in section
    assert "How sure is the saving?" not in render_report(ReportData(title="t"))


RISKY_COSTS = """schema_version: 1
study:
  horizon_years: 5
  discount_rate: 0
  governance_share: 0
  uncertainty: {scenarios: 500, resolves: 0, objective: cvar, cvar_level: 0.95, saa_scenarios: 40}
processes:
  - {id: P1, override: {cases_per_year: 10000, inhouse_cost_per_year: 100000}}
providers:
  - {id: A, price_range: [1.0, 1.0, 1.4]}
  - {id: B}
offers:
  - {process: P1, provider: A, price_per_case: 8}
  - {process: P1, provider: B, price_per_case: 9}
"""


def test_a_cvar_plan_is_reported_beside_the_deterministic_one(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """A is cheaper (80,000) but loses money above a factor 1.25 (P = 0.15² / 0.16 = 14 %)."""
    costs = tmp_path / "costs.yaml"
    costs.write_text(RISKY_COSTS, encoding="utf-8")
    out = tmp_path / "out"
    result = dg.materialize(
        _assets(), instance=instance, resources=resources(out, cost_file=str(costs)),
        run_config=QUIET,
    )  # fmt: skip
    assert result.success
    assert "robust_plan.csv" in {p.name for p in out.iterdir()}
    robust = pl.read_csv(out / "robust_plan.csv")
    assert robust.select("plan", "status", "decisions").rows() == [
        ("deterministic", "optimal", "P1=A"),
        ("cvar", "optimal", "P1=B"),
    ]
    scenarios = pl.read_csv(out / "uncertainty.csv")
    assert robust["p_loss"][0] == pytest.approx((scenarios["saving"] < 0).mean())
    assert 0.08 < robust["p_loss"][0] < 0.21  # 0.140625 ± sampling noise of 500 draws
    assert robust.row(1, named=True) | {"objective_value": None} == {
        "plan": "cvar", "status": "optimal", "objective_value": None, "expected_cost": 90_000.0,
        "p95_cost": 90_000.0, "p_loss": 0.0, "decisions": "P1=B",
    }  # fmt: skip
    meta = _metadata(instance)
    assert meta["robust_objective"] == "cvar"
    assert meta["robust_p_loss"] == 0.0 and meta["robust_p95_cost"] == 90_000.0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "A plan that holds up" in html
    assert "P1→B" in html  # the robust plan's difference from the deterministic one
