"""The HTML report as a pure function of its data."""

import re

import polars as pl

from dagster_project.report import (
    ParetoPoint,
    ProcessMap,
    ReportData,
    TornadoBar,
    money,
    render_report,
    short_money,
    waterfall_svg,
)


def test_money_formats() -> None:
    assert money(1234567.4) == "€1,234,567"
    assert money(-1234.5, "USD", 2) == "−$1,234.50"
    assert money(None) == "—"
    assert money(10, "PLN") == "PLN 10"
    assert short_money(1_234_567) == "€1.23M"
    assert short_money(-350_000) == "−€350k"
    assert short_money(2_500) == "€2.5k"


def test_waterfall_ends_at_status_quo_plus_changes() -> None:
    svg = waterfall_svg(300_000, [("In-house labour", -300_000), ("Provider fees", 262_500)])
    labels = re.findall(r'class="val">([^<]+)<', svg)
    assert labels == ["€300k", "−€300k", "€262k", "€262k"]
    assert svg.count("<rect") == 4


def test_report_is_self_contained_and_escapes_text() -> None:
    data = ReportData(
        title="Study <A&B>",
        headline=(("Annual saving", "€17,500", "5.8% of the status quo"),),
        status_quo_total=300_000.0,
        waterfall=(("In-house labour", -300_000.0), ("Provider fees", 282_500.0)),
        plan=pl.DataFrame({"process": ["P1"], "decision": ["A"], "saving": [17_500.0]}),
        kpis=pl.DataFrame({"process": ["P1"], "cases": [10_000], "fitness": [0.9876]}),
        tornado=(TornadoBar("Prices (0.8 – 1.2)", -40_000.0, 75_000.0, flips=True),),
        base_saving=17_500.0,
        pareto=(ParetoPoint(282_500.0, 30_000.0, "P1→A", True), ParetoPoint(300_000, 0.0)),
        maps=(ProcessMap("p1", svg="<svg xmlns='http://www.w3.org/2000/svg'/>"),),
        notes=("Solver: optimal",),
    )
    page = render_report(data)
    assert "<title>Study &lt;A&amp;B&gt;</title>" in page
    assert page.count('class="chart"') == 3
    assert '<td class="num">€17,500</td>' in page
    assert '<td class="num">10,000</td>' in page and "0.988" in page
    assert "Prices (0.8 – 1.2) ⇄" in page
    assert 'src="data:image/svg+xml;base64,' in page
    assert "@media print" in page
    assert not re.search(r"(src|href)=\"https?:", page)
    assert "<script" not in page


def test_infeasible_report_shows_the_conflict_and_no_plan() -> None:
    page = render_report(
        ReportData(title="S", infeasibility=("P1 is core", "in-house FTE cap 4.0"))
    )
    assert "No feasible sourcing plan" in page
    assert "<li>P1 is core</li><li>in-house FTE cap 4.0</li>" in page
    assert "chart" not in page.split("<body>")[1]
