"""A solver-independent evaluator: prices any plan with the cost of docs/sourcing-model.md §4.

Pure Python on the `Instance`; it shares only the rounding helpers of `optimize.instance` with
the CP-SAT model, so a total computed here and the solver's objective agree to the cent (see
`check_consistency`). Feasibility is checked against every rule C1–C13 and reported as
violations in words.
"""

from dataclasses import dataclass
from fractions import Fraction

from optimize.instance import (
    BP,
    IN_HOUSE,
    Instance,
    Plan,
    best_tier,
    bp_of,
    item_cost,
    round_half_up,
)

COMPONENTS: tuple[str, ...] = (
    "inhouse_labour",
    "inhouse_other",
    "retained_organisation",
    "provider_fees_gross",
    "rebates",
    "governance",
    "vendor_management",
    "it_run",
    "coordination",
    "annualised_one_time",
    "risk_term",
)
"""Cost components in cents per year; `rebates` is negative; their sum is the total."""


@dataclass(frozen=True)
class ProviderEval:
    """One provider under a plan.

    Attributes:
        provider: Provider id.
        processes: Processes it runs.
        systems: Systems transferred to it.
        cases: Cases per year it handles.
        fte_centi: In-house FTE (hundredths) of the processes it runs.
        spend_cents: Annual gross spend (offers + takeover fees).
        tier: Active rebate tier index.
        rebate_bp: Rebate of that tier.
        rebate_cents: Rebate in cents.
        net_cents: Spend after rebate.
        governance_cents: Governance on net fees.
        management_cents: Vendor management cost.
        capacity_used_bp: Share of its case capacity used (None = unlimited).
        min_value_headroom_cents: Spend minus minimum annual value (None when not contracted).
    """

    provider: str
    processes: tuple[str, ...]
    systems: tuple[str, ...]
    cases: int
    fte_centi: int
    spend_cents: int
    tier: int
    rebate_bp: int
    rebate_cents: int
    net_cents: int
    governance_cents: int
    management_cents: int
    capacity_used_bp: int | None
    min_value_headroom_cents: int | None


@dataclass(frozen=True)
class ProcessEval:
    """One process under a plan (system, provider-level and coupling costs not allocated).

    Attributes:
        process: Process id.
        option: `in_house` or a provider id.
        annual_cents: In-house cost, or retained cost + gross offer spend + annualised
            transition (before rebates and governance, which are per provider).
        one_time_cents: Transition cost paid once.
    """

    process: str
    option: str
    annual_cents: int
    one_time_cents: int


@dataclass(frozen=True)
class Evaluation:
    """The price and feasibility of one plan.

    Attributes:
        feasible: True when no rule is violated.
        violations: Each violated rule in words.
        total_cents: Annual cost (cents) = sum of `components`.
        components: Cost components (see `COMPONENTS`) in cents per year.
        per_process: Per-process figures.
        per_provider: Per-provider figures (contracted providers only).
        one_time_cash_cents: One-time cash (transition, migration, set-up, decommissioning,
            interfaces), not annualised.
        risk_cents: Risk per year (Σ offer risks taken + provider risks contracted).
    """

    feasible: bool
    violations: tuple[str, ...]
    total_cents: int
    components: dict[str, int]
    per_process: tuple[ProcessEval, ...]
    per_provider: tuple[ProviderEval, ...]
    one_time_cash_cents: int
    risk_cents: int


class ConsistencyError(AssertionError):
    """The solver's objective differs from the evaluator's total (a bug)."""


def status_quo(instance: Instance) -> Plan:
    """Everything in-house and every system kept (docs/sourcing-model.md §1.3)."""
    return Plan(
        assignment={p.id: IN_HOUSE for p in instance.processes},
        systems={s.id: "keep" for s in instance.systems},
    )


