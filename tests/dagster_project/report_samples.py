"""A report with every section filled, from small hand-made data (no pipeline run).

`full_report_data()` is what `test_report_template.py` renders and compares with
`data/report/full_report.html`, the page the string-building renderer produced for the same
data before the report moved to Jinja2 templates.
"""

import polars as pl

from dagster_project.report import (
    ModelPair,
    ParetoPoint,
    ProcessMap,
    ReportData,
    TornadoBar,
    UncertaintyView,
)
from dagster_project.roadmap_report import RoadmapSection

TINY_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="9"/></svg>'
TINY_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
HOSTILE = "<script>alert(1)</script> & Co"


def _history() -> pl.DataFrame:
    months = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07"]
    rows = []
    for i, month in enumerate(months):
        rows.append(("ap", month, 100 + 10 * i, 250.0 + i, 48.0 - i, 0.05 + 0.01 * i))
        rows.append(("order_to_cash", month, 900 - 20 * i, 1_800.5, 96.0, 0.0))
        rows.append((HOSTILE, month, 5, 3.25, 1.5, 0.5))
    return pl.DataFrame(
        rows,
        schema=["process", "month", "cases", "effort_hours", "p90_throughput_hours", "rework_rate"],
        orient="row",
    )


def full_report_data(process: str = "order_to_cash") -> ReportData:
    """Every section of the report, with `process` as one of the processes' names."""
    drift = pl.DataFrame(
        {
            "process": ["ap", process],
            "month": ["2025-04", "2025-06"],
            "kpi": ["cases", "rework_rate"],
            "value": [130.0, 0.5],
            "baseline": [110.0, 0.1],
            "change": [0.18, 4.0],
            "threshold": [0.15, 0.15],
        }
    )
    return ReportData(
        title="Sourcing study <ACME & Sons>",
        currency="EUR",
        subtitle="costs.yaml, 3 event logs, 2025-07-31",
        headline=(
            ("Annual saving", "€17,500", "5.8% of the status quo"),
            ("Status quo", "€300,000", "per year"),
            ("Payback", "Y2 Q1", "undiscounted"),
        ),
        status_quo_total=300_000.0,
        waterfall=(
            ("In-house labour", -300_000.0),
            ("Provider fees", 262_500.0),
            ("Rounding", 0.2),
            ("IT systems", 20_000.0),
        ),
        plan=pl.DataFrame(
            {
                "process": ["ap", process, "hr"],
                "decision": ["A", "in_house", "B"],
                "reason": ["cheapest", "core process", "quality"],
                "annual_cost": [120_000.0, 80_000.5, float("nan")],
                "saving": [17_500.0, -250.0, 0.0],
                "fte": [1.5, 2.0, None],
                "core": [False, True, False],
            }
        ),
        systems=pl.DataFrame(
            {"system": ["ERP", "CRM"], "action": ["keep", "retire"], "run_cost": [50_000, 0]}
        ),
        providers=pl.DataFrame(
            {"provider": ["A", HOSTILE], "risk_share": [0.125, 0.3], "fee": [12.5, 1_234.0]}
        ),
        kpis=pl.DataFrame(
            {
                "process": ["ap", process],
                "cases": [10_000, 2_500_000],
                "fitness": [0.9876, 1.0],
                "rework_rate": [0.04, 2.5],
                "mean_hours": [12.345, 1_234.5],
            }
        ),
        tornado=(
            TornadoBar("Prices (0.8 – 1.2)", -40_000.0, 75_000.0, flips=True),
            TornadoBar("ERP run cost ±20 %", 10_000.0, 25_000.0),
            TornadoBar(f"{HOSTILE} volume", 17_000.0, 18_000.0),
        ),
        base_saving=17_500.0,
        pareto=(
            ParetoPoint(282_500.0, 30_000.0, "P1→A", True),
            ParetoPoint(300_000.0, 0.0),
            ParetoPoint(290_000.0, 12_000.0, "P1→B"),
        ),
        maps=(
            ProcessMap("ap", svg=TINY_SVG),
            ProcessMap(process, png=TINY_PNG),
            ProcessMap("empty"),
        ),
        notes=("Solver: optimal", f"Provider {HOSTILE} has no offer for hr"),
        infeasibility=("P1 is core", "in-house FTE cap 4.0"),
        history=_history(),
        drift=drift,
        plan_changes=pl.DataFrame(
            {
                "kind": ["decision", "total"],
                "item": [process, "total"],
                "cost_difference": [5.0, -10.0],
            }
        ),
        conformance=pl.DataFrame(
            {
                "process": ["ap", process],
                "fitness": [0.91, 0.5],
                "precision": [0.8, 0.75],
                "deviation": ["skipped approve", "extra step"],
                "activity": ["approve", "pay"],
                "cases": [12, 3],
                "ignored": ["x", "y"],
            }
        ),
        model_pairs=(ModelPair("ap", TINY_SVG, TINY_SVG), ModelPair(process, TINY_SVG, None)),
        uncertainty=UncertaintyView(
            savings=(-2_000.0, -500.0, 1_000.0, 3_000.0, 5_000.0, 5_100.0, 12_000.0),
            p_loss=0.2857,
            mean=3_371.4,
            p5=-2_000.0,
            p50=3_000.0,
            p95=12_000.0,
            stability=pl.DataFrame(
                {
                    "process": [process, process],
                    "option": ["in_house", "A"],
                    "share_optimal": [0.25, 0.75],
                }
            ),
            basis=f"prices of {HOSTILE} moved",
            plans=pl.DataFrame(
                {"plan": ["deterministic", "robust"], "expected_cost": [1_000.0, 990.0]}
            ),
        ),
        roadmap=RoadmapSection(
            gantt_svg=TINY_SVG,
            cumulative=(
                ("Y1 Q1", -100_000.0),
                ("Y1 Q2", -60_000.0),
                ("Y1 Q3", -10_000.0),
                ("Y1 Q4", 30_000.0),
                ("Y2 Q1", 80_000.0),
                ("Y2 Q2", 130_000.0),
            ),
            payback_quarter=3,
            summary=(("NPV", "€120,000", "5 years"), ("Payback", "Y1 Q4", f"{HOSTILE}")),
            table=pl.DataFrame({"quarter": ["Y1 Q1"], "process": [process], "cash": [-100_000.0]}),
            explanation=("at most 0 process(es)", f"{HOSTILE} before ap"),
            landscape_before_svg=TINY_SVG,
            landscape_after_svg=TINY_SVG,
        ),
    )
