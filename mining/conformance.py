"""Documented vs actual: conformance of a process's log to its reference model (pm4py).

pm4py comes from `mining.pm4py_api` (imported on first use, no banner, no progress bars), as
for `mining.discovery`. `mining.discovery`'s variants and `mining.replay`'s precision are reused, so
that precision means exactly what it means for the discovered model in `process_kpis.csv`;
fitness is alignment-based here (see below).

The reference model is the cost file's `processes[].reference_model`: a PNML Petri net (with
initial and final marking) or a BPMN diagram, converted to a Petri net with
`pm4py.convert_to_petri_net`. Its visible transitions' labels are the activity names.

Per process, all computations run on the log's *variants* (distinct activity sequences, each
once, weighted by its number of cases), which gives the same figures as the full log at a
fraction of the cost:

- **Alignments** — an optimal alignment of each variant with the model (pm4py's A* on the
  state equation, its default; standard costs: a log or model move on a visible activity
  costs, a silent step almost nothing). The cost of the worst alignment (every event a log
  move plus the model's cheapest complete run) is computed once, not once per trace as
  pm4py's `algorithm.apply` does.
- **Fitness** — alignment-based: 1 − Σ cases·moves / Σ cases·(moves of the worst
  alignment), counting log and model moves on visible activities, as pm4py's per-trace
  alignment fitness does (pm4py's `log_fitness` also adds the tiny cost of silent steps, so
  a perfectly fitting log would get 0.99998). Token-based replay (used for
  the discovered model) skips activities the model does not know, so it would call a log
  fitting whose cases do a step the documentation lacks; alignments count it.
- **Precision** — ETConformance by token replay, as for the discovered model
  (`mining.discovery`), so the two models' precision can be compared.
- **Deviations** — the alignments' moves, read as a process owner would say it, per
  activity a:
  - `not in the model`: the case has an activity the model does not know at all;
  - `skipped`: the model's path needs a but the case never did it (a model move on a, and
    a does not occur in the case);
  - `done twice`: a occurs in the case more often than the model allows (a log move on a,
    and a occurs more than once in the case);
  - `out of order`: a was done, but where the model does not allow it (a log move on a that
    occurs once; with it, usually, a model move on a where it should have been).
  Each (deviation, activity) counts once per case: `cases` is the number of cases with it,
  `share_of_cases` their share of all the process's cases (`conformance.csv`).

Activities are handed to pm4py under short codes, as in `mining.discovery`, so that names
with commas or quotes cannot upset its internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from lxml import etree

from mining.discovery import coded_variants
from mining.pm4py_api import load
from mining.replay import replay_quality
from pipelines.errors import InputError, Problem
from pipelines.schema import PROCESS
from pipelines.xes import reject_dtd

if TYPE_CHECKING:
    from pm4py.objects.petri_net.obj import Marking, PetriNet

NOT_IN_MODEL = "not in the model"
SKIPPED = "skipped"
DONE_TWICE = "done twice"
OUT_OF_ORDER = "out of order"
DEVIATIONS: tuple[str, ...] = (NOT_IN_MODEL, SKIPPED, DONE_TWICE, OUT_OF_ORDER)
CONFORMANCE_COLUMNS: tuple[str, ...] = (
    "process",
    "deviation",
    "activity",
    "cases",
    "share_of_cases",
)
MODEL_SUFFIXES: tuple[str, ...] = (".bpmn", ".pnml")

_ACT = "concept:name"
_MOVE_COST = 10_000  # pm4py's cost of a log or model move (align_utils.STD_MODEL_LOG_MOVE_COST)
_SKIP = ">>"
_SCHEMA: dict[str, pl.DataType] = {
    "process": pl.String(),
    "deviation": pl.String(),
    "activity": pl.String(),
    "cases": pl.Int64(),
    "share_of_cases": pl.Float64(),
}


@dataclass(frozen=True)
class ConformanceResult:
    """How well a process's log fits its documented (reference) model.

    Attributes:
        fitness: Alignment-based fitness of the log on the reference model, 0..1.
        precision: ETConformance precision of the reference model for the log, 0..1.
        deviations: `CONFORMANCE_COLUMNS`, most frequent first; empty when the log fits.
    """

    fitness: float
    precision: float
    deviations: pl.DataFrame


def read_reference_model(path: str | Path) -> tuple[PetriNet, Marking, Marking]:
    """Read a reference model (PNML or BPMN) as a Petri net with its markings.

    Args:
        path: `.pnml` or `.bpmn` file.

    Returns:
        (net, initial marking, final marking).

    Raises:
        InputError: Missing file, other suffix, or a file pm4py cannot read.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise InputError(Problem(str(path), "a reference model must be a .bpmn or .pnml file"))
    if not path.is_file():
        raise InputError(Problem(str(path), "reference model not found: check the path"))
    _check_xml(path)
    pm4py = load().pm4py
    try:
        if suffix == ".pnml":
            net, im, fm = pm4py.read_pnml(str(path))
        else:
            net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
    except Exception as exc:  # pm4py raises anything from XML errors to KeyErrors
        raise InputError(
            Problem(str(path), f"cannot read the reference model ({exc}): export it again")
        ) from None
    if not im or not fm:
        raise InputError(
            Problem(str(path), "the Petri net has no initial or final marking: add both")
        )
    return net, im, fm


