"""The report's roadmap section: Gantt chart, cumulative cash curve, landscape before/after.

Pure, like `dagster_project.report` (whose helpers and templates it uses): plain records in,
drawing data out; `templates/roadmap.html.j2` and the `cash_curve` macro draw them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from dagster_project import report as r


@dataclass(frozen=True)
class RoadmapSection:
    """What the report shows of the roadmap; every part optional.

    Attributes:
        gantt_svg: The Gantt chart (Graphviz SVG).
        cumulative: (quarter label, cumulative undiscounted saving) per quarter.
        payback_quarter: Index into `cumulative` of the payback quarter, or None.
        summary: (label, value, note) cards: NPVs and payback.
        table: `roadmap.csv`.
        explanation: Conflicting rules when no roadmap exists.
        landscape_before_svg: The status quo's landscape.
        landscape_after_svg: The plan's landscape.
    """

    gantt_svg: str | None = None
    cumulative: tuple[tuple[str, float], ...] = ()
    payback_quarter: int | None = None
    summary: tuple[tuple[str, str, str], ...] = ()
    table: pl.DataFrame | None = None
    explanation: tuple[str, ...] = ()
    landscape_before_svg: str | None = None
    landscape_after_svg: str | None = None


def cash_curve_chart(
    points: Sequence[tuple[str, float]], payback: int | None, currency: str = "EUR"
) -> dict[str, Any]:
    """Drawing data of the cumulative saving per quarter (see `cash_curve_svg`)."""
    width, height = 860, 300
    left, right, top, bottom = 80, 20, 26, 46
    values = [v for _, v in points] or [0.0]
    ticks = r._nice_ticks(min(0.0, *values), max(0.0, *values))
    lo, hi = ticks[0], ticks[-1]
    n = max(len(points), 1)
    step = (width - left - right) / n

    def x(i: float) -> float:
        return left + (i + 0.5) * step

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (height - top - bottom)

    bars = []
    for i, (label, value) in enumerate(points):
        top_v, bot_v = max(value, 0.0), min(value, 0.0)
        bars.append(
            {
                "x": x(i) - step * 0.3,
                "y": y(top_v),
                "width": step * 0.6,
                "height": max(y(bot_v) - y(top_v), 1.0),
                "colour": r.TEAL if value >= 0 else r.RED,
                "tip": f"{label}: {r.money(value, currency)}",
                "cx": x(i),
                "tick": label if i % 4 == 0 else None,
            }
        )
    marked = payback is not None and 0 <= payback < len(points)
    return {
        "width": width,
        "height": height,
        "title": "Cumulative saving against the status quo by quarter",
        "x1": left,
        "x2": width - right,
        "top": top,
        "bottom_y": height - bottom,
        "tick_y": height - bottom + 16,
        "grid": r._money_gridlines(ticks, y, currency),
        "zero_y": y(0),
        "bars": bars,
        "line": [(x(i), y(v)) for i, (_, v) in enumerate(points)],
        "payback": {"x": x(payback), "label": points[payback][0]} if marked else None,
    }


def cash_curve_svg(
    points: Sequence[tuple[str, float]], payback: int | None, currency: str = "EUR"
) -> str:
    """The cumulative saving against the status quo per quarter, payback quarter marked."""
    return r.render_chart("cash_curve", cash_curve_chart(points, payback, currency))


def roadmap_view(section: RoadmapSection, currency: str = "EUR") -> dict[str, Any]:
    """What `templates/roadmap.html.j2` draws of a roadmap: its table's cells, the cash curve."""
    return {
        "section": section,
        "table": None if section.table is None else r.table_data(section.table, currency),
        "cash_curve": (
            cash_curve_chart(section.cumulative, section.payback_quarter, currency)
            if section.cumulative
            else None
        ),
    }
