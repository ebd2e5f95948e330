"""Worked instances I1–I5 (docs/sourcing-model.md §8), built as `Instance`s (H = 5, i = 0)."""

from fractions import Fraction

from optimize.instance import (
    Instance,
    Offer,
    ProcessData,
    ProviderData,
    RebateTier,
    Study,
    SystemData,
    Takeover,
    exact,
    to_cents,
)


def eur(amount: float | int | str) -> int:
    """Currency units → cents."""
    return to_cents(amount)


def price(amount: float | int | str) -> Fraction:
    """Price per case in currency units → exact cents."""
    return exact(amount) * 100


def i1(discount_rate: str = "0") -> Instance:
    """I1: one process, in-house 300,000 (10,000 cases × 0.5 h × 60 €/h), A at 25 €/case."""
    labour = 10_000 * (1.0 * Fraction(4, 10) + 1.0 * Fraction(1, 10)) * 60  # 300,000 €
    return Instance(
        processes=(
            ProcessData("P1", cases_per_year=10_000, inhouse_cost_cents=eur(labour), fte=3.125),
        ),
        providers=(ProviderData("A"),),
        offers=(Offer("P1", "A", price_per_case_cents=price(25), transition_cents=eur(100_000)),),
        study=Study(horizon_years=5, discount_rate=exact(discount_rate), governance_bp=500),
    )


def i2() -> Instance:
    """I2: shared all-or-nothing system S1, core process P3."""
    takeover = Takeover("S1", annual_fee_cents=eur(30_000), migration_cost_cents=eur(50_000))
    return Instance(
        processes=(
            ProcessData(
                "P1", cases_per_year=10_000, inhouse_cost_cents=eur(200_000), systems=("S1",)
            ),
            ProcessData(
                "P2", cases_per_year=10_000, inhouse_cost_cents=eur(100_000), systems=("S1",)
            ),
            ProcessData(
                "P3",
                core=True,
                cases_per_year=10_000,
                inhouse_cost_cents=eur(50_000),
                systems=("S2",),
            ),
        ),
        systems=(
            SystemData("S1", run_cost_cents=eur(80_000), policy="all_or_nothing"),
            SystemData("S2", run_cost_cents=eur(20_000)),
        ),
        providers=(ProviderData("A", takeover=(takeover,)),),
        offers=(
            Offer("P1", "A", price_per_case_cents=price(15), it=(("S1", "takeover"),)),
            Offer("P2", "A", price_per_case_cents=price(13), it=(("S1", "takeover"),)),
            Offer("P3", "A", price_per_case_cents=price(1)),
        ),
        study=Study(horizon_years=5, governance_bp=500),
    )


def i3(max_providers: int | None = None, a_capacity: int | None = 15_000) -> Instance:
    """I3: A's capacity, B's minimum annual value, optional maximum number of providers."""
    cases = {"P1": 10_000, "P2": 8_000, "P3": 6_000}
    inhouse = {"P1": 100_000, "P2": 80_000, "P3": 60_000}
    a_prices = {"P1": 7, "P2": 8, "P3": 9}
    b_prices = {"P1": 8, "P2": "8.5", "P3": "9.5"}
    return Instance(
        processes=tuple(
            ProcessData(p, cases_per_year=cases[p], inhouse_cost_cents=eur(inhouse[p]))
            for p in cases
        ),
        providers=(
            ProviderData("A", capacity_cases=a_capacity),
            ProviderData("B", min_annual_value_cents=eur(100_000)),
        ),
        offers=tuple(Offer(p, "A", price_per_case_cents=price(a_prices[p])) for p in cases)
        + tuple(Offer(p, "B", price_per_case_cents=price(b_prices[p])) for p in cases),
        study=Study(horizon_years=5, governance_bp=0, max_providers=max_providers),
    )


def i4(p1_price: str = "20") -> Instance:
    """I4: all-units rebate 10 % from 300,000 spend; governance 5 % of net."""
    return Instance(
        processes=(
            ProcessData("P1", cases_per_year=10_000, inhouse_cost_cents=eur(215_000)),
            ProcessData("P2", cases_per_year=10_000, inhouse_cost_cents=eur(115_000)),
        ),
        providers=(
            ProviderData("A", rebate_tiers=(RebateTier(0, 0), RebateTier(eur(300_000), 1_000))),
        ),
        offers=(
            Offer("P1", "A", price_per_case_cents=price(p1_price)),
            Offer("P2", "A", price_per_case_cents=price(12)),
        ),
        study=Study(horizon_years=5, governance_bp=500),
    )


def i5() -> Instance:
    """I5: infeasible — core P1, FTE cap 4.0, P2's data only in DE, B's minimum value."""
    return i5_variant()


def i5_variant(
    core: bool = True,
    cap: int | None = 400,
    allowed: tuple[str, ...] | None = ("DE",),
    min_value: int = 100_000,
    p1_offer: bool = False,
) -> Instance:
    """I5 with one of its four rules relaxed (the defaults give I5 itself).

    `p1_offer` adds an offer of A for P1, so that dropping "P1 is core" really lets P1 leave.
    """
    offers = (
        Offer("P2", "A", price_per_case_cents=price(7)),
        Offer("P2", "B", price_per_case_cents=price(8)),
    )
    if p1_offer:
        offers += (Offer("P1", "A", price_per_case_cents=price(30)),)
    return Instance(
        processes=(
            ProcessData(
                "P1", core=core, cases_per_year=5_000, inhouse_cost_cents=eur(200_000), fte=3.0
            ),
            ProcessData(
                "P2",
                cases_per_year=10_000,
                inhouse_cost_cents=eur(120_000),
                fte=2.0,
                data_class="de_only",
                allowed_locations=allowed,
            ),
        ),
        providers=(
            ProviderData("A", location="PL"),
            ProviderData("B", location="DE", min_annual_value_cents=eur(min_value)),
        ),
        offers=offers,
        study=Study(horizon_years=5, governance_bp=500, inhouse_fte_cap_centi=cap),
    )
