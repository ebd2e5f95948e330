"""The roadmap's result tables and its Gantt chart (as Graphviz DOT text).

`roadmap_tables` gives the frames written as `roadmap.csv`, `roadmap_summary.csv` and
`roadmap_cashflow.csv` (money in currency units, 2 decimals); `gantt_dot` the chart drawn with
Graphviz (an HTML-like table: one row per moving process, one column per quarter), which the
report shows as SVG and the Dagster UI as PNG.
"""

import html
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from optimize.roadmap import (
    RoadmapInstance,
    RoadmapResult,
    cash_by_quarter,
    evaluate_roadmap,
    payback_quarter,
    status_quo_quarters,
    unconstrained_npv,
)


def _eur(cents: int | Fraction | None) -> float | None:
    return None if cents is None else round(float(Fraction(cents)) / 100, 2)


def quarter_label(q: int) -> str:
    """`Y1 Q1` for quarter 0 of the study, `Y2 Q3` for quarter 6."""
    return f"Y{q // 4 + 1} Q{q % 4 + 1}"


@dataclass(frozen=True)
class RoadmapFigures:
    """The headline figures of a roadmap (cents; None where there is no roadmap).

    Attributes:
        status: Solver status.
        npv_cents: Discounted cost of the roadmap over the horizon.
        npv_unconstrained_cents: Everything at quarter 0 without capacity limits.
        npv_status_quo_cents: Nothing moves.
        payback_quarter: First quarter from which the cumulative (undiscounted) saving against
            the status quo stays ≥ 0; None if it never does within the horizon.
        payback_quarter_discounted: The same on discounted figures.
    """

    status: str
    npv_cents: int | None
    npv_unconstrained_cents: int | None
    npv_status_quo_cents: int
    payback_quarter: int | None
    payback_quarter_discounted: int | None


def figures(inst: RoadmapInstance, result: RoadmapResult) -> RoadmapFigures:
    """The summary figures of a solved roadmap."""
    sq_disc, sq_cash = status_quo_quarters(inst)
    payback = payback_disc = None
    if result.starts is not None:
        ev = evaluate_roadmap(inst, result.starts)
        cash = cash_by_quarter(inst, result.starts)
        payback = payback_quarter([s - c for s, c in zip(sq_cash, cash, strict=True)])
        payback_disc = payback_quarter([s - c for s, c in zip(sq_disc, ev.discounted, strict=True)])
    return RoadmapFigures(
        status=result.status,
        npv_cents=result.npv_cents,
        npv_unconstrained_cents=unconstrained_npv(inst),
        npv_status_quo_cents=sum(sq_disc),
        payback_quarter=payback,
        payback_quarter_discounted=payback_disc,
    )


def roadmap_table(inst: RoadmapInstance, result: RoadmapResult) -> pl.DataFrame:
    """`roadmap.csv`: one row per moving process, in order of start."""
    rows = []
    starts = result.starts or {}
    for mv in inst.moves:
        s = starts.get(mv.process)
        end = None if s is None else s + mv.duration
        rows.append(
            {
                "process": mv.process,
                "provider": mv.provider,
                "start_quarter": s,
                "end_quarter": end,
                "start": None if s is None else quarter_label(s),
                "first_quarter_at_run_rate": None if end is None else quarter_label(end),
                "transition_quarters": mv.duration,
                "not_before": mv.not_before,
                "fte": mv.fte_centi / 100,
                "one_time_cost": _eur(mv.transition_cents),
                "plan_run_cost_per_year": _eur(mv.run_rate_cents),
                "status_quo_cost_per_year": _eur(mv.status_quo_cents),
                "saving_per_year": _eur(mv.status_quo_cents - mv.run_rate_cents),
            }
        )
    frame = pl.DataFrame(
        rows,
        schema={
            "process": pl.String,
            "provider": pl.String,
            "start_quarter": pl.Int64,
            "end_quarter": pl.Int64,
            "start": pl.String,
            "first_quarter_at_run_rate": pl.String,
            "transition_quarters": pl.Int64,
            "not_before": pl.Int64,
            "fte": pl.Float64,
            "one_time_cost": pl.Float64,
            "plan_run_cost_per_year": pl.Float64,
            "status_quo_cost_per_year": pl.Float64,
            "saving_per_year": pl.Float64,
        },
    )
    return frame.sort(["start_quarter", "process"], nulls_last=True)


def summary_table(inst: RoadmapInstance, result: RoadmapResult) -> pl.DataFrame:
    """`roadmap_summary.csv`: one row with the status, the three NPVs and the payback.

    No solver time: the results of two runs on the same inputs are the same files (the time is
    in the asset's metadata).
    """
    f = figures(inst, result)
    saving = None if f.npv_cents is None else f.npv_status_quo_cents - f.npv_cents
    row = {
        "status": f.status,
        "npv_cost": _eur(f.npv_cents),
        "npv_cost_unconstrained": _eur(f.npv_unconstrained_cents),
        "npv_status_quo": _eur(f.npv_status_quo_cents),
        "npv_saving": _eur(saving),
        "payback_quarter": f.payback_quarter,
        "payback_quarter_discounted": f.payback_quarter_discounted,
        "quarters": inst.quarters,
        "moving_processes": len(inst.moves),
        "max_parallel": inst.max_parallel,
        "gap": result.gap,
        "conflicting_rules": "; ".join(result.explanation) or None,
    }
    return pl.DataFrame(
        [row],
        schema={
            "status": pl.String,
            "npv_cost": pl.Float64,
            "npv_cost_unconstrained": pl.Float64,
            "npv_status_quo": pl.Float64,
            "npv_saving": pl.Float64,
            "payback_quarter": pl.Int64,
            "payback_quarter_discounted": pl.Int64,
            "quarters": pl.Int64,
            "moving_processes": pl.Int64,
            "max_parallel": pl.Int64,
            "gap": pl.Float64,
            "conflicting_rules": pl.String,
        },
    )


