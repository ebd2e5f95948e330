"""The built-in demo company: one calendar year (2025) of a mid-size company's back office.

`generate` simulates the processes of `pipelines.demo_catalogue` for a requested number of
root cases and returns the normalized event log, the demo cost file (docs/cost-file.md) and the
ground truth a correct miner must reproduce from the log. `write_sample` writes them to a
folder (`bpo sample`). The same seed gives the same bytes.

How the simulation works, vectorised over all cases with numpy:

1. Paths: every block of a flow draws its outcome (optional step, choice, number of rework
   loops) for all cases at once and emits (case, activity, order key) triples; sorting by
   (case, key) gives each case's path. A `Sub` block continues the same case in another
   process (purchase order → invoice, customer ticket → IT incident → customer).
2. Times, one path position at a time for all cases: human work happens on weekdays between
   08:00 and 17:00 Europe/Berlin and never spans an evening (a task that would not finish by
   17:00 starts the next working morning); waiting times are counted in business hours; a
   `SYSTEM` step completes 1–120 s after the previous one; a `BATCH` step completes in the
   nightly run that starts at 22:00 local time on a weekday. Handling times are lognormal.
   A case that would end after 2025-12-31 is moved back by whole weeks (weekday and local
   time of day are kept), so the whole log lies in the observation year.
3. Truth, computed from the simulation's own arrays (not from the frame): cases, events,
   handling hours, systems per process and handovers between processes.

Noise (`generate(..., noise=LEVEL)`, `bpo sample --noise LEVEL`) adds the disorder of real
logs to the paths, between steps 1 and 2, so that every time, resource and truth figure is
simulated and counted from the disordered paths as usual. Each event is disturbed with
probability LEVEL, in one of four ways (`NOISE_KINDS`): skipped, repeated, swapped with the
next event, or followed by an extra activity drawn from its process's catalogue (every
activity any flow of the demo has for that process: a rare path). Disturbances stay inside
one process's run of events within a case: the first and last event of a run are never
skipped and a swap never crosses into another process, so which processes hand over to which
stays as designed. LEVEL 0 (the default) draws nothing and gives today's demo byte for byte.

Definitions in the ground truth:
- `cases` of a process: distinct case ids with at least one event of it; `cases_per_year`
  equals `cases` because the observation period is exactly the year 2025.
- `handling_hours_per_case`: the sum of (complete − start) over the process's events that have
  a start timestamp (all human work; `SYSTEM`/`BATCH` steps have none and count 0), divided
  by the process's cases.
- `handovers[(p, q)]`: directly-follows steps within a case (ordered by completion time)
  from an event of process p to one of process q ≠ p.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from pipelines import schema
from pipelines.demo_catalogue import (
    BATCH,
    CORE_PROCESS,
    DATA_CLASSES,
    FLOWS,
    OFFERS,
    PROCESSES,
    PROVIDERS,
    ROLES,
    ROOTS,
    SYSTEM,
    SYSTEMS,
    THROUGHPUT_TARGETS,
    Act,
    Block,
    Choice,
    Loop,
    Opt,
    RootProcess,
    Sub,
)
from pipelines.errors import InputError, Problem
from pipelines.xes_writer import write_xes

YEAR = 2025
TIMEZONE = "Europe/Berlin"
MIN_CASES = 100
FORMATS = ("xes", "csv", "parquet")
LOG_NAMES = {"xes": "demo_log.xes.gz", "csv": "demo_log.csv", "parquet": "demo_log.parquet"}

_DAY = 86_400
_WEEK = 7 * _DAY
_OPEN = 8 * 3600
_BDAY = 9 * 3600  # business seconds per working day (08:00–17:00)
_BATCH_RUN = 22 * 3600
_MAX_HANDLING = 8 * 3600
_MAX_WAIT = 15 * _BDAY
_CAL_DAYS = 3 * 366  # the simulation may run past the year before cases are moved back
_YEAR_DAYS = 365
_EPOCH_US = int((datetime(YEAR, 1, 1) - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
_HUMAN, _SYS, _BATCH = 0, 1, 2

# Kinds of disturbance of a noisy demo and their shares among the disturbed events.
NOISE_KINDS: dict[str, float] = {"skip": 0.3, "repeat": 0.2, "swap": 0.3, "insert": 0.2}


@dataclass(frozen=True)
class ProcessTruth:
    """What a correct miner computes for one process of the demo log.

    Attributes:
        process: Process id.
        core: Whether the cost file flags it as core.
        cases: Distinct cases with at least one event of the process.
        cases_per_year: `cases` annualised over the observation period (one year: equal).
        events: Events (rows) of the process.
        human_events: Events with a start timestamp (human work).
        activities: Distinct activity names.
        resources: Distinct people (not `SYSTEM`/`BATCH`).
        handling_hours_total: Sum of start→complete durations, hours.
        handling_hours_per_case: `handling_hours_total / cases`.
        labour_cost_per_year: Σ handling hours × the cost file's rate of the activity's role
            (calibration factor 1): the in-house labour cost C_p of docs/sourcing-model.md §2.
        systems: IT systems with their event counts, sorted by system.
    """

    process: str
    core: bool
    cases: int
    cases_per_year: float
    events: int
    human_events: int
    activities: int
    resources: int
    handling_hours_total: float
    handling_hours_per_case: float
    labour_cost_per_year: float
    systems: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Handover:
    """Directly-follows steps within a case from one process to another."""

    from_process: str
    to_process: str
    handovers: int


@dataclass(frozen=True)
class GroundTruth:
    """The generator's own account of the demo log (see the module docstring for definitions).

    Attributes:
        seed: Random seed.
        cases: Case ids in the log (root cases).
        events: Rows of the normalized log.
        observation_start: First day of the observation period (ISO date).
        observation_end: Last day of the observation period (ISO date).
        processes: One record per process, sorted by process id.
        handovers: One record per ordered pair with at least one handover, sorted.
        noise: The noise level of the paths (0: the designed flows only; written to the
            JSON only when above 0).
    """

    seed: int
    cases: int
    events: int
    observation_start: str
    observation_end: str
    processes: tuple[ProcessTruth, ...]
    handovers: tuple[Handover, ...]
    noise: float = 0.0

    def process(self, name: str) -> ProcessTruth:
        """The record of one process.

        Args:
            name: Process id.

        Returns:
            Its `ProcessTruth`.

        Raises:
            KeyError: No such process.
        """
        for p in self.processes:
            if p.process == name:
                return p
        raise KeyError(name)

    def handover_count(self, from_process: str, to_process: str) -> int:
        """Handovers from one process to another (0 when there are none)."""
        for h in self.handovers:
            if (h.from_process, h.to_process) == (from_process, to_process):
                return h.handovers
        return 0

    def to_json(self) -> str:
        """Serialise as indented JSON with sorted keys (deterministic)."""
        data = asdict(self)
        if not self.noise:
            del data["noise"]  # the clean demo's file stays as it always was
        for p in data["processes"]:
            p["systems"] = dict(p["systems"])
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class DemoCompany:
    """The generated demo: normalized log, cost file text and ground truth."""

    log: pl.DataFrame
    costs_yaml: str
    truth: GroundTruth


@dataclass(frozen=True)
class SamplePaths:
    """Files written by `write_sample`."""

    log: Path
    costs: Path
    truth: Path


@dataclass(frozen=True)
class RegimeChange:
    """A change in how a root process runs from the first day of a month on.

    The extension point behind `pipelines.demo_drift`. A root case belongs to the regime of its
    start time: cases starting before `month` are simulated as usual; from `month` on, the
    root process's cases start `volume_factor` times as often and follow `flow`.

    Attributes:
        process: A root process of `pipelines.demo_catalogue.ROOTS`.
        month: First month (2..12 of the demo year) of the new regime.
        volume_factor: Rate of new root cases from `month` on, relative to before (> 0).
        flow: The flow followed from `month` on; None keeps the catalogue's flow.
    """

    process: str
    month: int
    volume_factor: float = 1.0
    flow: tuple[Block, ...] | None = None


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class _Calendar:
    is_weekday: np.ndarray  # per calendar day since 2025-01-01
    wd_before: np.ndarray  # weekdays strictly before each calendar day
    wd_days: np.ndarray  # calendar day of each working day

    def to_business(self, t: np.ndarray) -> np.ndarray:
        """Local seconds → business seconds, snapping forward to the next working moment."""
        day, sod = np.divmod(t, _DAY)
        base = self.wd_before[day] * _BDAY
        inside = sod - _OPEN
        b = np.where(inside < 0, base, np.where(inside >= _BDAY, base + _BDAY, base + inside))
        return np.where(self.is_weekday[day], b, base)

    def start_local(self, b: np.ndarray) -> np.ndarray:
        """Business seconds → local seconds (a moment at 17:00 sharp is next morning 08:00)."""
        d, r = np.divmod(b, _BDAY)
        return self.wd_days[d] * _DAY + _OPEN + r

    def complete_local(self, b: np.ndarray) -> np.ndarray:
        """Business seconds → local seconds (a moment at 17:00 sharp stays 17:00)."""
        d = (b - 1) // _BDAY
        return self.wd_days[d] * _DAY + _OPEN + (b - d * _BDAY)

    def next_batch_run(self, t: np.ndarray) -> np.ndarray:
        """Local seconds of the first 22:00 run on a weekday at or after `t`."""
        day, sod = np.divmod(t, _DAY)
        day = np.where(sod <= _BATCH_RUN, day, day + 1)
        return self.wd_days[self.wd_before[day]] * _DAY + _BATCH_RUN


def _calendar() -> _Calendar:
    weekday0 = datetime(YEAR, 1, 1).weekday()
    is_weekday = (np.arange(_CAL_DAYS) + weekday0) % 7 < 5
    wd_before = np.concatenate(([0], np.cumsum(is_weekday)[:-1])).astype(np.int64)
    return _Calendar(is_weekday, wd_before, np.flatnonzero(is_weekday).astype(np.int64))


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class _ActKey:
    process: str
    act: Act


class _Paths:
    """Collects (case, activity id, order key) emissions while walking the flows."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.acts: list[_ActKey] = []
        self._ids: dict[_ActKey, int] = {}
        self.cases: list[np.ndarray] = []
        self.act_ids: list[np.ndarray] = []
        self.keys: list[np.ndarray] = []
        self._key = 0

    def act_id(self, key: _ActKey) -> int:
        """The id of an activity of a process, registering it on first use."""
        if key not in self._ids:
            self._ids[key] = len(self.acts)
            self.acts.append(key)
        return self._ids[key]

    def _emit(self, process: str, act: Act, cases: np.ndarray) -> None:
        act_id = self.act_id(_ActKey(process, act))
        self.cases.append(cases)
        self.act_ids.append(np.full(cases.size, act_id, dtype=np.int32))
        self.keys.append(np.full(cases.size, self._key, dtype=np.int32))
        self._key += 1

    def walk(self, blocks: Sequence[Block], process: str, cases: np.ndarray) -> None:
        """Emit the events of `blocks` for `cases` (all drawing vectorised)."""
        for block in blocks:
            if isinstance(block, Act):
                self._emit(process, block, cases)
            elif isinstance(block, Opt):
                self.walk(block.blocks, process, cases[self.rng.random(cases.size) < block.p])
            elif isinstance(block, Choice):
                cum = np.cumsum([w for w, _ in block.branches])
                pick = np.searchsorted(cum / cum[-1], self.rng.random(cases.size), side="right")
                pick = np.minimum(pick, len(block.branches) - 1)
                for i, (_, branch) in enumerate(block.branches):
                    self.walk(branch, process, cases[pick == i])
            elif isinstance(block, Loop):
                hits = self.rng.random((cases.size, block.cap)) < block.p
                k = np.cumprod(hits, axis=1).sum(axis=1)
                for r in range(block.cap):
                    for act in block.acts:
                        self._emit(process, act, cases[k > r])
            elif isinstance(block, Sub):
                self.walk(FLOWS[block.flow], block.process, cases)


