"""Token-based replay fitness and ETConformance precision along the prefix tree of the variants.

pm4py's token replayer (`pm4py.algo.conformance.tokenreplay.variants.token_replay.apply_trace`)
walks a trace event by event. With its default settings (no post-fix or marking-to-activity
cache, no token-flood cleaning) what one event does depends on nothing but the marking before
it and the event's activity:

- the transition fired is the first enabled one with the activity's label, else the activity's
  transition of `trans_map` (labels mapped in order of transition name, the last one wins);
- when it is not enabled, pm4py tries to enable it with hidden transitions
  (`apply_hidden_trans`, with a fresh set of visited transitions for each event) and counts the
  tokens those consume and produce;
- if it is still not enabled, the missing tokens are added (fitness) or the replay stops and
  the trace is unfit (precision, `STOP_IMMEDIATELY_UNFIT`);
- then it fires. An activity the model does not know is skipped.

The end of a trace (reaching the final marking through hidden transitions, the remaining and
missing tokens) likewise depends only on the marking after its last event, and so does the set
of visible transitions "eventually enabled" there, which ETConformance reads.

So instead of replaying each variant (fitness) and each distinct prefix (precision, whose
cost grows with the prefixes' lengths squared) from the start, this module walks the variants
in lexicographic order, keeping the replay state of every event of the current path on a
stack: a variant that shares its first k events with the previous one starts from the k-th
state. Each step is looked up in a cache keyed by (marking, activity) and computed with pm4py's
own functions on a miss, so the figures are pm4py's to the last bit while the work grows with
the number of distinct prefixes — and most prefixes cost one dictionary look-up.

fitness = ½(1 − Σ c·missing / Σ c·consumed) + ½(1 − Σ c·remaining / Σ c·produced) over the
variants (c = cases), pm4py's `log_fitness`; precision = 1 − Σ escaping edges / Σ enabled
transitions over the proper prefixes of every trace and the empty prefix, pm4py's
`precision_token_based_replay` (tests check both against pm4py on real and generated logs).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mining.pm4py_api import loaded

if TYPE_CHECKING:
    from pm4py.objects.petri_net.obj import Marking, PetriNet

_MAX_REC_DEPTH = 50  # pm4py's TechnicalParameters.MAX_REC_DEPTH (shortest paths by hidden)
_MAX_IT_FINAL1 = 5  # pm4py's TechnicalParameters.MAX_IT_FINAL1
_MAX_IT_FINAL2 = 5  # pm4py's TechnicalParameters.MAX_IT_FINAL2
_CHECK_EVERY = 512  # steps between two looks at the clock


class TimeBudgetExceeded(Exception):
    """The replay did not finish before its deadline."""


@dataclass(frozen=True)
class Quality:
    """Fitness and precision of one model on a log's variants.

    Attributes:
        fitness: Token-based replay fitness (pm4py's `log_fitness`), 0..1.
        precision: ETConformance precision (pm4py's `precision_token_based_replay`), 0..1.
        steps: Replay steps taken (events of distinct prefixes).
        computed_steps: Steps that were not in the cache and ran pm4py's code.
    """

    fitness: float
    precision: float
    steps: int
    computed_steps: int


@dataclass(frozen=True)
class _Step:
    marking: Marking
    consumed: int
    produced: int
    missing: int
    fit: bool


class PrefixReplayer:
    """pm4py's token replay of one model, one event at a time, cached by (marking, activity)."""

    def __init__(self, net: PetriNet, im: Marking, fm: Marking) -> None:
        """Prepare the replay of `net` from `im` to `fm` as pm4py's `apply_log` does."""
        api = loaded()
        self._tr = api.replay_steps
        self._sem = api.semantics
        self.net, self.im, self.fm = net, im, fm
        self.trans_map = {t.label: t for t in sorted(net.transitions, key=lambda t: t.name)}
        labels = [t.label for t in net.transitions]
        self._duplicated = {label for label in labels if labels.count(label) > 1}
        # For `enabled`: places and transitions as numbers. Transitions are numbered in the
        # order pm4py's search sorts them, (name, id); a marking is a tuple of token counts
        # per place in place-name order, which is pm4py's repr of it (names are unique).
        places = sorted(net.places, key=lambda p: str(p.name))
        self._place = {p: i for i, p in enumerate(places)}
        self._trans = sorted(net.transitions, key=lambda t: (str(t.name), id(t)))
        self._ins = [
            tuple((self._place[a.source], a.weight) for a in t.in_arcs) for t in self._trans
        ]
        self._outs = [
            tuple((self._place[a.target], a.weight) for a in t.out_arcs) for t in self._trans
        ]
        self._hidden = [t.label is None for t in self._trans]
        reprs: dict[str, int] = {}
        self._repr_id = [reprs.setdefault(repr(t), len(reprs)) for t in self._trans]
        self._consumers: list[list[int]] = [[] for _ in places]
        for i, ins in enumerate(self._ins):
            for place, _ in ins:
                self._consumers[place].append(i)
        self._sources = [i for i, ins in enumerate(self._ins) if not ins]
        self._enabled_in: dict[tuple[int, ...], list[int]] = {}
        self.paths = api.shortest_paths_by_hidden(net, _MAX_REC_DEPTH)
        self._steps: dict[tuple[Marking, str], _Step] = {}
        self._ends: dict[Marking, tuple[int, int, int, int]] = {}
        self._enabled: dict[Marking, frozenset[str]] = {}

    def step(self, marking: Marking, activity: str) -> _Step | None:
        """One event of `activity` from `marking`; None when the model does not know it."""
        key = (marking, activity)
        found = self._steps.get(key)
        if found is None:
            if activity not in self.trans_map:
                return None
            found = self._steps[key] = self._compute_step(marking, activity)
        return found

    @property
    def computed(self) -> int:
        """Steps computed with pm4py's code so far."""
        return len(self._steps)

    def _compute_step(self, marking: Marking, activity: str) -> _Step:
        tr, sem, net = self._tr, self._sem, self.net
        marking = copy(marking)
        t = self.trans_map[activity]
        if activity in self._duplicated:  # pm4py fires the first enabled one with the label
            enabled_here = [x for x in sem.enabled_transitions(net, marking) if x.label == activity]
            t = enabled_here[0] if enabled_here else t
        consumed = produced = 0
        if not sem.is_enabled(t, net, marking):
            _, marking, fired, _ = tr.apply_hidden_trans(
                t, net, copy(marking), self.paths, [], 0, set(), [], False
            )
            for hidden in fired:
                consumed += tr.get_consumed_tokens(hidden)[0]
                produced += tr.get_produced_tokens(hidden)[0]
        fit = sem.is_enabled(t, net, marking)
        missing = 0
        if not fit:
            marking = copy(marking)
            missing = tr.add_missing_tokens(t, marking)[0]
        consumed += tr.get_consumed_tokens(t)[0]
        produced += tr.get_produced_tokens(t)[0]
        if sem.is_enabled(t, net, marking):
            marking = sem.execute(t, net, marking)
        return _Step(marking, consumed, produced, missing, fit)

    def end(self, marking: Marking) -> tuple[int, int, int, int]:
        """(consumed, produced, missing, remaining) added at the end of a trace in `marking`."""
        found = self._ends.get(marking)
        if found is None:
            found = self._ends[marking] = self._compute_end(marking)
        return found

    def _compute_end(self, marking: Marking) -> tuple[int, int, int, int]:
        """The tail of pm4py's `apply_trace` with `try_to_reach_final_marking_through_hidden`."""
        tr, sem, net, fm, paths = self._tr, self._sem, self.net, self.fm, self.paths
        marking = copy(marking)
        consumed = produced = 0
        for _ in range(_MAX_IT_FINAL1):
            if tr.break_condition_final_marking(marking, fm):
                break
            for group in tr.get_req_transitions_for_final_marking(marking, fm, paths):
                for t in group:
                    if sem.is_enabled(t, net, marking):
                        marking = sem.execute(t, net, marking)
                        consumed += tr.get_consumed_tokens(t)[0]
                        produced += tr.get_produced_tokens(t)[0]
                if tr.break_condition_final_marking(marking, fm):
                    break
        if not tr.break_condition_final_marking(marking, fm) and len(fm) == 1:
            sink = next(iter(fm))
            to_sink = sorted(
                ([p, paths[p][sink]] for p in marking if p in paths and sink in paths[p]),
                key=lambda x: len(x[1]),
            )
            for _ in range(_MAX_IT_FINAL2):
                for _place, path in to_sink:
                    for t in path:
                        if not sem.is_enabled(t, net, marking):
                            break
                        marking = sem.execute(t, net, marking)
                        consumed += tr.get_consumed_tokens(t)[0]
                        produced += tr.get_produced_tokens(t)[0]
        missing = sum(max(0, fm[p] - marking[p]) for p in fm)
        remaining = sum(max(0, n - fm[p]) if p in fm else n for p, n in marking.items())
        consumed += sum(fm.values())
        return consumed, produced, missing, remaining

    def enabled(self, marking: Marking) -> frozenset[str]:
        """Labels of the visible transitions eventually enabled in `marking` (ETConformance)."""
        found = self._enabled.get(marking)
        if found is None:
            found = self._enabled[marking] = frozenset(
                self._trans[i].label for i in self._eventually(marking)
            )
        return found

    def _enabled_split(self, marking: tuple[int, ...]) -> tuple[tuple[int, ...], list[int]]:
        """pm4py's `enabled_transitions` in (name, id) order: (visible ones, hidden ones)."""
        found = self._enabled_in.get(marking)
        if found is None:
            candidates = set(self._sources)
            for place, tokens in enumerate(marking):
                if tokens > 0:
                    candidates.update(self._consumers[place])
            enabled = sorted(i for i in candidates if all(marking[p] >= w for p, w in self._ins[i]))
            found = self._enabled_in[marking] = (
                tuple(i for i in enabled if not self._hidden[i]),
                [i for i in enabled if self._hidden[i]],
            )
        return found

    def _eventually(self, marking: Marking) -> set[int]:
        """pm4py's `get_visible_transitions_eventually_enabled_by_marking`, step for step.

        pm4py walks a queue of enabled transitions, each with the marking it was last queued
        with, fires the hidden ones (once per transition and marking) and queues what the new
        marking enables; every visible transition that is ever queued ends in the result. So
        visible transitions are collected when queued and only hidden ones go through the
        queue, in pm4py's order and with its latest-marking bookkeeping — the same result on
        numbered places and transitions, with enabled transitions found through the places
        that hold tokens instead of a scan of the whole net.
        """
        start = [0] * len(self._place)
        for place, tokens in marking.items():
            start[self._place[place]] = tokens
        first = tuple(start)
        shown, queue = self._enabled_split(first)
        queue = list(queue)
        visible: set[int] = set(shown)
        at = dict.fromkeys(queue, first)
        visited: set[tuple[int, tuple[int, ...]]] = set()
        i = 0
        while i < len(queue):
            t = queue[i]
            current = at[t]
            key = (self._repr_id[t], current)
            if key not in visited:
                if all(current[p] >= w for p, w in self._ins[t]):
                    after = list(current)
                    for p, w in self._ins[t]:
                        after[p] -= w
                    for p, w in self._outs[t]:
                        after[p] += w
                    fired = tuple(after)
                    shown, hidden = self._enabled_split(fired)
                    visible.update(shown)
                    for t2 in hidden:
                        queue.append(t2)
                        at[t2] = fired
                visited.add(key)
            i += 1
        return visible


@dataclass
class _Node:
    """The replay state after one event of the current path, and its prefix's statistics."""

    marking: Marking
    consumed: int
    produced: int
    missing: int
    fit: bool
    weight: int = 0  # cases whose trace continues after this prefix
    followers: set[str] | None = None


def replay_quality(
    variants: Iterable[tuple[Sequence[str], int]],
    net: PetriNet,
    im: Marking,
    fm: Marking,
    deadline: float | None = None,
) -> Quality:
    """Fitness and precision of `net` on the variants (activity sequence, cases).

    Args:
        variants: Each distinct trace once with its number of cases (no empty traces).
        net: The Petri net; `im`, `fm` its initial and final marking.
        im: Initial marking.
        fm: Final marking.
        deadline: `time.monotonic()` value after which the replay gives up.

    pm4py must be loaded (`mining.pm4py_api.load()`).

    Returns:
        The Quality, equal to pm4py's `fitness_token_based_replay` (log_fitness) and
        `precision_token_based_replay` on the log the variants stand for.

    Raises:
        TimeBudgetExceeded: The deadline passed.
    """
    replayer = PrefixReplayer(net, im, fm)
    ordered = sorted((tuple(codes), int(cases)) for codes, cases in variants)
    produced0 = sum(im.values())
    root = _Node(copy(im), 0, produced0, 0, True)
    path: list[_Node] = [root]  # path[k] = state after k events of `previous`
    previous: tuple[str, ...] = ()
    sums = [0, 0, 0, 0]  # consumed, produced, missing, remaining (case-weighted)
    prec = [0, 0]  # enabled, escaping (case-weighted)
    n_traces = 0
    starts: set[str] = set()
    steps = 0

    def close(node: _Node) -> None:
        if node.fit and node.weight:
            enabled = replayer.enabled(node.marking)
            prec[0] += len(enabled) * node.weight
            prec[1] += len(enabled - node.followers) * node.weight

    for codes, cases in ordered:
        shared = 0
        limit = min(len(codes), len(previous))
        while shared < limit and codes[shared] == previous[shared]:
            shared += 1
        while len(path) > shared + 1:
            close(path.pop())
        for activity in codes[shared:]:
            parent = path[-1]
            steps += 1
            if deadline is not None and steps % _CHECK_EVERY == 0 and time.monotonic() > deadline:
                raise TimeBudgetExceeded
            moved = replayer.step(parent.marking, activity)
            if moved is None:  # an activity the model does not know: skipped, as pm4py does
                path.append(
                    _Node(
                        parent.marking, parent.consumed, parent.produced, parent.missing, parent.fit
                    )
                )
                continue
            path.append(
                _Node(
                    moved.marking,
                    parent.consumed + moved.consumed,
                    parent.produced + moved.produced,
                    parent.missing + moved.missing,
                    parent.fit and moved.fit,
                )
            )
        # prefix statistics: every proper, non-empty prefix of this trace
        for k in range(1, len(codes)):
            node = path[k]
            node.weight += cases
            if node.followers is None:
                node.followers = set()
            node.followers.add(codes[k])
        last = path[len(codes)]
        consumed, produced, missing, remaining = replayer.end(last.marking)
        sums[0] += cases * (last.consumed + consumed)
        sums[1] += cases * (last.produced + produced)
        sums[2] += cases * (last.missing + missing)
        sums[3] += cases * remaining
        n_traces += cases
        starts.add(codes[0])
        previous = codes
    while len(path) > 1:
        close(path.pop())

    consumed, produced, missing, remaining = sums
    if consumed > 0 and produced > 0:
        fitness = 0.5 * (1 - missing / consumed) + 0.5 * (1 - remaining / produced)
    else:
        fitness = 0.0
    initially = replayer.enabled(im)
    sum_at = n_traces * len(initially) + prec[0]
    sum_ee = n_traces * len(initially - starts) + prec[1]
    precision = 1.0 - sum_ee / sum_at if sum_at > 0 else 1.0
    return Quality(fitness, precision, steps, replayer.computed)
