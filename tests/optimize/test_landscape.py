"""The process landscape before and after a plan (Graphviz DOT, rendered by `dot`)."""

from fractions import Fraction

from lxml import etree

from mining.maps import render
from optimize.instance import (
    Coupling,
    Instance,
    Offer,
    Plan,
    ProcessData,
    ProviderData,
    Study,
    SystemData,
    Takeover,
)
from optimize.landscape import landscape_dot

SVG = "{http://www.w3.org/2000/svg}"

INSTANCE = Instance(
    processes=(
        ProcessData("P1", cases_per_year=10_000, inhouse_cost_cents=1, systems=("S1",)),
        ProcessData("P2", cases_per_year=10_000, inhouse_cost_cents=1, systems=("S1", "S3")),
        ProcessData("P3", core=True, cases_per_year=1_000, inhouse_cost_cents=1, systems=("S2",)),
    ),
    systems=(SystemData("S1"), SystemData("S2"), SystemData("S3")),
    providers=(ProviderData("A", takeover=(Takeover("S1", 1),)), ProviderData("B")),
    offers=(
        Offer("P1", "A", Fraction(1), it=(("S1", "takeover"),)),
        Offer("P2", "A", Fraction(1), it=(("S1", "takeover"),)),
    ),
    couplings=(
        Coupling("P1", "P2", handovers_per_year=5_000),
        Coupling("P2", "P3", handovers_per_year=1_200),
    ),
    study=Study(cost_per_handover_cents=250),
)
PLAN = Plan({"P1": "A", "P2": "A", "P3": "in_house"},
            {"S1": "transfer:A", "S2": "keep", "S3": "retire"})  # fmt: skip


def _groups(svg: bytes) -> dict[str, list[str]]:
    """Cluster label → node titles inside it; plus edges by title."""
    root = etree.fromstring(svg)
    out: dict[str, list[str]] = {}
    for g in root.iter(f"{SVG}g"):
        cls = g.get("class")
        if cls in ("node", "edge"):
            title = g.find(f"{SVG}title").text
            texts = [t.text for t in g.iter(f"{SVG}text")]
            out[title] = texts
    return out


def test_status_quo_has_everything_in_house_and_no_boundary() -> None:
    dot = landscape_dot(INSTANCE, None, "before")
    assert dot.count("subgraph cluster_") == 1
    assert '"In-house"' in dot
    assert "#c0392b" not in dot  # nothing crosses the boundary, nothing retired
    nodes = _groups(render(dot, "svg"))
    assert nodes["p:P3"] == ["P3 (core)"]
    assert nodes["p:P1--p:P2"] == ["5,000/yr"]
    assert nodes["p:P2--p:P3"] == ["1,200/yr"]


def test_plan_groups_by_party_and_highlights_the_new_boundary() -> None:
    dot = landscape_dot(INSTANCE, PLAN, "after")
    assert dot.count("subgraph cluster_") == 2  # in-house and A; B runs nothing
    nodes = _groups(render(dot, "svg"))
    assert nodes["s:S1"] == ["S1", "(taken over)"]
    assert nodes["s:S3"] == ["S3", "(retired)"]
    assert nodes["p:P1--p:P2"] == ["5,000/yr"]  # both at A
    assert nodes["p:P2--p:P3"] == ["1,200/yr · 3,000/yr coordination"]  # 1,200 × 2.50
    crossing = [line for line in dot.splitlines() if '"p:P2" -- "p:P3"' in line]
    assert 'color="#c0392b"' in crossing[0]
    cluster_a = dot[dot.index('label="Provider A"') :]
    cluster_a = cluster_a[: cluster_a.index("}")]
    assert '"p:P1"' in cluster_a and '"p:P2"' in cluster_a and '"s:S1"' in cluster_a
    assert '"p:P3"' not in cluster_a
