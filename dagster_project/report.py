"""The one-page HTML report: self-contained (inline CSS and SVG), offline, printable.

Pure: takes plain records and polars frames, returns HTML text. Charts are drawn here as SVG
(no JavaScript, no CDN): a cost waterfall from the status quo to the plan, a tornado of the
one-at-a-time sensitivity, and the cost-versus-risk Pareto front.
"""

import base64
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

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


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: the first ≤ lo, the last ≥ hi."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


# --------------------------------------------------------------------------- charts


def _money_gridlines(
    ticks: Sequence[float], y: Callable[[float], float], x1: float, x2: float, currency: str
) -> list[str]:
    """Horizontal grid lines from x1 to x2 at each tick, labelled with the amount left of x1."""
    return [
        f'<line x1="{x1}" x2="{x2}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
        f'stroke="{LIGHT}"/><text x="{x1 - 8}" y="{y(t) + 4:.1f}" text-anchor="end" '
        f'class="tick">{_e(short_money(t, currency))}</text>'
        for t in ticks
    ]


def waterfall_svg(
    status_quo: float, steps: Sequence[tuple[str, float]], currency: str = "EUR"
) -> str:
    """A cost waterfall: the status-quo bar, one floating bar per change, the plan bar."""
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

    parts = [_svg_open(width, height, "Cost waterfall from the status quo to the plan")]
    parts += _money_gridlines(ticks, y, left, width - right, currency)
    prev_end: float | None = None
    for i, (label, a, b, colour) in enumerate(bars):
        x = left + i * slot + slot * 0.18
        w = slot * 0.64
        top_v, bot_v = max(a, b), min(a, b)
        h = max(y(bot_v) - y(top_v), 1.0)
        parts.append(
            f'<rect x="{x:.1f}" y="{y(top_v):.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{colour}" rx="2"><title>{_e(label)}: {_e(money(b - a, currency))}</title>'
            "</rect>"
        )
        if prev_end is not None and i < len(bars):
            parts.append(
                f'<line x1="{x - slot * 0.36:.1f}" x2="{x:.1f}" y1="{y(prev_end):.1f}" '
                f'y2="{y(prev_end):.1f}" stroke="{GREY}" stroke-dasharray="3 2"/>'
            )
        prev_end = b
        value = b - a if 0 < i < len(bars) - 1 else b
        parts.append(
            f'<text x="{x + w / 2:.1f}" y="{y(top_v) - 5:.1f}" text-anchor="middle" '
            f'class="val">{_e(short_money(value, currency))}</text>'
        )
        cx, cy = x + w / 2, height - bottom + 12
        parts.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" class="lbl" '
            f'transform="rotate(-35 {cx:.1f} {cy:.1f})">{_e(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def tornado_svg(bars: Sequence[TornadoBar], base: float, currency: str = "EUR") -> str:
    """A tornado chart: annual saving at the low and high end of each parameter's range."""
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

    parts = [_svg_open(width, height, "Sensitivity of the annual saving (tornado)")]
    for t in ticks:
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 6}" y2="{height - bottom}" '
            f'stroke="{LIGHT}"/><text x="{x(t):.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" class="tick">{_e(short_money(t, currency))}</text>'
        )
    for i, bar in enumerate(shown):
        yy = top + i * row
        a, b = min(bar.low, bar.high), max(bar.low, bar.high)
        parts.append(
            f'<text x="{left - 10}" y="{yy + row * 0.62:.1f}" text-anchor="end" class="lbl">'
            f"{_e(bar.parameter)}{' ⇄' if bar.flips else ''}</text>"
        )
        # the part of the bar below the base saving is the downside, above it the upside
        for seg_lo, seg_hi, colour in ((a, min(b, base), RED), (max(a, base), b, TEAL)):
            if seg_hi > seg_lo:
                parts.append(
                    f'<rect x="{x(seg_lo):.1f}" y="{yy + 4}" width="{x(seg_hi) - x(seg_lo):.1f}" '
                    f'height="{row - 8}" fill="{colour}" rx="2"><title>{_e(bar.parameter)}: '
                    f"{_e(money(bar.low, currency))} … {_e(money(bar.high, currency))}"
                    "</title></rect>"
                )
    parts.append(
        f'<line x1="{x(base):.1f}" x2="{x(base):.1f}" y1="{top - 10}" y2="{height - bottom}" '
        f'stroke="{NAVY}" stroke-width="2"/><text x="{x(base):.1f}" y="{top - 12}" '
        f'text-anchor="middle" class="val">plan: {_e(short_money(base, currency))}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def pareto_svg(points: Sequence[ParetoPoint], currency: str = "EUR") -> str:
    """Cost versus risk of every Pareto-optimal plan, joined by a line; the optimum ringed."""
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

    parts = [_svg_open(width, height, "Annual cost versus risk of the Pareto-optimal plans")]
    parts += _money_gridlines(cticks, y, left, width - right, currency)
    for t in rticks:
        parts.append(
            f'<text x="{x(t):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'class="tick">{_e(short_money(t, currency))}</text>'
        )
    parts.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{height - 8}" text-anchor="middle" '
        f'class="lbl">risk per year (provider and offer risk)</text>'
    )
    if len(pts) > 1:
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{x(p.risk):.1f},{y(p.cost):.1f}" for i, p in enumerate(pts)
        )
        parts.append(f'<path d="{path}" fill="none" stroke="{GREY}" stroke-width="1.5"/>')
    for p in pts:
        r = 7 if p.chosen else 5
        fill = TEAL if p.chosen else NAVY
        tip = f"{p.label} — cost {money(p.cost, currency)}, risk {money(p.risk, currency)}"
        parts.append(
            f'<circle cx="{x(p.risk):.1f}" cy="{y(p.cost):.1f}" r="{r}" fill="{fill}">'
            f"<title>{_e(tip.strip(' —'))}</title></circle>"
        )
        if p.chosen:
            near_right = x(p.risk) > width - right - 110
            tx = x(p.risk) - 14 if near_right else x(p.risk) + 14
            anchor = "end" if near_right else "start"
            parts.append(
                f'<circle cx="{x(p.risk):.1f}" cy="{y(p.cost):.1f}" r="11" fill="none" '
                f'stroke="{TEAL}" stroke-width="2"/><text x="{tx:.1f}" y="{y(p.cost) - 12:.1f}" '
                f'text-anchor="{anchor}" class="val">optimal plan</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(title)}" class="chart">'
        f"<title>{_e(title)}</title>"
    )


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


