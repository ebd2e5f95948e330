"""The `roadmap` asset, its files and its report section, on the worked instance R1."""

import base64
import re
from pathlib import Path

import dagster as dg
import polars as pl
from lxml import etree

from dagster_project.defs import checks, exports, mining, optimization
from dagster_project.defs.roadmap import roadmap
from dagster_project.report import ReportData, render_report
from dagster_project.roadmap_report import RoadmapSection, cash_curve_svg
from tests.dagster_project.conftest import DATA, QUIET, resources

OPTIMIZE_WITH_ROADMAP = [
    mining.mined_tables_from_folder,
    optimization.cost_model,
    optimization.sourcing_plan,
    optimization.break_even,
    optimization.sensitivity,
    optimization.pareto_front,
    roadmap,
    *exports.export_assets(mining=False, optimization=True, roadmap=True),
    checks.cost_model_valid,
    checks.plan_feasible,
]


def _png(markdown: str) -> bytes:
    match = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert match is not None, markdown[:80]
    return base64.b64decode(match.group(1))


def test_roadmap_asset_files_metadata_and_report(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    out = tmp_path / "out"
    result = dg.materialize(
        OPTIMIZE_WITH_ROADMAP,
        instance=instance,
        resources=resources(out, cost_file=str(DATA / "costs" / "R1.yaml")),
        run_config=QUIET,
    )
    assert result.success
    road = result.asset_value("roadmap")
    assert road.result.starts == {"P1": 2, "P2": 0, "P3": 4, "P4": 3}
    meta = instance.get_latest_materialization_event(
        dg.AssetKey("roadmap")
    ).asset_materialization.metadata
    assert meta["status"].value == "optimal"
    assert meta["npv_cost"].value == 3_790_899.15
    assert meta["npv_status_quo"].value == 4_022_808.20
    assert meta["payback_quarter"].value == 11
    for key in ("gantt", "landscape_before", "landscape_after"):
        assert _png(meta[key].value).startswith(b"\x89PNG")
    plan_meta = instance.get_latest_materialization_event(
        dg.AssetKey("sourcing_plan")
    ).asset_materialization.metadata
    assert _png(plan_meta["landscape_after"].value).startswith(b"\x89PNG")

    table = pl.read_csv(out / "roadmap.csv")
    assert table.select("process", "provider", "start_quarter", "end_quarter").rows() == [
        ("P2", "A", 0, 2),
        ("P1", "A", 2, 3),
        ("P4", "A", 3, 4),
        ("P3", "A", 4, 7),
    ]
    assert table["one_time_cost"].to_list() == [50_000.0, 100_000.0, 10_000.0, 20_000.0]
    assert table["plan_run_cost_per_year"].to_list() == [168_000.0, 262_500.0, 92_400.0, 262_500.0]
    summary = pl.read_csv(out / "roadmap_summary.csv").row(0, named=True)
    assert summary["status"] == "optimal"
    assert summary["npv_cost"] == 3_790_899.15
    assert summary["npv_status_quo"] == 4_022_808.20
    assert summary["npv_cost_unconstrained"] < summary["npv_cost"]
    cash = pl.read_csv(out / "roadmap_cashflow.csv")
    assert cash.height == 20
    # Quarter 0: P2 dual running (60,000 + 0.5 × 42,000) + its transition 50,000 + the three
    # others at their status quo (75,000 + 75,000 + 30,000).
    assert cash["cost"][0] == 60_000 + 21_000 + 50_000 + 180_000
    assert round(cash["discounted_cost"].sum(), 2) == 3_790_899.15
    assert cash["cumulative_saving"][10] < 0 <= cash["cumulative_saving"][11]
    assert cash["in_transition"].to_list()[:7] == ["P2", "P2", "P1", "P4", "P3", "P3", "P3"]
    for which in ("before", "after"):
        svg = etree.parse(out / "models" / f"landscape_{which}.svg")
        titles = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")}
        assert {"p:P1", "p:P4"} <= titles
        assert (out / "models" / f"landscape_{which}.png").read_bytes().startswith(b"\x89PNG")
    page = (out / "report.html").read_text()
    assert "<h2>Transition roadmap</h2>" in page
    assert "payback Y3 Q4" in page
    assert "<h2>Process landscape before and after</h2>" in page


def test_report_without_roadmap_has_no_roadmap_section() -> None:
    assert "Transition roadmap" not in render_report(ReportData(title="t"))


def test_cash_curve_marks_the_payback_quarter() -> None:
    points = (("Y1 Q1", -100.0), ("Y1 Q2", -20.0), ("Y1 Q3", 50.0))
    svg = cash_curve_svg(points, 2)
    assert svg.count("<rect") == 3
    assert "payback Y1 Q3" in svg
    etree.fromstring(svg.encode())
    page = render_report(
        ReportData(title="t", roadmap=RoadmapSection(cumulative=points, payback_quarter=2))
    )
    assert "Cumulative saving by quarter" in page


def test_infeasible_roadmap_section_lists_the_rules() -> None:
    page = render_report(
        ReportData(title="t", roadmap=RoadmapSection(explanation=("at most 0 process(es)",)))
    )
    assert "No feasible transition roadmap" in page
    assert "at most 0 process(es)" in page
