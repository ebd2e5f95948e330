"""The to-be BPMN of an outsourced process: a collaboration of the company and its provider.

The provider's pool runs the discovered process (its elements and layout copied from the
discovered `models/<process>.bpmn`); the company's pool keeps the steps on both ends of each
handover — one send task per process that hands cases over, one receive task per process that
takes them back (a single pair when the process has no handovers) — and message flows connect
them with the provider's start and end events. The file carries diagram interchange (pools,
shapes, edges), so bpmn.io-based modellers draw it. Pure lxml; no pm4py.
"""

import itertools
from collections.abc import Sequence
from pathlib import Path

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DD_NS = "http://www.omg.org/spec/DD/20100524/DI"
NSMAP = {"bpmn": BPMN_NS, "bpmndi": DI_NS, "omgdc": DC_NS, "omgdi": DD_NS}

_POOL_X, _LABEL_W, _GAP = 120.0, 30.0, 60.0
_TASK_W, _TASK_H, _EVENT = 170.0, 80.0, 36.0
_COMPANY_H = 200.0


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _sub(parent: etree._Element, ns: str, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, _q(ns, tag), {k: str(v) for k, v in attrs.items()})


def _bounds(shape: etree._Element) -> tuple[float, float, float, float]:
    b = shape.find(_q(DC_NS, "Bounds"))
    return (float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height")))


def _shape(
    plane: etree._Element, element: str, box: tuple[float, float, float, float], **extra: str
) -> None:
    x, y, w, h = box
    shape = _sub(plane, DI_NS, "BPMNShape", id=f"{element}_di", bpmnElement=element, **extra)
    _sub(shape, DC_NS, "Bounds", x=f"{x:.1f}", y=f"{y:.1f}", width=f"{w:.1f}", height=f"{h:.1f}")


def _edge(plane: etree._Element, element: str, points: Sequence[tuple[float, float]]) -> None:
    edge = _sub(plane, DI_NS, "BPMNEdge", id=f"{element}_di", bpmnElement=element)
    for x, y in points:
        _sub(edge, DD_NS, "waypoint", x=f"{x:.1f}", y=f"{y:.1f}")


def to_be_collaboration(
    discovered: str | Path,
    process: str,
    provider: str,
    hands_over: Sequence[tuple[str, float]] = (),
    takes_back: Sequence[tuple[str, float]] = (),
) -> str:
    """The to-be collaboration of `process` run by `provider`, as BPMN 2.0 XML text.

    Args:
        discovered: The discovered BPMN file of the process (with diagram interchange).
        process: Process id (names the pools).
        provider: The provider that runs it.
        hands_over: (process that hands cases over to it, handovers per year).
        takes_back: (process that takes cases back from it, handovers per year).

    Returns:
        The BPMN XML (UTF-8 text with declaration).

    Raises:
        ValueError: The discovered file has no process.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    source = etree.parse(str(discovered), parser).getroot()
    found = source.find(_q(BPMN_NS, "process"))
    if found is None:
        raise ValueError(f"{discovered}: no bpmn:process element")
    provider_process = etree.fromstring(etree.tostring(found))
    provider_process.set("id", f"provider_process_{_id(process)}")
    provider_process.set("name", f"{process} run by {provider}")
    starts = [e.get("id") for e in provider_process.iter(_q(BPMN_NS, "startEvent"))]
    ends = [e.get("id") for e in provider_process.iter(_q(BPMN_NS, "endEvent"))]
    shapes = list(source.iter(_q(DI_NS, "BPMNShape")))
    edges = list(source.iter(_q(DI_NS, "BPMNEdge")))

    root = etree.Element(_q(BPMN_NS, "definitions"), nsmap=NSMAP)
    root.set("id", f"to_be_{_id(process)}")
    root.set("targetNamespace", "https://bpo-pipeline.example/to-be")
    collab_id = f"collaboration_{_id(process)}"
    collab = _sub(root, BPMN_NS, "collaboration", id=collab_id)
    company_id, provider_id = "participant_company", "participant_provider"
    _sub(collab, BPMN_NS, "participant", id=company_id, name="Company",
         processRef=f"company_process_{_id(process)}")  # fmt: skip
    _sub(collab, BPMN_NS, "participant", id=provider_id, name=f"{provider} ({process})",
         processRef=provider_process.get("id"))  # fmt: skip

    # The company's pool: start → send tasks → receive tasks → end, in one row.
    company = _sub(root, BPMN_NS, "process", id=f"company_process_{_id(process)}",
                   name=f"Company side of {process}", isExecutable="false")  # fmt: skip
    sends = [(q, n) for q, n in hands_over] or [("", 0.0)]
    receives = [(q, n) for q, n in takes_back] or [("", 0.0)]
    chain: list[tuple[str, str, str]] = [("c_start", "startEvent", "case arrives")]
    for k, (q, n) in enumerate(sends):
        name = f"{q}: hand over to {provider}" if q else f"Hand over to {provider}"
        chain.append((f"c_send_{k}", "sendTask", name + (f" ({n:,.0f}/yr)" if n else "")))
    for k, (q, n) in enumerate(receives):
        name = f"{q}: take back from {provider}" if q else f"Receive the outcome from {provider}"
        chain.append((f"c_receive_{k}", "receiveTask", name + (f" ({n:,.0f}/yr)" if n else "")))
    chain.append(("c_end", "endEvent", "case closed"))
    for element_id, tag, name in chain:
        _sub(company, BPMN_NS, tag, id=element_id, name=name)
    flows = [(f"c_flow_{k}", a[0], b[0]) for k, (a, b) in enumerate(itertools.pairwise(chain))]
    for flow_id, a, b in flows:
        _sub(company, BPMN_NS, "sequenceFlow", id=flow_id, sourceRef=a, targetRef=b)
        company.find(f".//*[@id='{a}']").append(_out(flow_id))
        company.find(f".//*[@id='{b}']").append(_in(flow_id))
    root.append(provider_process)
    messages: list[tuple[str, str, str]] = []
    for k in range(len(sends)):
        for s in starts:
            messages.append((f"m_send_{k}_{len(messages)}", f"c_send_{k}", s))
    for k in range(len(receives)):
        for e in ends:
            messages.append((f"m_receive_{k}_{len(messages)}", e, f"c_receive_{k}"))
    for message_id, a, b in messages:
        _sub(collab, BPMN_NS, "messageFlow", id=message_id, sourceRef=a, targetRef=b)

    # Diagram: the company pool on top, the provider pool (discovered layout, moved) below.
    diagram = _sub(root, DI_NS, "BPMNDiagram", id=f"diagram_{_id(process)}")
    plane = _sub(diagram, DI_NS, "BPMNPlane", id=f"plane_{_id(process)}", bpmnElement=collab_id)
    boxes = [_bounds(s) for s in shapes] or [(0.0, 0.0, 100.0, 100.0)]
    min_x = min(b[0] for b in boxes)
    min_y = min(b[1] for b in boxes)
    max_x = max(b[0] + b[2] for b in boxes)
    max_y = max(b[1] + b[3] for b in boxes)
    top = _COMPANY_H + _GAP
    dx = _POOL_X + _LABEL_W + 40 - min_x
    dy = top + 40 - min_y
    provider_w = max_x - min_x + _LABEL_W + 80
    centre: dict[str, tuple[float, float, float, float]] = {}  # id → x, y, w, h
    sizes = [
        (_EVENT, _EVENT) if tag.endswith("Event") else (_TASK_W, _TASK_H) for _, tag, _ in chain
    ]
    x = _POOL_X + _LABEL_W + 40
    first_receive = 1 + len(sends)
    for k, ((element_id, _, _), (w, h)) in enumerate(zip(chain, sizes, strict=True)):
        if k == first_receive:  # the take-back steps sit above the provider's end
            tail = sum(sw + 50 for sw, _ in sizes[k:]) - 50
            x = max(x, max_x + dx - tail)
        centre[element_id] = (x, _COMPANY_H / 2 - h / 2, w, h)
        x += w + 50
    company_w = x - _POOL_X
    width = max(company_w, provider_w)
    _shape(plane, company_id, (_POOL_X, 0, width, _COMPANY_H), isHorizontal="true")
    pool = (_POOL_X, top, width, max_y - min_y + 80)
    _shape(plane, provider_id, pool, isHorizontal="true")
    for element_id, box in centre.items():
        _shape(plane, element_id, box)
    for flow_id, a, b in flows:
        ax, ay, aw, ah = centre[a]
        bx, by, _, bh = centre[b]
        _edge(plane, flow_id, [(ax + aw, ay + ah / 2), (bx, by + bh / 2)])
    for s in shapes:
        bx, by, w, h = _bounds(s)
        element = s.get("bpmnElement")
        centre[element] = (bx + dx, by + dy, w, h)
        _shape(plane, element, centre[element])
    for e in edges:
        points = [
            (float(p.get("x")) + dx, float(p.get("y")) + dy) for p in e.iter(_q(DD_NS, "waypoint"))
        ]
        _edge(plane, e.get("bpmnElement"), points)
    for message_id, a, b in messages:
        if a in centre and b in centre:
            ax, ay, aw, ah = centre[a]
            bx, by, bw, bh = centre[b]
            down = ay < by  # company → provider: from the bottom of a to the top of b
            start = (ax + aw / 2, ay + ah if down else ay)
            _edge(plane, message_id, [start, (bx + bw / 2, by if down else by + bh)])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode()


def _id(text: str) -> str:
    """An XML id fragment from a process name (letters, digits, `_`, `-`, `.`)."""
    return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in text)


def _in(flow_id: str) -> etree._Element:
    e = etree.Element(_q(BPMN_NS, "incoming"))
    e.text = flow_id
    return e


def _out(flow_id: str) -> etree._Element:
    e = etree.Element(_q(BPMN_NS, "outgoing"))
    e.text = flow_id
    return e
