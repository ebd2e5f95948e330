"""How sure is the saving? Scenarios from the logs, the plan priced in each, regret, stability.

The deterministic optimum is one number. This module asks how it holds up when the figures
move as the event logs and the cost file say they can (`study.uncertainty` in the cost file;
every distribution is documented in `docs/uncertainty.md`):

- **Volumes and handling hours** per process come from a *circular block bootstrap* over the
  log's whole calendar months (Politis & Romano 1992): each scenario draws blocks of
  `block_months` consecutive months (wrapping around the end) until it has as many months
  as the log has whole months, and **every process uses the same drawn months**, so that
  processes that move together in the log move together in the scenarios. The volume factor
  of process p is Σ cases over the drawn months / Σ cases over all whole months; the hours
  factor is (effort / cases over the drawn months) / (effort / cases over all whole months).
  A process is bootstrapped when the log has at least `min_months` (6) whole months and the
  process has cases in at least that many of them; otherwise (short log, override-only
  process) it takes the triangular factors `volumes` and `handling_hours` (one draw per
  scenario, shared by all such processes).
- **Prices, labour rates, transition costs** move by triangular factors [low, mode, high]
  (one draw per scenario and key; `provider_overrides` gives a provider its own factor).

A scenario's instance (`scenario_instance`) multiplies the figures of the deterministic
instance: N_p·v_p (rounded half-up to whole cases), C_p·v_p·h_p·r (labour cost, cents, half-up),
FTE_p·v_p·h_p, price per case and fixed fee ·f_provider, transition cost ·t, and the handovers
of a coupling by the mean volume factor of its two processes. With every factor 1 it equals
the deterministic instance, so a zero-spread study prices every scenario to the cent like
the deterministic evaluation.

The chosen plan and the status quo are priced in each scenario by the solver-independent
evaluator (`optimize.evaluate.evaluate`; rebate tiers follow each scenario's spend). The
first `resolves` scenarios are re-solved with CP-SAT (hinted with the chosen plan): regret =
the plan's cost − that scenario's optimum, and per process the share of scenarios in which
each option is optimal. With `objective: expected | cvar` a sample-average plan
(`optimize.saa`) is solved over `saa_scenarios` other scenarios and priced beside the chosen
plan (`robust_plans`).

For exactness, distributions may also be `Discrete` (finitely many values): with only
discrete or fixed factors and no bootstrap, `enumerate_scenarios` lists every combination
with its probability, and `analyse(..., exact=True)` gives exact probabilities.
"""

import dataclasses
import functools
import itertools
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction
from typing import Literal, TypeVar

import numpy as np
import polars as pl

from optimize.costfile import CostFile
from optimize.evaluate import evaluate, status_quo
from optimize.instance import IN_HOUSE, Instance, Plan, div_half_up
from optimize.model import SolverConfig, solve

Objective = Literal["deterministic", "expected", "cvar"]

_R = TypeVar("_R")

BOOTSTRAP = "bootstrap"
TRIANGULAR = "triangular"


# --------------------------------------------------------------------------- distributions


