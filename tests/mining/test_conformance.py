"""Documented vs actual: conformance of a log to a reference model (mining.conformance)."""

import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mining.conformance import CONFORMANCE_COLUMNS, conformance, read_reference_model
from mining.discovery import discover_process
from mining.kpis import MiningConfig
from optimize.costfile import load_costs, parse_costs
from pipelines.errors import InputError
from pipelines.read import read_log
from tests.mining.conftest import PM4PY_KEYS, TEST_DATA, to_pm4py
from tests.mining.helpers import make_log

pm4py = pytest.importorskip("pm4py")
from pm4py.objects.petri_net.obj import Marking, PetriNet  # noqa: E402
from pm4py.objects.petri_net.utils import petri_utils  # noqa: E402

B = "Check, approve"  # a comma in a name must not upset pm4py


@pytest.fixture(scope="module")
def running() -> pl.DataFrame:
    return read_log(str(TEST_DATA / "running-example.xes"))


@pytest.fixture(scope="module")
def discovered(running: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("models")
    return discover_process(running, "running", out, MiningConfig(model="im"))


@pytest.mark.parametrize("kind", ["pnml", "bpmn"])
def test_discovered_model_as_its_own_reference_fits(running, discovered, kind) -> None:
    result = conformance(running, getattr(discovered, kind))
    assert result.fitness == 1.0
    assert result.precision == pytest.approx(discovered.precision, abs=1e-12)
    assert result.deviations.height == 0
    assert result.deviations.columns == list(CONFORMANCE_COLUMNS)


def _without(pnml: Path, activity: str, out: Path, kind: str) -> Path:
    """The model with `activity`'s task removed (its transition made silent)."""
    net, im, fm = pm4py.read_pnml(str(pnml))
    (t,) = [t for t in net.transitions if t.label == activity]
    t.label = None
    path = out / f"without.{kind}"
    if kind == "pnml":
        pm4py.write_pnml(net, im, fm, str(path))
    else:
        pm4py.write_bpmn(pm4py.convert_to_bpmn(net, im, fm), str(path))
    return path


@pytest.mark.parametrize("kind", ["pnml", "bpmn"])
def test_activity_removed_from_reference_is_not_in_the_model(
    running, discovered, tmp_path, kind
) -> None:
    reference = _without(discovered.pnml, "reinitiate request", tmp_path, kind)
    result = conformance(running, reference, process="claims")
    with_it = running.filter(pl.col("activity") == "reinitiate request")["case_id"].n_unique()
    assert with_it == 2  # cases 3 and 5 (5 twice)
    expected = pl.DataFrame(
        {
            "process": ["claims"],
            "deviation": ["not in the model"],
            "activity": ["reinitiate request"],
            "cases": [2],
            "share_of_cases": [2 / 6],
        }
    )
    assert_frame_equal(result.deviations, expected)
    assert result.fitness < 1.0


def _sequence_model(labels: list[str], path: Path) -> Path:
    net = PetriNet("seq")
    places = [PetriNet.Place(f"p{i}") for i in range(len(labels) + 1)]
    for p in places:
        net.places.add(p)
    for i, label in enumerate(labels):
        t = PetriNet.Transition(f"t{i}", label)
        net.transitions.add(t)
        petri_utils.add_arc_from_to(places[i], t, net)
        petri_utils.add_arc_from_to(t, places[i + 1], net)
    im, fm = Marking({places[0]: 1}), Marking({places[-1]: 1})
    if path.suffix == ".pnml":
        pm4py.write_pnml(net, im, fm, str(path))
    else:
        pm4py.write_bpmn(pm4py.convert_to_bpmn(net, im, fm), str(path))
    return path


def _log(traces: dict[str, list[str]]) -> pl.DataFrame:
    rows = [
        {"case": case, "act": act, "ts": f"2025-01-01 {8 + i:02d}:00", "proc": "AP"}
        for case, acts in traces.items()
        for i, act in enumerate(acts)
    ]
    return make_log(rows)


@pytest.mark.parametrize("suffix", [".pnml", ".bpmn"])
def test_each_kind_of_deviation_with_its_cases(tmp_path, suffix) -> None:
    model = _sequence_model(["A", B, "C", "D"], tmp_path / f"ref{suffix}")
    log = _log(
        {
            "fit1": ["A", B, "C", "D"],
            "fit2": ["A", B, "C", "D"],
            "skip": ["A", B, "D"],
            "twice": ["A", B, B, "C", "D"],
            "order": ["C", "A", B, "D"],
            "extra": ["A", B, "X", "C", "D"],
            "twice2": ["A", B, B, "C", "D"],
        }
    )
    result = conformance(log, model)
    expected = pl.DataFrame(
        {
            "process": ["AP"] * 4,
            "deviation": ["done twice", "not in the model", "out of order", "skipped"],
            "activity": [B, "X", "C", "C"],
            "cases": [2, 1, 1, 1],
            "share_of_cases": [2 / 7, 1 / 7, 1 / 7, 1 / 7],
        }
    )
    assert_frame_equal(result.deviations, expected)
    assert result.precision == 1.0  # a sequence allows nothing the log does not do


def test_fitness_and_precision_equal_pm4py_on_the_full_log(tmp_path) -> None:
    # pm4py's own precision splits prefixes at commas, so the names here have none
    model = _sequence_model(["A", "B", "C", "D"], tmp_path / "ref.pnml")
    traces = {
        "f1": ["A", "B", "C", "D"],
        "f2": ["A", "B", "C", "D"],
        "s": ["A", "B", "D"],
        "o": ["C", "A", "B", "D"],
        "x": ["A", "B", "X", "C", "D"],
        "t": ["A", "B", "B", "C", "D"],
    }
    log = _log(traces)
    result = conformance(log, model)
    net, im, fm = read_reference_model(model)
    full = to_pm4py(log)
    # pm4py's alignments of the full log; moves counted as in its per-trace fitness
    aligned = pm4py.conformance_diagnostics_alignments(full, net, im, fm, **PM4PY_KEYS)
    moves = sum(a["cost"] // 10_000 for a in aligned)
    worst = sum(a["bwc"] // 10_000 for a in aligned)
    assert result.fitness == pytest.approx(1 - moves / worst, abs=1e-12)
    assert moves == 5  # C skipped; C early (log move) and missing later (model move); X; B again
    assert result.fitness < 1.0
    assert result.precision == pytest.approx(
        pm4py.precision_token_based_replay(full, net, im, fm, **PM4PY_KEYS), abs=1e-12
    )


def test_bad_reference_models(tmp_path, running) -> None:
    with pytest.raises(InputError, match="reference model not found"):
        conformance(running, tmp_path / "missing.pnml")
    (tmp_path / "model.txt").write_text("A -> B")
    with pytest.raises(InputError, match=r"must be a \.bpmn or \.pnml file"):
        conformance(running, tmp_path / "model.txt")
    (tmp_path / "broken.pnml").write_text("<pnml><net>")
    with pytest.raises(InputError, match="malformed XML"):
        conformance(running, tmp_path / "broken.pnml")
    (tmp_path / "bomb.bpmn").write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(InputError, match="remove the DOCTYPE"):
        conformance(running, tmp_path / "bomb.bpmn")
    (tmp_path / "other.pnml").write_text("<pnml><net id='n'/></pnml>")
    with pytest.raises(InputError, match=r"other\.pnml"):
        conformance(running, tmp_path / "other.pnml")
    with pytest.raises(InputError, match="no events"):
        conformance(running.head(0), tmp_path / "missing.pnml")


# --------------------------------------------------------------------------- cost file


def _costs(tmp_path: Path, reference: str) -> Path:
    path = tmp_path / "costs.yaml"
    path.write_text(
        "schema_version: 1\n"
        "processes:\n"
        "  - id: AP\n"
        f"    reference_model: {reference}\n"
        "    override: {cases_per_year: 10, inhouse_cost_per_year: 100}\n"
    )
    return path


def test_reference_model_in_the_cost_file(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    _sequence_model(["A", B, "C", "D"], tmp_path / "models" / "ap.pnml")
    costs = load_costs(_costs(tmp_path, "models/ap.pnml"))
    (process,) = costs.processes
    assert process.reference_model == str((tmp_path / "models" / "ap.pnml").resolve())
    log = _log({"c1": ["A", B, "C", "D"], "c2": ["A", B, "D"]})
    result = conformance(log, process.reference_model)
    assert result.deviations.select("deviation", "activity", "cases").rows() == [
        ("skipped", "C", 1)
    ]
    # without a folder (text only) the path is kept as written and not checked
    text = _costs(tmp_path, "elsewhere/ap.bpmn").read_text()
    assert parse_costs(text, "costs.yaml").processes[0].reference_model == "elsewhere/ap.bpmn"


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "ap.txt",
            "processes[0].reference_model: 'ap.txt' is not a .bpmn or .pnml file",
        ),
        ("missing.bpmn", "processes[0].reference_model: file 'missing.bpmn' not found"),
        ("[a, b]", "processes[0].reference_model"),
    ],
)
def test_bad_reference_model_in_the_cost_file(tmp_path: Path, reference, message) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        load_costs(_costs(tmp_path, reference))


def test_a_model_that_cannot_finish_is_bad_input(tmp_path: Path, running) -> None:
    net = PetriNet("stuck")
    start, middle, end = (PetriNet.Place(n) for n in ("start", "middle", "end"))
    net.places.update({start, middle, end})
    t = PetriNet.Transition("t", "register request")
    net.transitions.add(t)
    petri_utils.add_arc_from_to(start, t, net)
    petri_utils.add_arc_from_to(t, middle, net)
    path = tmp_path / "stuck.pnml"
    pm4py.write_pnml(net, Marking({start: 1}), Marking({end: 1}), str(path))
    with pytest.raises(InputError, match="cannot reach its final marking"):
        conformance(running, path)
