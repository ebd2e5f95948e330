"""The CP-SAT model of docs/sourcing-model.md §3–§5: cost-minimal split of processes and systems.

Formulation (all money integer cents per year; one-time items annualised one by one with
`Study.annualise`; shares in basis points, BP = 10 000):

  Sets      P processes, V providers, S systems, O_p = {in} ∪ {v : v has an offer for p}.
  Decisions x[p,o] ∈ {0,1}            p run by option o
            u[v] ∈ {0,1}              v contracted
            z[v,k] ∈ {0,1}            rebate tier k of v active
            w[i,v,k] ∈ {0,1}          invoice item i of v (an offer x[p,v] or a takeover y[s,v])
                                      taken under tier k
            keep[s], retire[s], y[s,v] s kept / decommissioned / transferred to v
            g[p,q] ∈ {0,1}            coupled p, q run by different parties
  Derived   Spend_v = Σ_p S_pv·x[p,v] + Σ_s fee_sv·y[s,v]       S_pv = round(price·N_p) + fixed
            K_ik    = item_cost(S_i, r_k, γ) = net_ik + round(γ·net_ik/BP),
                      net_ik = S_i − round(r_k·S_i/BP)      (rebate, governance rounded per item)
            Risk    = Σ risk_pv·x[p,v] + Σ risk_v·u[v]
  Objective min  Σ_p (C_p + other_p)·x[p,in] + Σ_p ρC_p·(1 − x[p,in])
               + Σ_v (Σ_{i,k} K_ik·w[i,v,k] + G_v·u[v] + A(setup_v)·u[v])
               + Σ_s (Run_s·keep[s] + A(D_s)·retire[s] + Σ_v A(M_sv)·y[s,v])
               + Σ_{p,v} A(T_pv)·x[p,v] + Σ_{pq} (round(ι·c_pq) + A(I_pq))·g[p,q]
               + [risk mode objective] Σ_items round(λ·risk_item / BP)
  C1  Σ_o x[p,o] = 1.
  C2  x[p,v] = 0 if p core | no offer | v's location not allowed | certification missing |
      SLA hours > target — one named group per reason (no offer: no variable, except in
      explanation mode where it is a named group too).
  C3  x[p,v] ≤ u[v] ≤ Σ_p x[p,v];  y[s,v] ≤ u[v].
  C4  Σ_v u[v] ≤ max_providers.
  C5  Σ_p N_p·x[p,v] ≤ cap_cases_v;  Σ_p FTE_p·x[p,v] ≤ cap_fte_v (hundredths).
  C6  Spend_v ≥ min_value_v·u[v].
  C7  Σ_k z[v,k] = 1;  Σ_k w[i,v,k] = item i taken;  w[i,v,k] ≤ z[v,k];
      Σ_i S_i·w[i,v,k] ≥ min_spend_k·z[v,k] (all-units: the active tier's threshold holds on
      the whole spend). Disaggregated per item, so the LP relaxation cannot buy a rebate with a
      fractional z; tiers above the largest possible spend are dropped.
  C8  BP·Σ_p N_p·x[p,v] ≤ θ_v·Σ_p N_p (share of all cases of the study).
  C9  keep[s] + retire[s] + Σ_v y[s,v] = 1.
  C10 takeover of s in p's offer from v: x[p,v] ≤ y[s,v];  access (or system used but not
      named): x[p,v] ⇒ ¬retire[s];  own_platform: nothing.
  C11 every in-house user q of s: x[q,in] ⇒ ¬retire[s];  all_or_nothing: y[s,v] ≤ x[q,v] for
      every user q (so an in-house user forces keep);  not_movable: y[s,v] = 0;
      retire[s] = 0 unless s is retirable.
  C12 g[p,q] = 1 − Σ_o x[p,o]·x[q,o] (exact, via same[p,q,o]);  keep-together: g[p,q] = 0.
  C13 Risk ≤ R_max;  Σ_p FTE_p·x[p,in] ≤ inhouse_fte_cap;  Σ_p FTE_p·(1 − x[p,in]) ≤
      transition_fte_cap.
  Analyses add: forced options x[p,o] = 1, forbidden offers x[p,v] = 0, a risk cap (ε).

Every business rule is added under a named group (`Group`), so that `optimize.explain` can
rebuild the model with one enforcement literal per group. C1, C3, C7, C9, C10 and C12's
definition of g are structural and always hard.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from optimize.instance import BP, IN_HOUSE, Instance, Plan, bp_of, item_cost

if TYPE_CHECKING:  # OR-Tools is imported on first use: `bpo mine` never solves
    from ortools.sat.python import cp_model

Status = Literal["optimal", "feasible", "infeasible", "unknown"]


@dataclass(frozen=True)
class SolverConfig:
    """How to run CP-SAT.

    Attributes:
        time_limit_s: Wall-clock limit in seconds.
        workers: Number of search workers.
        seed: Random seed (CP-SAT `random_seed`).
        hint: A plan to hint (every decision variable), e.g. the previous optimum.
        safe_presolve: Work around a CP-SAT 9.15 presolve bug (seen on the 1,000-process
            benchmark, like google/or-tools#5274: presolve turns a model whose complete hint —
            even the status quo — is feasible into an infeasible one) by switching off the
            presolve step that breaks it (inclusion detection, `presolve_inclusion_work_limit
            = 0`), and by re-checking any INFEASIBLE verdict with presolve off.
        gap_limit: Stop as soon as (objective − bound) / objective ≤ this (0 = prove
            optimality). A run stopped by it reports `feasible` with its gap unless the bound
            met the objective.
    """

    time_limit_s: float = 60.0
    workers: int = 2
    seed: int = 0
    hint: Plan | None = None
    safe_presolve: bool = True
    gap_limit: float = 0.0


@dataclass(frozen=True)
class ModelSize:
    """Size of the CP-SAT model.

    Attributes:
        variables: Number of variables.
        constraints: Number of constraints.
    """

    variables: int
    constraints: int


@dataclass(frozen=True)
class SolveResult:
    """Outcome of one solve.

    Attributes:
        status: `optimal`, `feasible` (time limit or `SolverConfig.gap_limit` hit with a plan;
            see `gap`), `infeasible`, or `unknown` (time limit hit without any plan).
        plan: The best plan found, or None.
        objective_cents: Its annual cost in cents (equals the evaluator's total), or None.
        bound_cents: Best proven lower bound in cents, or None.
        gap: Relative gap (objective − bound) / objective, or None.
        seconds: Wall-clock seconds spent in the solver.
        size: Model size.
    """

    status: Status
    plan: Plan | None
    objective_cents: int | None
    bound_cents: int | None
    gap: float | None
    seconds: float
    size: ModelSize


@dataclass(frozen=True)
class Restrictions:
    """Extra constraints used by analyses (each a named group, so explanations name them).

    Attributes:
        force: Option forced per process (`in_house` or a provider id).
        forbid: Offers (process, provider) that may not be taken.
        risk_cap_cents: Upper bound on Risk (ε of the ε-constraint method).
        cost_cap_cents: Upper bound on the annual cost (second stage of the ε-constraint).
        minimise: `cost` (docs/sourcing-model.md §4) or `risk` (Pareto front, second stage).
    """

    force: Mapping[str, str] = field(default_factory=dict)
    forbid: tuple[tuple[str, str], ...] = ()
    risk_cap_cents: int | None = None
    cost_cap_cents: int | None = None
    minimise: Literal["cost", "risk"] = "cost"


@dataclass(frozen=True)
class Group:
    """A named group of constraints (one business rule), for explanations.

    Attributes:
        name: Stable id, e.g. `core:P1`, `location:P2:A`, `min_value:B`, `inhouse_fte_cap`.
        text: The rule in business words.
        weak: True for groups that explain little on their own (`no_offer`); the explanation
            uses them only when the other rules alone are consistent.
    """

    name: str
    text: str
    weak: bool = False


def money(cents: int) -> str:
    """Format cents as currency units with thousands separators (`100,000` or `1,234.50`)."""
    sign = "-" if cents < 0 else ""
    c = abs(cents)
    if c % 100 == 0:
        return f"{sign}{c // 100:,}"
    return f"{sign}{c // 100:,}.{c % 100:02d}"


def fte_text(centi: int) -> str:
    """Format hundredths of an FTE (`400` → `4.0`, `250` → `2.5`, `233` → `2.33`)."""
    return f"{centi / 100:.1f}" if centi % 10 == 0 else f"{centi / 100:.2f}"


class _Model:
    """Builds the CP-SAT model; in explanation mode every group gets an enforcement literal."""

    def __init__(self, inst: Instance, restrictions: Restrictions, explain: bool) -> None:
        self.inst = inst
        self.r = restrictions
        self.explain = explain
        from ortools.sat.python import cp_model  # noqa: PLC0415 - imported on first use

        self.m = cp_model.CpModel()
        self.groups: dict[str, Group] = {}
        self.literals: dict[str, cp_model.IntVar] = {}
        self.x: dict[tuple[str, str], cp_model.IntVar] = {}
        self.u: dict[str, cp_model.IntVar] = {}
        self.z: dict[tuple[str, int], cp_model.IntVar] = {}
        self.keep: dict[str, cp_model.IntVar] = {}
        self.retire: dict[str, cp_model.IntVar] = {}
        self.y: dict[tuple[str, str], cp_model.IntVar] = {}
        self.g: dict[tuple[str, str], cp_model.IntVar] = {}
        self.objective: list = []
        self._build()

    # -- helpers ---------------------------------------------------------------------------
    def _add(self, name: str, text: str, ct: cp_model.Constraint, weak: bool = False) -> None:
        """Attach constraint `ct` to group `name` (enforced by its literal in explain mode)."""
        if not self.explain:
            return
        if name not in self.literals:
            self.groups[name] = Group(name, text, weak)
            self.literals[name] = self.m.new_bool_var(f"grp[{name}]")
        ct.only_enforce_if(self.literals[name])

    def _bool(self, name: str) -> cp_model.IntVar:
        return self.m.new_bool_var(name)

    # -- the formulation -------------------------------------------------------------------
    def _build(self) -> None:
        inst, m, r = self.inst, self.m, self.r
        study = inst.study
        procs = inst.processes
        total_cases = sum(p.cases_per_year for p in procs)

        # Decision variables x[p,o] (C1, C2 "no offer" is structural outside explanations).
        for p in procs:
            self.x[p.id, IN_HOUSE] = self._bool(f"x[{p.id},in]")
            for v in inst.providers:
                if inst.offer(p.id, v.id) is not None or self.explain:
                    self.x[p.id, v.id] = self._bool(f"x[{p.id},{v.id}]")
        # C1 each process has exactly one option.
        for p in procs:
            m.add_exactly_one(self._options(p.id))

        # C2 eligibility, one named group per reason.
        for p in procs:
            for v in inst.providers:
                xv = self.x.get((p.id, v.id))
                if xv is None:
                    continue
                reasons = inst.ineligibility(p.id, v.id)
                for reason in reasons:
                    name, text, weak = self._eligibility_group(p.id, v.id, reason)
                    ct = m.add(xv == 0)
                    if self.explain:
                        self._add(name, text, ct, weak)
        # Analyses: forced options and forbidden offers.
        for pid, opt in r.force.items():
            var = self.x.get((pid, opt))
            who = "in-house" if opt == IN_HOUSE else f"to {opt}"
            name, text = f"force:{pid}:{opt}", f"{pid} is forced {who}"
            if var is None:
                var = self._bool(f"x[{pid},{opt}]?")  # an option that does not exist
                m.add(var == 0)
            self._add(name, text, m.add(var == 1))
        for pid, vid in r.forbid:
            var = self.x.get((pid, vid))
            if var is not None:
                self._add(
                    f"forbid:{pid}:{vid}", f"{vid}'s offer for {pid} is excluded", m.add(var == 0)
                )

        # C3 provider contracted iff it runs at least one process.
        for v in inst.providers:
            xs = [self.x[p.id, v.id] for p in procs if (p.id, v.id) in self.x]
            uv = self.u[v.id] = self._bool(f"u[{v.id}]")
            for xv in xs:
                m.add_implication(xv, uv)
            m.add(uv <= sum(xs))
        # C4 maximum number of providers.
        if study.max_providers is not None:
            ct = m.add(sum(self.u.values()) <= study.max_providers)
            self._add("max_providers", f"at most {study.max_providers} provider(s)", ct)

        # C9 system decisions (y only where a transfer to v is conceivable).
        for s in inst.systems:
            self.keep[s.id] = self._bool(f"keep[{s.id}]")
            self.retire[s.id] = self._bool(f"retire[{s.id}]")
            for v in inst.providers:
                named = any(o.provider == v.id and o.mode(s.id) == "takeover" for o in inst.offers)
                if v.takeover_terms(s.id) is not None or named:
                    self.y[s.id, v.id] = self._bool(f"y[{s.id},{v.id}]")
            ys = [self.y[s.id, v.id] for v in inst.providers if (s.id, v.id) in self.y]
            m.add_exactly_one([self.keep[s.id], self.retire[s.id], *ys])
            for v in inst.providers:
                if (s.id, v.id) in self.y:
                    m.add_implication(self.y[s.id, v.id], self.u[v.id])

        # C10 IT mode of each offer taken; C11 users and system policies.
        for p in procs:
            for v in inst.providers:
                xv = self.x.get((p.id, v.id))
                if xv is None:
                    continue
                o = inst.offer(p.id, v.id)
                named = {s for s, _ in o.it} if o is not None else set()
                for sid in sorted(set(p.systems) | named):
                    mode = o.mode(sid) if o is not None else "access"
                    if mode == "takeover":
                        m.add_implication(xv, self.y[sid, v.id])
                    elif mode == "access":
                        m.add_implication(xv, self.retire[sid].Not())
            for sid in p.systems:
                m.add_implication(self.x[p.id, IN_HOUSE], self.retire[sid].Not())
        for s in inst.systems:
            users = inst.users.get(s.id, ())
            for v in inst.providers:
                ysv = self.y.get((s.id, v.id))
                if ysv is None:
                    continue
                if s.policy == "not_movable":
                    self._add(f"not_movable:{s.id}", f"{s.id} is not movable", m.add(ysv == 0))
                elif s.policy == "all_or_nothing":
                    text = f"{s.id} moves only with all its users ({', '.join(users)})"
                    for q in users:
                        xq = self.x.get((q, v.id))
                        ct = m.add(ysv == 0) if xq is None else m.add(ysv <= xq)
                        self._add(f"all_or_nothing:{s.id}", text, ct)
            if not s.retirable:
                m.add(self.retire[s.id] == 0)

        # Provider spend, C5 capacity, C6 minimum value, C7 tiers, C8 concentration.
        for v in inst.providers:
            uv = self.u[v.id]
            items: list[tuple[int, cp_model.IntVar, str]] = []  # (annual spend, taken, name)
            cases = []
            fte = []
            for p in procs:
                xv = self.x.get((p.id, v.id))
                if xv is None:
                    continue
                o = inst.offer(p.id, v.id)
                items.append((inst.offer_spend_cents(o) if o else 0, xv, p.id))
                cases.append((p.cases_per_year, xv))
                fte.append((p.fte_centi, xv))
            for s in inst.systems:
                ysv = self.y.get((s.id, v.id))
                if ysv is not None:
                    t = v.takeover_terms(s.id)
                    items.append((t.annual_fee_cents if t else 0, ysv, s.id))
            max_spend = sum(c for c, _, _ in items)
            spend = sum(c * var for c, var, _ in items)
            # C5 capacity in cases and in FTE.
            if v.capacity_cases is not None:
                ct = m.add(sum(n * var for n, var in cases) <= v.capacity_cases)
                self._add(
                    f"capacity:{v.id}", f"{v.id}'s capacity {v.capacity_cases:,} cases/yr", ct
                )
            if v.capacity_fte_centi is not None:
                ct = m.add(sum(f * var for f, var in fte) <= v.capacity_fte_centi)
                self._add(
                    f"capacity_fte:{v.id}",
                    f"{v.id}'s capacity {fte_text(v.capacity_fte_centi)} FTE",
                    ct,
                )
            # C6 minimum annual value.
            if v.min_annual_value_cents > 0:
                ct = m.add(spend >= v.min_annual_value_cents * uv)
                self._add(f"min_value:{v.id}", self._min_value_text(v.id), ct)
            # C8 concentration.
            if v.max_volume_share_bp is not None:
                ct = m.add(
                    BP * sum(n * var for n, var in cases) <= v.max_volume_share_bp * total_cases
                )
                self._add(
                    f"concentration:{v.id}",
                    f"{v.id} may handle at most {v.max_volume_share_bp / 100:g} % of all cases",
                    ct,
                )
            # C7 all-units rebate tiers, disaggregated per item: item i taken under tier k
            # (w[i,k]) costs item_cost(spend_i, r_k, γ) — rebate and governance rounded per
            # item, exactly as the evaluator does. Only one tier is active per provider, and the
            # active tier's threshold holds on the provider's whole spend.
            tiers = v.tiers
            usable = [k for k, t in enumerate(tiers) if t.min_spend_cents <= max_spend]
            if len(usable) == 1:
                (k,) = usable
                self.z[v.id, k] = m.new_constant(1)
                for c, var, _ in items:
                    cost = item_cost(c, tiers[k].rebate_bp, study.governance_bp)
                    if cost:
                        self.objective.append(cost * var)
            else:
                zs = []
                per_tier: dict[int, list[tuple[int, cp_model.IntVar]]] = {k: [] for k in usable}
                for k in usable:
                    zs.append(self.z.setdefault((v.id, k), self._bool(f"z[{v.id},{k}]")))
                m.add_exactly_one(zs)
                for c, var, name in items:
                    ws = []
                    for k in usable:
                        w = self._bool(f"w[{name},{v.id},{k}]")
                        m.add_implication(w, self.z[v.id, k])
                        ws.append(w)
                        per_tier[k].append((c, w))
                        cost = item_cost(c, tiers[k].rebate_bp, study.governance_bp)
                        if cost:
                            self.objective.append(cost * w)
                    m.add(sum(ws) == var)
                for k in usable:
                    if tiers[k].min_spend_cents > 0:
                        m.add(
                            sum(c * w for c, w in per_tier[k])
                            >= tiers[k].min_spend_cents * self.z[v.id, k]
                        )
            fixed = v.management_cost_cents + study.annualise(v.setup_cost_cents)
            if fixed:
                self.objective.append(fixed * uv)

        # In-house labour and retained organisation; transition (annualised).
        for p in procs:
            self.objective.append(p.retained_cents)
            self.objective.append(
                (p.inhouse_total_cents - p.retained_cents) * self.x[p.id, IN_HOUSE]
            )
            for v in inst.providers:
                o = inst.offer(p.id, v.id)
                if o is not None and o.transition_cents:
                    self.objective.append(study.annualise(o.transition_cents) * self.x[p.id, v.id])

        # Systems: run, decommissioning, migration.
        for s in inst.systems:
            self.objective.append(s.run_cost_cents * self.keep[s.id])
            if s.decommission_cost_cents:
                self.objective.append(
                    study.annualise(s.decommission_cost_cents) * self.retire[s.id]
                )
            for v in inst.providers:
                ysv = self.y.get((s.id, v.id))
                t = v.takeover_terms(s.id)
                if ysv is not None and t is not None and t.migration_cost_cents:
                    self.objective.append(study.annualise(t.migration_cost_cents) * ysv)

        # C12 couplings.
        for c in inst.couplings:
            if c.p not in inst.process_by_id or c.q not in inst.process_by_id or c.p == c.q:
                continue
            key = (c.p, c.q)
            gpq = self.g[key] = self._bool(f"g[{c.p},{c.q}]")
            sames = []
            for o in self._option_ids(c.p):
                if (c.q, o) not in self.x:
                    continue
                a, b = self.x[c.p, o], self.x[c.q, o]
                same = self._bool(f"same[{c.p},{c.q},{o}]")
                m.add_implication(same, a)
                m.add_implication(same, b)
                m.add(same >= a + b - 1)
                sames.append(same)
            m.add(gpq == 1 - sum(sames))
            if inst.must_keep_together(c):
                self._add(
                    f"keep_together:{c.p}:{c.q}",
                    f"{c.p} and {c.q} must stay with one party "
                    f"({c.handovers_per_year:g} handovers/yr)",
                    m.add(gpq == 0),
                )
            cost = inst.coordination_cents(c) + study.annualise(c.interface_cost_cents)
            if cost:
                self.objective.append(cost * gpq)

        # C13 risk, in-house FTE cap, transition FTE cap.
        risk_terms = [(v.risk_cents, self.u[v.id]) for v in inst.providers if v.risk_cents]
        for (pid, vid), xv in self.x.items():
            o = inst.offer(pid, vid) if vid != IN_HOUSE else None
            if o is not None and o.risk_cents:
                risk_terms.append((o.risk_cents, xv))
        risk_hi = sum(c for c, _ in risk_terms)
        risk = m.new_int_var(0, risk_hi, "risk")
        m.add(risk == sum(c * var for c, var in risk_terms))
        self.risk = risk
        if study.risk_mode == "constraint" and study.risk_budget_cents is not None:
            self._add(
                "risk_budget",
                f"risk budget {money(study.risk_budget_cents)}/yr",
                m.add(risk <= study.risk_budget_cents),
            )
        if r.risk_cap_cents is not None:
            self._add(
                "risk_cap",
                f"risk at most {money(r.risk_cap_cents)}/yr",
                m.add(risk <= r.risk_cap_cents),
            )
        if study.risk_mode == "objective" and study.risk_weight_bp:
            # λ·risk, rounded per item like the evaluator.
            for c, var in risk_terms:
                self.objective.append(bp_of(c, study.risk_weight_bp) * var)
        if study.inhouse_fte_cap_centi is not None:
            ct = m.add(
                sum(p.fte_centi * self.x[p.id, IN_HOUSE] for p in procs)
                <= study.inhouse_fte_cap_centi
            )
            self._add(
                "inhouse_fte_cap", f"in-house FTE cap {fte_text(study.inhouse_fte_cap_centi)}", ct
            )
        if study.transition_fte_cap_centi is not None:
            ct = m.add(
                sum(p.fte_centi * (1 - self.x[p.id, IN_HOUSE]) for p in procs)
                <= study.transition_fte_cap_centi
            )
            self._add(
                "transition_fte_cap",
                f"at most {fte_text(study.transition_fte_cap_centi)} FTE moved in one wave",
                ct,
            )

        if r.cost_cap_cents is not None:
            self._add(
                "cost_cap",
                f"annual cost at most {money(r.cost_cap_cents)}",
                m.add(sum(self.objective) <= r.cost_cap_cents),
            )
        if not self.explain:
            m.minimize(risk if r.minimise == "risk" else sum(self.objective))

    def _option_ids(self, pid: str) -> list[str]:
        return [IN_HOUSE] + [v.id for v in self.inst.providers if (pid, v.id) in self.x]

    def _options(self, pid: str) -> list[cp_model.IntVar]:
        return [self.x[pid, o] for o in self._option_ids(pid)]

    def _eligibility_group(self, pid: str, vid: str, reason: str) -> tuple[str, str, bool]:
        inst = self.inst
        p, v = inst.process_by_id[pid], inst.provider_by_id[vid]
        if reason == "core":
            return f"core:{pid}", f"{pid} is core", False
        if reason == "no_offer":
            return f"no_offer:{pid}:{vid}", f"{vid} made no offer for {pid}", True
        if reason == "location":
            cls = f"class {p.data_class}, " if p.data_class else ""
            allowed = ", ".join(p.allowed_locations or ())
            return (
                f"location:{pid}:{vid}",
                f"{pid}'s data ({cls}allowed {allowed}) may not go to {vid} ({v.location})",
                False,
            )
        if reason == "certification":
            missing = sorted(set(p.required_certifications) - set(v.certifications))
            return (
                f"certification:{pid}:{vid}",
                f"{vid} lacks {', '.join(missing)} required for {pid}'s data",
                False,
            )
        o = inst.offer(pid, vid)
        return (
            f"sla:{pid}:{vid}",
            f"{vid}'s SLA of {o.sla_throughput_hours:g} h exceeds {pid}'s target of "
            f"{p.throughput_target_hours:g} h",
            False,
        )

    def _min_value_text(self, vid: str) -> str:
        v = self.inst.provider_by_id[vid]
        offers = [
            (o.process, self.inst.offer_spend_cents(o))
            for o in self.inst.offers
            if o.provider == vid
        ]
        head = f"{vid}'s minimum annual value {money(v.min_annual_value_cents)}"
        if not offers:
            return head
        total = sum(c for _, c in offers)
        listed = " + ".join(f"{pid}'s {money(c)}" for pid, c in offers)
        if total < v.min_annual_value_cents:
            return f"{head} > {listed}"
        return f"{head} (offers: {listed})"

    # -- hints and extraction --------------------------------------------------------------
    def hint(self, plan: Plan) -> None:
        """Hint every decision variable from `plan`."""
        for (pid, o), var in self.x.items():
            self.m.add_hint(var, int(plan.assignment.get(pid) == o))
        for sid in self.keep:
            d = plan.systems.get(sid, "keep")
            self.m.add_hint(self.keep[sid], int(d == "keep"))
            self.m.add_hint(self.retire[sid], int(d == "retire"))
        for (sid, vid), var in self.y.items():
            self.m.add_hint(var, int(plan.systems.get(sid) == f"transfer:{vid}"))
        used = set(plan.assignment.values())
        for vid, var in self.u.items():
            self.m.add_hint(var, int(vid in used))

    def extract(self, solver: cp_model.CpSolver) -> Plan:
        """Read the plan from a solved model."""
        assignment = {}
        for p in self.inst.processes:
            for o in self._option_ids(p.id):
                if solver.boolean_value(self.x[p.id, o]):
                    assignment[p.id] = o
        systems = {}
        for s in self.inst.systems:
            if solver.boolean_value(self.keep[s.id]):
                systems[s.id] = "keep"
            elif solver.boolean_value(self.retire[s.id]):
                systems[s.id] = "retire"
            else:
                for v in self.inst.providers:
                    ysv = self.y.get((s.id, v.id))
                    if ysv is not None and solver.boolean_value(ysv):
                        systems[s.id] = f"transfer:{v.id}"
        tiers = {}
        for v in self.inst.providers:
            if solver.boolean_value(self.u[v.id]):
                for k in range(len(v.tiers)):
                    zk = self.z.get((v.id, k))
                    if zk is not None and solver.value(zk) == 1:
                        tiers[v.id] = k
        return Plan(assignment=assignment, systems=systems, tiers=tiers)


def build_model(
    instance: Instance, restrictions: Restrictions | None = None, explain: bool = False
) -> _Model:
    """Build the CP-SAT model (for `solve`, and with `explain=True` for `optimize.explain`).

    Args:
        instance: The study.
        restrictions: Extra constraints of analyses (forced options, forbidden offers, ε).
        explain: One enforcement literal per named group, no objective, and a variable for
            every (process, provider) pair (missing offers become a weak named group).

    Returns:
        The built model wrapper (`.m` is the `CpModel`, `.groups`/`.literals` the groups).
    """
    return _Model(instance, restrictions or Restrictions(), explain)


_SMALL_PORTFOLIO = 3
"""Up to this many workers CP-SAT's default portfolio has no LP-heavy (`max_lp`) worker."""


def _solver(config: SolverConfig, presolve: bool) -> cp_model.CpSolver:
    from ortools.sat.python import cp_model  # noqa: PLC0415 - imported on first use

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = config.time_limit_s
    solver.parameters.num_workers = config.workers
    solver.parameters.random_seed = config.seed
    if config.gap_limit > 0:
        solver.parameters.relative_gap_limit = config.gap_limit
    # The LP relaxation of this model is tight (CP-SAT's root bound is 0.12 % below the optimum
    # on the 1,000-process benchmark; with the providers fixed, 0.001 %), but only with every
    # constraint linearised: CP-SAT's `default_lp` worker (linearisation level 1) leaves the
    # clauses out of its LP and its bound stalls ~9 % below (bench/README.md). Few workers get
    # no `max_lp` worker in CP-SAT's portfolio, so the full-problem workers are `max_lp`
    # (search with the full LP) and `objective_lb_search_max_lp` (raises the bound, which is
    # what proving optimality needs).
    if config.workers <= 1:
        solver.parameters.linearization_level = 2
    elif config.workers <= _SMALL_PORTFOLIO:
        solver.parameters.subsolvers.extend(["max_lp", "objective_lb_search_max_lp"])
        solver.parameters.num_full_subsolvers = 2
    if not presolve:
        solver.parameters.cp_model_presolve = False
    elif config.safe_presolve:
        solver.parameters.presolve_inclusion_work_limit = 0
    return solver


def _status(code: int) -> Status:
    from ortools.sat.python import cp_model  # noqa: PLC0415 - imported on first use

    statuses: dict[int, Status] = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
        cp_model.UNKNOWN: "unknown",
    }
    return statuses[code]


