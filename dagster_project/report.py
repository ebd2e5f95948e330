"""The one-page HTML report: self-contained (inline CSS and SVG), offline, printable.

Pure: takes plain records and polars frames, returns HTML text. The page is the Jinja2
template `templates/report.html.j2` (autoescaped); this module only prepares its data:
formatted figures, table cells and, for the SVG charts (no JavaScript, no CDN), the scales,
coordinates and labels that the macros in `templates/charts.svg.j2` draw: a cost waterfall
from the status quo to the plan, a tornado of the one-at-a-time sensitivity, the
cost-versus-risk Pareto front, the monthly KPI history and the saving histogram.
"""

import base64
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
import polars as pl

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "INR": "₹"}

NAVY = "#1f3a5f"
TEAL = "#1b8a6b"
RED = "#c0392b"
GREY = "#8a94a6"
LIGHT = "#e8edf3"


@dataclass(frozen=True)
class TornadoBar:
    """One parameter of the sensitivity analysis.

    Attributes:
        parameter: What was varied, in business words ("ERP run cost ±20 %").
        low: Annual saving with the parameter at its low end.
        high: Annual saving with the parameter at its high end.
        flips: Whether some decision of the plan changes within the range.
    """

    parameter: str
    low: float
    high: float
    flips: bool = False


@dataclass(frozen=True)
class ParetoPoint:
    """One plan on the cost-versus-risk frontier."""

    cost: float
    risk: float
    label: str = ""
    chosen: bool = False


@dataclass(frozen=True)
class ProcessMap:
    """A process map image: SVG text or PNG bytes."""

    process: str
    svg: str | None = None
    png: bytes | None = None


@dataclass(frozen=True)
class ModelPair:
    """A process's documented (reference) model next to the discovered one, as SVG."""

    process: str
    reference_svg: str
    discovered_svg: str | None = None