def _check_xml(path: Path) -> None:
    """Parse the file safely first: no DTD or entities, well-formed (pm4py's parsers are not)."""
    data = path.read_bytes()
    reject_dtd(data[: 1 << 16], str(path))
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(
            Problem(str(path), f"malformed XML: {exc.msg}: export the model again", exc.lineno)
        ) from None


def conformance(
    log_of_one_process: pl.DataFrame,
    reference_model_path: str | Path,
    process: str | None = None,
) -> ConformanceResult:
    """Fitness, precision and deviations of one process's log against its reference model.

    Args:
        log_of_one_process: Normalized event log rows of one process.
        reference_model_path: The documented model, `.bpmn` or `.pnml`.
        process: Name for the `process` column; default: the log's `process` value.

    Returns:
        The ConformanceResult (method in the module docstring).

    Raises:
        InputError: The log is empty or the model cannot be read.
    """
    if log_of_one_process.height == 0:
        raise InputError(Problem("event log", "no events to check against the reference model"))
    if process is None:
        process = (
            str(log_of_one_process[PROCESS][0]) if PROCESS in log_of_one_process.columns else ""
        )
    net, im, fm = read_reference_model(reference_model_path)

    variants = coded_variants(log_of_one_process)
    encode = {name: code for code, name in variants.decode.items()}
    model_labels = sorted({t.label for t in net.transitions if t.label is not None})
    for i, label in enumerate(x for x in model_labels if x not in encode):
        encode[label] = f"m{i}"
    for t in net.transitions:
        if t.label is not None:
            t.label = encode[t.label]

    table = variants.table
    seq = zip(table["codes"].to_list(), table["cases"].to_list(), strict=True)
    precision = replay_quality(seq, net, im, fm).precision
    known = {encode[label] for label in model_labels}
    decode = {code: name for name, code in encode.items()}
    fitness, deviations = _align(
        table, net, im, fm, known=known, decode=decode, source=str(reference_model_path)
    )
    total = int(table["cases"].sum())
    frame = (
        pl.DataFrame(
            [(process, d, a, c, c / total) for (d, a), c in deviations.items()],
            schema=_SCHEMA,
            orient="row",
        )
        .sort(["cases", "deviation", "activity"], descending=[True, False, False])
        .select(CONFORMANCE_COLUMNS)
    )
    return ConformanceResult(fitness=fitness, precision=precision, deviations=frame)


def _astar_parameters() -> dict[Any, Any]:
    """Fresh parameters for each call: pm4py stores per-trace costs in the dict it is given."""
    return {load().astar.Parameters.ACTIVITY_KEY: _ACT}


def _align(
    table: pl.DataFrame,
    net: PetriNet,
    im: Marking,
    fm: Marking,
    *,
    known: set[str],
    decode: dict[str, str],
    source: str,
) -> tuple[float, dict[tuple[str, str], int]]:
    """Alignment fitness and cases per (deviation, activity name), one alignment per variant."""
    rows = table.select("codes", "cases").rows()
    # The cost of the model's cheapest complete run, once (pm4py's `algorithm.apply` would
    # recompute it for every trace, doubling the work).
    pm = load()
    empty = pm.astar.apply(pm.Trace(), net, im, fm, parameters=_astar_parameters())
    if empty is None:
        raise InputError(
            Problem(
                source,
                "the model cannot reach its final marking from its initial one: fix the model",
            )
        )
    model_worst = empty["cost"]
    aligned = []
    for codes, _ in rows:
        result = pm.astar.apply(
            pm.Trace([pm.Event({_ACT: code}) for code in codes]),
            net,
            im,
            fm,
            parameters=_astar_parameters(),
        )
        aligned.append(result | {"bwc": len(codes) * _MOVE_COST + model_worst})
    counts: dict[tuple[str, str], int] = {}
    cost = worst = 0.0
    for (codes, cases), result in zip(rows, aligned, strict=True):
        cost += cases * (result["cost"] // _MOVE_COST)
        worst += cases * (result["bwc"] // _MOVE_COST)
        found: set[tuple[str, str]] = set()
        occurs = {c: codes.count(c) for c in set(codes)}
        for log_move, model_move in result["alignment"]:
            if log_move != _SKIP and model_move == _SKIP:  # the case did something extra
                if log_move not in known:
                    found.add((NOT_IN_MODEL, log_move))
                elif occurs[log_move] > 1:
                    found.add((DONE_TWICE, log_move))
                else:
                    found.add((OUT_OF_ORDER, log_move))
            elif log_move == _SKIP and model_move is not None:  # the model wanted more
                found.add((SKIPPED if model_move not in occurs else OUT_OF_ORDER, model_move))
        for deviation, code in found:
            key = (deviation, decode[code])
            counts[key] = counts.get(key, 0) + cases
    return (1.0 - cost / worst if worst > 0 else 0.0), counts