def solve(
    instance: Instance,
    config: SolverConfig | None = None,
    *,
    force: Mapping[str, str] | None = None,
    forbid: Iterable[tuple[str, str]] = (),
    risk_cap_cents: int | None = None,
    cost_cap_cents: int | None = None,
    minimise: Literal["cost", "risk"] = "cost",
) -> SolveResult:
    """Find the cost-minimal sourcing plan of docs/sourcing-model.md §3–§5.

    Args:
        instance: The study.
        config: Solver settings (time limit, workers, seed, hint).
        force: Options forced per process (`in_house` or a provider id), for analyses.
        forbid: Offers (process, provider) excluded, for analyses.
        risk_cap_cents: Risk ≤ this (ε-constraint), for the Pareto front.
        cost_cap_cents: Annual cost ≤ this, for the Pareto front.
        minimise: `cost` (default) or `risk` (then objective and bound are risk, in cents).

    Returns:
        The status, the best plan with its objective (integer cents per year), bound and gap.

    Raises:
        RuntimeError: CP-SAT found the model invalid (a bug, not bad input).
    """
    from ortools.sat.python import cp_model  # noqa: PLC0415 - imported on first use

    config = config or SolverConfig()
    restrictions = Restrictions(
        force=dict(force or {}),
        forbid=tuple(forbid),
        risk_cap_cents=risk_cap_cents,
        cost_cap_cents=cost_cap_cents,
        minimise=minimise,
    )
    built = build_model(instance, restrictions)
    if config.hint is not None:
        built.hint(config.hint)
    proto = built.m.proto
    size = ModelSize(variables=len(proto.variables), constraints=len(proto.constraints))
    start = time.perf_counter()
    solver = _solver(config, presolve=True)
    code = solver.solve(built.m)
    if code == cp_model.INFEASIBLE and config.safe_presolve:
        left = max(1.0, config.time_limit_s - (time.perf_counter() - start))
        solver = _solver(replace(config, time_limit_s=left), presolve=False)
        code = solver.solve(built.m)
    seconds = time.perf_counter() - start
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT model invalid: {built.m.validate()}")
    status = _status(code)
    if status in ("infeasible", "unknown"):
        return SolveResult(status, None, None, None, None, seconds, size)
    objective = round(solver.objective_value)
    bound = int(-(-solver.best_objective_bound // 1))
    bound = min(bound, objective)
    if status == "optimal" and bound < objective:
        status = "feasible"  # stopped by `gap_limit`, not proven optimal
    gap = 0.0 if status == "optimal" else (objective - bound) / max(1, abs(objective))
    return SolveResult(status, built.extract(solver), objective, bound, gap, seconds, size)