@dataclass(frozen=True)
class Triangular:
    """A triangular factor [low, mode, high] (low = high: a fixed factor).

    Attributes:
        low: Smallest factor (≥ 0).
        mode: Most likely factor.
        high: Largest factor.
    """

    low: float = 1.0
    mode: float = 1.0
    high: float = 1.0

    def __post_init__(self) -> None:
        """Check 0 ≤ low ≤ mode ≤ high (the cost file reports these with their YAML line)."""
        if not 0 <= self.low <= self.mode <= self.high:
            raise ValueError(f"triangular factors need 0 ≤ low ≤ mode ≤ high, got {self}")

    @property
    def fixed(self) -> bool:
        """Whether the factor never moves."""
        return self.low == self.high

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` independent draws."""
        if self.fixed:
            return np.full(n, float(self.mode))
        return rng.triangular(self.low, self.mode, self.high, size=n)

    def support(self) -> tuple[tuple[float, float], ...]:
        """(value, probability) pairs; only for a fixed factor (a continuous one has none)."""
        if not self.fixed:
            raise ValueError("a triangular factor with a spread cannot be enumerated")
        return ((float(self.mode), 1.0),)


@dataclass(frozen=True)
class Discrete:
    """A factor with finitely many values (e.g. a two-point distribution), for exact checks.

    Attributes:
        values: The factors (≥ 0).
        probabilities: Their probabilities (sum 1).
    """

    values: tuple[float, ...]
    probabilities: tuple[float, ...]

    def __post_init__(self) -> None:
        """Check the values and that the probabilities add up to 1."""
        if len(self.values) != len(self.probabilities) or not self.values:
            raise ValueError("a discrete factor needs one probability per value")
        if any(v < 0 for v in self.values) or any(p < 0 for p in self.probabilities):
            raise ValueError("factors and probabilities must be ≥ 0")
        if not math.isclose(sum(self.probabilities), 1.0, abs_tol=1e-12):
            raise ValueError("the probabilities of a discrete factor must add up to 1")

    @property
    def fixed(self) -> bool:
        """Whether the factor never moves."""
        return len(set(self.values)) == 1

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` independent draws."""
        return rng.choice(np.array(self.values, dtype=float), size=n, p=self.probabilities)

    def support(self) -> tuple[tuple[float, float], ...]:
        """(value, probability) pairs."""
        return tuple(zip(self.values, self.probabilities, strict=True))


Distribution = Triangular | Discrete
FIXED = Triangular()
"""No movement: the factor is 1."""


@dataclass(frozen=True)
class UncertaintySpec:
    """What moves and how (the cost file's `study.uncertainty`, see `spec_from_costs`).

    Attributes:
        scenarios: Monte Carlo scenarios priced with the evaluator.
        seed: Seed of the random draws (same seed, same scenarios).
        resolves: Scenarios (the first ones) re-optimised for regret and decision stability.
        objective: `deterministic`, or `expected`/`cvar`: a sample-average plan is also solved
            and reported beside the deterministic one (`robust_plans`).
        cvar_level: Level α of the conditional value at risk.
        saa_scenarios: Scenarios inside the sample-average model.
        provider_prices: Factor of every offer's price per case and fixed fee.
        provider_overrides: (provider, factor) replacing `provider_prices` for that provider.
        inhouse_rates: Factor of every role's rate (the in-house labour cost).
        transition_costs: Factor of every offer's transition cost.
        volumes: Volume factor of the processes that cannot be bootstrapped.
        handling_hours: Hours factor of the processes that cannot be bootstrapped.
        block_months: Length of a bootstrap block (consecutive months).
        min_months: Least whole months (log and process) for the bootstrap.
    """

    scenarios: int = 1000
    seed: int = 7
    resolves: int = 100
    objective: Objective = "deterministic"
    cvar_level: float = 0.95
    saa_scenarios: int = 50
    provider_prices: Distribution = FIXED
    provider_overrides: tuple[tuple[str, Distribution], ...] = ()
    inhouse_rates: Distribution = FIXED
    transition_costs: Distribution = FIXED
    volumes: Distribution = FIXED
    handling_hours: Distribution = FIXED
    block_months: int = 3
    min_months: int = 6

    def __post_init__(self) -> None:
        """Check the counts."""
        if self.scenarios < 1 or self.resolves < 0 or self.block_months < 1:
            raise ValueError("scenarios ≥ 1, resolves ≥ 0 and block_months ≥ 1 are needed")

    def price_factor(self, provider: str) -> Distribution:
        """The price factor of one provider."""
        return dict(self.provider_overrides).get(provider, self.provider_prices)


def spec_from_costs(costs: CostFile) -> UncertaintySpec | None:
    """The `UncertaintySpec` of a validated cost file, or None without `study.uncertainty`.

    Args:
        costs: The validated cost file.

    Returns:
        The spec (ranges not given do not move).
    """
    section = costs.study.uncertainty
    if section is None:
        return None

    def tri(values: Sequence[float] | None) -> Distribution:
        return FIXED if values is None else Triangular(*(float(v) for v in values))

    ranges = section.ranges
    overrides = tuple(
        (v.id, tri(v.price_range)) for v in costs.providers if v.price_range is not None
    )
    return UncertaintySpec(
        scenarios=section.scenarios,
        seed=section.seed,
        resolves=section.resolves,
        objective=section.objective,
        cvar_level=section.cvar_level,
        saa_scenarios=section.saa_scenarios,
        provider_prices=tri(ranges.provider_prices),
        provider_overrides=overrides,
        inhouse_rates=tri(ranges.inhouse_rates),
        transition_costs=tri(ranges.transition_costs),
        volumes=tri(ranges.volumes),
        handling_hours=tri(ranges.handling_hours),
    )


# --------------------------------------------------------------------------- the log's months


@dataclass(frozen=True)
class MonthlyVolumes:
    """The log's whole months and each process's cases and effort hours in them.

    Attributes:
        months: Whole months (`YYYY-MM`, ascending, consecutive or not).
        cases: Per process, its cases in each month (0 where it had none).
        effort: Per process, its handling hours in each month (None: no handling times).
    """

    months: tuple[str, ...]
    cases: Mapping[str, tuple[float, ...]]
    effort: Mapping[str, tuple[float, ...] | None]


def whole_months(
    history: pl.DataFrame,
    log_start: datetime,
    log_end: datetime,
    *,
    timezone: str = "UTC",
    min_coverage: float = 0.9,
) -> MonthlyVolumes:
    """The months of `mining.history.monthly_kpis` that the log covers (almost) completely.

    A month counts when the log's first-to-last event span covers at least `min_coverage` of
    it (the rule the drift detection uses), so a partial first or last month is left out.

    Args:
        history: `kpi_history` rows (process, month, cases, effort_hours).
        log_start: The log's first event (time-zone aware).
        log_end: The log's last event.
        timezone: The calendar of the history's months.
        min_coverage: Least covered share of a month.

    Returns:
        The whole months and, per process, its cases and effort in each of them.
    """
    from mining.history import month_bounds  # noqa: PLC0415 - keeps polars-only import light

    months: list[str] = []
    for month in sorted(history["month"].unique().to_list()) if history.height else []:
        start, end = month_bounds(month, timezone)
        covered = (min(end, log_end) - max(start, log_start)).total_seconds()
        if covered / (end - start).total_seconds() >= min_coverage:
            months.append(month)
    cases: dict[str, tuple[float, ...]] = {}
    effort: dict[str, tuple[float, ...] | None] = {}
    for (process,), part in history.group_by("process", maintain_order=True):
        by_month = {
            m: (float(c or 0), e)
            for m, c, e in part.select("month", "cases", "effort_hours").rows()
        }
        cases[str(process)] = tuple(by_month.get(m, (0.0, 0.0))[0] for m in months)
        hours = [by_month.get(m, (0.0, 0.0))[1] for m in months]
        known = [h for m, h in zip(months, hours, strict=True) if m in by_month]
        effort[str(process)] = (
            None
            if not known or any(h is None for h in known)
            else tuple(float(h or 0) for h in hours)
        )
    return MonthlyVolumes(tuple(months), cases, effort)


def bootstrap_sources(
    instance: Instance, history: MonthlyVolumes | None, spec: UncertaintySpec
) -> dict[str, str]:
    """Per process: `bootstrap` (from the log's months) or `triangular` (the fallback)."""
    out: dict[str, str] = {}
    enough = history is not None and len(history.months) >= spec.min_months
    for p in instance.processes:
        months_with_cases = 0
        if history is not None and p.id in history.cases:
            months_with_cases = sum(1 for c in history.cases[p.id] if c > 0)
        out[p.id] = BOOTSTRAP if enough and months_with_cases >= spec.min_months else TRIANGULAR
    return out


def block_bootstrap(
    rng: np.random.Generator, months: int, block: int, scenarios: int
) -> np.ndarray:
    """Month indices of a circular block bootstrap: `scenarios` rows of `months` indices.

    Each row is made of blocks of `block` consecutive indices (mod `months`) starting at
    uniformly drawn months, cut to `months` entries.
    """
    block = min(block, months)
    blocks = -(-months // block)
    starts = rng.integers(0, months, size=(scenarios, blocks))
    offsets = np.arange(block)
    rows = (starts[:, :, None] + offsets[None, None, :]) % months
    return rows.reshape(scenarios, blocks * block)[:, :months]


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    """The factors of one scenario (1.0 = as in the deterministic study).

    Attributes:
        index: 0-based scenario number.
        probability: Its probability (1/N for Monte Carlo draws).
        volume: Volume factor per process.
        hours: Handling-hours factor per process.
        prices: Price factor per provider.
        inhouse_rates: Factor of the labour rates.
        transition_costs: Factor of the transition costs.
        months: The drawn months of the bootstrap (empty without one).
    """

    index: int
    probability: float
    volume: Mapping[str, float]
    hours: Mapping[str, float]
    prices: Mapping[str, float]
    inhouse_rates: float = 1.0
    transition_costs: float = 1.0
    months: tuple[str, ...] = ()


def draw_scenarios(
    instance: Instance,
    spec: UncertaintySpec,
    history: MonthlyVolumes | None = None,
    *,
    count: int | None = None,
    seed: int | None = None,
) -> tuple[Scenario, ...]:
    """Monte Carlo scenarios: the bootstrap over the log's months and the triangular factors.

    The draws are made in a fixed order (months, then the factors by key, providers by id),
    so the same seed gives the same scenarios.

    Args:
        instance: The deterministic study.
        spec: The distributions.
        history: The log's whole months (None: every process takes the triangular fallback).
        count: Number of scenarios (default `spec.scenarios`).
        seed: Seed (default `spec.seed`).

    Returns:
        The scenarios, each with probability 1/count.
    """
    n = spec.scenarios if count is None else count
    rng = np.random.default_rng(spec.seed if seed is None else seed)
    sources = bootstrap_sources(instance, history, spec)
    boot = [pid for pid, s in sources.items() if s == BOOTSTRAP]
    vol: dict[str, np.ndarray] = {}
    hrs: dict[str, np.ndarray] = {}
    drawn: np.ndarray | None = None
    if boot and history is not None:
        m = len(history.months)
        drawn = block_bootstrap(rng, m, spec.block_months, n)
        for pid in boot:
            cases = np.array(history.cases[pid], dtype=float)
            vol[pid] = cases[drawn].sum(axis=1) / cases.sum()
            effort = history.effort.get(pid)
            if effort is None:
                hrs[pid] = np.ones(n)
                continue
            eff = np.array(effort, dtype=float)
            base = eff.sum() / cases.sum()
            drawn_cases = cases[drawn].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                per_case = eff[drawn].sum(axis=1) / drawn_cases
            hrs[pid] = np.where(drawn_cases > 0, per_case / base if base > 0 else 1.0, 1.0)
    providers = sorted(v.id for v in instance.providers)
    price = {vid: spec.price_factor(vid) for vid in providers}
    shared_price = spec.provider_prices.sample(rng, n)
    own = {
        vid: price[vid].sample(rng, n) for vid in providers if vid in dict(spec.provider_overrides)
    }
    rates = spec.inhouse_rates.sample(rng, n)
    trans = spec.transition_costs.sample(rng, n)
    tri_vol = spec.volumes.sample(rng, n)
    tri_hrs = spec.handling_hours.sample(rng, n)
    out = []
    for s in range(n):
        out.append(
            Scenario(
                index=s,
                probability=1.0 / n,
                volume={
                    p.id: float(vol[p.id][s]) if p.id in vol else float(tri_vol[s])
                    for p in instance.processes
                },
                hours={
                    p.id: float(hrs[p.id][s]) if p.id in hrs else float(tri_hrs[s])
                    for p in instance.processes
                },
                prices={
                    vid: float(own[vid][s] if vid in own else shared_price[s]) for vid in providers
                },
                inhouse_rates=float(rates[s]),
                transition_costs=float(trans[s]),
                months=() if drawn is None else tuple(history.months[i] for i in drawn[s]),  # type: ignore[union-attr]
            )
        )
    return tuple(out)


def enumerate_scenarios(instance: Instance, spec: UncertaintySpec) -> tuple[Scenario, ...]:
    """Every combination of the factors' values with its probability (no bootstrap).

    Each key draws one factor per scenario, as in `draw_scenarios`: one price factor shared
    by the providers without an override, one per provider with one, one rate, transition,
    volume and hours factor.

    Raises:
        ValueError: A factor is continuous (triangular with a spread).
    """
    providers = sorted(v.id for v in instance.providers)
    overridden = [vid for vid in providers if vid in dict(spec.provider_overrides)]
    keys: list[tuple[str, Distribution]] = [("prices", spec.provider_prices)]
    keys += [(f"price:{vid}", spec.price_factor(vid)) for vid in overridden]
    keys += [
        ("rates", spec.inhouse_rates),
        ("transition", spec.transition_costs),
        ("volumes", spec.volumes),
        ("hours", spec.handling_hours),
    ]
    supports = [dist.support() for _, dist in keys]
    out = []
    for index, combo in enumerate(itertools.product(*supports)):
        value = {name: v for (name, _), (v, _) in zip(keys, combo, strict=True)}
        probability = math.prod(p for _, p in combo)
        out.append(
            Scenario(
                index=index,
                probability=probability,
                volume={p.id: value["volumes"] for p in instance.processes},
                hours={p.id: value["hours"] for p in instance.processes},
                prices={vid: value.get(f"price:{vid}", value["prices"]) for vid in providers},
                inhouse_rates=value["rates"],
                transition_costs=value["transition"],
            )
        )
    return tuple(out)


def _times(value: int, *factors: float) -> int:
    """round_half_up(value · Π factors), exact (floats read as their binary value)."""
    numerator, denominator = value, 1
    for f in factors:
        if f != 1.0:
            n, d = float(f).as_integer_ratio()
            numerator, denominator = numerator * n, denominator * d
    return div_half_up(numerator, denominator)


def _scaled_price(price: Fraction, factor: float) -> Fraction:
    """The price times the factor, exactly (the factor read as its binary value)."""
    if factor == 1.0:
        return price
    n, d = float(factor).as_integer_ratio()
    return Fraction(price.numerator * n, price.denominator * d)


def _with(record: _R, **changes: object) -> _R:
    """A copy of a frozen dataclass record with some fields changed.

    Like `dataclasses.replace`, for the records of `optimize.instance` (no `__post_init__`,
    no init-only fields), but several times faster: the scenarios build thousands of them. Only
    the fields are copied, so values cached on the record (`cached_property`) are recomputed.
    """
    new = object.__new__(type(record))
    values = new.__dict__
    for name in _field_names(type(record)):
        values[name] = record.__dict__[name]
    values.update(changes)
    return new


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def scenario_instance(
    instance: Instance,
    scenario: Scenario,
    offers: Collection[tuple[str, str]] | None = None,
) -> Instance:
    """The study as it would be in `scenario` (see the module docstring for each figure).

    Args:
        instance: The deterministic study.
        scenario: The factors.
        offers: Only these offers (process, provider) are moved (pricing one plan needs only
            its own offers); None moves every offer.
    """
    rates = scenario.inhouse_rates
    processes = tuple(
        p
        if scenario.volume[p.id] == 1.0 and scenario.hours[p.id] == 1.0 and rates == 1.0
        else _with(
            p,
            cases_per_year=_times(p.cases_per_year, scenario.volume[p.id]),
            inhouse_cost_cents=_times(
                p.inhouse_cost_cents, scenario.volume[p.id], scenario.hours[p.id], rates
            ),
            fte=p.fte * scenario.volume[p.id] * scenario.hours[p.id],
        )
        for p in instance.processes
    )
    t = scenario.transition_costs
    moved = tuple(
        o
        if (scenario.prices.get(o.provider, 1.0) == 1.0 and t == 1.0)
        or (offers is not None and (o.process, o.provider) not in offers)
        else _with(
            o,
            price_per_case_cents=_scaled_price(o.price_per_case_cents, scenario.prices[o.provider]),
            fixed_cents=_times(o.fixed_cents, scenario.prices[o.provider]),
            transition_cents=_times(o.transition_cents, t),
        )
        for o in instance.offers
    )
    couplings = tuple(
        c
        if scenario.volume.get(c.p, 1.0) == 1.0 and scenario.volume.get(c.q, 1.0) == 1.0
        else _with(
            c,
            handovers_per_year=c.handovers_per_year
            * (scenario.volume.get(c.p, 1.0) + scenario.volume.get(c.q, 1.0))
            / 2,
        )
        for c in instance.couplings
    )
    return _with(instance, processes=processes, offers=moved, couplings=couplings)


# --------------------------------------------------------------------------- the plan priced


@dataclass(frozen=True)
class ScenarioOutcome:
    """The chosen plan and the status quo in one scenario.

    Attributes:
        scenario: The factors.
        status_quo_cents: Annual cost of the status quo.
        plan_cents: Annual cost of the chosen plan.
        plan_feasible: Whether the plan keeps every rule in this scenario (e.g. capacity).
    """

    scenario: Scenario
    status_quo_cents: int
    plan_cents: int
    plan_feasible: bool

    @property
    def saving_cents(self) -> int:
        """Status-quo cost − plan cost (negative: the plan loses money)."""
        return self.status_quo_cents - self.plan_cents


def price_plan(
    instance: Instance, plan: Plan, scenarios: Iterable[Scenario]
) -> tuple[ScenarioOutcome, ...]:
    """Price `plan` and the status quo in every scenario with the evaluator (no solver).

    The plan's rebate tiers are not kept: each scenario's spend picks its own tier. Only the
    plan's own offers are moved: the others do not enter its price or the status quo's.
    """
    decisions = replace(plan, tiers={})
    taken = {(p, o) for p, o in plan.assignment.items() if o != IN_HOUSE}
    out = []
    for scenario in scenarios:
        inst = scenario_instance(instance, scenario, taken)
        ev = evaluate(inst, decisions)
        sq = evaluate(inst, status_quo(inst))
        out.append(ScenarioOutcome(scenario, sq.total_cents, ev.total_cents, ev.feasible))
    return tuple(out)


@dataclass(frozen=True)
class SavingSummary:
    """The distribution of the annual saving.

    Attributes:
        scenarios: Number of scenarios.
        mean_cents: Expected saving (cents).
        p5_cents: 5th percentile (cents): the saving is lower in at most 5 % of scenarios.
        p50_cents: Median.
        p95_cents: 95th percentile.
        p_loss: Probability that the plan costs more than the status quo (saving < 0).
        infeasible_share: Probability that the plan breaks a rule (it is still priced).
    """

    scenarios: int
    mean_cents: float
    p5_cents: int
    p50_cents: int
    p95_cents: int
    p_loss: float
    infeasible_share: float

    @property
    def p_no_loss(self) -> float:
        """Probability that the saving is ≥ 0."""
        return 1.0 - self.p_loss


def quantile(values: Sequence[int], weights: Sequence[float], q: float) -> int:
    """The smallest value whose cumulative probability reaches q (inverse of the CDF)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    total = math.fsum(weights)
    running = 0.0
    for i in order:
        running += weights[i]
        if running >= q * total - 1e-12:
            return values[i]
    return values[order[-1]]


def summarise(outcomes: Sequence[ScenarioOutcome]) -> SavingSummary:
    """Mean, P5/P50/P95 and probability of loss of the saving (probability-weighted)."""
    savings = [o.saving_cents for o in outcomes]
    weights = [o.scenario.probability for o in outcomes]
    total = math.fsum(weights)
    return SavingSummary(
        scenarios=len(outcomes),
        mean_cents=math.fsum(s * w for s, w in zip(savings, weights, strict=True)) / total,
        p5_cents=quantile(savings, weights, 0.05),
        p50_cents=quantile(savings, weights, 0.50),
        p95_cents=quantile(savings, weights, 0.95),
        p_loss=math.fsum(w for s, w in zip(savings, weights, strict=True) if s < 0) / total,
        infeasible_share=math.fsum(o.scenario.probability for o in outcomes if not o.plan_feasible)
        / total,
    )


# --------------------------------------------------------------------------- regret, stability


@dataclass(frozen=True)
class Resolve:
    """One scenario re-optimised.

    Attributes:
        scenario: The scenario's index.
        probability: Its probability.
        status: CP-SAT status of the re-solve.
        optimum_cents: That scenario's optimum (None without a plan).
        plan_cents: The chosen plan's cost in it.
        assignment: The scenario's optimal option per process (empty without a plan).
    """

    scenario: int
    probability: float
    status: str
    optimum_cents: int | None
    plan_cents: int
    assignment: Mapping[str, str]

    @property
    def regret_cents(self) -> int | None:
        """The chosen plan's cost − the scenario's optimum (None without an optimum)."""
        return None if self.optimum_cents is None else self.plan_cents - self.optimum_cents


def resolve_scenarios(
    instance: Instance,
    plan: Plan,
    outcomes: Sequence[ScenarioOutcome],
    config: SolverConfig | None = None,
) -> tuple[Resolve, ...]:
    """Re-solve each scenario of `outcomes` for its own optimum, hinted with `plan`."""
    base = config or SolverConfig(time_limit_s=10.0)
    cfg = replace(base, hint=replace(plan, tiers={}))
    out = []
    for o in outcomes:
        res = solve(scenario_instance(instance, o.scenario), cfg)
        out.append(
            Resolve(
                scenario=o.scenario.index,
                probability=o.scenario.probability,
                status=str(res.status),
                optimum_cents=res.objective_cents,
                plan_cents=o.plan_cents,
                assignment=dict(res.plan.assignment) if res.plan is not None else {},
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class StabilityRow:
    """How often one option is optimal for one process.

    Attributes:
        process: Process id.
        option: `in_house` or a provider id.
        share_optimal: Probability-weighted share of the re-solved scenarios (with a plan) in
            which this option is the optimum's.
        chosen: Whether the chosen plan takes this option.
    """

    process: str
    option: str
    share_optimal: float
    chosen: bool


def stability(
    instance: Instance, plan: Plan, resolves: Sequence[Resolve]
) -> tuple[StabilityRow, ...]:
    """Per process and option (in-house and every eligible provider) the share optimal."""
    solved = [r for r in resolves if r.assignment]
    total = math.fsum(r.probability for r in solved)
    rows = []
    for p in instance.processes:
        options = [IN_HOUSE] + [
            v.id for v in instance.providers if not instance.ineligibility(p.id, v.id)
        ]
        for option in options:
            share = (
                math.fsum(r.probability for r in solved if r.assignment.get(p.id) == option) / total
                if total
                else 0.0
            )
            rows.append(StabilityRow(p.id, option, share, plan.assignment.get(p.id) == option))
    return tuple(rows)


# --------------------------------------------------------------------------- all together


@dataclass(frozen=True)
class PlanRisk:
    """One plan priced over the evaluation scenarios (the deterministic or a robust plan).

    Attributes:
        name: `deterministic`, `expected` or `cvar` (the objective that chose it).
        status: Solver status of the model that chose it.
        assignment: Its option per process.
        objective_cents: Its objective in the model that chose it (cost, mean or CVaR over
            that model's scenarios), cents per year.
        expected_cents: Mean annual cost over the evaluation scenarios.
        p95_cents: 95th percentile of the annual cost.
        p_loss: Probability that it costs more than the status quo.
    """

    name: str
    status: str
    assignment: Mapping[str, str]
    objective_cents: float | None
    expected_cents: float
    p95_cents: int
    p_loss: float


def plan_risk(
    name: str,
    status: str,
    assignment: Mapping[str, str],
    objective_cents: float | None,
    outcomes: Sequence[ScenarioOutcome],
) -> PlanRisk:
    """Summarise one plan's costs over its priced scenarios."""
    costs = [o.plan_cents for o in outcomes]
    weights = [o.scenario.probability for o in outcomes]
    total = math.fsum(weights)
    return PlanRisk(
        name=name,
        status=status,
        assignment=dict(assignment),
        objective_cents=objective_cents,
        expected_cents=math.fsum(c * w for c, w in zip(costs, weights, strict=True)) / total,
        p95_cents=quantile(costs, weights, 0.95),
        p_loss=summarise(outcomes).p_loss,
    )


@dataclass(frozen=True)
class UncertaintyResult:
    """The plan under uncertainty.

    Attributes:
        spec: The distributions used.
        sources: Per process `bootstrap` or `triangular`.
        months: The log's whole months the bootstrap drew from (empty without one).
        outcomes: The plan and the status quo in every scenario.
        summary: Mean, percentiles and probability of loss of the saving.
        resolves: The re-optimised scenarios (regret, stability).
        stability: Per process and option, the share of scenarios where it is optimal.
        plans: With `objective: expected | cvar`, the deterministic plan and the plan of the
            sample-average model, each priced over the evaluation scenarios.
    """

    spec: UncertaintySpec
    sources: Mapping[str, str]
    months: tuple[str, ...]
    outcomes: tuple[ScenarioOutcome, ...]
    summary: SavingSummary
    resolves: tuple[Resolve, ...] = ()
    stability: tuple[StabilityRow, ...] = field(default=())
    plans: tuple[PlanRisk, ...] = ()

    @property
    def mean_regret_cents(self) -> float | None:
        """Probability-weighted mean regret over the re-solved scenarios with an optimum."""
        done = [r for r in self.resolves if r.regret_cents is not None]
        total = math.fsum(r.probability for r in done)
        if not total:
            return None
        return math.fsum(r.regret_cents * r.probability for r in done) / total  # type: ignore[operator]


def analyse(
    instance: Instance,
    plan: Plan,
    spec: UncertaintySpec,
    history: MonthlyVolumes | None = None,
    config: SolverConfig | None = None,
    *,
    exact: bool = False,
    saa_config: SolverConfig | None = None,
) -> UncertaintyResult:
    """Price the plan in every scenario, then re-solve the first `spec.resolves` of them.

    Args:
        instance: The deterministic study.
        plan: The chosen plan.
        spec: The distributions.
        history: The log's whole months (None: every process takes the triangular fallback).
        config: Solver settings of the re-solves (hinted with `plan`).
        exact: Enumerate every scenario of discrete factors instead of drawing (no bootstrap;
            every scenario is re-solved).
        saa_config: Solver settings of the sample-average model (`objective` expected or
            cvar); default `config`.

    Returns:
        Outcomes, summary, re-solves and stability.
    """
    if exact:
        scenarios = enumerate_scenarios(instance, spec)
        sources = dict.fromkeys((p.id for p in instance.processes), TRIANGULAR)
    else:
        scenarios = draw_scenarios(instance, spec, history)
        sources = bootstrap_sources(instance, history, spec)
    outcomes = price_plan(instance, plan, scenarios)
    k = len(outcomes) if exact else min(spec.resolves, len(outcomes))
    resolves = resolve_scenarios(instance, plan, outcomes[:k], config) if k else ()
    boot = any(s == BOOTSTRAP for s in sources.values())
    plans: tuple[PlanRisk, ...] = ()
    if spec.objective != "deterministic":
        plans = robust_plans(instance, plan, spec, history, outcomes, config=saa_config or config)
    return UncertaintyResult(
        spec=spec,
        sources=sources,
        months=history.months if boot and history is not None else (),
        outcomes=outcomes,
        summary=summarise(outcomes),
        resolves=resolves,
        stability=stability(instance, plan, resolves),
        plans=plans,
    )


def robust_plans(
    instance: Instance,
    plan: Plan,
    spec: UncertaintySpec,
    history: MonthlyVolumes | None,
    outcomes: Sequence[ScenarioOutcome],
    *,
    config: SolverConfig | None = None,
) -> tuple[PlanRisk, ...]:
    """The deterministic plan beside the sample-average plan of `spec.objective`.

    The sample-average model (`optimize.saa`) sees its own `spec.saa_scenarios` scenarios,
    drawn with seed `spec.seed + 1`; both plans are then priced over the evaluation scenarios
    (`outcomes`), so the comparison is out of sample.
    """
    from optimize.saa import saa_plan  # noqa: PLC0415 - optimize.saa imports this module

    if spec.objective == "deterministic":
        return ()
    sample = draw_scenarios(instance, spec, history, count=spec.saa_scenarios, seed=spec.seed + 1)
    base = config or SolverConfig(time_limit_s=60.0)
    robust = saa_plan(instance, sample, spec.objective, spec.cvar_level, replace(base, hint=plan))
    deterministic = plan_risk(
        "deterministic",
        "optimal",
        plan.assignment,
        evaluate(instance, plan).total_cents,
        outcomes,
    )
    if robust.plan is None:
        return (
            deterministic,
            PlanRisk(spec.objective, robust.status, {}, None, math.nan, 0, math.nan),
        )
    priced = price_plan(instance, robust.plan, [o.scenario for o in outcomes])
    return (
        deterministic,
        plan_risk(
            spec.objective, robust.status, robust.plan.assignment, robust.value_cents, priced
        ),
    )


def plans_table(result: UncertaintyResult) -> pl.DataFrame:
    """`robust_plan.csv`: the deterministic plan beside the sample-average plan.

    Columns: `plan` (deterministic, expected or cvar), `status`, `objective_value` (the value it
    was chosen by: deterministic cost, mean or CVaR over the model's scenarios), `expected_cost`,
    `p95_cost` and `p_loss` over the evaluation scenarios, and `decisions`
    (`process=option` for every process, `;`-separated).
    """
    rows = [
        (
            r.name,
            r.status,
            None if r.objective_cents is None else round(r.objective_cents / 100, 2),
            None if math.isnan(r.expected_cents) else round(r.expected_cents / 100, 2),
            None if math.isnan(r.p_loss) else r.p95_cents / 100,
            None if math.isnan(r.p_loss) else r.p_loss,
            ";".join(f"{p}={o}" for p, o in sorted(r.assignment.items())),
        )
        for r in result.plans
    ]
    return pl.DataFrame(
        rows,
        schema={
            "plan": pl.String(),
            "status": pl.String(),
            "objective_value": pl.Float64(),
            "expected_cost": pl.Float64(),
            "p95_cost": pl.Float64(),
            "p_loss": pl.Float64(),
            "decisions": pl.String(),
        },
        orient="row",
    )


# --------------------------------------------------------------------------- output tables


def scenario_table(instance: Instance, result: UncertaintyResult) -> pl.DataFrame:
    """`uncertainty.csv`: one row per scenario — the drawn factors, both costs, the saving.

    Columns: `scenario`, `volume:<process>` and `hours:<process>` per process, `price:<provider>`
    per provider, `inhouse_rates`, `transition_costs`, `months` (the drawn months, `;`-joined;
    empty without a bootstrap), `status_quo_cost`, `plan_cost`, `saving` (currency units),
    `plan_feasible`, and for re-solved scenarios `optimum_cost` and `regret`.
    """
    processes = [p.id for p in instance.processes]
    providers = sorted(v.id for v in instance.providers)
    by_scenario = {r.scenario: r for r in result.resolves}
    data: dict[str, list[object]] = {"scenario": []}
    for pid in processes:
        data[f"volume:{pid}"] = []
        data[f"hours:{pid}"] = []
    for vid in providers:
        data[f"price:{vid}"] = []
    for name in (
        "inhouse_rates",
        "transition_costs",
        "months",
        "status_quo_cost",
        "plan_cost",
        "saving",
        "plan_feasible",
        "optimum_cost",
        "regret",
    ):
        data[name] = []
    for o in result.outcomes:
        s = o.scenario
        data["scenario"].append(s.index)
        for pid in processes:
            data[f"volume:{pid}"].append(round(s.volume[pid], 6))
            data[f"hours:{pid}"].append(round(s.hours[pid], 6))
        for vid in providers:
            data[f"price:{vid}"].append(round(s.prices[vid], 6))
        data["inhouse_rates"].append(round(s.inhouse_rates, 6))
        data["transition_costs"].append(round(s.transition_costs, 6))
        data["months"].append(";".join(s.months) if s.months else None)
        data["status_quo_cost"].append(o.status_quo_cents / 100)
        data["plan_cost"].append(o.plan_cents / 100)
        data["saving"].append(o.saving_cents / 100)
        data["plan_feasible"].append(o.plan_feasible)
        r = by_scenario.get(s.index)
        data["optimum_cost"].append(
            None if r is None or r.optimum_cents is None else r.optimum_cents / 100
        )
        data["regret"].append(None if r is None or r.regret_cents is None else r.regret_cents / 100)
    schema: dict[str, pl.DataType] = {name: pl.Float64() for name in data}
    schema |= {"scenario": pl.Int64(), "months": pl.String(), "plan_feasible": pl.Boolean()}
    return pl.DataFrame(data, schema=schema)


def stability_table(result: UncertaintyResult) -> pl.DataFrame:
    """`decision_stability.csv`: process, option, share_optimal, chosen."""
    return pl.DataFrame(
        [(r.process, r.option, round(r.share_optimal, 6), r.chosen) for r in result.stability],
        schema={
            "process": pl.String(),
            "option": pl.String(),
            "share_optimal": pl.Float64(),
            "chosen": pl.Boolean(),
        },
        orient="row",
    )


def stability_summary(result: UncertaintyResult) -> pl.DataFrame:
    """The stability table in short, for the report: one row per process.

    Columns: `process`, `chosen` (the plan's option), `share_optimal` (of the chosen option)
    and `otherwise` (the other options that were optimal somewhere, with their shares).
    """
    rows = []
    for process in dict.fromkeys(r.process for r in result.stability):
        mine = [r for r in result.stability if r.process == process]
        chosen = next((r for r in mine if r.chosen), None)
        others = sorted(
            (r for r in mine if not r.chosen and r.share_optimal > 0),
            key=lambda r: -r.share_optimal,
        )
        rows.append(
            (
                process,
                chosen.option if chosen else "—",
                chosen.share_optimal if chosen else 0.0,
                ", ".join(f"{r.option} {r.share_optimal:.0%}" for r in others) or "—",
            )
        )
    return pl.DataFrame(
        rows,
        schema={
            "process": pl.String(),
            "chosen": pl.String(),
            "share_optimal": pl.Float64(),
            "otherwise": pl.String(),
        },
        orient="row",
    )


def plans_summary(result: UncertaintyResult) -> pl.DataFrame:
    """`plans_table` for the report: the decisions only where a plan differs from the first."""
    table = plans_table(result)
    if table.is_empty():
        return table
    base = dict(result.plans[0].assignment)
    changes = []
    for r in result.plans:
        moved = [f"{p}→{o}" for p, o in sorted(r.assignment.items()) if base.get(p) != o]
        changes.append("—" if r is result.plans[0] else ("; ".join(moved) or "same decisions"))
    return table.drop("status", "decisions").with_columns(
        pl.Series("differs_from_deterministic", changes, dtype=pl.String)
    )


def summary_line(summary: SavingSummary) -> str:
    """One line for the command's summary: `saving ≥ 0 in 96 % of 1,000 scenarios`."""
    return f"saving ≥ 0 in {round(100 * summary.p_no_loss)} % of {summary.scenarios:,} scenarios"
