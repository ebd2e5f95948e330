"""The typed, frozen input of the sourcing model (docs/sourcing-model.md §2–§5) and its plan.

Everything the CP-SAT model (`optimize.model`) and the evaluator (`optimize.evaluate`) need is
prepared here; neither ever sees YAML or polars. Conventions:

- Money is **integer cents per year** unless a field says "one-time" (then integer cents, paid
  once). One-time items are annualised with the capital-recovery factor `Study.crf`, each item
  on its own, rounded half-up to the cent by `Study.annualise` — the model and the evaluator call
  the same function, so their totals agree to the cent.
- Shares and rates are **basis points** (`_bp`, 10 000 = 100 %).
- Provider rebates (all-units, by the tier the provider's whole annual spend reaches) and
  governance are rounded per invoice item (each offer taken, each takeover fee) by `item_cost`.
- The price per case is kept exact (`fractions.Fraction` of cents) because break-even prices are
  reported to 0.0001 currency units; the annual spend of an offer is rounded half-up to the cent
  once, by `Offer.annual_spend_cents`.
- Collections are tuples (records stay hashable and picklable); lookups go through the helper
  methods of `Instance`.

A builder (`optimize.build`) turns a cost file and mined tables into an `Instance`; tests build
instances directly.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Literal

ItMode = Literal["takeover", "own_platform", "access"]
SystemPolicy = Literal["all_or_nothing", "shareable", "not_movable"]
RiskMode = Literal["none", "constraint", "objective"]

IN_HOUSE = "in_house"
"""The option id of running a process in-house (provider ids must differ from it)."""

BP = 10_000
"""Basis points in one (100 %)."""

EU_COUNTRIES: frozenset[str] = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)
"""ISO 3166 alpha-2 codes of the EU member states; `EU` in an allowed-locations list means these."""

EEA_COUNTRIES: frozenset[str] = EU_COUNTRIES | {"IS", "LI", "NO"}
"""The EU plus Iceland, Liechtenstein and Norway; `EEA` in an allowed-locations list means these."""


def exact(value: float | int | str | Decimal | Fraction) -> Fraction:
    """Return a number as an exact fraction, reading floats by their shortest decimal form.

    `exact(3.1)` is `31/10`, not the binary approximation of 3.1.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def div_half_up(numerator: int, denominator: int) -> int:
    """round_half_up(numerator / denominator) in integer arithmetic (denominator > 0)."""
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((-2 * numerator + denominator) // (2 * denominator))


def round_half_up(value: Fraction | int) -> int:
    """Round an exact value to the nearest integer, halves away from zero."""
    if type(value) is int:
        return value
    if type(value) is not Fraction:
        value = Fraction(value)
    return div_half_up(value.numerator, value.denominator)


def bp_of(amount: int, bp: int) -> int:
    """`bp` basis points of an integer amount, rounded half-up: round_half_up(amount·bp/10 000)."""
    return div_half_up(amount * bp, BP)


def item_cost(spend_cents: int, rebate_bp: int, governance_bp: int) -> int:
    """Annual cost (cents) of one provider invoice item: spend − rebate + governance on the net.

    Rebate and governance are rounded per item (offer or takeover fee), as on an invoice line;
    the CP-SAT model and the evaluator both price items with this function.
    """
    net = spend_cents - bp_of(spend_cents, rebate_bp)
    return net + bp_of(net, governance_bp)


def best_tier(tiers: "tuple[RebateTier, ...]", spend_cents: int) -> int:
    """Index of the tier with the highest rebate that `spend_cents` reaches (ties: the later)."""
    ok = [k for k, t in enumerate(tiers) if t.min_spend_cents <= spend_cents]
    return max(ok, key=lambda k: (tiers[k].rebate_bp, k))


def to_cents(amount: float | int | str | Decimal | Fraction) -> int:
    """Convert a money amount in currency units (e.g. `1234.56`) to integer cents, half-up."""
    return round_half_up(exact(amount) * 100)


def to_bp(share: float | int | str | Decimal | Fraction) -> int:
    """Convert a share given as a fraction (e.g. `0.05`) to basis points (500), half-up."""
    return round_half_up(exact(share) * BP)


def to_centi(value: float | int | str | Decimal | Fraction) -> int:
    """Convert an FTE figure (e.g. `4.0`) to hundredths of an FTE (400), half-up."""
    return round_half_up(exact(value) * 100)


def location_allowed(location: str, allowed: tuple[str, ...] | None) -> bool:
    """Whether a provider location satisfies a data class's allowed locations.

    Args:
        location: The provider's location (ISO country code such as `PL`, or a free label).
        allowed: Allowed locations; `None` means anywhere. The region labels `EU` and `EEA`
            match every member country; any other entry must match exactly (case-insensitive).

    Returns:
        True when the provider may process the data.
    """
    if allowed is None:
        return True
    loc = location.upper()
    for entry in allowed:
        e = entry.upper()
        if e == loc or (e == "EU" and loc in EU_COUNTRIES) or (e == "EEA" and loc in EEA_COUNTRIES):
            return True
    return False


@dataclass(frozen=True)
class ProcessData:
    """One business process, annualised (docs/sourcing-model.md §2).

    Attributes:
        id: Process id (unique; not `in_house`).
        core: Core processes stay in-house (C2); their offers are ignored.
        cases_per_year: N_p, cases per year (integer).
        inhouse_cost_cents: C_p, annual in-house labour cost in cents with the calibration factor
            κ_p already applied (time-driven ABC: κ·N·Σ f·h·rate, or the override).
        fte: FTE_p, full-time equivalents the process occupies in-house (κ applied).
        systems: B_ps, ids of the IT systems the process uses.
        other_avoidable_cost_cents: Other annual cost (cents) that is incurred only while the
            process runs in-house and saved when it leaves (licences per seat, office space…).
            Kept separate from C_p: it is not labour, and the retained share does not apply to it.
        retained_share_bp: ρ_p in basis points: the share of C_p still paid after the process
            leaves (retained organisation). Retained cost = round_half_up(C_p·ρ_p/10 000).
        data_class: Name of the process's data class, or None (used in explanations only).
        allowed_locations: Provider locations allowed for the data class (`EU`/`EEA` are
            regions, see `location_allowed`); None = no restriction.
        required_certifications: Certifications a provider must hold for the data class.
        throughput_target_hours: Throughput target (hours); an offer whose SLA throughput hours
            exceed it is ineligible (C2). None = no target.
    """

    id: str
    core: bool = False
    cases_per_year: int = 0
    inhouse_cost_cents: int = 0
    fte: float = 0.0
    systems: tuple[str, ...] = ()
    other_avoidable_cost_cents: int = 0
    retained_share_bp: int = 0
    data_class: str | None = None
    allowed_locations: tuple[str, ...] | None = None
    required_certifications: tuple[str, ...] = ()
    throughput_target_hours: float | None = None

    @cached_property
    def fte_centi(self) -> int:
        """FTE in hundredths (integer), as the FTE caps of C5/C13 use it."""
        return to_centi(self.fte)

    @property
    def retained_cents(self) -> int:
        """Annual retained-organisation cost (cents) once the process has left: ρ_p·C_p."""
        return round_half_up(Fraction(self.inhouse_cost_cents * self.retained_share_bp, BP))

    @property
    def inhouse_total_cents(self) -> int:
        """Annual cost (cents) of running the process in-house: C_p + other avoidable cost."""
        return self.inhouse_cost_cents + self.other_avoidable_cost_cents


@dataclass(frozen=True)
class SystemData:
    """One IT system (docs/sourcing-model.md §1, C9–C11).

    Attributes:
        id: System id.
        run_cost_cents: Annual cost (cents) of running it in-house (paid while kept).
        policy: `all_or_nothing` — it can be transferred to a provider only when every process
            using it goes to that provider, and an in-house user forces keeping it;
            `shareable` — it can be transferred to a provider while other users stay in-house
            or elsewhere (they then access it where it runs); `not_movable` — never transferred.
        retirable: Whether it may be decommissioned once no in-house process and no `access`
            offer uses it any more.
        decommission_cost_cents: One-time cost (cents) of retiring it.
    """

    id: str
    run_cost_cents: int = 0
    policy: SystemPolicy = "all_or_nothing"
    retirable: bool = True
    decommission_cost_cents: int = 0


@dataclass(frozen=True)
class RebateTier:
    """One all-units rebate tier: from `min_spend_cents` annual spend, `rebate_bp` off all of it.

    Attributes:
        min_spend_cents: Annual gross spend (cents) at which the tier starts.
        rebate_bp: Rebate in basis points on the whole annual spend.
    """

    min_spend_cents: int
    rebate_bp: int


@dataclass(frozen=True)
class Takeover:
    """A provider's terms for taking over an IT system.

    Attributes:
        system: System id.
        annual_fee_cents: Annual fee (cents) the provider charges for running it; part of the
            provider's spend (so rebates and governance apply).
        migration_cost_cents: One-time migration cost (cents).
    """

    system: str
    annual_fee_cents: int
    migration_cost_cents: int = 0


@dataclass(frozen=True)
class ProviderData:
    """One BPO provider (docs/sourcing-model.md §4–§5).

    Attributes:
        id: Provider id (not `in_house`).
        location: Where it processes data (ISO country code, matched by `location_allowed`).
        certifications: Certifications it holds.
        setup_cost_cents: One-time set-up cost (cents) when contracted.
        management_cost_cents: G_v, annual vendor-management cost (cents) when contracted.
        capacity_cases: Maximum cases per year over all its processes (C5); None = unlimited.
        capacity_fte: Maximum in-house FTE it can absorb (Σ FTE_p of its processes, C5);
            None = unlimited.
        min_annual_value_cents: Minimum annual gross spend (cents) when contracted (C6); 0 = none.
        rebate_tiers: All-units rebate tiers by ascending `min_spend_cents` (C7). Empty means
            one tier without rebate; a missing tier at 0 spend is implied (rebate 0).
        risk_cents: Annual risk figure (cents-equivalent) when contracted.
        takeover: Terms per system it can take over (one entry per system id).
        max_volume_share_bp: θ_v, optional concentration limit: its cases may be at most this
            share of all cases of the study (C8); None = no limit.
    """

    id: str
    location: str = ""
    certifications: tuple[str, ...] = ()
    setup_cost_cents: int = 0
    management_cost_cents: int = 0
    capacity_cases: int | None = None
    capacity_fte: float | None = None
    min_annual_value_cents: int = 0
    rebate_tiers: tuple[RebateTier, ...] = ()
    risk_cents: int = 0
    takeover: tuple[Takeover, ...] = ()
    max_volume_share_bp: int | None = None

    @property
    def tiers(self) -> tuple[RebateTier, ...]:
        """The rebate tiers, normalised: sorted, starting with a tier at spend 0."""
        tiers = tuple(sorted(self.rebate_tiers, key=lambda t: t.min_spend_cents))
        if not tiers or tiers[0].min_spend_cents > 0:
            tiers = (RebateTier(0, 0), *tiers)
        return tiers

    @property
    def capacity_fte_centi(self) -> int | None:
        """FTE capacity in hundredths of an FTE, or None."""
        return None if self.capacity_fte is None else to_centi(self.capacity_fte)

    def takeover_terms(self, system: str) -> Takeover | None:
        """The provider's takeover terms for `system`, or None when it cannot take it over."""
        for t in self.takeover:
            if t.system == system:
                return t
        return None


@dataclass(frozen=True)
class Offer:
    """A provider's offer for one process.

    Attributes:
        process: Process id.
        provider: Provider id.
        price_per_case_cents: Price per case in cents, exact (e.g. `Fraction(1790)` for 17.90;
            build it with `exact(price) * 100`).
        fixed_cents: Fixed annual fee (cents).
        transition_cents: One-time transition cost (cents) when the process moves.
        sla_throughput_hours: Promised throughput time (hours); None = not stated (eligible).
        it: IT mode per system (`takeover` | `own_platform` | `access`). A system the process
            uses that is not named here counts as `access`.
        risk_cents: Annual risk figure (cents-equivalent) of this offer when taken.
    """

    process: str
    provider: str
    price_per_case_cents: Fraction = Fraction(0)
    fixed_cents: int = 0
    transition_cents: int = 0
    sla_throughput_hours: float | None = None
    it: tuple[tuple[str, ItMode], ...] = ()
    risk_cents: int = 0

    def annual_spend_cents(self, cases_per_year: int) -> int:
        """Annual gross spend (cents): round_half_up(price·N) + fixed fee."""
        return round_half_up(self.price_per_case_cents * cases_per_year) + self.fixed_cents

    def mode(self, system: str) -> ItMode:
        """The IT mode of `system` in this offer (`access` when not named)."""
        for s, m in self.it:
            if s == system:
                return m
        return "access"


@dataclass(frozen=True)
class Coupling:
    """Handovers between two processes (symmetrised: one record per unordered pair).

    Attributes:
        p: One process id.
        q: The other process id.
        handovers_per_year: c_pq, handovers per year in both directions together.
        interface_cost_cents: I_pq, one-time cost (cents) of an interface when p and q are run
            by different parties.
    """

    p: str
    q: str
    handovers_per_year: float = 0.0
    interface_cost_cents: int = 0


@dataclass(frozen=True)
class Study:
    """Study-wide settings (docs/cost-file.md#study).

    Attributes:
        horizon_years: H, years over which one-time costs are annualised and NPV is taken.
        discount_rate: i as a fraction (0.08); exact, see `crf`.
        governance_bp: γ in basis points of net provider fees (500 = 5 %).
        hours_per_fte: Practical hours per FTE per year.
        cost_per_handover_cents: ι, cost (cents) of one handover across the company boundary.
        max_providers: C4 upper bound on contracted providers; None = no limit.
        inhouse_fte_cap_centi: C13 cap on in-house FTE, in hundredths; None = no cap.
        keep_together_threshold: Handovers per case above which two coupled processes must be
            run by the same party (C12); per case = c_pq / min(N_p, N_q). None = cost only.
        risk_mode: `none`, `constraint` (Risk ≤ `risk_budget_cents`) or `objective` (λ·Risk
            added to the cost).
        risk_budget_cents: R_max (cents per year) for `constraint` mode; None = no budget.
        risk_weight_bp: λ in basis points for `objective` mode (10 000 = one cent per cent).
        transition_fte_cap_centi: C13 cap on FTE moved out in one wave (hundredths); None = none.
        currency: Currency code for outputs.
    """

    horizon_years: int = 5
    discount_rate: Fraction = Fraction(0)
    governance_bp: int = 500
    hours_per_fte: float = 1600.0
    cost_per_handover_cents: int = 0
    max_providers: int | None = None
    inhouse_fte_cap_centi: int | None = None
    keep_together_threshold: float | None = None
    risk_mode: RiskMode = "none"
    risk_budget_cents: int | None = None
    risk_weight_bp: int = BP
    transition_fte_cap_centi: int | None = None
    currency: str = "EUR"

    @cached_property
    def crf(self) -> Fraction:
        """Capital-recovery factor CRF(i, H) = i(1+i)^H / ((1+i)^H − 1), exactly; 1/H if i = 0."""
        i = exact(self.discount_rate)
        h = self.horizon_years
        if i == 0:
            return Fraction(1, h)
        g = (1 + i) ** h
        return i * g / (g - 1)

    def annualise(self, one_time_cents: int) -> int:
        """Annualised value (cents per year) of one one-time item: round_half_up(CRF·amount)."""
        return round_half_up(self.crf * one_time_cents)


@dataclass(frozen=True)
class Instance:
    """One sourcing study, ready for the model and the evaluator.

    Attributes:
        processes: The processes (ids unique).
        systems: The IT systems (ids unique; every id in `ProcessData.systems`, `Offer.it` and
            `Takeover.system` must be one of them).
        providers: The providers (ids unique).
        offers: At most one offer per (process, provider).
        couplings: Handover couplings, one per unordered pair of processes.
        study: Study-wide settings.
    """

    processes: tuple[ProcessData, ...]
    systems: tuple[SystemData, ...] = ()
    providers: tuple[ProviderData, ...] = ()
    offers: tuple[Offer, ...] = ()
    couplings: tuple[Coupling, ...] = ()
    study: Study = field(default_factory=Study)

    @cached_property
    def process_by_id(self) -> dict[str, ProcessData]:
        """Processes by id."""
        return {p.id: p for p in self.processes}

    @cached_property
    def system_by_id(self) -> dict[str, SystemData]:
        """Systems by id."""
        return {s.id: s for s in self.systems}

    @cached_property
    def provider_by_id(self) -> dict[str, ProviderData]:
        """Providers by id."""
        return {v.id: v for v in self.providers}

    @cached_property
    def offer_by_key(self) -> dict[tuple[str, str], Offer]:
        """Offers by (process, provider)."""
        return {(o.process, o.provider): o for o in self.offers}

    @cached_property
    def users(self) -> dict[str, tuple[str, ...]]:
        """Ids of the processes using each system (B_ps), by system id."""
        out: dict[str, list[str]] = {s.id: [] for s in self.systems}
        for p in self.processes:
            for s in p.systems:
                out.setdefault(s, []).append(p.id)
        return {s: tuple(ps) for s, ps in out.items()}

    def offer(self, process: str, provider: str) -> Offer | None:
        """The offer of `provider` for `process`, or None."""
        return self.offer_by_key.get((process, provider))

    def offer_spend_cents(self, offer: Offer) -> int:
        """Annual gross spend (cents) of `offer` at its process's volume."""
        return offer.annual_spend_cents(self.process_by_id[offer.process].cases_per_year)

    def coordination_cents(self, coupling: Coupling) -> int:
        """Annual coordination cost (cents) of a coupling when split: round_half_up(ι·c_pq)."""
        return round_half_up(
            exact(coupling.handovers_per_year) * self.study.cost_per_handover_cents
        )

    def must_keep_together(self, coupling: Coupling) -> bool:
        """Whether the keep-together threshold forces `coupling`'s processes to one party."""
        t = self.study.keep_together_threshold
        if t is None:
            return False
        n = min(
            self.process_by_id[coupling.p].cases_per_year,
            self.process_by_id[coupling.q].cases_per_year,
        )
        if n <= 0:
            return coupling.handovers_per_year > 0
        return exact(coupling.handovers_per_year) / n > exact(t)

    def ineligibility(self, process: str, provider: str) -> tuple[str, ...]:
        """Why `provider` may not run `process` (C2), as reason codes; empty when eligible.

        Codes: `core`, `no_offer`, `location`, `certification`, `sla`.
        """
        p = self.process_by_id[process]
        v = self.provider_by_id[provider]
        o = self.offer(process, provider)
        reasons: list[str] = []
        if p.core:
            reasons.append("core")
        if o is None:
            reasons.append("no_offer")
        if not location_allowed(v.location, p.allowed_locations):
            reasons.append("location")
        if not set(p.required_certifications) <= set(v.certifications):
            reasons.append("certification")
        if (
            o is not None
            and o.sla_throughput_hours is not None
            and p.throughput_target_hours is not None
            and o.sla_throughput_hours > p.throughput_target_hours
        ):
            reasons.append("sla")
        return tuple(reasons)


@dataclass(frozen=True)
class Plan:
    """A sourcing plan: the decisions of docs/sourcing-model.md §3.

    Attributes:
        assignment: Option per process id: `in_house` or a provider id.
        systems: Decision per system id: `keep`, `retire` or `transfer:<provider>`.
        tiers: Active rebate tier index (into `ProviderData.tiers`) per provider; providers not
            listed get the best tier their spend qualifies for.
    """

    assignment: dict[str, str]
    systems: dict[str, str]
    tiers: dict[str, int] = field(default_factory=dict)

    def key(self) -> tuple:
        """A hashable key of the decisions (assignment and systems)."""
        return (tuple(sorted(self.assignment.items())), tuple(sorted(self.systems.items())))
