"""The to-be BPMN collaboration of an outsourced process, read back by pm4py."""

from collections import Counter

import pytest
from lxml import etree

from mining.discovery import discover_process
from mining.kpis import MiningConfig
from mining.to_be import BPMN_NS, DI_NS, to_be_collaboration

pm4py = pytest.importorskip("pm4py")


def test_collaboration_has_both_pools_message_flows_and_a_complete_diagram(real_log, tmp_path):
    found = discover_process(real_log("repair_example.xes.gz"), "repair", tmp_path, MiningConfig())
    xml = to_be_collaboration(
        found.bpmn, "repair", "bpo_a", [("intake", 1200.0), ("sales", 40.0)], [("billing", 900.0)]
    )
    path = tmp_path / "repair_to_be.bpmn"
    path.write_text(xml, encoding="utf-8")

    model = pm4py.read_bpmn(str(path))
    kinds = Counter(type(n).__name__ for n in model.get_nodes())
    discovered = pm4py.read_bpmn(str(found.bpmn))
    tasks = {n.get_name() for n in discovered.get_nodes() if type(n).__name__ == "Task"}
    # The provider's pool keeps every discovered task; the company's pool adds two send tasks
    # (one per process handing over) and one receive task, plus its own start and end event.
    assert tasks <= {n.get_name() for n in model.get_nodes()}
    assert kinds["Participant"] == 2
    assert kinds["SendTask"] == 2
    names = {n.get_name() for n in model.get_nodes()}
    assert {"intake: hand over to bpo_a (1,200/yr)", "sales: hand over to bpo_a (40/yr)",
            "billing: take back from bpo_a (900/yr)"} <= names  # fmt: skip
    flows = Counter(type(f).__name__ for f in model.get_flows())
    starts = sum(1 for n in discovered.get_nodes() if type(n).__name__ == "NormalStartEvent")
    ends = sum(1 for n in discovered.get_nodes() if type(n).__name__ == "NormalEndEvent")
    assert flows["MessageFlow"] == 2 * starts + 1 * ends

    root = etree.fromstring(xml.encode())
    participants = root.findall(f".//{{{BPMN_NS}}}participant")
    assert [p.get("name") for p in participants] == ["Company", "bpo_a (repair)"]
    refs = {p.get("processRef") for p in participants}
    assert refs == {p.get("id") for p in root.findall(f"{{{BPMN_NS}}}process")}
    # Every flow element, sequence flow, message flow and pool has its diagram element.
    drawn = {e.get("bpmnElement") for e in root.iter(f"{{{DI_NS}}}BPMNShape")} | {
        e.get("bpmnElement") for e in root.iter(f"{{{DI_NS}}}BPMNEdge")
    }
    elements = {
        e.get("id")
        for process in root.findall(f"{{{BPMN_NS}}}process")
        for e in process
        if e.get("id")
    }
    flows_ids = {e.get("id") for e in root.iter(f"{{{BPMN_NS}}}messageFlow")}
    assert elements | flows_ids | {p.get("id") for p in participants} == drawn
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))  # unique ids
