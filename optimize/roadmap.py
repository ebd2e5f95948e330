"""The transition roadmap: when each process of a sourcing plan moves, quarter by quarter.

A plan says *what* moves; the roadmap says *when*. Every process p that the plan moves gets a
start quarter s_p (0-based from the study's start) and a transition of d_p quarters
(`offers[].transition_quarters`, default 1). The study has Q = 4·H quarters; quarter q is
discounted by f_q = (1 + i)^(−q/4).

Formulation (money in integer cents; every discounted amount is rounded half-up *per item and
quarter* by `disc`, and both the CP-SAT model and the evaluator add the same rounded items, so
their totals agree to the cent):

  Data      SQ_p status-quo cost of p per year; PC_p its plan run-rate per year (fees after
            rebate, governance, retained cost; no annualised one-time cost); T_p its
            transition cost; δ the dual-running share; F_p its FTE.
  Decisions x[p,s] ∈ {0,1}   p starts in quarter s (s_p = Σ_s s·x[p,s]);
            y[m,e] ∈ {0,1}   milestone m happens in quarter e (see below).
  Cost of p c_p(s) = Σ_{q<s} disc(SQ_p/4, q) + Σ_{s≤q<s+d_p} disc(SQ_p/4 + δ·PC_p/4, q)
                     + Σ_{s+d_p≤q<Q} disc(PC_p/4, q) + disc(T_p, s).
  Milestones (costs that change with a group of processes, not with one):
            a provider's set-up cost falls at the *first start* among its processes, its
            vendor-management cost runs from then on;
            a system the plan transfers or retires keeps its status-quo cost until the *last*
            of its moving users has finished (e = max_p (s_p + d_p)) and has its plan cost from
            then on; its migration or decommissioning cost falls in quarter e − 1;
            a coupling the plan splits costs coordination from the *first* end among its moving
            processes (e = min_p (s_p + d_p)); its interface cost falls in quarter e − 1.
            c_m(e) = Σ_{q<e} disc(before_m/4, q) + Σ_{e≤q<Q} disc(after_m/4, q) + disc(one_m, b(e)).
  Objective min Σ_{p,s} c_p(s)·x[p,s] + Σ_{m,e} c_m(e)·y[m,e] + Σ_q disc(fixed/4, q)
            (fixed: everything the plan does not change — processes that stay, systems kept).
  R1  Σ_s x[p,s] = 1; s_p ≥ 0 and s_p + d_p ≤ Q (named `horizon:p`).
  R2  s_p ≥ not_before_p (named `not_before:p`).
  R3  at most `max_parallel` processes in transition in any quarter: a cumulative constraint over
      the intervals [s_p, s_p + d_p) with demand 1, and the same as one linear constraint per
      quarter over x (named `max_parallel`).
  R4  the FTE in transition in any quarter ≤ `transition_fte_cap`: cumulative with demand F_p
      (hundredths), and per quarter over x (named `fte_cap`).
  R5  coupled processes under the keep-together threshold start together: s_p = s_q (named
      `together:p:q`).
  R6  one-time spend per study year y (transition, set-up, migration, decommissioning,
      interface costs that fall in quarters 4y … 4y+3, undiscounted) ≤ `budget_per_year`
      (named `budget:y`).
  Milestone links: e_m = min or max of the members' s_p or s_p + d_p (`add_min_equality` /
  `add_max_equality`), e_m = Σ_e e·y[m,e], Σ_e y[m,e] = 1.

The bound "everything at quarter 0 with unlimited capacity" and the status quo are priced by the
same evaluator (`evaluate_roadmap`, `status_quo_npv`). An infeasible roadmap is explained like
the sourcing model (`optimize.explain`): one enforcement literal per named rule, a core from
CP-SAT, shrunk by a deletion filter to a minimal set.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import cached_property
from typing import Literal

from optimize.costfile import CostFile
from optimize.instance import BP, IN_HOUSE, Instance, Plan, exact, item_cost, round_half_up
from optimize.model import fte_text, money

Rule = Literal["first_start", "last_end", "first_end"]
Status = Literal["optimal", "feasible", "infeasible", "unknown"]


@dataclass(frozen=True)
class Move:
    """One process the plan moves, with what it costs before, during and after its move.

    Attributes:
        process: Process id.
        provider: The provider it moves to.
        duration: d_p, quarters of transition (≥ 1).
        not_before: Earliest start quarter (a contract that ends later), 0 = none.
        fte_centi: FTE in transition (hundredths), for the FTE cap.
        status_quo_cents: SQ_p, annual cost in-house (cents).
        run_rate_cents: PC_p, annual plan run-rate (cents), one-time costs not annualised.
        transition_cents: T_p, one-time transition cost (cents), paid in the start quarter.
    """

    process: str
    provider: str
    duration: int = 1
    not_before: int = 0
    fte_centi: int = 0
    status_quo_cents: int = 0
    run_rate_cents: int = 0
    transition_cents: int = 0


@dataclass(frozen=True)
class Milestone:
    """A cost that changes when a group of moving processes reaches a point of its roadmap.

    Attributes:
        id: Unique id (`provider:A`, `system:OCR`, `coupling:P1|P2`).
        label: In business words, for the outputs.
        rule: `first_start` (e = min s_p; one-time cost in e), `last_end` (e = max s_p + d_p;
            one-time cost in e − 1) or `first_end` (e = min s_p + d_p; one-time cost in e − 1).
        processes: The moving processes it depends on (not empty).
        before_cents: Annual cost (cents) before quarter e.
        after_cents: Annual cost (cents) from quarter e on.
        one_time_cents: One-time cost (cents), undiscounted within its quarter.
    """

    id: str
    label: str
    rule: Rule
    processes: tuple[str, ...]
    before_cents: int = 0
    after_cents: int = 0
    one_time_cents: int = 0

    def booking(self, e: int) -> int:
        """The quarter in which the one-time cost falls when the milestone is in quarter `e`."""
        return e if self.rule == "first_start" else max(e - 1, 0)


@dataclass(frozen=True)
class RoadmapInstance:
    """The scheduling problem of one plan: frozen, integer cents, no YAML or polars.

    Attributes:
        moves: The processes that move.
        milestones: Provider, system and coupling costs tied to the moves.
        horizon_years: H; the roadmap has 4·H quarters.
        discount_rate: i (exact fraction); quarter q is discounted by (1 + i)^(−q/4).
        dual_running_bp: δ in basis points (5 000 = half the run-rate on top while moving).
        max_parallel: At most this many processes in transition at once; None = unlimited.
        fte_cap_centi: At most this FTE (hundredths) in transition at once; None = no cap.
        budget_cents: One-time spend per study year at most this (cents); None = no budget.
        together: Pairs of moving processes that must start in the same quarter.
        fixed_cents: Annual cost (cents) that the plan does not change (processes that stay,
            systems kept), in every total so that they compare with the status quo.
        currency: Currency code for outputs.
    """

    moves: tuple[Move, ...]
    milestones: tuple[Milestone, ...] = ()
    horizon_years: int = 5
    discount_rate: Fraction = Fraction(0)
    dual_running_bp: int = 5000
    max_parallel: int | None = None
    fte_cap_centi: int | None = None
    budget_cents: int | None = None
    together: tuple[tuple[str, str], ...] = ()
    fixed_cents: int = 0
    currency: str = "EUR"

    @property
    def quarters(self) -> int:
        """Q = 4·H."""
        return 4 * self.horizon_years

    @cached_property
    def factors(self) -> tuple[Fraction, ...]:
        """Discount factor of each quarter, (1 + i)^(−q/4), to 40 significant digits."""
        i = exact(self.discount_rate)
        if i == 0:
            return tuple(Fraction(1) for _ in range(self.quarters))
        with localcontext() as ctx:
            ctx.prec = 40
            base = Decimal(i.numerator) / Decimal(i.denominator) + 1
            return tuple(Fraction(base ** (Decimal(-q) / Decimal(4))) for q in range(self.quarters))

    @cached_property
    def move_by_id(self) -> dict[str, Move]:
        """Moves by process id."""
        return {m.process: m for m in self.moves}

    def disc(self, amount: Fraction | int, q: int) -> int:
        """Discounted value (cents) of `amount` cents paid in quarter `q`, rounded half-up."""
        return round_half_up(Fraction(amount) * self.factors[q])

    # -- cost of one move and one milestone, per quarter ------------------------------------
    def move_cash(self, move: Move, start: int) -> tuple[Fraction, ...]:
        """Undiscounted cost (cents, exact) of `move` in each quarter when it starts at `start`."""
        key = ("move cash", move, start)
        if key not in self._memo:
            self._memo[key] = tuple(self._move_cash(move, start))
        return self._memo[key]

    def _move_cash(self, move: Move, start: int) -> list[Fraction]:
        return [
            amount + (move.transition_cents if q == start else 0)
            for q, amount in enumerate(self._run_amounts(move, start))
        ]

    def _run_amounts(self, move: Move, start: int) -> list[Fraction]:
        """Undiscounted running cost (cents) per quarter: status quo, dual running, plan."""
        sq = Fraction(move.status_quo_cents, 4)
        pc = Fraction(move.run_rate_cents, 4)
        dual = sq + pc * Fraction(self.dual_running_bp, BP)
        return [
            sq if q < start else dual if q < start + move.duration else pc
            for q in range(self.quarters)
        ]

    @cached_property
    def _memo(self) -> dict[tuple, tuple]:
        """Per-quarter cost vectors already computed (the evaluator prices many vectors)."""
        return {}

    def move_quarters(self, move: Move, start: int) -> tuple[int, ...]:
        """Discounted cost (cents) of `move` in each quarter, each item rounded on its own."""
        key = ("move", move, start)
        if key not in self._memo:
            self._memo[key] = tuple(self._move_quarters(move, start))
        return self._memo[key]

    def _move_quarters(self, move: Move, start: int) -> list[int]:
        out = []
        for q, amount in enumerate(self._run_amounts(move, start)):
            value = self.disc(amount, q)
            if q == start:
                value += self.disc(move.transition_cents, q)
            out.append(value)
        return out

    def milestone_cash(self, m: Milestone, e: int) -> tuple[Fraction, ...]:
        """Undiscounted cost (cents, exact) of milestone `m` per quarter when it is in `e`."""
        key = ("milestone cash", m, e)
        if key not in self._memo:
            self._memo[key] = tuple(self._milestone_cash(m, e))
        return self._memo[key]

    def _milestone_cash(self, m: Milestone, e: int) -> list[Fraction]:
        out = []
        for q in range(self.quarters):
            amount = Fraction(m.before_cents if q < e else m.after_cents, 4)
            out.append(amount + (m.one_time_cents if q == m.booking(e) else 0))
        return out

    def milestone_quarters(self, m: Milestone, e: int) -> tuple[int, ...]:
        """Discounted cost (cents) of milestone `m` per quarter when it is in quarter `e`."""
        key = ("milestone", m, e)
        if key not in self._memo:
            self._memo[key] = tuple(self._milestone_quarters(m, e))
        return self._memo[key]

    def _milestone_quarters(self, m: Milestone, e: int) -> list[int]:
        out = []
        for q in range(self.quarters):
            value = self.disc(Fraction(m.before_cents if q < e else m.after_cents, 4), q)
            if q == m.booking(e):
                value += self.disc(m.one_time_cents, q)
            out.append(value)
        return out

    @cached_property
    def fixed_quarters(self) -> tuple[int, ...]:
        """Discounted cost (cents) per quarter of what the plan does not change."""
        return tuple(self.disc(Fraction(self.fixed_cents, 4), q) for q in range(self.quarters))

    def milestone_quarter(self, m: Milestone, starts: Mapping[str, int]) -> int:
        """The quarter e of milestone `m` under `starts`."""
        if m.rule == "first_start":
            return min(starts[p] for p in m.processes)
        ends = [starts[p] + self.move_by_id[p].duration for p in m.processes]
        return max(ends) if m.rule == "last_end" else min(ends)


# --------------------------------------------------------------------------------------------
# The evaluator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoadmapEvaluation:
    """The price and feasibility of one start vector.

    Attributes:
        feasible: True when no rule is violated.
        violations: Each violated rule in words.
        npv_cents: Discounted cost over the horizon (cents) = Σ `discounted`.
        discounted: Discounted cost per quarter (cents).
        one_time_by_year: Undiscounted one-time spend per study year (cents).
        milestone_quarters: Quarter e of each milestone, by id.
    """

    feasible: bool
    violations: tuple[str, ...]
    npv_cents: int
    discounted: tuple[int, ...]
    one_time_by_year: tuple[int, ...]
    milestone_quarters: dict[str, int] = field(default_factory=dict)


def _add(total: list, part: Sequence) -> None:
    for q, value in enumerate(part):
        total[q] += value


def evaluate_roadmap(
    inst: RoadmapInstance, starts: Mapping[str, int], *, constraints: bool = True
) -> RoadmapEvaluation:
    """Price a start vector and check it against every rule of the roadmap.

    Args:
        inst: The roadmap instance.
        starts: Start quarter per moving process.
        constraints: False prices the vector without checking capacities, `not_before`,
            keep-together and the budget (the unconstrained bound); the horizon still holds.

    Returns:
        The evaluation; an infeasible vector is still priced when every start lies in the
        horizon (violations listed).

    Raises:
        ValueError: A moving process has no start, or a transition leaves the horizon.
    """
    nq = inst.quarters
    bad: list[str] = []
    for mv in inst.moves:
        s = starts.get(mv.process)
        if s is None:
            raise ValueError(f"{mv.process} has no start quarter")
        if s < 0 or s + mv.duration > nq:
            raise ValueError(f"{mv.process}'s transition [{s}, {s + mv.duration}) leaves 0..{nq}")
    disc = list(inst.fixed_quarters)
    one_time = [0] * inst.horizon_years
    for mv in inst.moves:
        s = starts[mv.process]
        _add(disc, inst.move_quarters(mv, s))
        one_time[s // 4] += mv.transition_cents
    quarters: dict[str, int] = {}
    for m in inst.milestones:
        e = quarters[m.id] = inst.milestone_quarter(m, starts)
        _add(disc, inst.milestone_quarters(m, e))
        one_time[m.booking(e) // 4] += m.one_time_cents
    if constraints:
        for mv in inst.moves:
            if starts[mv.process] < mv.not_before:
                bad.append(f"{mv.process} starts before quarter {mv.not_before}")
        for q in range(nq):
            active = [
                mv
                for mv in inst.moves
                if starts[mv.process] <= q < starts[mv.process] + mv.duration
            ]
            if inst.max_parallel is not None and len(active) > inst.max_parallel:
                bad.append(f"{len(active)} processes in transition in quarter {q}")
            fte = sum(mv.fte_centi for mv in active)
            if inst.fte_cap_centi is not None and fte > inst.fte_cap_centi:
                bad.append(f"{fte_text(fte)} FTE in transition in quarter {q}")
        for p, q in inst.together:
            if starts[p] != starts[q]:
                bad.append(f"{p} and {q} must start together")
        if inst.budget_cents is not None:
            for y, spend in enumerate(one_time):
                if spend > inst.budget_cents:
                    bad.append(f"one-time spend {money(spend)} in year {y + 1} exceeds the budget")
    return RoadmapEvaluation(
        feasible=not bad,
        violations=tuple(bad),
        npv_cents=sum(disc),
        discounted=tuple(disc),
        one_time_by_year=tuple(one_time),
        milestone_quarters=quarters,
    )


def cash_by_quarter(inst: RoadmapInstance, starts: Mapping[str, int]) -> tuple[Fraction, ...]:
    """Undiscounted cost (cents, exact) per quarter of a start vector (for the cash flow)."""
    cash: list[Fraction] = [Fraction(inst.fixed_cents, 4)] * inst.quarters
    for mv in inst.moves:
        _add(cash, inst.move_cash(mv, starts[mv.process]))
    for m in inst.milestones:
        _add(cash, inst.milestone_cash(m, inst.milestone_quarter(m, starts)))
    return tuple(cash)


def status_quo_quarters(inst: RoadmapInstance) -> tuple[list[int], list[Fraction]]:
    """(discounted, undiscounted) cost per quarter if nothing moves (cents)."""
    nq = inst.quarters
    disc = list(inst.fixed_quarters)
    cash = [Fraction(inst.fixed_cents, 4)] * nq
    for mv in inst.moves:
        # Never starting: the status-quo cost in every quarter (`move_quarters` with s = Q).
        _add(disc, [inst.disc(Fraction(mv.status_quo_cents, 4), q) for q in range(nq)])
        _add(cash, [Fraction(mv.status_quo_cents, 4)] * nq)
    for m in inst.milestones:
        _add(disc, [inst.disc(Fraction(m.before_cents, 4), q) for q in range(nq)])
        _add(cash, [Fraction(m.before_cents, 4)] * nq)
    return disc, cash


def status_quo_npv(inst: RoadmapInstance) -> int:
    """Discounted cost (cents) over the horizon if nothing moves."""
    return sum(status_quo_quarters(inst)[0])


def unconstrained_npv(inst: RoadmapInstance) -> int | None:
    """Discounted cost (cents) with every move starting at quarter 0, capacities ignored.

    None when some transition is longer than the horizon.
    """
    if any(mv.duration > inst.quarters for mv in inst.moves):
        return None
    starts = {mv.process: 0 for mv in inst.moves}
    return evaluate_roadmap(inst, starts, constraints=False).npv_cents


# --------------------------------------------------------------------------------------------
# The CP-SAT model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoadmapConfig:
    """How to run CP-SAT on the roadmap.

    Attributes:
        time_limit_s: Wall-clock limit in seconds.
        workers: Search workers.
        seed: Random seed.
        gap_limit: Stop when (objective − bound) / objective ≤ this (0 = prove optimality).
    """

    time_limit_s: float = 60.0
    workers: int = 2
    seed: int = 0
    gap_limit: float = 0.0


@dataclass(frozen=True)
class RoadmapResult:
    """Outcome of scheduling one plan.

    Attributes:
        status: `optimal`, `feasible` (limit hit with a roadmap), `infeasible` or `unknown`.
        starts: Start quarter per moving process, or None.
        npv_cents: Discounted cost of the roadmap (the evaluator's total), or None.
        bound_cents: CP-SAT's best lower bound, or None.
        gap: (npv − bound) / npv, or None.
        seconds: Wall-clock seconds in the solver.
        variables: Model size (variables).
        explanation: The minimal set of conflicting rules when infeasible (lines in words).
        constraints: Their names (`horizon:P1`, `not_before:P1`, `max_parallel`, …).
    """

    status: Status
    starts: dict[str, int] | None
    npv_cents: int | None
    bound_cents: int | None
    gap: float | None
    seconds: float
    variables: int = 0
    explanation: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()

    def text(self) -> str:
        """The explanation as printed and written to `infeasibility.txt`."""
        head = "The transition roadmap is infeasible: these rules cannot all hold together:"
        return "\n".join([head, *(f"  - {line}" for line in self.explanation)]) + "\n"


class _RoadmapModel:
    """Builds the CP-SAT model; in explanation mode every named rule gets a literal."""

    def __init__(self, inst: RoadmapInstance, explain: bool) -> None:
        from ortools.sat.python import cp_model  # noqa: PLC0415 - imported on first use

        self.inst = inst
        self.explain = explain
        self.m = cp_model.CpModel()
        self.groups: dict[str, str] = {}
        self.literals: dict[str, cp_model.IntVar] = {}
        self.x: dict[str, dict[int, cp_model.IntVar]] = {}
        self.start: dict[str, cp_model.IntVar] = {}
        self.infeasible_domain = False
        self.objective: list = []
        self._build()

    def _named(self, name: str, text: str, ct: object) -> None:
        if not self.explain:
            return
        if name not in self.literals:
            self.groups[name] = text
            self.literals[name] = self.m.new_bool_var(f"rule[{name}]")
        ct.only_enforce_if(self.literals[name])  # type: ignore[attr-defined]

    def _domain(self, mv: Move) -> range:
        nq = self.inst.quarters
        if self.explain:
            return range(nq)
        return range(mv.not_before, nq - mv.duration + 1)

    def _build(self) -> None:
        from ortools.sat.python import cp_model  # noqa: PLC0415

        inst, m = self.inst, self.m
        nq = inst.quarters
        years = inst.horizon_years
        budget: list[list] = [[] for _ in range(years)]
        # R1 one start per move (structural); the horizon as a named rule.
        for mv in inst.moves:
            dom = list(self._domain(mv))
            if not dom:
                self.infeasible_domain = True
                dom = [0]
            xs = self.x[mv.process] = {s: m.new_bool_var(f"x[{mv.process},{s}]") for s in dom}
            m.add_exactly_one(xs.values())
            sv = self.start[mv.process] = m.new_int_var(dom[0], dom[-1], f"s[{mv.process}]")
            m.add(sv == sum(s * v for s, v in xs.items()))
            if self.explain:
                self._named(
                    f"horizon:{mv.process}",
                    f"{mv.process}'s transition of {mv.duration} quarter(s) must end within "
                    f"the horizon of {nq} quarters ({inst.horizon_years} years)",
                    m.add(sv + mv.duration <= nq),
                )
                # R2 not_before.
                if mv.not_before > 0:
                    self._named(
                        f"not_before:{mv.process}",
                        f"{mv.process} may not start before quarter {mv.not_before}",
                        m.add(sv >= mv.not_before),
                    )
            elif not self.infeasible_domain:
                costs = {s: sum(inst.move_quarters(mv, s)) for s in dom}
                self.objective += [(c, xs[s]) for s, c in costs.items()]
            for s, v in xs.items():
                if s // 4 < years and mv.transition_cents:
                    budget[s // 4].append((mv.transition_cents, v))

        # R3/R4 capacity per quarter over x, and cumulative over intervals.
        def active(q: int) -> list[tuple[Move, object]]:
            return [
                (mv, v)
                for mv in inst.moves
                for s, v in self.x[mv.process].items()
                if s <= q < s + mv.duration
            ]

        intervals = {
            mv.process: m.new_fixed_size_interval_var(
                self.start[mv.process], mv.duration, f"move[{mv.process}]"
            )
            for mv in inst.moves
        }
        if inst.max_parallel is not None:
            text = f"at most {inst.max_parallel} process(es) in transition at once"
            for q in range(nq):
                terms = [v for _, v in active(q)]
                if len(terms) > inst.max_parallel:
                    self._named("max_parallel", text, m.add(sum(terms) <= inst.max_parallel))
            if not self.explain and inst.moves:
                m.add_cumulative(list(intervals.values()), [1] * len(intervals), inst.max_parallel)
        if inst.fte_cap_centi is not None:
            cap = inst.fte_cap_centi
            text = f"at most {fte_text(cap)} FTE in transition at once"
            for q in range(nq):
                terms = [(mv.fte_centi, v) for mv, v in active(q) if mv.fte_centi]
                if sum(c for c, _ in terms) > cap:
                    self._named("fte_cap", text, m.add(sum(c * v for c, v in terms) <= cap))
            if not self.explain and inst.moves:
                m.add_cumulative(list(intervals.values()), [mv.fte_centi for mv in inst.moves], cap)
        # R5 keep-together.
        for p, q in inst.together:
            self._named(
                f"together:{p}:{q}",
                f"{p} and {q} must move together (keep-together threshold)",
                m.add(self.start[p] == self.start[q]),
            )
        # Milestones.
        for ms in inst.milestones:
            ends = [
                self.start[p] + (0 if ms.rule == "first_start" else inst.move_by_id[p].duration)
                for p in ms.processes
            ]
            lo = 0 if ms.rule == "first_start" else 1
            # In explanation mode starts range over the whole horizon (the horizon is a named
            # rule), so e may lie beyond it; no unnamed bound may cut it.
            hi = nq + max(mv.duration for mv in inst.moves) if self.explain else nq
            e = m.new_int_var(lo, hi, f"e[{ms.id}]")
            if ms.rule == "last_end":
                m.add_max_equality(e, ends)
            else:
                m.add_min_equality(e, ends)
            ys = {k: m.new_bool_var(f"y[{ms.id},{k}]") for k in range(lo, hi + 1)}
            m.add_exactly_one(ys.values())
            m.add(e == sum(k * v for k, v in ys.items()))
            for k, v in ys.items():
                b = ms.booking(k)
                if b < nq and ms.one_time_cents and b // 4 < years:
                    budget[b // 4].append((ms.one_time_cents, v))
                if not self.explain and b < nq:
                    self.objective.append((sum(inst.milestone_quarters(ms, k)), v))
        # R6 one-time spend per study year.
        if inst.budget_cents is not None:
            for terms in budget:
                if sum(c for c, _ in terms) > inst.budget_cents:
                    self._named(
                        "budget",
                        f"one-time spend at most {money(inst.budget_cents)} per study year",
                        m.add(sum(c * v for c, v in terms) <= inst.budget_cents),
                    )
        if not self.explain:
            m.minimize(
                cp_model.LinearExpr.weighted_sum(
                    [v for _, v in self.objective], [c for c, _ in self.objective]
                )
                + sum(inst.fixed_quarters)
            )


Explained = tuple[tuple[str, ...], tuple[str, ...]]
"""(lines in business words, rule names) of an infeasible roadmap."""


def _counting_conflict(inst: RoadmapInstance) -> Explained | None:
    """Conflicts that counting shows at once, named like the model's rules (or None).

    A move that cannot fit before the horizon's end; capacity 0; more transition quarters
    (or FTE-quarters) than the capacity offers over the whole horizon. Checked before CP-SAT's
    deletion filter, which needs one solve per rule and is slow on hundreds of moves.
    """
    nq, years = inst.quarters, inst.horizon_years
    for mv in inst.moves:
        horizon = (
            f"{mv.process}'s transition of {mv.duration} quarter(s) must end within the horizon "
            f"of {nq} quarters ({years} years)"
        )
        if mv.duration > nq:
            return (horizon,), (f"horizon:{mv.process}",)
        if mv.not_before + mv.duration > nq:
            return (
                (horizon, f"{mv.process} may not start before quarter {mv.not_before}"),
                (f"horizon:{mv.process}", f"not_before:{mv.process}"),
            )
    need = sum(mv.duration for mv in inst.moves)
    k = inst.max_parallel
    if k is not None and need > 0 and k == 0:
        return ("at most 0 process(es) in transition at once",), ("max_parallel",)
    if k is not None and need > k * nq:
        return (
            (
                f"at most {k} process(es) in transition at once",
                f"all {len(inst.moves)} moves must end within the horizon of {nq} quarters "
                f"({years} years): together they need {need} quarters of transition, and at "
                f"most {k} × {nq} = {k * nq} fit",
            ),
            ("max_parallel", "horizon"),
        )
    cap = inst.fte_cap_centi
    if cap is not None:
        cap_text = f"at most {fte_text(cap)} FTE in transition at once"
        for mv in inst.moves:
            if mv.fte_centi > cap:
                return (f"{cap_text} ({mv.process} alone moves {fte_text(mv.fte_centi)})",), (
                    "fte_cap",
                )
        load = sum(mv.fte_centi * mv.duration for mv in inst.moves)
        if load > cap * nq:
            return (
                (
                    cap_text,
                    f"all {len(inst.moves)} moves must end within the horizon of {nq} quarters "
                    f"({years} years): together they need {fte_text(load)} FTE-quarters, and "
                    f"at most {fte_text(cap * nq)} fit",
                ),
                ("fte_cap", "horizon"),
            )
    return None


def _explain(inst: RoadmapInstance, time_limit_s: float) -> Explained:
    """A minimal set of named rules that cannot hold together (counting, else deletion filter).

    A check that runs out of time keeps its rule in the set (then the set may not be minimal).
    """
    from ortools.sat.python import cp_model  # noqa: PLC0415

    from optimize.explain import _check  # noqa: PLC0415 - the sourcing model's core check

    counted = _counting_conflict(inst)
    if counted is not None:
        return counted
    built = _RoadmapModel(inst, explain=True)
    order = list(built.groups)
    status, core = _check(built, order, time_limit_s)  # type: ignore[arg-type]
    if status != cp_model.INFEASIBLE:
        lines = (
            "no roadmap satisfies all scheduling rules, but isolating the conflicting ones took "
            f"longer than {time_limit_s:g} s; the rules in force:",
            *(built.groups[n] for n in order),
        )
        return lines, tuple(order)
    current = [n for n in order if n in set(core)]
    for name in list(current):
        if name not in current:
            continue
        trial = [n for n in current if n != name]
        st, sub = _check(built, trial, time_limit_s)  # type: ignore[arg-type]
        if st == cp_model.INFEASIBLE:
            current = [n for n in trial if n in set(sub)]
    return tuple(built.groups[n] for n in current), tuple(current)


def solve_roadmap(inst: RoadmapInstance, config: RoadmapConfig | None = None) -> RoadmapResult:
    """Find the roadmap of minimum discounted cost (or explain why none exists).

    Args:
        inst: The roadmap instance.
        config: Solver settings.

    Returns:
        The status, the start quarters and their NPV (re-priced by `evaluate_roadmap`, which
        must equal CP-SAT's objective), or the conflicting rules when infeasible.

    Raises:
        RuntimeError: CP-SAT's objective differs from the evaluator's total (a bug).
    """
    import time  # noqa: PLC0415

    from ortools.sat.python import cp_model  # noqa: PLC0415

    config = config or RoadmapConfig()
    began = time.perf_counter()
    if not inst.moves:
        npv = evaluate_roadmap(inst, {}).npv_cents
        return RoadmapResult("optimal", {}, npv, npv, 0.0, 0.0)
    counted = _counting_conflict(inst)
    if counted is not None:  # no solve needed: counting names the conflict
        lines, names = counted
        return RoadmapResult("infeasible", None, None, None, None, 0.0, 0, lines, names)
    built = _RoadmapModel(inst, explain=False)
    variables = len(built.m.proto.variables)
    code = cp_model.INFEASIBLE
    solver = cp_model.CpSolver()
    if not built.infeasible_domain:
        solver.parameters.max_time_in_seconds = config.time_limit_s
        solver.parameters.num_workers = config.workers
        solver.parameters.random_seed = config.seed
        if config.gap_limit > 0:
            solver.parameters.relative_gap_limit = config.gap_limit
        code = solver.solve(built.m)
    seconds = time.perf_counter() - began
    if code == cp_model.INFEASIBLE:
        lines, names = _explain(inst, max(config.time_limit_s, 10.0))
        return RoadmapResult("infeasible", None, None, None, None, seconds, variables, lines, names)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return RoadmapResult("unknown", None, None, None, None, seconds, variables)
    starts = {p: int(solver.value(v)) for p, v in built.start.items()}
    ev = evaluate_roadmap(inst, starts)
    objective = round(solver.objective_value)
    if not ev.feasible or ev.npv_cents != objective:
        raise RuntimeError(
            f"roadmap: CP-SAT objective {objective} ≠ evaluator {ev.npv_cents} "
            f"or infeasible ({'; '.join(ev.violations)})"
        )
    bound = min(objective, int(-(-solver.best_objective_bound // 1)))
    status: Status = "optimal" if code == cp_model.OPTIMAL and bound == objective else "feasible"
    gap = 0.0 if status == "optimal" else (objective - bound) / max(1, abs(objective))
    return RoadmapResult(status, starts, objective, bound, gap, seconds, variables)


# --------------------------------------------------------------------------------------------
# From a sourcing plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransitionSettings:
    """The cost file's roadmap keys.

    Attributes:
        durations: `offers[].transition_quarters` by (process, provider); default 1.
        not_before: `processes[].not_before` by process; default 0.
        dual_running_share: `study.transition.dual_running_share` (default 0.5).
        max_parallel: `study.transition.max_parallel`; None = unlimited.
        budget_per_year: `study.transition.budget_per_year` (currency units); None = none.
        fte_cap: `study.transition.fte_cap`, FTE in transition at once; None = the sourcing
            model's `study.transition_fte_cap` (a cap on all FTE moved, so it never binds
            per quarter for a plan that respects it).
    """

    durations: Mapping[tuple[str, str], int] = field(default_factory=dict)
    not_before: Mapping[str, int] = field(default_factory=dict)
    dual_running_share: float = 0.5
    max_parallel: int | None = None
    budget_per_year: float | None = None
    fte_cap: float | None = None


def transition_settings(costs: CostFile) -> TransitionSettings:
    """The roadmap keys of a validated cost file."""
    t = costs.study.transition
    return TransitionSettings(
        durations={(o.process, o.provider): o.transition_quarters for o in costs.offers},
        not_before={p.id: p.not_before for p in costs.processes if p.not_before},
        dual_running_share=t.dual_running_share,
        max_parallel=t.max_parallel,
        budget_per_year=t.budget_per_year,
        fte_cap=t.fte_cap,
    )


def build_roadmap(
    instance: Instance, plan: Plan, settings: TransitionSettings | None = None
) -> RoadmapInstance:
    """The roadmap instance of a sourcing plan.

    SQ_p is the process's in-house cost; PC_p its plan run-rate: retained cost plus the offer's
    fees after the rebate of the provider's tier in the plan and governance (the per-process
    plan cost of `sourcing_plan.csv` without the annualised transition cost). Milestones: each
    contracted provider (set-up, vendor management), each system the plan transfers or
    retires (status-quo run cost → takeover fee or nothing; migration or decommissioning
    cost), each coupling the plan splits (coordination; interface cost).

    Args:
        instance: The sourcing study.
        plan: The plan to implement (a feasible one).
        settings: The roadmap keys of the cost file (defaults when None).

    Returns:
        The roadmap instance.
    """
    from optimize.evaluate import evaluate  # noqa: PLC0415

    settings = settings or TransitionSettings()
    study = instance.study
    ev = evaluate(instance, plan)
    tier_bp = {pv.provider: pv.rebate_bp for pv in ev.per_provider}
    assign = {p.id: plan.assignment.get(p.id, IN_HOUSE) for p in instance.processes}
    moves: list[Move] = []
    fixed = 0
    for p in instance.processes:
        vid = assign[p.id]
        if vid == IN_HOUSE:
            fixed += p.inhouse_total_cents
            continue
        o = instance.offer(p.id, vid)
        spend = instance.offer_spend_cents(o) if o else 0
        run = p.retained_cents + item_cost(spend, tier_bp.get(vid, 0), study.governance_bp)
        moves.append(
            Move(
                process=p.id,
                provider=vid,
                duration=int(settings.durations.get((p.id, vid), 1)),
                not_before=int(settings.not_before.get(p.id, 0)),
                fte_centi=p.fte_centi,
                status_quo_cents=p.inhouse_total_cents,
                run_rate_cents=run,
                transition_cents=o.transition_cents if o else 0,
            )
        )
    moving = {mv.process for mv in moves}
    milestones: list[Milestone] = []
    for pv in ev.per_provider:
        v = instance.provider_by_id[pv.provider]
        milestones.append(
            Milestone(
                id=f"provider:{v.id}",
                label=f"{v.id} contracted (set-up, vendor management)",
                rule="first_start",
                processes=tuple(p for p in pv.processes if p in moving),
                after_cents=v.management_cost_cents,
                one_time_cents=v.setup_cost_cents,
            )
        )
    for s in instance.systems:
        d = plan.systems.get(s.id, "keep")
        users = tuple(u for u in instance.users.get(s.id, ()) if u in moving)
        if d == "keep":
            fixed += s.run_cost_cents
            continue
        if d == "retire":
            after, once, label = 0, s.decommission_cost_cents, f"{s.id} retired"
        else:
            vid = d.split(":", 1)[1]
            t = instance.provider_by_id[vid].takeover_terms(s.id)
            fee = t.annual_fee_cents if t else 0
            after = item_cost(fee, tier_bp.get(vid, 0), study.governance_bp)
            once = t.migration_cost_cents if t else 0
            label = f"{s.id} taken over by {vid}"
        if not users:  # nobody moves with it: it changes at the start of the study
            fixed += after
            continue
        milestones.append(
            Milestone(
                id=f"system:{s.id}",
                label=label,
                rule="last_end",
                processes=users,
                before_cents=s.run_cost_cents,
                after_cents=after,
                one_time_cents=once,
            )
        )
    together: list[tuple[str, str]] = []
    for c in instance.couplings:
        if c.p not in assign or c.q not in assign or c.p == c.q:
            continue
        if assign[c.p] == assign[c.q]:
            if c.p in moving and c.q in moving and instance.must_keep_together(c):
                together.append((c.p, c.q))
            continue
        members = tuple(x for x in (c.p, c.q) if x in moving)
        milestones.append(
            Milestone(
                id=f"coupling:{c.p}|{c.q}",
                label=f"handovers {c.p} ↔ {c.q} cross the company boundary",
                rule="first_end",
                processes=members,
                after_cents=instance.coordination_cents(c),
                one_time_cents=c.interface_cost_cents,
            )
        )
    budget = settings.budget_per_year
    return RoadmapInstance(
        moves=tuple(moves),
        milestones=tuple(ms for ms in milestones if ms.processes),
        horizon_years=study.horizon_years,
        discount_rate=exact(study.discount_rate),
        dual_running_bp=round_half_up(exact(settings.dual_running_share) * BP),
        max_parallel=settings.max_parallel,
        fte_cap_centi=study.transition_fte_cap_centi
        if settings.fte_cap is None
        else round_half_up(exact(settings.fte_cap) * 100),
        budget_cents=None if budget is None else round_half_up(exact(budget) * 100),
        together=tuple(together),
        fixed_cents=fixed,
        currency=study.currency,
    )


def payback_quarter(saving_by_quarter: Sequence[int | Fraction]) -> int | None:
    """First quarter from whose end on the cumulative saving stays ≥ 0; None if it ends < 0."""
    total = 0
    cumulative = []
    for value in saving_by_quarter:
        total += value
        cumulative.append(total)
    if not cumulative or cumulative[-1] < 0:
        return None
    q = len(cumulative) - 1
    while q > 0 and cumulative[q - 1] >= 0:
        q -= 1
    return q