def kpi_history_svg(history: pl.DataFrame, drift: pl.DataFrame | None = None) -> str:
    """Small multiples of the monthly KPI history: one panel per KPI, one line per process.

    Args:
        history: `kpi_history` rows (process, month and the KPI columns).
        drift: `drift` rows; each (process, month, KPI) is ringed in red on its panel.

    Returns:
        SVG text.
    """
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
    parts = [_svg_open(width, height, "Monthly KPIs per process")]
    n = max(len(months) - 1, 1)
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

        parts.append(
            f'<text x="{ox + left}" y="{oy + 15}" class="lbl" font-weight="600">{_e(title)}</text>'
        )
        for t in ticks:
            parts.append(
                f'<line x1="{ox + left}" x2="{ox + pw - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                f'stroke="{LIGHT}"/><text x="{ox + left - 6}" y="{y(t) + 4:.1f}" '
                f'text-anchor="end" class="tick">{_e(_short(t))}</text>'
            )
        step = max(1, math.ceil(len(months) / 6))
        for m in months[::step]:
            parts.append(
                f'<text x="{x(m):.1f}" y="{oy + ph - bottom + 15}" text-anchor="middle" '
                f'class="tick">{_e(m)}</text>'
            )
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
            path = " ".join(
                f"{'M' if i == 0 else 'L'}{x(m):.1f},{y(v):.1f}" for i, (m, v) in enumerate(points)
            )
            parts.append(
                f'<path d="{path}" fill="none" stroke="{colour[process]}" stroke-width="1.6">'
                f"<title>{_e(process)}</title></path>"
            )
            for m, v in points:
                if (process, m, kpi) in flagged:
                    parts.append(
                        f'<circle cx="{x(m):.1f}" cy="{y(v):.1f}" r="6" fill="none" '
                        f'stroke="{RED}" stroke-width="2" class="drift">'
                        f"<title>{_e(f'drift: {process} {kpi} in {m}')}</title></circle>"
                    )
    base = 2 * ph + gap + 6
    for i, process in enumerate(processes):
        lx, ly = 10 + (i % 4) * (width // 4), base + (i // 4) * 18
        parts.append(
            f'<rect x="{lx}" y="{ly}" width="14" height="4" fill="{colour[process]}"/>'
            f'<text x="{lx + 20}" y="{ly + 6}" class="tick">{_e(process)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def saving_histogram_svg(view: UncertaintyView, currency: str = "EUR") -> str:
    """Histogram of the annual saving over the scenarios; losses red, P5/P50/P95 marked."""
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

    parts = [_svg_open(width, height, "Distribution of the annual saving over the scenarios")]
    for t in ticks:
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{height - bottom}" '
            f'stroke="{LIGHT}"/><text x="{x(t):.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" class="tick">{_e(short_money(t, currency))}</text>'
        )
    for i, c in enumerate(counts):
        if not c:
            continue
        a = lo + i * step
        colour = RED if a + step <= 0 else TEAL
        bar_w = max(x(a + step) - x(a) - 1, 1)
        parts.append(
            f'<rect x="{x(a) + 0.5:.1f}" y="{y(c):.1f}" width="{bar_w:.1f}" '
            f'height="{y(0) - y(c):.1f}" fill="{colour}" class="bin"><title>'
            f"{_e(short_money(a, currency))} … {_e(short_money(a + step, currency))}: {c} "
            "scenario(s)</title></rect>"
        )
    for label, v in (("P5", view.p5), ("P50", view.p50), ("P95", view.p95)):
        parts.append(
            f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{top - 4}" y2="{height - bottom}" '
            f'stroke="{NAVY}" stroke-dasharray="4 3"/><text x="{x(v):.1f}" y="{top - 8}" '
            f'text-anchor="middle" class="val">{label}</text>'
        )
    if lo < 0 < hi:
        parts.append(
            f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{height - bottom}" '
            f'stroke="{RED}" stroke-width="2"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def uncertainty_section(view: UncertaintyView, currency: str = "EUR") -> str:
    """The report's section "How sure is the saving?": histogram, figures, stability table."""
    n = len(view.savings)
    lead = (
        f"The plan and the status quo priced in {n:,} scenarios"
        + (f" ({_e(view.basis)})" if view.basis else "")
        + f". The saving is ≥ 0 in {round(100 * (1 - view.p_loss))} % of them; expected "
        f"{_e(money(view.mean, currency))}, P5 {_e(money(view.p5, currency))}, median "
        f"{_e(money(view.p50, currency))}, P95 {_e(money(view.p95, currency))}."
    )
    table = ""
    if view.stability is not None and not view.stability.is_empty():
        table = (
            "<h3>How often each decision is optimal</h3><p class='lead'>Share of the "
            "re-optimised scenarios in which the plan's option is the best for the process, "
            "and which other options were best otherwise.</p>"
            + table_html(view.stability, currency)
        )
    if view.plans is not None and not view.plans.is_empty():
        table += (
            "<h3>A plan that holds up</h3><p class='lead'>The deterministic plan beside the plan "
            "that minimises the expected cost or the CVaR over sampled scenarios, both priced "
            "over the scenarios above.</p>" + table_html(view.plans, currency)
        )
    return (
        f"<section class='uncertainty'><h2>How sure is the saving?</h2><p class='lead'>{lead}"
        f"</p>{saving_histogram_svg(view, currency)}{table}</section>"
    )


def _svg_img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{_e(alt)}">'


def _steering_sections(data: ReportData) -> list[str]:
    """History chart, drift list, plan changes and documented-versus-discovered models."""
    cur = data.currency
    out: list[str] = []
    if data.plan_changes is not None and not data.plan_changes.is_empty():
        out.append(
            "<section><h2>Changes since the previous plan</h2><p class='lead'>What moved "
            "compared with the previous optimization run, the cost difference and the inputs "
            f"that changed.</p>{table_html(data.plan_changes, cur)}</section>"
        )
    if data.history is not None and not data.history.is_empty():
        out.append(
            "<section><h2>How the processes move month by month</h2><p class='lead'>Monthly "
            "KPIs per process (cases counted in the month they start); drift ringed in red."
            f"</p>{kpi_history_svg(data.history, data.drift)}</section>"
        )
    if data.drift is not None:
        if data.drift.is_empty():
            text = "<p>No KPI changed beyond its threshold.</p>"
        else:
            text = table_html(data.drift, cur)
        out.append(
            "<section><h2>Drift</h2><p class='lead'>KPI changes against the trailing months "
            f"beyond the thresholds, in the month they started.</p>{text}</section>"
        )
    if data.model_pairs or (data.conformance is not None and not data.conformance.is_empty()):
        figures = []
        for pair in data.model_pairs:
            mined = (
                _svg_img(pair.discovered_svg, f"discovered model of {pair.process}")
                if pair.discovered_svg
                else "<p>(no discovered model)</p>"
            )
            figures.append(
                f'<div class="pair"><h3>{_e(pair.process.replace("_", " "))}</h3>'
                f'<div class="pairgrid"><figure class="map">'
                f"{_svg_img(pair.reference_svg, f'documented model of {pair.process}')}"
                "<figcaption>documented</figcaption></figure>"
                f'<figure class="map">{mined}<figcaption>discovered</figcaption></figure>'
                "</div></div>"
            )
        table = ""
        if data.conformance is not None and not data.conformance.is_empty():
            table = table_html(
                data.conformance,
                cur,
                ["process", "fitness", "precision", "deviation", "activity", "cases"],
            )
        out.append(
            "<section><h2>Documented versus actual process</h2><p class='lead'>The documented "
            "model next to the one discovered from the log; fitness, precision and the "
            f"deviations with the cases they affect.</p>{''.join(figures)}{table}</section>"
        )
    return out


def _roadmap_sections(data: ReportData) -> list[str]:
    """The transition roadmap and the landscape before/after, when the data has them."""
    if data.roadmap is None:
        return []
    from dagster_project.roadmap_report import roadmap_html  # noqa: PLC0415 - it imports this

    return roadmap_html(data.roadmap, data.currency)


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


def table_html(
    frame: pl.DataFrame, currency: str = "EUR", columns: Sequence[str] | None = None
) -> str:
    """An HTML table of a frame; numbers right-aligned, money formatted by column name."""
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    head = "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in cols)
    rows = []
    for record in frame.select(cols).iter_rows(named=True):
        cells = []
        for c in cols:
            text, numeric = _fmt_cell(record[c], c, currency)
            cls = ' class="num"' if numeric else ""
            cells.append(f"<td{cls}>{_e(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _map_html(m: ProcessMap) -> str:
    if m.svg is not None:
        data = base64.b64encode(m.svg.encode("utf-8")).decode("ascii")
        src = f"data:image/svg+xml;base64,{data}"
    elif m.png is not None:
        src = f"data:image/png;base64,{base64.b64encode(m.png).decode('ascii')}"
    else:
        return ""
    return (
        f'<figure class="map"><img src="{src}" alt="process map of {_e(m.process)}">'
        f"<figcaption>{_e(m.process.replace('_', ' '))}</figcaption></figure>"
    )


_CSS = """
:root { --navy: #1f3a5f; --teal: #1b8a6b; --red: #c0392b; --grey: #5b6577; --line: #dde3ea; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans",
  sans-serif; color: #1d2533; background: #f4f6f9; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; background: #fff; }
header { border-bottom: 3px solid var(--navy); padding-bottom: 12px; margin-bottom: 20px; }
h1 { font-size: 26px; margin: 0; color: var(--navy); letter-spacing: -0.01em; }
.subtitle { color: var(--grey); margin-top: 4px; }
h2 { font-size: 18px; color: var(--navy); margin: 34px 0 6px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
p.lead { color: var(--grey); margin: 2px 0 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px;
  background: #fafbfd; }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em;
  color: var(--grey); }
.card .value { font-size: 22px; font-weight: 600; color: var(--navy); margin-top: 2px; }
.card .note { font-size: 12px; color: var(--grey); }
.card.good .value { color: var(--teal); }
.tablewrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th { text-align: left; font-weight: 600; color: #fff; background: var(--navy);
  padding: 6px 8px; white-space: nowrap; }
td { padding: 5px 8px; border-bottom: 1px solid var(--line); }
tbody tr:nth-child(even) td { background: #f7f9fb; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
svg.chart { width: 100%; height: auto; max-width: 100%; display: block; }
svg .tick { font-size: 11px; fill: #5b6577; }
svg .lbl { font-size: 12px; fill: #1d2533; }
svg .val { font-size: 11px; fill: #1d2533; font-weight: 600; }
.legend { font-size: 12px; color: var(--grey); margin-top: 4px; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px;
  vertical-align: -1px; border-radius: 2px; }
.maps { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }
figure.map { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px;
  text-align: center; break-inside: avoid; }
figure.map img { max-width: 100%; max-height: 420px; }
figure.map figcaption { font-weight: 600; color: var(--navy); text-transform: capitalize; }
.pairgrid { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.pair h3 { font-size: 15px; color: var(--navy); text-transform: capitalize; margin: 14px 0 6px; }
.alert { border-left: 4px solid var(--red); background: #fdf1ef; padding: 10px 14px; }
.notes { color: var(--grey); font-size: 12px; }
footer { margin-top: 36px; color: var(--grey); font-size: 11px; border-top: 1px solid var(--line);
  padding-top: 8px; }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  section, figure, table, svg { break-inside: avoid; }
  th { background: #fff !important; color: #000; border-bottom: 2px solid #000; }
  .maps { grid-template-columns: repeat(2, 1fr); }
  @page { size: A4; margin: 14mm; }
}
"""


def render_report(data: ReportData) -> str:
    """Render the report as one self-contained HTML page.

    Args:
        data: The content; sections without data are left out.

    Returns:
        The HTML text (UTF-8, no external resources).
    """
    cur = data.currency
    body: list[str] = [
        f"<header><h1>{_e(data.title)}</h1>"
        + (f'<div class="subtitle">{_e(data.subtitle)}</div>' if data.subtitle else "")
        + "</header>"
    ]
    if data.headline:
        cards = []
        for i, (label, value, note) in enumerate(data.headline):
            cls = "card good" if i == 0 else "card"
            cards.append(
                f'<div class="{cls}"><div class="label">{_e(label)}</div>'
                f'<div class="value">{_e(value)}</div><div class="note">{_e(note)}</div></div>'
            )
        body.append(f'<section class="cards">{"".join(cards)}</section>')
    if data.infeasibility:
        items = "".join(f"<li>{_e(line)}</li>" for line in data.infeasibility)
        body.append(
            '<section><h2>No feasible sourcing plan</h2><div class="alert">'
            f"<p>These rules cannot all hold at the same time:</p><ul>{items}</ul></div>"
            "</section>"
        )
    if data.plan is not None and not data.plan.is_empty():
        body.append(
            "<section><h2>Sourcing plan</h2><p class='lead'>Who runs each process, why, and "
            f"what it costs per year.</p>{table_html(data.plan, cur)}</section>"
        )
    if data.status_quo_total is not None and data.waterfall:
        legend = (
            f'<div class="legend"><span style="background:{NAVY}"></span>total'
            f'<span style="background:{TEAL}"></span>saving'
            f'<span style="background:{RED}"></span>added cost</div>'
        )
        body.append(
            "<section><h2>From the status quo to the plan</h2><p class='lead'>Annual cost by "
            "component; one-time costs annualised over the horizon.</p>"
            f"{waterfall_svg(data.status_quo_total, data.waterfall, cur)}{legend}</section>"
        )
    if data.tornado and data.base_saving is not None:
        body.append(
            "<section><h2>How robust is the saving?</h2><p class='lead'>Annual saving when one "
            "assumption at a time moves across its range; ⇄ marks a range in which the plan "
            f"changes.</p>{tornado_svg(data.tornado, data.base_saving, cur)}</section>"
        )
    if data.uncertainty is not None and data.uncertainty.savings:
        body.append(uncertainty_section(data.uncertainty, cur))
    if len(data.pareto) >= 1:
        body.append(
            "<section><h2>Cost versus risk</h2><p class='lead'>Every plan for which no other "
            "plan is both cheaper and less risky.</p>"
            f"{pareto_svg(data.pareto, cur)}</section>"
        )
    body.extend(_roadmap_sections(data))
    for title, frame in (("IT systems", data.systems), ("Providers", data.providers)):
        if frame is not None and not frame.is_empty():
            body.append(f"<section><h2>{title}</h2>{table_html(frame, cur)}</section>")
    if data.kpis is not None and not data.kpis.is_empty():
        body.append(
            "<section><h2>Process KPIs</h2><p class='lead'>Mined from the event logs, "
            f"annualised over the observation window.</p>{table_html(data.kpis, cur)}</section>"
        )
    maps = "".join(_map_html(m) for m in data.maps)
    if maps:
        body.append(
            "<section><h2>Process maps</h2><p class='lead'>Directly-follows maps with "
            f"frequencies and mean times.</p><div class='maps'>{maps}</div></section>"
        )
    body.extend(_steering_sections(data))
    if data.notes:
        items = "".join(f"<li>{_e(n)}</li>" for n in data.notes)
        body.append(f'<section><h2>Notes</h2><ul class="notes">{items}</ul></section>')
    body.append("<footer>Generated by bpo-pipeline. All figures per year unless stated.</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(data.title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )
