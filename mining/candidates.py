"""Candidate models of one process, each discovered and checked within a time budget.

A process's model is chosen by measure, not by habit: `plan` lists a few Inductive Miner
variants, `run` discovers each one and computes its fitness and precision on *all* of the
process's variants (`mining.replay`, pm4py's definitions), and `choose` keeps the best F-score.

The candidates, in the order they run (cheap and usually good first):

- `imd`: IMd on the directly-follows graph of all variants (milliseconds);
- `imd_80`: IMd on the directly-follows graph of the variants covering 80 % of the cases;
- `imf_0.8`, `imf_0.6`, `imf_0.4`, `imf_0.2`: the infrequent Inductive Miner (IMf) on all
  variants with their frequencies, at that noise threshold;
- `im_80`, `im_90`, `im_95`: plain IM on the most frequent variants covering 80 / 90 / 95 %
  of the cases;
- `im`: plain IM on all variants — what `pm4py.discover_petri_net_inductive` gives on the
  full log with its default settings.

Plain IM uses only which directly-follows relations occur, so on thousands of variants it
spends seconds to minutes building a "flower" (fitness 1, precision near 0) that the IMf
candidates beat; plain IM on more than `PLAIN_IM_MAX_VARIANTS` variants is therefore skipped
unless `mining.model` forces it. A coverage that keeps the same variants as a smaller one is
skipped as a duplicate.

**Time budget.** For a process with more than `INLINE_MAX_VARIANTS` variants the candidates run
in child processes forked from this one (two lanes on two or more cores, each running its share
of the candidates in turn and sending each result as soon as it has it), so that a candidate
that runs out of time is killed rather than waited for: at the deadline every candidate still
running or not yet started is dropped with a warning. The children only run pm4py's miner and
the replay (pure Python on data prepared before the fork) and send back each model as PNML
text with its figures. A process with fewer variants (the miners take milliseconds on them, and a
fork costs about 0.1 s) and a platform without `os.fork` run the candidates one after the other
in this process, with the deadline checked between candidates and inside the replay.

**Choice.** The best F-score (harmonic mean of fitness and precision) among the candidates
with fitness ≥ `MIN_FITNESS`; ties go to the smaller model (places + transitions), then to the
earlier candidate. When no candidate reaches `MIN_FITNESS`, the best F-score of all.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import pickle
import selectors
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from mining.pm4py_api import load, loaded
from mining.replay import TimeBudgetExceeded, replay_quality

PLAIN_IM_MAX_VARIANTS = 500
INLINE_MAX_VARIANTS = 100
MIN_FITNESS = 0.8
NOT_COMPUTED = "not computed (time budget)"
DROPPED = "dropped (time budget)"

Variants = Sequence[tuple[tuple[str, ...], int]]
"""Each distinct trace (activity codes) once with its number of cases, most frequent first."""


@dataclass(frozen=True)
class Candidate:
    """One way to discover the model.

    Attributes:
        name: Stable name (`imf_0.4`), as `mining.model` and the candidates table call it.
        miner: `IM`, `IMf` or `IMd`.
        coverage: Share of the cases whose (most frequent) variants the miner sees.
        noise: IMf's noise threshold (0 for the others).
    """

    name: str
    miner: str
    coverage: float = 1.0
    noise: float = 0.0


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("imd", "IMd"),
    Candidate("imd_80", "IMd", coverage=0.8),
    Candidate("imf_0.8", "IMf", noise=0.8),
    Candidate("imf_0.6", "IMf", noise=0.6),
    Candidate("imf_0.4", "IMf", noise=0.4),
    Candidate("imf_0.2", "IMf", noise=0.2),
    Candidate("im_80", "IM", coverage=0.8),
    Candidate("im_90", "IM", coverage=0.9),
    Candidate("im_95", "IM", coverage=0.95),
    Candidate("im", "IM"),
)
NAMES: tuple[str, ...] = tuple(c.name for c in CANDIDATES)


@dataclass(frozen=True)
class Outcome:
    """What became of one candidate.

    Attributes:
        candidate: The candidate.
        status: `ok`, `skipped: <why>`, `dropped (time budget)` or `failed: <error>`.
        fitness: Token-based replay fitness on all variants (None unless `ok`).
        precision: ETConformance precision on all variants (None unless `ok`).
        nodes: Places + transitions of the Petri net (None unless `ok`).
        seconds: Wall time of discovery and replay (None when it did not run).
        variants_used: Variants the miner saw.
        model: The Petri net (net, initial marking, final marking) when computed in this
            process; a child sends `pnml` instead.
        pnml: The model as PNML text, from a child process.
    """

    candidate: Candidate
    status: str
    fitness: float | None = None
    precision: float | None = None
    nodes: int | None = None
    seconds: float | None = None
    variants_used: int = 0
    model: tuple[object, object, object] | None = None
    pnml: str | None = None

    def petri_net(self) -> tuple[object, object, object]:
        """The model as (net, initial marking, final marking)."""
        if self.model is not None:
            return self.model
        if self.pnml is None:
            raise ValueError(f"candidate {self.candidate.name} has no model ({self.status})")
        return load().pnml_from_string(self.pnml)

    @property
    def f_score(self) -> float | None:
        """Harmonic mean of fitness and precision (0 when both are 0)."""
        if self.fitness is None or self.precision is None:
            return None
        total = self.fitness + self.precision
        return 0.0 if total == 0 else 2 * self.fitness * self.precision / total


def kept_variants(variants: Variants, coverage: float) -> int:
    """How many of the most frequent variants cover at least `coverage` of the cases."""
    total = sum(cases for _, cases in variants)
    need = max(1, math.ceil(coverage * total - 1e-9))
    covered = 0
    for i, (_, cases) in enumerate(variants, start=1):
        covered += cases
        if covered >= need:
            return i
    return len(variants)


def plan(variants: Variants, forced: str | None = None) -> list[tuple[Candidate, int, str | None]]:
    """(candidate, variants it sees, reason to skip it or None), in running order.

    Args:
        variants: The process's variants, most frequent first.
        forced: A candidate name from `mining.model`: only that one runs.
    """
    out: list[tuple[Candidate, int, str | None]] = []
    seen: dict[tuple[str, int], str] = {}
    for candidate in CANDIDATES:
        n = kept_variants(variants, candidate.coverage)
        reason = None
        if forced is not None:
            reason = None if candidate.name == forced else f"skipped: mining.model is {forced}"
        elif candidate.miner != "IMf" and (candidate.miner, n) in seen:
            reason = f"skipped: same variants as {seen[(candidate.miner, n)]}"
        elif candidate.miner == "IM" and n > PLAIN_IM_MAX_VARIANTS:
            reason = (
                f"skipped: plain IM on {n:,} variants (more than {PLAIN_IM_MAX_VARIANTS}) "
                "gives a flower model and takes long; force it with mining.model"
            )
        seen.setdefault((candidate.miner, n), candidate.name)
        out.append((candidate, n, reason))
    return out


def discover(candidate: Candidate, variants: Variants, n: int) -> tuple[object, object, object]:
    """The candidate's Petri net (net, initial marking, final marking), mined with pm4py."""
    api = loaded()
    kept = variants[:n]
    if candidate.miner == "IMd":
        dfg = api.DFG()
        for codes, cases in kept:
            dfg.start_activities[codes[0]] += cases
            dfg.end_activities[codes[-1]] += cases
            for a, b in itertools.pairwise(codes):
                dfg.graph[(a, b)] += cases
        tree = api.inductive.apply(dfg, variant=api.inductive.Variants.IMd)
    else:
        # pm4py's own path for a log (`discover_process_tree_inductive`), from the variant
        # counts instead of a data frame it would first reduce to the same counts.
        uvcl = Counter({tuple(codes): cases for codes, cases in kept})
        parameters = {
            "noise_threshold": candidate.noise,
            "multiprocessing": False,
            "disable_fallthroughs": False,
        }
        miner = api.IMUVCL if candidate.miner == "IM" else api.IMFUVCL
        tree = miner(parameters).apply(api.IMDataStructureUVCL(uvcl), parameters)
        tree = api.fold_tree(tree)
        api.sort_tree(tree)
    return api.tree_to_petri(tree)


