"""Process discovery and model quality with pm4py (imported on first use: `mining.pm4py_api`).

Per process:

1. **Variants in polars.** Events are ordered per case by completion time (stably); a case's
   activity sequence is its variant. Variants are ranked by frequency (ties: by sequence).
2. **Noise filter.** The most frequent variants are kept until they cover at least
   `1 − MiningConfig.noise_threshold` of the cases (default ≥ 95 %).
3. **Inductive Miner** (`pm4py.discover_petri_net_inductive`, noise threshold 0 = plain IM)
   on a small log with *one trace per kept variant*: plain IM only uses which
   directly-follows relations occur, not how often, so this gives the same model as the
   filtered full log while staying fast. When the filter cut some variants, plain IM on *all*
   variants (the model pm4py discovers on the full log) is also discovered and checked, and
   used instead when its precision is higher (its fitness is 1): the filtered variants can
   generalise into a loop or parallel block that allows more behaviour than the full log.
   The Petri net is converted to BPMN (`pm4py.convert_to_bpmn`) and written to
   `models/<process>.pnml` and `.bpmn`; both files are read back with pm4py before the
   result is returned. The writing (pm4py lays the BPMN out with Graphviz) runs in a second
   thread while fitness and precision are computed.
4. **Fitness** — token-based replay (Berti & van der Aalst 2019) of each distinct variant of
   the *full* process log once (pm4py's token replayer with the parameters of
   `pm4py.conformance_diagnostics_token_based_replay`, on an `EventLog` built directly),
   weighted by its number of cases: fitness = ½(1 − Σ c·missing / Σ c·consumed) +
   ½(1 − Σ c·remaining / Σ c·produced), which is exactly pm4py's `log_fitness` of
   `fitness_token_based_replay` on the full log (a test checks it).
5. **Precision** — ETConformance by token-based replay (Muñoz-Gama & Carmona 2010), the
   algorithm of `pm4py.precision_token_based_replay`, on the full process log. It weights
   each prefix by the number of traces that share it, so frequencies matter: a log with one
   trace per variant gives a different value. pm4py's own entry point walks every event of
   the full log in Python (≈ 40 s for 500 000 events) although it replays each distinct
   prefix only once; here the same computation runs from the variant counts: the prefixes
   of each distinct variant, each weighted by its variant's number of cases, replayed once
   with pm4py's token replayer and the parameters pm4py's ETConformance uses, then
   precision = 1 − Σ escaping edges / Σ enabled transitions (the empty prefix included, as
   pm4py does). The result equals `pm4py.precision_token_based_replay` on the full log
   (tests check it on real logs).

Activities are handed to pm4py under short codes (`a0`, `a1`, …) and the real names are put
back on a copy of the model before it is written: pm4py joins prefixes with commas
internally, so names with commas, quotes or non-ASCII characters cannot upset it. The map
(`mining.maps.start_map`) is drawn by Graphviz in the background meanwhile.
pm4py's import banner and progress bars are switched off by `mining.pm4py_api`.
"""

from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from mining.kpis import MiningConfig
from mining.maps import safe_filename, start_map
from mining.pm4py_api import load
from pipelines.errors import InputError, Problem
from pipelines.schema import ACTIVITY, CASE_ID, TIMESTAMP

if TYPE_CHECKING:
    from pm4py.objects.petri_net.obj import Marking, PetriNet

_CASE = "case:concept:name"
_ACT = "concept:name"
_TS = "time:timestamp"
_KEYS = {"case_id_key": _CASE, "activity_key": _ACT, "timestamp_key": _TS}


@dataclass(frozen=True)
class DiscoveryResult:
    """The discovered model of one process and its quality.

    Attributes:
        process: Process name.
        bpmn: Path of the BPMN model.
        pnml: Path of the Petri net (PNML).
        svg: Path of the directly-follows map (SVG).
        png: Path of the directly-follows map (PNG).
        fitness: Token-based replay fitness of the full process log, 0..1.
        precision: ETConformance precision of the full process log, 0..1.
        variants_total: Distinct variants in the process log.
        variants_used: Variants the model was discovered from.
        cases_kept_share: Share of cases covered by the variants used.
    """

    process: str
    bpmn: Path
    pnml: Path
    svg: Path
    png: Path
    fitness: float
    precision: float
    variants_total: int
    variants_used: int
    cases_kept_share: float


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


def _trace_frame(table: pl.DataFrame) -> pl.DataFrame:
    """One pm4py trace per row of `table` (columns `variant`, `codes`)."""
    return (
        table.select(
            pl.format("v{}", pl.col("variant")).alias(_CASE),
            pl.col("codes").alias(_ACT),
        )
        .with_columns(__i=pl.int_ranges(pl.col(_ACT).list.len()))
        .explode([_ACT, "__i"])
        .with_columns(
            pl.lit(0).cast(pl.Datetime("us", "UTC")).alias(_TS) + pl.duration(seconds=pl.col("__i"))
        )
        .drop("__i")
    )


def weighted_precision(table: pl.DataFrame, net: PetriNet, im: Marking, fm: Marking) -> float:
    """ETConformance precision from variant counts; equals pm4py's on the expanded log.

    Mirrors `pm4py.algo.evaluation.precision.variants.etconformance_token.apply` with the
    prefix counts taken from `table` (`codes`, `cases`) instead of walking every trace.
    """
    followers: dict[tuple[str, ...], set[str]] = {}
    weight: dict[tuple[str, ...], int] = {}
    starts: set[str] = set()
    n_traces = 0
    for codes, cases in table.select("codes", "cases").iter_rows():
        n_traces += cases
        starts.add(codes[0])
        for i in range(1, len(codes)):
            prefix = tuple(codes[:i])
            followers.setdefault(prefix, set()).add(codes[i])
            weight[prefix] = weight.get(prefix, 0) + cases
    prefixes = list(followers)
    pm = load()
    fake_log = pm.EventLog([pm.Trace([pm.Event({_ACT: a}) for a in prefix]) for prefix in prefixes])
    parameters = pm.ReplayParameters
    replayed = pm.token_replay.apply(
        fake_log,
        net,
        im,
        fm,
        variant=pm.token_replay.Variants.TOKEN_REPLAY,
        parameters={
            parameters.SHOW_PROGRESS_BAR: False,
            parameters.CONSIDER_REMAINING_IN_FITNESS: False,
            parameters.TRY_TO_REACH_FINAL_MARKING_THROUGH_HIDDEN: False,
            parameters.STOP_IMMEDIATELY_UNFIT: True,
            parameters.WALK_THROUGH_HIDDEN_TRANS: True,
            parameters.CLEANING_TOKEN_FLOOD: False,
            parameters.ACTIVITY_KEY: _ACT,
        },
    )
    initially = {t.label for t in pm.visible_transitions_enabled_by(net, im)}
    sum_at = n_traces * len(initially)
    sum_ee = n_traces * len(initially - starts)
    for prefix, result in zip(prefixes, replayed, strict=True):
        if result["trace_is_fit"]:
            enabled = {
                t.label for t in result["enabled_transitions_in_marking"] if t.label is not None
            }
            sum_at += len(enabled) * weight[prefix]
            sum_ee += len(enabled - followers[prefix]) * weight[prefix]
    return 1.0 - sum_ee / sum_at if sum_at > 0 else 1.0


def _inductive(kept: pl.DataFrame) -> tuple[PetriNet, Marking, Marking]:
    """Plain Inductive Miner on one trace per variant of `kept`."""
    return load().pm4py.discover_petri_net_inductive(
        _trace_frame(kept).to_pandas(), noise_threshold=0.0, **_KEYS
    )


def _quality(table: pl.DataFrame, net: PetriNet, im: Marking, fm: Marking) -> tuple[float, float]:
    """(fitness, precision) of the model on every variant of `table`."""
    return weighted_fitness(table, net, im, fm), weighted_precision(table, net, im, fm)


