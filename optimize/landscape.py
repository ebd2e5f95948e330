"""The process landscape before and after a plan, as Graphviz DOT text.

All processes as boxes, grouped by who runs them (in-house, each provider); the IT systems each
uses (kept, taken over, retired); the handovers between processes as lines with their yearly
counts. In the plan's landscape, handovers that now cross the company boundary are drawn red
with their yearly coordination cost. Rendered to SVG and PNG by `mining.maps.render`.
"""

from optimize.instance import IN_HOUSE, Instance, Plan
from optimize.model import money

_INHOUSE_FILL = "#e8edf3"
_PROVIDER_FILL = "#e3f4ee"
_CROSSING = "#c0392b"


def _q(text: str) -> str:
    """A quoted DOT id or label."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def landscape_dot(instance: Instance, plan: Plan | None = None, title: str = "") -> str:
    """DOT text of the landscape: the status quo when `plan` is None, else the plan's.

    Args:
        instance: The study.
        plan: The plan; None draws the status quo (everything in-house, all systems kept).
        title: Graph label.

    Returns:
        DOT text (render with `dot -Tsvg` / `-Tpng`).
    """
    assign = {
        p.id: IN_HOUSE if plan is None else plan.assignment.get(p.id, IN_HOUSE)
        for p in instance.processes
    }
    systems = {
        s.id: "keep" if plan is None else plan.systems.get(s.id, "keep") for s in instance.systems
    }
    parties = [IN_HOUSE] + [v.id for v in instance.providers if v.id in set(assign.values())]
    lines = [
        "graph landscape {",
        f'  graph [label={_q(title)} labelloc="t" fontsize="16" fontname="Helvetica" '
        'rankdir="LR" compound="true" newrank="true" nodesep="0.35" ranksep="0.9"];',
        '  node [fontname="Helvetica" fontsize="11"];',
        '  edge [fontname="Helvetica" fontsize="9"];',
    ]
    for k, party in enumerate(parties):
        inside = party == IN_HOUSE
        label = "In-house" if inside else f"Provider {party}"
        fill = _INHOUSE_FILL if inside else _PROVIDER_FILL
        lines.append(f"  subgraph cluster_{k} {{")
        lines.append(
            f'    label={_q(label)}; style="rounded,filled"; fillcolor="{fill}"; '
            'color="#8a94a6"; fontsize="13";'
        )
        for p in instance.processes:
            if assign[p.id] != party:
                continue
            style = "rounded,filled,bold" if p.core else "rounded,filled"
            note = " (core)" if p.core else ""
            lines.append(
                f'    {_q("p:" + p.id)} [label={_q(p.id + note)} shape="box" style="{style}" '
                'fillcolor="white"];'
            )
        for s in instance.systems:
            d = systems[s.id]
            here = (inside and d == "keep") or d == f"transfer:{party}"
            if not here:
                continue
            tag = "" if d == "keep" else "\\n(taken over)"
            lines.append(
                f'    {_q("s:" + s.id)} [label="{s.id}{tag}" shape="cylinder" style="filled" '
                f'fillcolor="{"#d6eaf8" if d == "keep" else "#abebc6"}"];'
            )
        lines.append("  }")
    for s in instance.systems:
        if systems[s.id] == "retire":
            lines.append(
                f'  {_q("s:" + s.id)} [label="{s.id}\\n(retired)" shape="cylinder" '
                'style="dashed" color="#c0392b" fontcolor="#c0392b"];'
            )
    for p in instance.processes:
        for sid in p.systems:
            if sid in systems:
                lines.append(
                    f'  {_q("p:" + p.id)} -- {_q("s:" + sid)} [style="dashed" color="#8a94a6"];'
                )
    for c in instance.couplings:
        if c.p not in assign or c.q not in assign or c.p == c.q:
            continue
        count = f"{c.handovers_per_year:,.0f}/yr"
        if assign[c.p] != assign[c.q]:
            label = f"{count} · {money(instance.coordination_cents(c))}/yr coordination"
            lines.append(
                f"  {_q('p:' + c.p)} -- {_q('p:' + c.q)} [label={_q(label)} "
                f'color="{_CROSSING}" fontcolor="{_CROSSING}" penwidth="2.2"];'
            )
        else:
            lines.append(
                f'  {_q("p:" + c.p)} -- {_q("p:" + c.q)} [label={_q(count)} color="#1f3a5f"];'
            )
    lines.append("}")
    return "\n".join(lines) + "\n"