def evaluate(
    candidate: Candidate, variants: Variants, n: int, deadline: float | None = None
) -> Outcome:
    """Discover the candidate and replay all variants on it (in this process)."""
    started = time.monotonic()
    net, im, fm = discover(candidate, variants, n)
    quality = replay_quality(variants, net, im, fm, deadline=deadline)
    return Outcome(
        candidate,
        "ok",
        fitness=quality.fitness,
        precision=quality.precision,
        nodes=len(net.places) + len(net.transitions),
        seconds=time.monotonic() - started,
        variants_used=n,
        model=(net, im, fm),
    )


def run(
    variants: Variants,
    seconds: float,
    forced: str | None = None,
    parallel: int = 2,
) -> list[Outcome]:
    """Every planned candidate's outcome, in plan order, within `seconds` of wall time."""
    load()  # imported before any fork: the children only use what is loaded
    deadline = time.monotonic() + seconds
    planned = plan(variants, forced)
    outcomes: dict[int, Outcome] = {}
    todo: list[tuple[int, Callable[[], Outcome]]] = []
    for i, (candidate, n, reason) in enumerate(planned):
        if reason is not None:
            outcomes[i] = Outcome(candidate, reason, variants_used=n)
        else:
            todo.append(
                (i, lambda c=candidate, n=n: evaluate(c, variants, n, deadline))  # type: ignore[misc]
            )
    if len(variants) <= INLINE_MAX_VARIANTS:
        finished = _run_inline(todo, deadline)
    else:
        finished = _run_bounded(todo, deadline, parallel)
    for i, result in finished.items():
        candidate, n, _ = planned[i]
        outcomes[i] = (
            replace(result, variants_used=n)
            if isinstance(result, Outcome)
            else Outcome(candidate, result, variants_used=n)
        )
    return [outcomes[i] for i in range(len(planned))]