def evaluate(instance: Instance, plan: Plan) -> Evaluation:
    """Price `plan` and check it against every rule of docs/sourcing-model.md §5.

    Args:
        instance: The study.
        plan: The decisions. Systems missing from `plan.systems` count as kept; providers
            missing from `plan.tiers` get the tier with the best rebate their spend reaches.

    Returns:
        The evaluation; an infeasible plan is still priced (violations listed).
    """
    inst, study = instance, instance.study
    comp = dict.fromkeys(COMPONENTS, 0)
    bad: list[str] = []
    one_time = 0
    risk_items: list[int] = []  # risk of each offer taken and provider contracted
    per_process: list[ProcessEval] = []

    # C1/C2 and process costs.
    for p in inst.processes:
        opt = plan.assignment.get(p.id)
        if opt is None:
            bad.append(f"{p.id} has no option (C1)")
            opt = IN_HOUSE
        if opt == IN_HOUSE:
            comp["inhouse_labour"] += p.inhouse_cost_cents
            comp["inhouse_other"] += p.other_avoidable_cost_cents
            per_process.append(ProcessEval(p.id, opt, p.inhouse_total_cents, 0))
            continue
        if opt not in inst.provider_by_id:
            bad.append(f"{p.id} is assigned to unknown option {opt} (C1)")
            continue
        reasons = inst.ineligibility(p.id, opt)
        if reasons:
            bad.append(f"{p.id} may not go to {opt}: {', '.join(reasons)} (C2)")
        o = inst.offer(p.id, opt)
        spend = inst.offer_spend_cents(o) if o else 0
        trans = o.transition_cents if o else 0
        comp["retained_organisation"] += p.retained_cents
        ann = study.annualise(trans)
        comp["annualised_one_time"] += ann
        one_time += trans
        risk_items.append(o.risk_cents if o else 0)
        per_process.append(ProcessEval(p.id, opt, p.retained_cents + spend + ann, trans))

    assign = {p.id: plan.assignment.get(p.id, IN_HOUSE) for p in inst.processes}
    at = {v.id: [p.id for p in inst.processes if assign[p.id] == v.id] for v in inst.providers}

    # C9–C11 systems.
    transferred: dict[str, list[str]] = {v.id: [] for v in inst.providers}
    for s in inst.systems:
        d = plan.systems.get(s.id, "keep")
        users = inst.users.get(s.id, ())
        if d == "keep":
            comp["it_run"] += s.run_cost_cents
        elif d == "retire":
            if not s.retirable:
                bad.append(f"{s.id} is not retirable (C11)")
            ann = study.annualise(s.decommission_cost_cents)
            comp["annualised_one_time"] += ann
            one_time += s.decommission_cost_cents
            for q in users:
                if assign[q] == IN_HOUSE:
                    bad.append(f"{s.id} is retired but {q} uses it in-house (C11)")
        elif d.startswith("transfer:") and d[9:] in inst.provider_by_id:
            vid = d[9:]
            v = inst.provider_by_id[vid]
            transferred[vid].append(s.id)
            if s.policy == "not_movable":
                bad.append(f"{s.id} is not movable (C11)")
            if s.policy == "all_or_nothing":
                for q in users:
                    if assign[q] != vid:
                        bad.append(f"{s.id} goes to {vid} but its user {q} does not (C11)")
            if not at[vid]:
                bad.append(f"{s.id} goes to {vid}, which runs no process (C3)")
            t = v.takeover_terms(s.id)
            named = any(o.provider == vid and o.mode(s.id) == "takeover" for o in inst.offers)
            if t is None and not named:
                bad.append(f"{vid} has no takeover terms for {s.id} (C9)")
            if t is not None:
                ann = study.annualise(t.migration_cost_cents)
                comp["annualised_one_time"] += ann
                one_time += t.migration_cost_cents
        else:
            bad.append(f"{s.id} has an unknown decision {d!r} (C9)")
    # C10 IT modes of the offers taken.
    for p in inst.processes:
        vid = assign[p.id]
        if vid == IN_HOUSE or vid not in inst.provider_by_id:
            continue
        o = inst.offer(p.id, vid)
        named = {s for s, _ in o.it} if o else set()
        for sid in sorted(set(p.systems) | named):
            mode = o.mode(sid) if o else "access"
            d = plan.systems.get(sid, "keep")
            if mode == "takeover" and d != f"transfer:{vid}":
                bad.append(f"{p.id}'s offer from {vid} needs {sid} transferred to {vid} (C10)")
            if mode == "access" and d == "retire":
                bad.append(f"{p.id}'s offer from {vid} needs access to {sid} (C10)")

    # Providers: spend, tiers, rebates, governance; C3–C8.
    per_provider: list[ProviderEval] = []
    total_cases = sum(p.cases_per_year for p in inst.processes)
    contracted = 0
    for v in inst.providers:
        procs = at[v.id]
        if not procs:
            continue
        contracted += 1
        items: list[int] = []  # annual spend of each invoice item (offer, takeover fee)
        for pid in procs:
            o = inst.offer(pid, v.id)
            items.append(inst.offer_spend_cents(o) if o else 0)
        for sid in transferred[v.id]:
            t = v.takeover_terms(sid)
            items.append(t.annual_fee_cents if t else 0)
        spend = sum(items)
        tiers = v.tiers
        k = plan.tiers.get(v.id)
        if k is None or not 0 <= k < len(tiers):
            k = best_tier(tiers, spend)
        elif tiers[k].min_spend_cents > spend:
            bad.append(
                f"{v.id}'s tier {k} needs spend ≥ {tiers[k].min_spend_cents} cents, "
                f"has {spend} (C7)"
            )
        # Rebate and governance are rounded per item (`item_cost`).
        rebate = sum(bp_of(c, tiers[k].rebate_bp) for c in items)
        net = spend - rebate
        gov = sum(item_cost(c, tiers[k].rebate_bp, study.governance_bp) for c in items) - net
        comp["provider_fees_gross"] += spend
        comp["rebates"] -= rebate
        comp["governance"] += gov
        comp["vendor_management"] += v.management_cost_cents
        comp["annualised_one_time"] += study.annualise(v.setup_cost_cents)
        one_time += v.setup_cost_cents
        risk_items.append(v.risk_cents)
        cases = sum(inst.process_by_id[pid].cases_per_year for pid in procs)
        fte = sum(inst.process_by_id[pid].fte_centi for pid in procs)
        if v.capacity_cases is not None and cases > v.capacity_cases:
            bad.append(f"{v.id} gets {cases} cases > capacity {v.capacity_cases} (C5)")
        if v.capacity_fte_centi is not None and fte > v.capacity_fte_centi:
            bad.append(f"{v.id} gets {fte / 100} FTE > capacity {v.capacity_fte} (C5)")
        if spend < v.min_annual_value_cents:
            bad.append(f"{v.id}'s spend {spend} < minimum value {v.min_annual_value_cents} (C6)")
        if v.max_volume_share_bp is not None and BP * cases > v.max_volume_share_bp * total_cases:
            bad.append(f"{v.id}'s share of cases exceeds {v.max_volume_share_bp} bp (C8)")
        per_provider.append(
            ProviderEval(
                provider=v.id,
                processes=tuple(procs),
                systems=tuple(transferred[v.id]),
                cases=cases,
                fte_centi=fte,
                spend_cents=spend,
                tier=k,
                rebate_bp=tiers[k].rebate_bp,
                rebate_cents=rebate,
                net_cents=net,
                governance_cents=gov,
                management_cents=v.management_cost_cents,
                capacity_used_bp=None
                if not v.capacity_cases
                else round_half_up(Fraction(cases * BP, v.capacity_cases)),
                min_value_headroom_cents=spend - v.min_annual_value_cents,
            )
        )
    if study.max_providers is not None and contracted > study.max_providers:
        bad.append(f"{contracted} providers > maximum {study.max_providers} (C4)")

    # C12 couplings.
    for c in inst.couplings:
        if c.p not in assign or c.q not in assign or c.p == c.q:
            continue
        if assign[c.p] != assign[c.q]:
            comp["coordination"] += inst.coordination_cents(c)
            comp["annualised_one_time"] += study.annualise(c.interface_cost_cents)
            one_time += c.interface_cost_cents
            if inst.must_keep_together(c):
                bad.append(f"{c.p} and {c.q} must stay with one party (C12)")

    # C13.
    risk = sum(risk_items)
    budget = study.risk_budget_cents if study.risk_mode == "constraint" else None
    if budget is not None and risk > budget:
        bad.append(f"risk {risk} > budget {study.risk_budget_cents} (C13)")
    if study.risk_mode == "objective":
        comp["risk_term"] = sum(bp_of(c, study.risk_weight_bp) for c in risk_items)
    fte_in = sum(p.fte_centi for p in inst.processes if assign[p.id] == IN_HOUSE)
    fte_out = sum(p.fte_centi for p in inst.processes if assign[p.id] != IN_HOUSE)
    if study.inhouse_fte_cap_centi is not None and fte_in > study.inhouse_fte_cap_centi:
        bad.append(f"in-house FTE {fte_in / 100} > cap {study.inhouse_fte_cap_centi / 100} (C13)")
    if study.transition_fte_cap_centi is not None and fte_out > study.transition_fte_cap_centi:
        bad.append(
            f"FTE moved {fte_out / 100} > transition cap "
            f"{study.transition_fte_cap_centi / 100} (C13)"
        )

    return Evaluation(
        feasible=not bad,
        violations=tuple(bad),
        total_cents=sum(comp.values()),
        components=comp,
        per_process=tuple(per_process),
        per_provider=tuple(per_provider),
        one_time_cash_cents=one_time,
        risk_cents=risk,
    )


def check_consistency(instance: Instance, objective_cents: int, plan: Plan) -> Evaluation:
    """Evaluate the solver's plan and demand that it is feasible and priced like the solver.

    Args:
        instance: The study.
        objective_cents: The solver's objective value.
        plan: The solver's plan.

    Returns:
        The evaluation of `plan`.

    Raises:
        ConsistencyError: The plan violates a rule or its total differs from the objective.
    """
    ev = evaluate(instance, plan)
    if not ev.feasible:
        raise ConsistencyError(f"solver plan violates: {'; '.join(ev.violations)}")
    if ev.total_cents != objective_cents:
        raise ConsistencyError(
            f"solver objective {objective_cents} ≠ evaluator total {ev.total_cents} cents"
        )
    return ev