def weighted_fitness(table: pl.DataFrame, net: PetriNet, im: Marking, fm: Marking) -> float:
    """Token-based replay fitness from variant counts; equals pm4py's on the expanded log.

    Each variant of `table` (`codes`, `cases`) is replayed once with pm4py's token replayer
    and the parameters `pm4py.conformance_diagnostics_token_based_replay` uses, straight from
    an `EventLog` (no pandas round trip), and its token counts are weighted by its cases:
    fitness = ½(1 − Σ c·missing / Σ c·consumed) + ½(1 − Σ c·remaining / Σ c·produced).
    """
    pm = load()
    traces = pm.EventLog(
        [pm.Trace([pm.Event({_ACT: a}) for a in codes]) for codes in table["codes"]]
    )
    replayed = pm.token_replay.apply(
        traces,
        net,
        im,
        fm,
        parameters={
            pm.constants.PARAMETER_CONSTANT_ACTIVITY_KEY: _ACT,
            pm.constants.PARAMETER_CONSTANT_ATTRIBUTE_KEY: _ACT,
        },
    )
    sums = {"missing": 0, "consumed": 0, "remaining": 0, "produced": 0}
    for result, cases in zip(replayed, table["cases"], strict=True):
        for name in sums:
            sums[name] += cases * result[f"{name}_tokens"]  # integers: exact in any order
    if sums["consumed"] <= 0 or sums["produced"] <= 0:
        return 0.0
    return 0.5 * (1 - sums["missing"] / sums["consumed"]) + 0.5 * (
        1 - sums["remaining"] / sums["produced"]
    )


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

    variants = coded_variants(log_of_one_process)
    # Graphviz draws the map in the background while pm4py discovers and checks the model.
    pending = start_map(
        log_of_one_process,
        process,
        models_dir / f"{stem}_map.svg",
        models_dir / f"{stem}_map.png",
    )
    try:
        found = _discover_and_write(variants, config, pnml_path, bpmn_path)
    except BaseException:
        pending.cancel()
        raise
    svg, png = pending.wait()
    return DiscoveryResult(
        process=process,
        bpmn=bpmn_path,
        pnml=pnml_path,
        svg=svg,
        png=png,
        fitness=found.fitness,
        precision=found.precision,
        variants_total=found.variants_total,
        variants_used=found.variants_used,
        cases_kept_share=found.cases_kept_share,
    )


@dataclass(frozen=True)
class _Found:
    fitness: float
    precision: float
    variants_total: int
    variants_used: int
    cases_kept_share: float


def _discover_and_write(
    variants: CodedVariants, config: MiningConfig, pnml_path: Path, bpmn_path: Path
) -> _Found:
    """Steps 2–5 of the module docstring; writes and reads back the PNML and BPMN files."""
    table = variants.table
    total_cases = int(table["cases"].sum())
    need = max(1, math.ceil((1.0 - config.noise_threshold) * total_cases - 1e-9))
    kept = table.filter((pl.col("cases").cum_sum() - pl.col("cases")) < need)
    kept_cases = int(kept["cases"].sum())

    # The model is written (BPMN layout by Graphviz) in a second thread while its fitness and
    # precision are computed; when the unfiltered model wins, its files replace the first's.
    with ThreadPoolExecutor(max_workers=1) as pool:
        net, im, fm = _inductive(kept)
        model = _named(net, im, fm, variants.decode)
        writing = pool.submit(_write_models, model, pnml_path, bpmn_path)
        fitness, precision = _quality(table, net, im, fm)
        if kept.height < table.height:
            # Plain IM on every variant (what pm4py gives on the full log) can be the more
            # precise model when the filtered variants generalise into a loop or a parallel
            # block; use it then (its fitness is 1 by construction), else keep the filtered one.
            full = _inductive(table)
            full_fitness, full_precision = _quality(table, *full)
            if full_precision > precision:
                writing.result()
                model = _named(*full, variants.decode)
                writing = pool.submit(_write_models, model, pnml_path, bpmn_path)
                fitness, precision = full_fitness, full_precision
                kept, kept_cases = table, total_cases
        writing.result()

    return _Found(
        fitness=fitness,
        precision=precision,
        variants_total=table.height,
        variants_used=kept.height,
        cases_kept_share=kept_cases / total_cases,
    )


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