def choose(outcomes: Sequence[Outcome]) -> Outcome | None:
    """The outcome to keep (module docstring, "Choice"); None when none was computed."""
    ok = [o for o in outcomes if o.status == "ok"]
    if not ok:
        return None
    fit = [o for o in ok if (o.fitness or 0.0) >= MIN_FITNESS] or ok
    return min(
        fit, key=lambda o: (-(o.f_score or 0.0), o.nodes or 0, NAMES.index(o.candidate.name))
    )


# --------------------------------------------------------------------------- bounded children


def _run_bounded(
    tasks: list[tuple[int, Callable[[], Outcome]]], deadline: float, parallel: int
) -> dict[int, Outcome | str]:
    """Run the tasks in `parallel` forked children (lanes) until `deadline`.

    Lane k runs tasks k, k + parallel, … one after the other (a fork of a big process costs
    about 0.1 s, so one per lane rather than one per task) and sends each result as soon as it
    has it, so that a lane killed at the deadline loses only what it had not finished.

    Returns:
        Per task index: its Outcome, or the status text `dropped (time budget)` or
        `failed: <error>`.
    """
    if not hasattr(os, "fork"):
        return _run_inline(tasks, deadline)
    results: dict[int, Outcome | str] = {}
    width = max(1, parallel)
    running: dict[int, tuple[int, bytearray]] = {}  # fd → (pid, bytes not yet decoded)
    selector = selectors.DefaultSelector()
    try:
        for k in range(width):
            lane = tasks[k::width]
            if lane and time.monotonic() < deadline:
                fd, pid = _fork(lane)
                running[fd] = (pid, bytearray())
                selector.register(fd, selectors.EVENT_READ)
        while running:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in selector.select(timeout=left):
                pid, buffer = running[key.fd]
                chunk = os.read(key.fd, 1 << 16)
                if chunk:
                    buffer.extend(chunk)
                    results.update(_frames(buffer))
                    continue
                selector.unregister(key.fd)
                os.close(key.fd)
                del running[key.fd]
                os.waitpid(pid, 0)
    finally:
        for fd, (pid, _) in running.items():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            selector.unregister(fd)
            os.close(fd)
        selector.close()
    for index, _ in tasks:
        results.setdefault(index, DROPPED)
    return results


_LENGTH = 8  # bytes of a frame's length prefix


def _frames(buffer: bytearray) -> dict[int, Outcome | str]:
    """Decode and remove the complete frames at the start of `buffer`."""
    out: dict[int, Outcome | str] = {}
    while len(buffer) >= _LENGTH:
        size = int.from_bytes(buffer[:_LENGTH], "big")
        if len(buffer) < _LENGTH + size:
            break
        frame = bytes(buffer[_LENGTH : _LENGTH + size])
        del buffer[: _LENGTH + size]
        index, payload = pickle.loads(frame)  # our own child's bytes
        out[index] = payload
    return out


def _fork(lane: list[tuple[int, Callable[[], Outcome]]]) -> tuple[int, int]:
    """Start a child that runs the lane's tasks in turn; (read end of its pipe, pid)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, leave without running the parent's clean-ups
        status = 1
        try:
            os.close(read)
            with os.fdopen(write, "wb", buffering=0) as pipe:
                for index, task in lane:
                    data = pickle.dumps((index, _outcome_to_send(task)))
                    pipe.write(len(data).to_bytes(_LENGTH, "big") + data)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    return read, pid


def _outcome_to_send(task: Callable[[], Outcome]) -> Outcome | str:
    """The task's Outcome with its model as PNML text, or its status when it did not finish."""
    try:
        payload = task()
    except TimeBudgetExceeded:
        return DROPPED
    except Exception as err:  # reported to the parent as the candidate's status
        return f"failed: {type(err).__name__}: {err}"
    if payload.model is not None:
        payload = replace(payload, model=None, pnml=loaded().pnml_string(*payload.model))
    return payload


def _run_inline(
    tasks: list[tuple[int, Callable[[], Outcome]]], deadline: float
) -> dict[int, Outcome | str]:
    results: dict[int, Outcome | str] = {}
    for index, task in tasks:
        if time.monotonic() >= deadline:
            results[index] = DROPPED
            continue
        try:
            results[index] = task()
        except TimeBudgetExceeded:
            results[index] = DROPPED
        except Exception as err:
            results[index] = f"failed: {type(err).__name__}: {err}"
    return results