def cashflow_table(inst: RoadmapInstance, result: RoadmapResult) -> pl.DataFrame:
    """`roadmap_cashflow.csv`: one row per quarter, cost and cumulative saving (empty if none).

    `cost` is the cash out in the quarter (undiscounted), `cumulative_saving` the running sum
    of status quo − cost; the discounted columns add up to the NPVs of the summary.
    """
    schema = {
        "quarter": pl.Int64,
        "label": pl.String,
        "cost": pl.Float64,
        "status_quo_cost": pl.Float64,
        "saving": pl.Float64,
        "cumulative_saving": pl.Float64,
        "discounted_cost": pl.Float64,
        "discounted_status_quo_cost": pl.Float64,
        "cumulative_discounted_saving": pl.Float64,
        "in_transition": pl.String,
    }
    if result.starts is None:
        return pl.DataFrame([], schema=schema)
    starts = result.starts
    ev = evaluate_roadmap(inst, starts)
    cash = cash_by_quarter(inst, starts)
    sq_disc, sq_cash = status_quo_quarters(inst)
    rows = []
    cumulative: Fraction = Fraction(0)
    cumulative_disc = 0
    for q in range(inst.quarters):
        cumulative += sq_cash[q] - cash[q]
        cumulative_disc += sq_disc[q] - ev.discounted[q]
        moving = [mv.process for mv in inst.moves if 0 <= q - starts[mv.process] < mv.duration]
        rows.append(
            {
                "quarter": q,
                "label": quarter_label(q),
                "cost": _eur(cash[q]),
                "status_quo_cost": _eur(sq_cash[q]),
                "saving": _eur(sq_cash[q] - cash[q]),
                "cumulative_saving": _eur(cumulative),
                "discounted_cost": _eur(ev.discounted[q]),
                "discounted_status_quo_cost": _eur(sq_disc[q]),
                "cumulative_discounted_saving": _eur(cumulative_disc),
                "in_transition": ";".join(moving),
            }
        )
    return pl.DataFrame(rows, schema=schema)


def roadmap_tables(inst: RoadmapInstance, result: RoadmapResult) -> dict[str, pl.DataFrame]:
    """The three roadmap CSVs by file stem: `roadmap`, `roadmap_summary`, `roadmap_cashflow`."""
    return {
        "roadmap": roadmap_table(inst, result),
        "roadmap_summary": summary_table(inst, result),
        "roadmap_cashflow": cashflow_table(inst, result),
    }


_BEFORE, _MOVING, _AFTER = "#ffffff", "#f5b041", "#1b8a6b"


def gantt_dot(inst: RoadmapInstance, result: RoadmapResult, payback: int | None = None) -> str:
    """The roadmap as a Gantt chart in Graphviz DOT (an HTML-like table).

    One row per moving process (by start), one column per quarter: white before the move,
    amber during the transition (dual running), green at the plan's run-rate; the payback
    quarter's column header is marked.
    """
    starts = result.starts or {}
    order = sorted(inst.moves, key=lambda mv: (starts.get(mv.process, 0), mv.process))
    head = ['<TD ALIGN="LEFT"><B>process → provider</B></TD>']
    for q in range(inst.quarters):
        mark = q == payback
        label = f"Q{q % 4 + 1}" + ("<BR/>payback" if mark else "")
        color = ' BGCOLOR="#d5f5e3"' if mark else ""
        head.append(f'<TD{color}><FONT POINT-SIZE="9">{label}</FONT></TD>')
    years = ['<TD BORDER="0"></TD>'] + [
        f'<TD COLSPAN="4"><B>Year {y + 1}</B></TD>' for y in range(inst.horizon_years)
    ]
    rows = ["<TR>" + "".join(years) + "</TR>", "<TR>" + "".join(head) + "</TR>"]
    for mv in order:
        s = starts.get(mv.process)
        name = html.escape(f"{mv.process} → {mv.provider}")
        cells = [f'<TD ALIGN="LEFT">{name}</TD>']
        for q in range(inst.quarters):
            if s is None or q < s:
                color = _BEFORE
            elif q < s + mv.duration:
                color = _MOVING
            else:
                color = _AFTER
            cells.append(f'<TD BGCOLOR="{color}" WIDTH="22"> </TD>')
        rows.append("<TR>" + "".join(cells) + "</TR>")
    legend = (
        f'<TR><TD BORDER="0" COLSPAN="{inst.quarters + 1}" ALIGN="LEFT">'
        f'<FONT POINT-SIZE="10"><FONT COLOR="{_MOVING}">■</FONT> transition (dual running)   '
        f'<FONT COLOR="{_AFTER}">■</FONT> run by the provider</FONT></TD></TR>'
    )
    table = (
        '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" COLOR="#c8d0da">'
        + "".join(rows)
        + legend
        + "</TABLE>"
    )
    return (
        "digraph roadmap {\n"
        '  graph [bgcolor="white" margin="0.1"];\n'
        '  node [shape=plaintext fontname="Helvetica" fontsize="11"];\n'
        f"  gantt [label=<{table}>];\n"
        "}\n"
    )
