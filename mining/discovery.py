"""Process discovery and model quality with pm4py (imported on first use: `mining.pm4py_api`).

Per process:

1. **Variants in polars.** Events are ordered per case by completion time (stably); a case's
   activity sequence is its variant. Variants are ranked by frequency (ties: by sequence).
2. **Candidates, chosen by measure** (`mining.candidates`): a few Inductive Miner variants
   (IMd on the directly-follows graph, IMf at four noise thresholds, plain IM on the variants
   covering 80 / 90 / 95 / 100 % of the cases), each discovered and checked in a child process
   within `MiningConfig.discovery_seconds`; the best F-score (harmonic mean of fitness and
   precision) with fitness ≥ 0.8 is kept, ties to the smaller model. Every candidate's figures
   go to `models/<process>_candidates.csv`; `MiningConfig.model` forces one. When no
   candidate finishes in time the process has no model (`model` says
   `not computed (time budget)`), but its map and KPIs as always.
3. **Fitness and precision** of every candidate on *all* variants of the process, weighted by
   their cases: token-based replay fitness (pm4py's `log_fitness` of
   `fitness_token_based_replay`) and ETConformance precision (pm4py's
   `precision_token_based_replay`), computed along the prefix tree of the variants
   (`mining.replay`) — pm4py's figures to the last bit, at the cost of the distinct prefixes.
4. **The chosen model** is converted to BPMN (`pm4py.convert_to_bpmn`) and written to
   `models/<process>.pnml` and `.bpmn`; both files are read back with pm4py before the result
   is returned.

Activities are handed to pm4py under short codes (`a0`, `a1`, …) and the real names are put
back on a copy of the model before it is written: pm4py joins prefixes with commas
internally, so names with commas, quotes or non-ASCII characters cannot upset it. The map
(`mining.maps.start_map`) is drawn by Graphviz in the background meanwhile.
pm4py's import banner and progress bars are switched off by `mining.pm4py_api`.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from mining import candidates
from mining.candidates import DROPPED, NOT_COMPUTED
from mining.kpis import MiningConfig
from mining.maps import safe_filename, start_map
from mining.pm4py_api import load
from pipelines.errors import InputError, Problem
from pipelines.schema import ACTIVITY, CASE_ID, TIMESTAMP

if TYPE_CHECKING:
    from pm4py.objects.petri_net.obj import Marking, PetriNet


@dataclass(frozen=True)
class DiscoveryResult:
    """The discovered model of one process and its quality.

    Attributes:
        process: Process name.
        bpmn: Path of the BPMN model (None when no model was computed).
        pnml: Path of the Petri net, PNML (None when no model was computed).
        svg: Path of the directly-follows map (SVG).
        png: Path of the directly-follows map (PNG).
        fitness: Token-based replay fitness of the full process log, 0..1 (or None).
        precision: ETConformance precision of the full process log, 0..1 (or None).
        variants_total: Distinct variants in the process log.
        variants_used: Variants the chosen model was discovered from.
        cases_kept_share: Share of cases covered by the variants used.
        model: The chosen candidate (`imf_0.4`, …) or `not computed (time budget)`.
        f_score: Harmonic mean of fitness and precision (or None).
        candidates: Path of `<process>_candidates.csv` (every candidate's figures).
        warnings: Findings to report (candidates dropped for time).
    """

    process: str
    bpmn: Path | None
    pnml: Path | None
    svg: Path
    png: Path
    fitness: float | None
    precision: float | None
    variants_total: int
    variants_used: int
    cases_kept_share: float
    model: str = ""
    f_score: float | None = None
    candidates: Path | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodedVariants:
    """Coded variants `variant, key, codes (list[str]), cases`, most frequent first."""

    table: pl.DataFrame
    decode: dict[str, str]


def coded_variants(log: pl.DataFrame) -> CodedVariants:
    """The variants of `log` with activities coded `a0, a1, …` (sorted by name)."""
    activities = sorted(log[ACTIVITY].unique().to_list())
    encode = {a: f"a{i}" for i, a in enumerate(activities)}
    ordered = log.select(CASE_ID, ACTIVITY, TIMESTAMP).sort(
        [CASE_ID, TIMESTAMP], maintain_order=True
    )
    case_variant = ordered.group_by(CASE_ID, maintain_order=True).agg(
        codes=pl.col(ACTIVITY).replace_strict(encode, return_dtype=pl.String)
    )
    case_variant = case_variant.with_columns(key=pl.col("codes").list.join(","))
    table = (
        case_variant.group_by("key")
        .agg(codes=pl.col("codes").first(), cases=pl.len().cast(pl.Int64))
        .sort(["cases", "key"], descending=[True, False])
        .with_row_index("variant")
    )
    return CodedVariants(table, {c: a for a, c in encode.items()})


def discover_process(
    log_of_one_process: pl.DataFrame,
    process: str,
    models_dir: Path,
    config: MiningConfig | None = None,
) -> DiscoveryResult:
    """Discover, check and draw one process: PNML, BPMN, map (SVG, PNG), fitness, precision.

    Args:
        log_of_one_process: Normalized event log rows of this process (its `handling_hours`
            column is used for the map when present).
        process: Process name (file names derive from it with `safe_filename`).
        models_dir: Folder for `<process>.pnml`, `<process>.bpmn`, `<process>_map.svg/.png`.
        config: Mining settings (noise threshold).

    Returns:
        The DiscoveryResult.

    Raises:
        InputError: The process has no events.
        RuntimeError: A written model does not read back with pm4py.
    """
    config = config or MiningConfig()
    if log_of_one_process.height == 0:
        raise InputError(Problem("event log", f"process {process!r} has no events"))
    models_dir.mkdir(parents=True, exist_ok=True)
    stem = safe_filename(process)
    pnml_path = models_dir / f"{stem}.pnml"
    bpmn_path = models_dir / f"{stem}.bpmn"
    candidates_path = models_dir / f"{stem}_candidates.csv"

    variants = coded_variants(log_of_one_process)
    # Graphviz draws the map in the background while pm4py discovers and checks the model.
    pending = start_map(
        log_of_one_process,
        process,
        models_dir / f"{stem}_map.svg",
        models_dir / f"{stem}_map.png",
    )
    try:
        found = _discover_and_write(variants, config, pnml_path, bpmn_path, candidates_path)
    except BaseException:
        pending.cancel()
        raise
    svg, png = pending.wait()
    warnings = ()
    if found.dropped:
        names = ", ".join(found.dropped)
        warnings = (
            f"process {process!r}: model candidate{'s' if len(found.dropped) > 1 else ''} "
            f"{names} dropped: not finished within mining.discovery_seconds = "
            f"{config.discovery_seconds:g} s"
            + (f"; model {NOT_COMPUTED}" if found.model == NOT_COMPUTED else "")
            + " (raise mining.discovery_seconds in the cost file, or force a candidate "
            "with mining.model)",
        )
    return DiscoveryResult(
        process=process,
        bpmn=bpmn_path if found.model != NOT_COMPUTED else None,
        pnml=pnml_path if found.model != NOT_COMPUTED else None,
        svg=svg,
        png=png,
        fitness=found.fitness,
        precision=found.precision,
        variants_total=found.variants_total,
        variants_used=found.variants_used,
        cases_kept_share=found.cases_kept_share,
        model=found.model,
        f_score=found.f_score,
        candidates=candidates_path,
        warnings=warnings,
    )


@dataclass(frozen=True)
class _Found:
    fitness: float | None
    precision: float | None
    f_score: float | None
    model: str
    variants_total: int
    variants_used: int
    cases_kept_share: float
    dropped: tuple[str, ...]


CANDIDATE_COLUMNS: dict[str, pl.DataType] = {
    "candidate": pl.String(),
    "fitness": pl.Float64(),
    "precision": pl.Float64(),
    "f_score": pl.Float64(),
    "nodes": pl.Int64(),
    "seconds": pl.Float64(),
    "chosen": pl.Boolean(),
    "variants_used": pl.Int64(),
    "status": pl.String(),
}
"""Columns of `models/<process>_candidates.csv`, one row per candidate in running order."""


def _discover_and_write(
    variants: CodedVariants,
    config: MiningConfig,
    pnml_path: Path,
    bpmn_path: Path,
    candidates_path: Path,
) -> _Found:
    """Steps 2–4 of the module docstring; writes the candidates table and the chosen model."""
    table = variants.table
    seq = [
        (tuple(codes), cases)
        for codes, cases in zip(table["codes"].to_list(), table["cases"].to_list(), strict=True)
    ]
    outcomes = candidates.run(
        seq, config.discovery_seconds, forced=config.model, parallel=discovery_cores()
    )
    best = candidates.choose(outcomes)
    pl.DataFrame(
        [
            (
                o.candidate.name,
                o.fitness,
                o.precision,
                o.f_score,
                o.nodes,
                None if o.seconds is None else round(o.seconds, 3),
                o is best,
                o.variants_used,
                o.status,
            )
            for o in outcomes
        ],
        schema=CANDIDATE_COLUMNS,
        orient="row",
    ).write_csv(candidates_path)
    dropped = tuple(o.candidate.name for o in outcomes if o.status == DROPPED)
    total_cases = int(table["cases"].sum())
    if best is None:
        for stale in (pnml_path, bpmn_path):
            stale.unlink(missing_ok=True)
        return _Found(None, None, None, NOT_COMPUTED, table.height, 0, 0.0, dropped)
    net, im, fm = best.petri_net()
    _write_models(_named(net, im, fm, variants.decode), pnml_path, bpmn_path)
    kept_cases = int(table["cases"].head(best.variants_used).sum())
    return _Found(
        fitness=best.fitness,
        precision=best.precision,
        f_score=best.f_score,
        model=best.candidate.name,
        variants_total=table.height,
        variants_used=best.variants_used,
        cases_kept_share=kept_cases / total_cases,
        dropped=dropped,
    )


def discovery_cores() -> int:
    """Candidates discovered at the same time: the cores this process may use, at most 2."""
    try:
        return max(1, min(2, len(os.sched_getaffinity(0))))
    except AttributeError:  # no sched_getaffinity on this platform
        return max(1, min(2, os.cpu_count() or 1))


def _named(
    net: PetriNet, im: Marking, fm: Marking, decode: dict[str, str]
) -> tuple[PetriNet, Marking, Marking]:
    """A copy of the model with the activity names on its visible transitions (`t_a0`, …)."""
    net, im, fm = copy.deepcopy((net, im, fm))
    for t in net.transitions:
        if t.label is not None:
            t.name = f"t_{t.label}"
            t.label = decode[t.label]
    return net, im, fm


def _write_models(
    model: tuple[PetriNet, Marking, Marking], pnml_path: Path, bpmn_path: Path
) -> None:
    """Write the model as PNML and BPMN (laid out by pm4py) and read both back."""
    net, im, fm = model
    net.name = pnml_path.stem  # not pm4py's name with a timestamp: same model, same file
    pm4py = load().pm4py
    bpmn = pm4py.convert_to_bpmn(net, im, fm)
    pm4py.write_pnml(net, im, fm, str(pnml_path))
    pm4py.write_bpmn(bpmn, str(bpmn_path))
    labels = {t.label for t in net.transitions if t.label is not None}
    _check_read_back(pnml_path, bpmn_path, labels)


def _check_read_back(pnml_path: Path, bpmn_path: Path, labels: set[str]) -> None:
    """Read both files back with pm4py; their activity labels must be the model's."""
    pm4py = load().pm4py
    net, _, _ = pm4py.read_pnml(str(pnml_path))
    net_labels = {t.label for t in net.transitions if t.label is not None}
    bpmn = pm4py.read_bpmn(str(bpmn_path))
    tasks = {n.get_name() for n in bpmn.get_nodes() if type(n).__name__ == "Task"}
    if net_labels != labels or tasks != labels:
        raise RuntimeError(
            f"models written to {pnml_path} / {bpmn_path} do not read back with the same "
            "activities; please report this"
        )
