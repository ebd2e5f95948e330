"""The report's roadmap section: Gantt chart, cumulative cash curve, landscape before/after.

Pure, like `dagster_project.report` (whose helpers it uses): plain records in, HTML out.
"""

from collections.abc import Sequence
from dataclasses import dataclass

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


def cash_curve_svg(
    points: Sequence[tuple[str, float]], payback: int | None, currency: str = "EUR"
) -> str:
    """The cumulative saving against the status quo per quarter, payback quarter marked."""
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

    parts = [r._svg_open(width, height, "Cumulative saving against the status quo by quarter")]
    parts += r._money_gridlines(ticks, y, left, width - right, currency)
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
        f'stroke="{r.GREY}"/>'
    )
    for i, (label, value) in enumerate(points):
        colour = r.TEAL if value >= 0 else r.RED
        top_v, bot_v = max(value, 0.0), min(value, 0.0)
        parts.append(
            f'<rect x="{x(i) - step * 0.3:.1f}" y="{y(top_v):.1f}" width="{step * 0.6:.1f}" '
            f'height="{max(y(bot_v) - y(top_v), 1.0):.1f}" fill="{colour}" opacity="0.85">'
            f"<title>{r._e(label)}: {r._e(r.money(value, currency))}</title></rect>"
        )
        if i % 4 == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'class="tick">{r._e(label)}</text>'
            )
    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    parts.append(f'<polyline points="{path}" fill="none" stroke="{r.NAVY}" stroke-width="2"/>')
    if payback is not None and 0 <= payback < len(points):
        px = x(payback)
        parts.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top - 6}" y2="{height - bottom}" '
            f'stroke="{r.NAVY}" stroke-dasharray="4 3" class="payback"/>'
            f'<text x="{px + 6:.1f}" y="{top + 4}" class="val">payback '
            f"{r._e(points[payback][0])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def roadmap_html(section: RoadmapSection, currency: str = "EUR") -> list[str]:
    """The report sections of the roadmap and of the landscape before and after."""
    out: list[str] = []
    if section.explanation:
        items = "".join(f"<li>{r._e(line)}</li>" for line in section.explanation)
        out.append(
            '<section><h2>No feasible transition roadmap</h2><div class="alert">'
            f"<p>These scheduling rules cannot all hold at the same time:</p><ul>{items}</ul>"
            "</div></section>"
        )
    if section.gantt_svg:
        cards = "".join(
            f'<div class="card"><div class="label">{r._e(label)}</div>'
            f'<div class="value">{r._e(value)}</div><div class="note">{r._e(note)}</div></div>'
            for label, value, note in section.summary
        )
        table = "" if section.table is None else r.table_html(section.table, currency)
        out.append(
            "<section><h2>Transition roadmap</h2><p class='lead'>When each process moves, "
            "quarter by quarter, at the least discounted cost within the transition "
            "capacity; amber quarters run both old and new (dual running).</p>"
            f'<div class="cards">{cards}</div>'
            f'<figure class="map">{r._svg_img(section.gantt_svg, "roadmap Gantt chart")}'
            f"</figure>{table}</section>"
        )
    if section.cumulative:
        out.append(
            "<section><h2>Cumulative saving by quarter</h2><p class='lead'>Cash saved against "
            "the status quo, one-time costs included, undiscounted; the dashed line marks the "
            "payback quarter.</p>"
            f"{cash_curve_svg(section.cumulative, section.payback_quarter, currency)}</section>"
        )
    if section.landscape_before_svg or section.landscape_after_svg:
        figures = []
        for caption, svg in (
            ("before: the status quo", section.landscape_before_svg),
            ("after: the plan", section.landscape_after_svg),
        ):
            if svg:
                figures.append(
                    f'<figure class="map">{r._svg_img(svg, "process landscape " + caption)}'
                    f"<figcaption>{r._e(caption)}</figcaption></figure>"
                )
        out.append(
            "<section><h2>Process landscape before and after</h2><p class='lead'>Who runs "
            "each process, the IT systems it uses, and the handovers per year; red handovers "
            "cross the company boundary after the plan, with their coordination cost per "
            f"year.</p><div class='pairgrid'>{''.join(figures)}</div></section>"
        )
    return out