# --------------------------------------------------------------------------- noise


def _catalogue_acts(blocks: Sequence[Block], process: str, into: dict[str, list[_ActKey]]) -> None:
    """Every activity of `blocks`, by process (a `Sub` adds its flow's under its process)."""
    for block in blocks:
        if isinstance(block, Act):
            key = _ActKey(process, block)
            if key not in into.setdefault(process, []):
                into[process].append(key)
        elif isinstance(block, Opt):
            _catalogue_acts(block.blocks, process, into)
        elif isinstance(block, Choice):
            for _, branch in block.branches:
                _catalogue_acts(branch, process, into)
        elif isinstance(block, Loop):
            _catalogue_acts(block.acts, process, into)
        elif isinstance(block, Sub):
            _catalogue_acts(FLOWS[block.flow], block.process, into)


def _disorder(
    case: np.ndarray, act: np.ndarray, paths: _Paths, level: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Skip, repeat, swap and insert events of the paths (see the module docstring).

    Args:
        case: Root case per event, sorted by case then path order.
        act: Activity id per event.
        paths: The walk's activity register (inserted activities are registered there).
        level: Probability that an event is disturbed, in (0, 1].
        rng: The simulation's random generator.

    Returns:
        The disordered `(case, act)` arrays, still sorted by case then path order.
    """
    catalogue: dict[str, list[_ActKey]] = {}
    for root in ROOTS:
        _catalogue_acts(FLOWS[root.flow], root.process, catalogue)
    processes = sorted(catalogue)
    choices = {
        i: np.array([paths.act_id(k) for k in catalogue[p]], dtype=np.int32)
        for i, p in enumerate(processes)
    }
    proc_of_act = np.array([processes.index(k.process) for k in paths.acts], dtype=np.int32)
    n = case.size
    kinds = list(NOISE_KINDS)
    kind = np.where(
        rng.random(n) < level,
        rng.choice(len(kinds), size=n, p=list(NOISE_KINDS.values())),
        -1,
    )
    proc = proc_of_act[act]
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = (case[1:] != case[:-1]) | (proc[1:] != proc[:-1])
    last_of_run = np.append(new_run[1:], True)

    # swap with the next event of the same run; of two overlapping swaps only the first
    swap = (kind == kinds.index("swap")) & ~last_of_run
    swap[1:] &= ~swap[:-1]
    order = np.arange(n)
    at = np.flatnonzero(swap)
    order[at], order[at + 1] = at + 1, at
    act, kind = act[order], kind[order]

    skip = (kind == kinds.index("skip")) & ~new_run & ~last_of_run
    copies = np.where(skip, 0, np.where(kind == kinds.index("repeat"), 2, 1))
    base = np.repeat(np.arange(n), copies)
    insert = np.flatnonzero(kind == kinds.index("insert"))
    extra = np.empty(insert.size, dtype=np.int32)
    owner = proc[insert]  # runs keep their positions under in-run swaps
    for i, options in choices.items():
        mine = owner == i
        extra[mine] = options[rng.integers(0, options.size, int(mine.sum()))]
    keys = np.concatenate((2 * base, 2 * insert + 1))
    out_case = np.concatenate((case[base], case[insert]))
    out_act = np.concatenate((act[base], extra))
    ordered = np.argsort(keys, kind="stable")
    return out_case[ordered], out_act[ordered]


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class _Sim:
    case: np.ndarray  # root case index per event, events sorted by case then path order
    act: np.ndarray  # activity id per event
    start: np.ndarray  # local seconds (undefined where not human)
    complete: np.ndarray  # local seconds
    handling: np.ndarray  # seconds (0 for automated)
    resource: np.ndarray  # index into resource names
    acts: list[_ActKey]
    resources: list[str]


def _root_counts(cases: int) -> list[int]:
    counts = [math.floor(r.share * cases) for r in ROOTS]
    counts[0] += cases - sum(counts)  # the remainder goes to payables (the largest)
    return counts


@dataclass(frozen=True)
class _Segment:
    """Root cases of one process that follow one flow and start in one business-time window."""

    root: RootProcess
    flow: tuple[Block, ...]
    cases: int
    first_number: int  # number in the case id of the segment's first case
    window: tuple[int, int] | None  # [lo, hi) business seconds; None = the whole year


def _segments(cases: int, cal: _Calendar, changes: Sequence[RegimeChange]) -> list[_Segment]:
    """Root-case segments: one per root without a change, two (before/after) with one."""
    by_process = {c.process: c for c in changes}
    year_business = int(cal.wd_before[_YEAR_DAYS]) * _BDAY
    segments: list[_Segment] = []
    for root, n in zip(ROOTS, _root_counts(cases), strict=True):
        change = by_process.get(root.process)
        if change is None:
            segments.append(_Segment(root, FLOWS[root.flow], n, 1, None))
            continue
        day = (date(YEAR, change.month, 1) - date(YEAR, 1, 1)).days
        cut = int(cal.wd_before[day]) * _BDAY
        before = round(n * cut / year_business)
        after = round(n * (year_business - cut) / year_business * change.volume_factor)
        segments.append(_Segment(root, FLOWS[root.flow], before, 1, (0, cut)))
        segments.append(
            _Segment(root, change.flow or FLOWS[root.flow], after, before + 1, (cut, year_business))
        )
    return segments


def _check_changes(changes: Sequence[RegimeChange]) -> None:
    roots = {r.process for r in ROOTS}
    problems = []
    for c in changes:
        if c.process not in roots:
            problems.append(Problem("changes", f"{c.process!r} is not a root process"))
        if not 2 <= c.month <= 12:
            problems.append(Problem("changes", f"month must be 2..12, got {c.month!r}"))
        if not c.volume_factor > 0:
            problems.append(Problem("changes", f"volume_factor must be > 0, got {c.volume_factor}"))
    if len({c.process for c in changes}) < len(changes):
        problems.append(Problem("changes", "at most one change per process"))
    if problems:
        raise InputError(problems)


def _simulate(
    cases: int,
    rng: np.random.Generator,
    changes: Sequence[RegimeChange] = (),
    noise: float = 0.0,
) -> tuple[_Sim, list[str]]:
    cal = _calendar()
    segments = _segments(cases, cal, changes)
    cases = sum(seg.cases for seg in segments)
    paths = _Paths(rng)
    first = 0
    case_ids: list[str] = []
    for seg in segments:
        n, number = seg.cases, seg.first_number
        paths.walk(seg.flow, seg.root.process, np.arange(first, first + n, dtype=np.int64))
        case_ids.extend(f"{seg.root.prefix}-{i:07d}" for i in range(number, number + n))
        first += n

    case = np.concatenate(paths.cases)
    act = np.concatenate(paths.act_ids)
    order = np.lexsort((np.concatenate(paths.keys), case))
    case, act = case[order], act[order]
    if noise > 0:
        case, act = _disorder(case, act, paths, noise, rng)
    n = case.size
    acts = paths.acts

    minutes = np.array([a.act.minutes for a in acts])
    sigma = np.array([a.act.sigma for a in acts])
    wait_h = np.array([a.act.wait_hours for a in acts])
    kind_of = np.array(
        [{SYSTEM: _SYS, BATCH: _BATCH}.get(a.act.role, _HUMAN) for a in acts], dtype=np.int8
    )
    kind = kind_of[act]

    z_h = rng.standard_normal(n)
    z_w = rng.standard_normal(n)
    sys_delay = rng.integers(1, 121, n)
    batch_delay = rng.integers(0, 1800, n)
    handling = np.where(
        kind == _HUMAN,
        np.clip(np.rint(minutes[act] * 60 * np.exp(sigma[act] * z_h)), 60, _MAX_HANDLING),
        0,
    ).astype(np.int64)
    wait = np.clip(np.rint(wait_h[act] * 3600 * np.exp(0.8 * z_w)), 0, _MAX_WAIT).astype(np.int64)

    year_business = int(cal.wd_before[_YEAR_DAYS]) * _BDAY
    if not changes:
        t_prev = cal.start_local(rng.integers(0, year_business, cases))
    else:
        windows = [seg.window or (0, year_business) for seg in segments]
        sizes = [seg.cases for seg in segments]
        lo = np.repeat(np.array([w[0] for w in windows], dtype=np.int64), sizes)
        hi = np.repeat(np.array([w[1] for w in windows], dtype=np.int64), sizes)
        t_prev = cal.start_local(rng.integers(lo, hi))

    is_first = np.ones(n, dtype=bool)
    is_first[1:] = case[1:] != case[:-1]
    first_idx = np.flatnonzero(is_first)
    pos = np.arange(n) - np.repeat(first_idx, np.diff(np.append(first_idx, n)))
    by_pos = np.argsort(pos, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(pos))))

    start = np.zeros(n, dtype=np.int64)
    complete = np.zeros(n, dtype=np.int64)
    for k in range(bounds.size - 1):
        ev = by_pos[bounds[k] : bounds[k + 1]]
        c = case[ev]
        tp = t_prev[c]
        kd = kind[ev]
        earliest = cal.to_business(tp) + np.where(pos[ev] == 0, 0, wait[ev])
        h = handling[ev]
        s = np.where(earliest % _BDAY + h > _BDAY, (earliest // _BDAY + 1) * _BDAY, earliest)
        human_start = cal.start_local(s)
        human_done = cal.complete_local(s + h)
        batch_done = cal.next_batch_run(cal.start_local(earliest)) + batch_delay[ev]
        done = np.where(
            kd == _HUMAN, human_done, np.where(kd == _SYS, tp + sys_delay[ev], batch_done)
        )
        start[ev] = np.where(kd == _HUMAN, human_start, 0)
        complete[ev] = done
        t_prev[c] = done

    # Move cases that end after the year back by whole weeks (weekday and local time kept).
    overrun = t_prev - _YEAR_DAYS * _DAY
    shift = np.where(overrun >= 0, (overrun // _WEEK + 1) * _WEEK, 0)
    start -= shift[case]
    complete -= shift[case]
    if complete.min() < 0 or start[kind == _HUMAN].min() < 0:
        raise RuntimeError("demo generator: a case is longer than the observation year")

    resources = [SYSTEM, BATCH]
    resource = np.where(kind == _SYS, 0, 1).astype(np.int32)
    role_of_act = np.array([a.act.role for a in acts], dtype=object)[act]
    for role in ROLES:
        mask = role_of_act == role.id
        weights = 1.0 / (1.0 + 0.25 * np.arange(len(role.resources)))
        picks = rng.choice(len(role.resources), size=int(mask.sum()), p=weights / weights.sum())
        resource[mask] = len(resources) + picks
        resources.extend(role.resources)

    sim = _Sim(case, act, start, complete, handling, resource, acts, resources)
    return sim, case_ids


def _frame(sim: _Sim, case_ids: list[str]) -> pl.DataFrame:
    acts = sim.acts
    human = np.array([a.act.role not in (SYSTEM, BATCH) for a in acts])[sim.act]

    def ts(local: np.ndarray) -> pl.Series:
        return (
            pl.Series(local * 1_000_000 + _EPOCH_US, dtype=pl.Int64)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone(TIMEZONE)
            .dt.convert_time_zone("UTC")
        )

    act_idx = pl.Series(sim.act, dtype=pl.UInt32)
    roles = pl.Series([a.act.role if a.act.role not in (SYSTEM, BATCH) else None for a in acts])
    frame = pl.DataFrame(
        {
            schema.CASE_ID: pl.Series(case_ids).gather(pl.Series(sim.case, dtype=pl.UInt32)),
            schema.ACTIVITY: pl.Series([a.act.name for a in acts]).gather(act_idx),
            schema.TIMESTAMP: ts(sim.complete),
            schema.START_TIMESTAMP: ts(sim.start),
            schema.RESOURCE: pl.Series(sim.resources).gather(pl.Series(sim.resource)),
            schema.ROLE: roles.cast(pl.String).gather(act_idx),
            schema.PROCESS: pl.Series([a.process for a in acts]).gather(act_idx),
            schema.SYSTEM: pl.Series([a.act.system for a in acts]).gather(act_idx),
            "_human": human,
        }
    )
    frame = frame.with_columns(
        pl.when(pl.col("_human")).then(pl.col(schema.START_TIMESTAMP)).alias(schema.START_TIMESTAMP)
    ).drop("_human")
    return frame.sort([schema.CASE_ID, schema.TIMESTAMP], maintain_order=True).select(
        [pl.col(c).cast(t) for c, t in schema.SCHEMA.items()]
    )


def _truth(sim: _Sim, seed: int, cases: int) -> GroundTruth:
    proc_names = list(PROCESSES)
    proc_of_act = np.array([proc_names.index(a.process) for a in sim.acts])
    proc = proc_of_act[sim.act]
    n_proc = len(proc_names)
    systems = sorted({a.act.system for a in sim.acts})
    sys_of_act = np.array([systems.index(a.act.system) for a in sim.acts])
    sys_ev = np.bincount(proc * len(systems) + sys_of_act[sim.act], minlength=n_proc * len(systems))
    sys_ev = sys_ev.reshape(n_proc, len(systems))
    name_of_act = [a.act.name for a in sim.acts]
    rates = {r.id: r.cost_per_hour for r in ROLES}
    rate_of_act = np.array([rates.get(a.act.role, 0.0) for a in sim.acts])
    cost_ev = sim.handling * rate_of_act[sim.act]

    records = []
    for i, name in enumerate(proc_names):
        mask = proc == i
        n_cases = int(np.unique(sim.case[mask]).size)
        seconds = int(sim.handling[mask].sum())
        human = sim.handling[mask] > 0
        people = np.unique(sim.resource[mask])
        records.append(
            ProcessTruth(
                process=name,
                core=name == CORE_PROCESS,
                cases=n_cases,
                cases_per_year=float(n_cases),
                events=int(mask.sum()),
                human_events=int(human.sum()),
                activities=len({name_of_act[a] for a in np.unique(sim.act[mask])}),
                resources=int((people >= 2).sum()),
                handling_hours_total=seconds / 3600,
                handling_hours_per_case=seconds / 3600 / n_cases if n_cases else 0.0,
                labour_cost_per_year=round(float(cost_ev[mask].sum()) / 3600, 2),
                systems=tuple(
                    (s, int(sys_ev[i, j])) for j, s in enumerate(systems) if sys_ev[i, j]
                ),
            )
        )

    same_case = sim.case[1:] == sim.case[:-1]
    cross = same_case & (proc[1:] != proc[:-1])
    pairs = np.bincount(proc[:-1][cross] * n_proc + proc[1:][cross], minlength=n_proc * n_proc)
    handovers = tuple(
        Handover(proc_names[k // n_proc], proc_names[k % n_proc], int(pairs[k]))
        for k in np.flatnonzero(pairs)
    )
    return GroundTruth(
        seed=seed,
        cases=cases,
        events=int(sim.case.size),
        observation_start=f"{YEAR}-01-01",
        observation_end=f"{YEAR}-12-31",
        processes=tuple(records),
        handovers=handovers,
    )


# --------------------------------------------------------------------------- cost file

# Per-year money, one-time money, capacities and thresholds scale with the requested size
# (relative to the default 30,000 cases) so that the plan has the same shape at any size.
_BASE_CASES = 30_000


def _scaled(value: float, factor: float) -> int:
    """A money amount or capacity scaled to the requested size, rounded to whole units."""
    return round(value * factor)


def cost_file(cases: int = _BASE_CASES) -> dict[str, Any]:
    """The demo cost file (docs/cost-file.md) as a plain dictionary.

    Args:
        cases: Requested root cases; per-year and one-time amounts, capacities and rebate
            thresholds scale with `cases / 30,000`, prices per case do not.

    Returns:
        The cost file content, ready for `yaml.safe_dump`.
    """
    f = cases / _BASE_CASES
    roles: list[dict[str, Any]] = []
    for role in ROLES:
        entry: dict[str, Any] = {"id": role.id}
        if role.id == "it_agent":  # one role costed per year, to show the other form
            entry |= {
                "cost_per_year": round(role.cost_per_hour * 1600),
                "practical_hours_per_year": 1600,
            }
        else:
            entry["cost_per_hour"] = role.cost_per_hour
        entry["resources"] = list(role.resources)
        roles.append(entry)
    processes: list[dict[str, Any]] = []
    for name in PROCESSES:
        entry = {"id": name, "core": name == CORE_PROCESS}
        if name in DATA_CLASSES:
            entry["data_class"] = DATA_CLASSES[name]
        entry["throughput_target_hours"] = THROUGHPUT_TARGETS[name]
        processes.append(entry)
    systems = [dict(s) for s in SYSTEMS]
    for s in systems:
        s["run_cost_per_year"] = _scaled(s["run_cost_per_year"], f)
        if "decommission_cost" in s:
            s["decommission_cost"] = _scaled(s["decommission_cost"], f)
    providers = []
    for p in PROVIDERS:
        q = dict(p)
        for key in ("setup_cost", "management_cost_per_year", "min_annual_value", "risk_per_year"):
            q[key] = _scaled(p[key], f)
        q["capacity"] = {"cases_per_year": _scaled(p["capacity"]["cases_per_year"], f)}
        q["rebate_tiers"] = [
            {"min_spend": _scaled(t["min_spend"], f), "rebate": t["rebate"]}
            for t in p["rebate_tiers"]
        ]
        q["system_takeover"] = {
            s: {
                "annual_fee": _scaled(v["annual_fee"], f),
                "migration_cost": _scaled(v["migration_cost"], f),
            }
            for s, v in p["system_takeover"].items()
        }
        providers.append(q)
    offers = [
        {
            "process": proc,
            "provider": prov,
            "price_per_case": price,
            "fixed_per_year": _scaled(fixed, f),
            "transition_cost": _scaled(transition, f),
            "sla_throughput_hours": sla,
            "it": dict(it),
            "risk_per_year": _scaled(risk, f),
            "transition_quarters": TRANSITION_QUARTERS.get(proc, 1),
        }
        for proc, prov, price, fixed, transition, sla, it, risk in OFFERS
    ]
    return {
        "schema_version": 1,
        "currency": "EUR",
        "study": {
            "horizon_years": 5,
            "discount_rate": 0.08,
            "observation_period": {"start": date(YEAR, 1, 1), "end": date(YEAR, 12, 31)},
            "hours_per_fte": 1600,
            "governance_share": 0.05,
            "cost_per_cross_org_handover": 1.5,
            "max_providers": 2,
            "inhouse_fte_cap": None,
            "keep_together_threshold": None,
            "risk": {"mode": "constraint", "budget_per_year": _scaled(120_000, f)},
            "transition": {"dual_running_share": 0.5, "max_parallel": 2},
        },
        "mining": {
            "process_attribute": "process",
            "system_attribute": "system",
            "activity_to_system": {},
            "exclude_resources": [BATCH, SYSTEM],
            "timezone": TIMEZONE,
        },
        "roles": roles,
        "default_role": "ap_clerk",
        "data_classes": {
            "personal_sensitive": {
                "allowed_locations": ["DE", "PL", "EU"],
                "required_certifications": ["ISO27001"],
            },
            "personal": {
                "allowed_locations": ["DE", "PL", "EU", "IN"],
                "required_certifications": ["ISO27001"],
            },
        },
        "processes": processes,
        "systems": systems,
        "providers": providers,
        "offers": offers,
    }


TRANSITION_QUARTERS = {
    "customer_service": 3,
    "it_service_desk": 2,
    "accounts_payable": 2,
    "payroll": 2,
    "claims_handling": 2,
}
"""Quarters a move of the process takes (the roadmap's `offers[].transition_quarters`; else 1)."""


def costs_yaml(cases: int = _BASE_CASES) -> str:
    """The demo cost file as YAML text (deterministic).

    Args:
        cases: Requested root cases (see `cost_file`).

    Returns:
        YAML text with a comment header.
    """
    header = (
        "# Demo company cost and offer file, written by `bpo sample`; keys: docs/cost-file.md\n"
        "# Providers: nearshore_pl (nearshore centre, Kraków), offshore_in (offshore provider,\n"
        "# Pune), shared_services_de (shared service provider, Leipzig).\n"
        f"# Amounts per year, one-time amounts and capacities are scaled to {cases} root cases.\n"
    )
    return header + yaml.safe_dump(
        cost_file(cases), sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
    )


def _check_args(cases: int, seed: int, fmt: str = "xes", noise: float = 0.0) -> None:
    problems = []
    if (
        isinstance(noise, bool)
        or not isinstance(noise, int | float)
        or not 0.0 <= noise <= 1.0  # also refuses NaN
    ):
        problems.append(
            Problem(
                "--noise",
                f"must be a number from 0 to 1 (share of events disturbed), got {noise!r}",
            )
        )
    if isinstance(cases, bool) or not isinstance(cases, int) or cases < MIN_CASES:
        problems.append(
            Problem("--cases", f"must be a whole number of at least {MIN_CASES}, got {cases!r}")
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.append(Problem("--seed", f"must be a whole number ≥ 0, got {seed!r}"))
    if fmt not in FORMATS:
        problems.append(Problem("--format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}"))
    if problems:
        raise InputError(problems)


def generate(
    cases: int = 30_000,
    seed: int = 7,
    *,
    changes: Sequence[RegimeChange] | None = None,
    noise: float = 0.0,
) -> DemoCompany:
    """Simulate the demo company's year 2025.

    Args:
        cases: Root cases (distinct case ids in the log), at least 100. Events are about
            6.5 per case, so 160,000 cases give more than a million events.
        seed: Seed of `numpy.random.default_rng`; the same seed gives the same log.
        changes: Regime changes during the year (`pipelines.demo_drift`); with a volume
            change the log has more or fewer root cases than `cases`. None (the default)
            gives exactly the unchanged company.
        noise: Share of events disturbed (skipped, repeated, swapped with the next event, or
            followed by a rare activity of the process), from 0 to 1; 0 (the default) gives
            exactly the designed company. See the module docstring.

    Returns:
        The normalized event log (docs/event-log.md columns, sorted by case and time), the cost file
        text and the ground truth.

    Raises:
        InputError: `cases`, `seed` or `noise` out of range.
    """
    _check_args(cases, seed, noise=noise)
    changes = tuple(changes or ())
    _check_changes(changes)
    rng = np.random.default_rng(seed)
    sim, case_ids = _simulate(cases, rng, changes, float(noise))
    truth = replace(_truth(sim, seed, len(case_ids)), noise=float(noise))
    return DemoCompany(log=_frame(sim, case_ids), costs_yaml=costs_yaml(cases), truth=truth)


def write_sample(
    out_dir: str | Path,
    cases: int = 30_000,
    seed: int = 7,
    fmt: str = "xes",
    noise: float = 0.0,
) -> SamplePaths:
    """Write the demo company's log, `costs.yaml` and `ground_truth.json` to a folder.

    Args:
        out_dir: Target folder (created if missing).
        cases: Root cases, at least 100.
        seed: Random seed.
        fmt: `xes` (`demo_log.xes.gz`), `csv` (`demo_log.csv`) or `parquet`
            (`demo_log.parquet`).
        noise: Share of events disturbed, from 0 to 1 (see `generate`).

    Returns:
        The paths written.

    Raises:
        InputError: An argument is out of range.
    """
    _check_args(cases, seed, fmt, noise)
    demo = generate(cases, seed, noise=noise)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / LOG_NAMES[fmt]
    if fmt == "xes":
        write_xes(demo.log, log_path)
    elif fmt == "csv":
        demo.log.write_csv(log_path, datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z")
    else:
        demo.log.write_parquet(log_path, statistics=True)
    costs = out / "costs.yaml"
    costs.write_text(demo.costs_yaml, encoding="utf-8")
    truth = out / "ground_truth.json"
    truth.write_text(demo.truth.to_json(), encoding="utf-8")
    return SamplePaths(log=log_path, costs=costs, truth=truth)


__all__ = [
    "DemoCompany",
    "GroundTruth",
    "Handover",
    "ProcessTruth",
    "RegimeChange",
    "SamplePaths",
    "cost_file",
    "costs_yaml",
    "generate",
    "write_sample",
]