@dataclass(frozen=True)
class UncertaintyView:
    """The saving under uncertainty, for the report (`optimize.uncertainty`).

    Attributes:
        savings: Annual saving in each scenario (currency units).
        p_loss: Probability that the plan costs more than the status quo.
        mean: Expected saving.
        p5: 5th percentile of the saving.
        p50: Median saving.
        p95: 95th percentile.
        stability: Per process and option the share of re-solved scenarios where it is optimal
            (`decision_stability.csv`).
        basis: What moved, in words.
        plans: The deterministic plan beside the sample-average plan (`robust_plan.csv`).
    """

    savings: tuple[float, ...]
    p_loss: float
    mean: float
    p5: float
    p50: float
    p95: float
    stability: pl.DataFrame | None = None
    basis: str = ""
    plans: pl.DataFrame | None = None


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; every part is optional except the title.

    Attributes:
        title: Page title.
        currency: ISO currency code of all money.
        subtitle: One line under the title (sources, date).
        headline: Key figures as (label, value, note) triples, formatted by the caller.
        waterfall: Status-quo total, then (component, plan − status quo) steps; the plan total
            is drawn from the running sum.
        status_quo_total: Start of the waterfall (annual cost of the status quo).
        plan: The sourcing plan table.
        systems: The IT systems plan table.
        providers: The providers table.
        kpis: The process KPI table.
        tornado: Sensitivity bars.
        base_saving: Annual saving of the optimal plan (the tornado's centre line).
        pareto: Cost-versus-risk frontier.
        maps: Process maps.
        notes: Remarks shown at the end (solver status, warnings).
        infeasibility: Lines explaining why no plan exists (replaces the plan sections).
        history: `kpi_history.csv` (one row per process and month), drawn as small multiples.
        drift: `drift.csv`: KPI changes beyond the thresholds (marked in the history chart).
        plan_changes: `plan_changes.csv`: what differs from the previous run's plan.
        conformance: `conformance.csv`: deviations from the documented processes.
        model_pairs: Documented and discovered model of each process with a reference model.
        roadmap: The transition roadmap and the landscape before/after
            (`dagster_project.roadmap_report.RoadmapSection`), or None.
    """

    title: str
    currency: str = "EUR"
    subtitle: str = ""
    headline: tuple[tuple[str, str, str], ...] = ()
    status_quo_total: float | None = None
    waterfall: tuple[tuple[str, float], ...] = ()
    plan: pl.DataFrame | None = None
    systems: pl.DataFrame | None = None
    providers: pl.DataFrame | None = None
    kpis: pl.DataFrame | None = None
    tornado: tuple[TornadoBar, ...] = ()
    base_saving: float | None = None
    pareto: tuple[ParetoPoint, ...] = ()
    maps: tuple[ProcessMap, ...] = ()
    notes: tuple[str, ...] = field(default=())
    infeasibility: tuple[str, ...] = ()
    history: pl.DataFrame | None = None
    drift: pl.DataFrame | None = None
    plan_changes: pl.DataFrame | None = None
    conformance: pl.DataFrame | None = None
    model_pairs: tuple[ModelPair, ...] = ()
    uncertainty: UncertaintyView | None = None
    roadmap: Any = None


def money(value: float | None, currency: str = "EUR", digits: int = 0) -> str:
    """Format money as `€ 1,234,567` (negative as `−€ 1,234`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    symbol = _SYMBOLS.get(currency, f"{currency} ")
    sign = "−" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.{digits}f}"


def short_money(value: float, currency: str = "EUR") -> str:
    """Compact money for chart labels: `€ 1.2M`, `€ 350k`, `€ 900`."""
    symbol = _SYMBOLS.get(currency, f"{currency} ")
    sign = "−" if value < 0 else ""
    v = abs(value)
    if v >= 1e6:
        text = f"{v / 1e6:.2f}M"
    elif v >= 1e4:
        text = f"{v / 1e3:.0f}k"
    elif v >= 1e3:
        text = f"{v / 1e3:.1f}k"
    else:
        text = f"{v:.0f}"
    return f"{sign}{symbol}{text}"


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: the first ≤ lo, the last ≥ hi."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


# --------------------------------------------------------------------------- templates

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("dagster_project", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
"""The report's templates (`dagster_project/templates/`); every value is HTML-escaped."""


def _f1(value: float) -> str:
    """A coordinate with one decimal, as the charts print them."""
    return f"{value:.1f}"


def _data_uri(content: str | bytes, mime: str = "image/svg+xml") -> str:
    """A `data:` URI of an image (SVG text or PNG bytes), base64-encoded."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


_ENV.filters["f1"] = _f1
_ENV.filters["data_uri"] = _data_uri
_ENV.globals.update(NAVY=NAVY, TEAL=TEAL, RED=RED, GREY=GREY, LIGHT=LIGHT)


def _macro(template: str, name: str, *args: Any) -> str:
    """Render one macro of a template file to plain text."""
    return str(getattr(_ENV.get_template(template).module, name)(*args))


def render_chart(name: str, chart: dict[str, Any]) -> str:
    """SVG text of one chart: the macro `name` of `charts.svg.j2` applied to its data."""
    return _macro("charts.svg.j2", name, chart)


# --------------------------------------------------------------------------- charts
# Each `*_chart` function turns business figures into plain drawing data (sizes, coordinates,
# colours, formatted labels); the macro of the same name in `templates/charts.svg.j2` draws it.


def _money_gridlines(
    ticks: Sequence[float], y: Callable[[float], float], currency: str
) -> list[dict[str, Any]]:
    """Horizontal grid lines at each tick (position and amount label)."""
    return [{"y": y(t), "label": short_money(t, currency)} for t in ticks]


def waterfall_chart(
    status_quo: float, steps: Sequence[tuple[str, float]], currency: str = "EUR"
) -> dict[str, Any]:
    """Drawing data of the cost waterfall (see `waterfall_svg`)."""
    width, height = 860, 380
    left, right, top, bottom = 70, 20, 24, 120
    bars: list[tuple[str, float, float, str]] = [("Status quo", 0.0, status_quo, NAVY)]
    running = status_quo
    for label, delta in steps:
        if abs(delta) < 0.5:
            continue
        start, running = running, running + delta
        bars.append((label, start, running, TEAL if delta < 0 else RED))
    bars.append(("Plan", 0.0, running, NAVY))
    lo = min(0.0, *(min(a, b) for _, a, b, _ in bars))
    hi = max(max(a, b) for _, a, b, _ in bars)
    ticks = _nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    plot_h = height - top - bottom
    slot = (width - left - right) / len(bars)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    drawn = []
    prev_end: float | None = None
    for i, (label, a, b, colour) in enumerate(bars):
        x = left + i * slot + slot * 0.18
        w = slot * 0.64
        top_v, bot_v = max(a, b), min(a, b)
        value = b - a if 0 < i < len(bars) - 1 else b
        drawn.append(
            {
                "x": x,
                "y": y(top_v),
                "width": w,
                "height": max(y(bot_v) - y(top_v), 1.0),
                "colour": colour,
                "tip": f"{label}: {money(b - a, currency)}",
                "link": None if prev_end is None else {"x1": x - slot * 0.36, "y": y(prev_end)},
                "value": short_money(value, currency),
                "label": label,
                "cx": x + w / 2,
                "cy": height - bottom + 12,
            }
        )
        prev_end = b
    return {
        "width": width,
        "height": height,
        "title": "Cost waterfall from the status quo to the plan",
        "x1": left,
        "x2": width - right,
        "grid": _money_gridlines(ticks, y, currency),
        "bars": drawn,
    }


def waterfall_svg(
    status_quo: float, steps: Sequence[tuple[str, float]], currency: str = "EUR"
) -> str:
    """A cost waterfall: the status-quo bar, one floating bar per change, the plan bar."""
    return render_chart("waterfall", waterfall_chart(status_quo, steps, currency))


def tornado_chart(bars: Sequence[TornadoBar], base: float, currency: str = "EUR") -> dict[str, Any]:
    """Drawing data of the tornado chart (see `tornado_svg`)."""
    shown = sorted(bars, key=lambda b: abs(b.high - b.low), reverse=True)[:14]
    row = 24
    width = 860
    left, right, top, bottom = 250, 30, 26, 36
    height = top + bottom + row * max(len(shown), 1)
    values = [base] + [v for b in shown for v in (b.low, b.high)]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.02 or abs(base) * 0.1 or 1.0
    ticks = _nice_ticks(lo - pad, hi + pad, count=6)
    lo, hi = ticks[0], ticks[-1]

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (width - left - right)

    rows = []
    for i, bar in enumerate(shown):
        yy = top + i * row
        a, b = min(bar.low, bar.high), max(bar.low, bar.high)
        tip = f"{bar.parameter}: {money(bar.low, currency)} … {money(bar.high, currency)}"
        # the part of the bar below the base saving is the downside, above it the upside
        segments = [
            {"x": x(seg_lo), "width": x(seg_hi) - x(seg_lo), "colour": colour, "tip": tip}
            for seg_lo, seg_hi, colour in ((a, min(b, base), RED), (max(a, base), b, TEAL))
            if seg_hi > seg_lo
        ]
        rows.append(
            {
                "label": f"{bar.parameter}{' ⇄' if bar.flips else ''}",
                "label_y": yy + row * 0.62,
                "y": yy + 4,
                "height": row - 8,
                "segments": segments,
            }
        )
    return {
        "width": width,
        "height": height,
        "title": "Sensitivity of the annual saving (tornado)",
        "label_x": left - 10,
        "top": top,
        "bottom_y": height - bottom,
        "ticks": [{"x": x(t), "label": short_money(t, currency)} for t in ticks],
        "rows": rows,
        "base_x": x(base),
        "base_label": f"plan: {short_money(base, currency)}",
    }


def tornado_svg(bars: Sequence[TornadoBar], base: float, currency: str = "EUR") -> str:
    """A tornado chart: annual saving at the low and high end of each parameter's range."""
    return render_chart("tornado", tornado_chart(bars, base, currency))


def pareto_chart(points: Sequence[ParetoPoint], currency: str = "EUR") -> dict[str, Any]:
    """Drawing data of the cost-versus-risk chart (see `pareto_svg`)."""
    width, height = 860, 320
    left, right, top, bottom = 80, 30, 20, 50
    pts = sorted(points, key=lambda p: p.risk)
    costs = [p.cost for p in pts]
    risks = [p.risk for p in pts]
    cpad = (max(costs) - min(costs)) * 0.1 or max(abs(max(costs)) * 0.05, 1.0)
    rpad = (max(risks) - min(risks)) * 0.1 or max(abs(max(risks)) * 0.05, 1.0)
    cticks = _nice_ticks(min(costs) - cpad, max(costs) + cpad)
    rticks = _nice_ticks(max(min(risks) - rpad, 0.0), max(risks) + rpad)

    def x(v: float) -> float:
        return left + (v - rticks[0]) / (rticks[-1] - rticks[0]) * (width - left - right)

    def y(v: float) -> float:
        return top + (cticks[-1] - v) / (cticks[-1] - cticks[0]) * (height - top - bottom)

    drawn = []
    for p in pts:
        near_right = x(p.risk) > width - right - 110
        tip = f"{p.label} — cost {money(p.cost, currency)}, risk {money(p.risk, currency)}"
        drawn.append(
            {
                "x": x(p.risk),
                "y": y(p.cost),
                "r": 7 if p.chosen else 5,
                "fill": TEAL if p.chosen else NAVY,
                "tip": tip.strip(" —"),
                "chosen": p.chosen,
                "label_x": x(p.risk) - 14 if near_right else x(p.risk) + 14,
                "anchor": "end" if near_right else "start",
            }
        )
    return {
        "width": width,
        "height": height,
        "title": "Annual cost versus risk of the Pareto-optimal plans",
        "x1": left,
        "x2": width - right,
        "grid": _money_gridlines(cticks, y, currency),
        "risk_ticks": [{"x": x(t), "label": short_money(t, currency)} for t in rticks],
        "tick_y": height - bottom + 16,
        "axis_x": (left + width - right) / 2,
        "axis_y": height - 8,
        "line": [(d["x"], d["y"]) for d in drawn] if len(pts) > 1 else [],
        "points": drawn,
    }


def pareto_svg(points: Sequence[ParetoPoint], currency: str = "EUR") -> str:
    """Cost versus risk of every Pareto-optimal plan, joined by a line; the optimum ringed."""
    return render_chart("pareto", pareto_chart(points, currency))


HISTORY_KPIS: tuple[tuple[str, str], ...] = (
    ("cases", "Cases per month"),
    ("effort_hours", "Effort hours per month"),
    ("p90_throughput_hours", "P90 throughput time (hours)"),
    ("rework_rate", "Rework rate"),
)
"""The KPIs of the history chart (the drift KPIs), with their panel titles."""

PALETTE = (
    "#1f3a5f",
    "#1b8a6b",
    "#c0392b",
    "#d68910",
    "#7d3c98",
    "#2e86c1",
    "#6e2c00",
    "#5d6d7e",
    "#117a65",
    "#b03a2e",
    "#af7ac5",
    "#45b39d",
)
"""Line colours of the processes in the history chart (repeated beyond twelve)."""


def _short(value: float) -> str:
    v = abs(value)
    if v >= 1e6:
        return f"{value / 1e6:.1f}M"
    if v >= 1e4:
        return f"{value / 1e3:.0f}k"
    if v >= 1e3:
        return f"{value / 1e3:.1f}k"
    if v >= 10 or v == 0:
        return f"{value:.0f}"
    return f"{value:.2g}"


def kpi_history_chart(history: pl.DataFrame, drift: pl.DataFrame | None = None) -> dict[str, Any]:
    """Drawing data of the monthly KPI small multiples (see `kpi_history_svg`)."""
    months = sorted(history["month"].unique().to_list())
    processes = sorted(history["process"].unique().to_list())
    colour = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(processes)}
    flagged = set()
    if drift is not None and not drift.is_empty():
        flagged = set(drift.select("process", "month", "kpi").iter_rows())
    pw, ph, gap = 420, 200, 20
    left, right, top, bottom = 52, 12, 26, 34
    legend_rows = math.ceil(len(processes) / 4)
    width = 2 * pw + gap
    height = 2 * ph + gap + 18 * legend_rows + 10
    n = max(len(months) - 1, 1)
    panels = []
    for index, (kpi, title) in enumerate(HISTORY_KPIS):
        if kpi not in history.columns:
            continue
        ox, oy = (index % 2) * (pw + gap), (index // 2) * (ph + gap)
        values = history[kpi].drop_nulls()
        hi = float(values.max()) if values.len() else 1.0  # type: ignore[arg-type]
        ticks = _nice_ticks(0.0, hi if hi > 0 else 1.0, 4)

        def x(month: str, ox: int = ox) -> float:
            return ox + left + months.index(month) / n * (pw - left - right)

        def y(v: float, oy: int = oy, ticks: list[float] = ticks) -> float:
            return oy + top + (ticks[-1] - v) / (ticks[-1] - ticks[0]) * (ph - top - bottom)

        step = max(1, math.ceil(len(months) / 6))
        lines = []
        for process in processes:
            rows = (
                history.filter(pl.col("process") == process)
                .select("month", kpi)
                .drop_nulls()
                .sort("month")
            )
            points = [(m, float(v)) for m, v in rows.iter_rows()]
            if not points:
                continue
            lines.append(
                {
                    "process": process,
                    "colour": colour[process],
                    "points": [(x(m), y(v)) for m, v in points],
                    "drift": [
                        {"x": x(m), "y": y(v), "tip": f"drift: {process} {kpi} in {m}"}
                        for m, v in points
                        if (process, m, kpi) in flagged
                    ],
                }
            )
        panels.append(
            {
                "title": title,
                "x1": ox + left,
                "x2": ox + pw - right,
                "title_y": oy + 15,
                "ticks": [{"y": y(t), "label": _short(t)} for t in ticks],
                "months": [{"x": x(m), "label": m} for m in months[::step]],
                "month_y": oy + ph - bottom + 15,
                "lines": lines,
            }
        )
    base = 2 * ph + gap + 6
    legend = [
        {
            "x": 10 + (i % 4) * (width // 4),
            "y": base + (i // 4) * 18,
            "colour": colour[process],
            "process": process,
        }
        for i, process in enumerate(processes)
    ]
    return {
        "width": width,
        "height": height,
        "title": "Monthly KPIs per process",
        "panels": panels,
        "legend": legend,
    }


def kpi_history_svg(history: pl.DataFrame, drift: pl.DataFrame | None = None) -> str:
    """Small multiples of the monthly KPI history: one panel per KPI, one line per process.

    Args:
        history: `kpi_history` rows (process, month and the KPI columns).
        drift: `drift` rows; each (process, month, KPI) is ringed in red on its panel.

    Returns:
        SVG text.
    """
    return render_chart("kpi_history", kpi_history_chart(history, drift))


def saving_histogram_chart(view: UncertaintyView, currency: str = "EUR") -> dict[str, Any]:
    """Drawing data of the saving histogram (see `saving_histogram_svg`)."""
    width, height = 860, 300
    left, right, top, bottom = 60, 20, 28, 44
    values = view.savings
    lo, hi = min(values), max(values)
    ticks = _nice_ticks(lo, hi, count=6)
    lo, hi = ticks[0], ticks[-1]
    bins = 40
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    top_count = max(counts) or 1

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (width - left - right)

    def y(c: float) -> float:
        return top + (1 - c / top_count) * (height - top - bottom)

    drawn = []
    for i, c in enumerate(counts):
        if not c:
            continue
        a = lo + i * step
        drawn.append(
            {
                "x": x(a) + 0.5,
                "y": y(c),
                "width": max(x(a + step) - x(a) - 1, 1),
                "height": y(0) - y(c),
                "colour": RED if a + step <= 0 else TEAL,
                "tip": f"{short_money(a, currency)} … {short_money(a + step, currency)}: {c} "
                "scenario(s)",
            }
        )
    return {
        "width": width,
        "height": height,
        "title": "Distribution of the annual saving over the scenarios",
        "top": top,
        "bottom_y": height - bottom,
        "ticks": [{"x": x(t), "label": short_money(t, currency)} for t in ticks],
        "bins": drawn,
        "marks": [
            {"x": x(v), "label": label}
            for label, v in (("P5", view.p5), ("P50", view.p50), ("P95", view.p95))
        ],
        "zero_x": x(0) if lo < 0 < hi else None,
    }


def saving_histogram_svg(view: UncertaintyView, currency: str = "EUR") -> str:
    """Histogram of the annual saving over the scenarios; losses red, P5/P50/P95 marked."""
    return render_chart("saving_histogram", saving_histogram_chart(view, currency))


# --------------------------------------------------------------------------- tables


def _fmt_cell(value: object, column: str, currency: str) -> tuple[str, bool]:
    """(text, is_number) of one table cell."""
    if value is None:
        return "—", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return "—", True
        name = column.lower()
        if any(k in name for k in ("cost", "saving", "fee", "price", "value", "npv", "cash")):
            return money(float(value), currency), True
        if any(k in name for k in ("share", "rate", "fitness", "precision")):
            return f"{float(value):.3f}" if abs(value) <= 1 else f"{value:,.2f}", True
        if isinstance(value, int):
            return f"{value:,}", True
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}", True
    return str(value), False


def table_data(
    frame: pl.DataFrame, currency: str = "EUR", columns: Sequence[str] | None = None
) -> dict[str, Any]:
    """A frame as table cells: column headings and rows of (text, is_number)."""
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    return {
        "head": [c.replace("_", " ") for c in cols],
        "rows": [
            [_fmt_cell(record[c], c, currency) for c in cols]
            for record in frame.select(cols).iter_rows(named=True)
        ],
    }


def _table(
    frame: pl.DataFrame | None, currency: str, columns: Sequence[str] | None = None
) -> dict[str, Any] | None:
    """`table_data` of a frame with rows, else None (the section is left out)."""
    if frame is None or frame.is_empty():
        return None
    return table_data(frame, currency, columns)


def table_html(
    frame: pl.DataFrame, currency: str = "EUR", columns: Sequence[str] | None = None
) -> str:
    """An HTML table of a frame; numbers right-aligned, money formatted by column name."""
    return _macro("blocks.html.j2", "table", table_data(frame, currency, columns))


# --------------------------------------------------------------------------- the page


def _uncertainty(view: UncertaintyView | None, currency: str) -> dict[str, Any] | None:
    """The figures of "How sure is the saving?", or None without scenarios."""
    if view is None or not view.savings:
        return None
    return {
        "scenarios": f"{len(view.savings):,}",
        "basis": view.basis,
        "share_no_loss": round(100 * (1 - view.p_loss)),
        "mean": money(view.mean, currency),
        "p5": money(view.p5, currency),
        "p50": money(view.p50, currency),
        "p95": money(view.p95, currency),
        "histogram": saving_histogram_chart(view, currency),
        "stability": _table(view.stability, currency),
        "plans": _table(view.plans, currency),
    }


def _maps(maps: Sequence[ProcessMap]) -> list[dict[str, Any]]:
    """Process maps with an image: process, image content and its MIME type."""
    out: list[dict[str, Any]] = []
    for m in maps:
        if m.svg is not None:
            out.append({"process": m.process, "image": m.svg, "mime": "image/svg+xml"})
        elif m.png is not None:
            out.append({"process": m.process, "image": m.png, "mime": "image/png"})
    return out


def _roadmap(data: ReportData) -> dict[str, Any] | None:
    """The roadmap sections' data, when the report has a roadmap."""
    if data.roadmap is None:
        return None
    from dagster_project.roadmap_report import roadmap_view  # noqa: PLC0415 - it imports this

    return roadmap_view(data.roadmap, data.currency)


def render_report(data: ReportData) -> str:
    """Render the report as one self-contained HTML page (`templates/report.html.j2`).

    Args:
        data: The content; sections without data are left out.

    Returns:
        The HTML text (UTF-8, no external resources).
    """
    cur = data.currency
    waterfall = None
    if data.status_quo_total is not None and data.waterfall:
        waterfall = waterfall_chart(data.status_quo_total, data.waterfall, cur)
    tornado = None
    if data.tornado and data.base_saving is not None:
        tornado = tornado_chart(data.tornado, data.base_saving, cur)
    show_models = bool(data.model_pairs) or _table(data.conformance, cur) is not None
    page = {
        "title": data.title,
        "subtitle": data.subtitle,
        "headline": data.headline,
        "infeasibility": data.infeasibility,
        "plan": _table(data.plan, cur),
        "waterfall": waterfall,
        "tornado": tornado,
        "uncertainty": _uncertainty(data.uncertainty, cur),
        "pareto": pareto_chart(data.pareto, cur) if data.pareto else None,
        "roadmap": _roadmap(data),
        "landscape_tables": [
            (title, table)
            for title, frame in (("IT systems", data.systems), ("Providers", data.providers))
            if (table := _table(frame, cur)) is not None
        ],
        "kpis": _table(data.kpis, cur),
        "maps": _maps(data.maps),
        "plan_changes": _table(data.plan_changes, cur),
        "history": (
            None
            if data.history is None or data.history.is_empty()
            else kpi_history_chart(data.history, data.drift)
        ),
        "drift": None if data.drift is None else {"table": _table(data.drift, cur)},
        "models": None
        if not show_models
        else {
            "pairs": data.model_pairs,
            "conformance": _table(
                data.conformance,
                cur,
                ["process", "fitness", "precision", "deviation", "activity", "cases"],
            ),
        },
        "notes": data.notes,
    }
    return _ENV.get_template("report.html.j2").render(page=page)
