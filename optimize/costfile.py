"""The cost and offer file of docs/cost-file.md (`schema_version: 1`): typed schema and validation.

`load_costs(path)` reads the YAML file (and an `offers.csv` beside it, if present), validates
every field and every cross-reference, and returns a frozen `CostFile`. Every problem found is
collected and raised together as one `InputError`; each `Problem` carries the file, the line
of the offending YAML node and a message that starts with the YAML path, e.g.
`providers[1].rebate_tiers[0].rebate: must be < 1 — got 1.5; …`.

Reading rules worth knowing:

- Unknown keys are errors (a misspelt key would otherwise silently fall back to a default).
- Numbers must be YAML numbers: `"3.10"` (quoted), `true` and `.nan`/`.inf` are rejected.
  Integers are accepted where decimals are expected; `1e5` is read as a number (YAML 1.2).
- Only `true`/`false` are booleans: `yes`, `no`, `on`, `off` stay text (YAML 1.2), so a
  provider located in Norway can be written `location: NO`.
- An optional key without a value (`key:` or `key: null`) takes its default.
- Money is in the file's `currency`, at most 10^12 per item; rates are fractions in [0, 1]
  (write 5 % as 0.05); times are hours.
- Processes named in `offers` or `couplings_override` need not be listed under
  `processes:` (they may come from the event log); systems named in `it`, `systems` overrides
  or `system_takeover` need not be listed under `systems:` (they get the defaults of
  docs/cost-file.md). Providers must be listed under `providers:`.
- An offer with IT mode `takeover` of a system needs a `system_takeover` entry for that
  system at its provider (write zeros if the take-over is free), and the system must not be
  `not_movable`.
- Defaults: horizon 5 years, discount rate 0.08, governance 5 % of net fees, 1,600 hours per
  FTE, handover cost 0, risk mode `none`, calibration factor 1, retained share 0, system
  policy `all_or_nothing` (retirable, decommission cost 0), one rebate tier {0, 0}.
- Keys beyond the short example of the model: `study.transition_fte_cap` (C13: FTE moved
  out in one wave), `study.risk.weight` (λ for risk mode `objective`, default 1),
  `providers[].max_volume_share` (C8: θ_v, a fraction), `providers[].capacity.fte`, and the
  `mining` keys of `pipelines.read.LogOptions` (`object_type`, `query`, `column_map`,
  `activity_classifier`).
- Keys of the transition roadmap (`optimize.roadmap`): `study.transition.dual_running_share`
  (default 0.5), `study.transition.max_parallel`, `study.transition.budget_per_year`,
  `study.transition.fte_cap` (FTE in transition at once; default `study.transition_fte_cap`),
  `offers[].transition_quarters` (whole quarters ≥ 1, default 1) and `processes[].not_before`
  (the earliest start quarter, a whole number ≥ 0, default 0).
- `offers.csv` beside the YAML (comma-separated, UTF-8, header row) adds offers with the
  columns `process, provider, price_per_case, fixed_per_year, transition_cost,
  sla_throughput_hours, it, risk_per_year, transition_quarters` (`it` written
  `ERP=access;OCR=takeover`; empty cells take the defaults). Its problems are reported with the
  CSV line number.
"""

import csv
import difflib
import io
import math
import re
import types
import typing
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from optimize.instance import IN_HOUSE, ItMode, SystemPolicy
from optimize.todo import TODO, todo_locations, todo_message
from pipelines.errors import InputError, Problem

SCHEMA_VERSION = 1
MAX_MONEY = 1e12  # per item and year; keeps every total in cents far inside int64
MAX_CASES = 1e9
MAX_HOURS = 1e6
MAX_YAML_NODES = 200_000  # after alias expansion: refuses "billion laughs" documents
OFFERS_CSV = "offers.csv"
MODEL_SUFFIXES = (".bpmn", ".pnml")  # processes[].reference_model: the documented process
RESERVED_ID = IN_HOUSE  # the in-house option of the model

RiskMode = Literal["constraint", "objective", "none"]

Id = Annotated[str, Field(min_length=1, max_length=200)]
Money = Annotated[float, Field(ge=0, le=MAX_MONEY)]
Rate = Annotated[float, Field(ge=0, le=1)]
Cases = Annotated[float, Field(ge=0, le=MAX_CASES)]
Hours = Annotated[float, Field(ge=0, le=MAX_HOURS)]
PositiveHours = Annotated[float, Field(gt=0, le=MAX_HOURS)]


class _Strict(BaseModel):
    """Base of every section: unknown keys are errors, no lax coercion, NaN/inf rejected.

    An optional key written without a value (`key:` or `key: null`) takes its default.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,  # the field docstrings are docs/cost-file.md
    )

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        optional = {
            field.alias or name
            for name, field in cls.model_fields.items()
            if not field.is_required() and field.get_default() is not None
        }
        return {k: v for k, v in data.items() if not (v is None and k in optional)}


class ObservationPeriod(_Strict):
    """The window that mined counts are annualised over (default: first to last event)."""

    start: date
    """First day of the window.

    Unit: date (YYYY-MM-DD)
    Model: §2 annualisation
    """
    end: date
    """Last day of the window, inclusive.

    Unit: date (YYYY-MM-DD)
    Model: §2 annualisation
    """


class RiskSettings(_Strict):
    """How provider risk enters the model: a budget (`constraint`), a weighted cost, or not."""

    mode: RiskMode = "none"
    """`constraint`: risk per year may not exceed `budget_per_year`; `objective`: risk is
    added to the cost with `weight`; `none`: risk is reported only.

    Model: C13 risk budget, or λ·Risk in the §4 objective
    """
    budget_per_year: Money | None = None
    """Most provider risk per year the plan may carry (needed with mode `constraint`).

    Unit: currency per year
    Model: C13 (R_max)
    """
    weight: Annotated[float, Field(ge=0, le=1000)] = 1.0  # λ per currency unit, mode objective
    """λ: currency units of cost per unit of risk, with mode `objective`.

    Unit: factor
    Model: §4 objective (λ)
    Example: 0.5
    """


FactorRange = Annotated[list[float], Field(min_length=3, max_length=3)]
"""A triangular factor [low, mode, high] (checked 0 ≤ low ≤ mode ≤ high in `_check_uncertainty`)."""


class UncertaintyRanges(_Strict):
    """Triangular factors of `study.uncertainty.ranges`; a key left out does not move."""

    provider_prices: FactorRange | None = None
    """Factor [low, mode, high] on every offer's price_per_case and fixed_per_year (one
    draw per scenario for all offers; a provider's price_range overrides it).

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: [0.95, 1.0, 1.1]
    """
    inhouse_rates: FactorRange | None = None
    """Factor [low, mode, high] on every role's labour rate.

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: [0.97, 1.0, 1.05]
    """
    transition_costs: FactorRange | None = None
    """Factor [low, mode, high] on every offer's transition cost.

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: [0.8, 1.0, 1.5]
    """
    volumes: FactorRange | None = None
    """Factor [low, mode, high] on cases per year, only for processes whose log cannot be
    bootstrapped (fewer than 6 whole months, or overrides only).

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: [0.9, 1.0, 1.2]
    """
    handling_hours: FactorRange | None = None
    """Factor [low, mode, high] on handling hours per case, where volumes use `volumes`.

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: [0.9, 1.0, 1.1]
    """


class Uncertainty(_Strict):
    """How sure the saving is (`study.uncertainty`; see docs/uncertainty.md)."""

    scenarios: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    """Monte Carlo scenarios in which the plan and the status quo are priced.

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: 1000
    """
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 7
    """Random seed: the same seed and inputs give the same files.

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: 7
    """
    resolves: Annotated[int, Field(ge=0, le=100_000)] = 100
    """Scenarios re-optimised for regret and decision stability.

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: 100
    """
    objective: Literal["deterministic", "expected", "cvar"] = "deterministic"
    """With expected or cvar, a plan that minimises the expected cost or the conditional
    value at risk over sampled scenarios is reported beside the deterministic plan.

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: cvar
    """
    cvar_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    """Level of the conditional value at risk (the mean of the worst 1 − level of costs).

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: 0.95
    """
    saa_scenarios: Annotated[int, Field(ge=1, le=10_000)] = 50
    """Scenarios inside the one CP-SAT model of the expected or CVaR plan.

    Model: uncertainty analysis (docs/uncertainty.md)
    Example: 50
    """
    ranges: UncertaintyRanges = UncertaintyRanges()
    """Triangular factors of the cost-file figures; a key left out does not move.

    Model: uncertainty analysis (docs/uncertainty.md)
    """


class Transition(_Strict):
    """How the plan is implemented quarter by quarter (the transition roadmap)."""

    dual_running_share: Rate = 0.5
    """Share of the plan's run-rate paid on top of the status quo while a process is in
    transition (dual running).

    Unit: share
    Model: transition roadmap (docs/roadmap.md)
    Example: 0.5
    """
    max_parallel: Annotated[int, Field(ge=0)] | None = None
    """Processes in transition at the same time; empty: no limit.

    Unit: processes
    Model: transition roadmap (docs/roadmap.md)
    Example: 2
    """
    budget_per_year: Money | None = None
    """One-time spend (transition, set-up, migration, decommissioning) per study year;
    empty: no limit.

    Unit: currency per year
    Model: transition roadmap (docs/roadmap.md)
    Example: 250000
    """
    fte_cap: Annotated[float, Field(ge=0, le=MAX_CASES)] | None = None
    """FTE of the processes in transition at the same time; empty: no limit.

    Unit: FTE
    Model: transition roadmap (docs/roadmap.md)
    Example: 6
    """


class Study(_Strict):
    """Study-wide parameters (docs/sourcing-model.md §4, §5 C4/C13)."""

    horizon_years: Annotated[int, Field(ge=1, le=50)] = 5
    """Years over which one-time costs are spread (H of the capital-recovery factor).

    Unit: years
    Model: §4 objective (CRF)
    """
    discount_rate: Rate = 0.08
    """Interest rate i of the capital-recovery factor; 0 spreads one-time costs evenly.

    Unit: fraction per year (8 % = 0.08)
    Model: §4 objective (CRF)
    """
    observation_period: ObservationPeriod | None = None
    """The window the mined counts are annualised over; default: first to last event.

    Model: §2 annualisation (N_p)
    """
    hours_per_fte: Annotated[float, Field(gt=0, le=8784)] = 1600.0
    """Practical working hours of one full-time employee per year.

    Unit: hours per year
    Model: §2 FTE_p; roles without practical hours
    """
    governance_share: Rate = 0.05
    """Retained organisation and governance, as a share of net provider fees
    (practice: 3–12 %).

    Unit: fraction (5 % = 0.05)
    Model: §4 objective (γ)
    """
    cost_per_cross_org_handover: Money = 0.0
    """Cost of one handover between two processes run by different parties.

    Unit: currency per handover
    Model: §4 objective (ι), C12
    """
    max_providers: Annotated[int, Field(ge=1)] | None = None
    """Most providers the plan may contract; empty: no limit.

    Unit: count
    Model: C4
    """
    inhouse_fte_cap: Annotated[float, Field(ge=0, le=MAX_CASES)] | None = None
    """Most FTE that may stay in-house; empty: no limit.

    Unit: FTE
    Model: C13
    Example: 40
    """
    transition_fte_cap: Annotated[float, Field(ge=0, le=MAX_CASES)] | None = None
    """Most FTE that may move out in one wave; empty: no limit.

    Unit: FTE
    Model: C13
    Example: 12
    """
    keep_together_threshold: Annotated[float, Field(ge=0, le=MAX_CASES)] | None = None
    """Two processes with at least this many handovers per case between them stay with
    the same party; empty: handovers are only priced.

    Unit: handovers per case
    Model: C12 keep-together
    Example: 0.5
    """
    risk: RiskSettings = RiskSettings()
    """How provider risk enters the plan.

    Model: C13, §4 objective
    """
    uncertainty: Uncertainty | None = None
    """How sure the saving is: scenarios drawn from the log's months and the ranges given
    here (see docs/uncertainty.md); without it, no uncertainty analysis runs.

    Model: uncertainty analysis (not in the optimisation)
    """
    transition: Transition = Transition()
    """How the plan is implemented quarter by quarter: the transition roadmap's rules (see
    docs/roadmap.md).

    Model: transition roadmap (not in the optimisation)
    """


class Mining(_Strict):
    """How the event log is read (passed to `pipelines.read.LogOptions`)."""

    object_type: Id | None = None
    """OCEL 2.0 object type to flatten the log on (one case per object); the command's
    `--object-type` wins.

    Model: reading the log
    Example: Invoice
    """
    query: Annotated[str, Field(min_length=1)] | None = None
    """SELECT statement for a database source (instead of `?table=`); `--query` wins.

    Model: reading the log
    Example: SELECT * FROM events
    """
    process_attribute: Id | None = None
    """Event or case attribute that names the process; default `process`, else the
    file name.

    Model: reading the log (the set of processes)
    """
    system_attribute: Id | None = None
    """Event attribute that names the IT system; default `system`.

    Model: §2 systems used (B_ps)
    """
    column_map: dict[str, str] = {}
    """Normalized column → column of your file, where the usual spellings do not match
    (`case_id`, `activity`, `timestamp`, `start_timestamp`, `resource`, `role`,
    `process`, `system`).

    Model: reading the log
    Example: {case_id: Ticket, timestamp: Closed at}
    """
    activity_to_system: dict[str, str] = {}
    """Activity → IT system, for events that carry no system attribute.

    Model: §2 systems used (B_ps)
    """
    exclude_resources: list[str] = []
    """Resources whose events are dropped before mining (batch users, system accounts);
    the run prints how many events they removed.

    Model: §2 every mined fact
    """
    timezone: Id | None = None
    """IANA time zone of timestamps written without one, and of working days for
    estimated handling times; default UTC.

    Model: reading the log; §2 handling hours
    """
    model: Id | None = None
    """A model candidate to use instead of choosing the best F-score: imd, imd_80, imf_0.8,
    imf_0.6, imf_0.4, imf_0.2, im_80, im_90, im_95 or im (see docs/models.md).

    Model: process discovery (not in the optimisation)
    Example: imf_0.4
    """
    discovery_seconds: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 60.0
    """Wall-time budget of one process's model discovery; candidates still running then are
    dropped with a warning, and a process without a model keeps its map and KPIs.

    Unit: seconds
    Model: process discovery (not in the optimisation)
    Example: 120
    """

    @field_validator("model")
    @classmethod
    def _known_candidate(cls, value: str | None) -> str | None:
        from mining.candidates import NAMES  # noqa: PLC0415 - pure Python, no pm4py

        if value is not None and value not in NAMES:
            raise ValueError(f"unknown model candidate {value!r}; use one of {', '.join(NAMES)}")
        return value

    activity_classifier: Annotated[list[Id], Field(min_length=1)] | None = None
    """Attributes whose values, joined with "+", name the activity (e.g. concept:name and
    lifecycle:transition for status-level detail); default: the log's activity column (see
    docs/event-log.md).

    Model: reading the log
    Example: [concept:name, lifecycle:transition]
    """

    @field_validator("activity_classifier")
    @classmethod
    def _distinct_attributes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            repeated = sorted({a for a in value if value.count(a) > 1})
            if repeated:
                raise ValueError(
                    f"attribute {repeated[0]!r} is listed twice; name each attribute once"
                )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(
                    f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin or UTC"
                ) from exc
        return value


class Role(_Strict):
    """A labour role: a rate per hour, or per year over practical hours, and its resources."""

    id: Id
    """Name of the role; match it to the log's roles (`org:role`/`org:group`) or list its
    `resources`.

    Model: §2 rate(role of a)
    """
    cost_per_hour: Money | None = None
    """Fully loaded labour cost of one hour.

    Unit: currency per hour
    Model: §2 C_p
    """
    cost_per_year: Money | None = None
    """Fully loaded labour cost of one FTE per year (instead of `cost_per_hour`).

    Unit: currency per year
    Model: §2 C_p
    """
    practical_hours_per_year: PositiveHours | None = None
    """Hours one FTE of this role works per year, with `cost_per_year`; default
    `study.hours_per_fte`.

    Unit: hours per year
    Model: §2 C_p
    """
    resources: list[Id] = []
    """Resources (people, user ids) of the log that belong to this role.

    Model: §2 rate(role of a)
    """

    def hourly_rate(self, hours_per_fte: float) -> float:
        """Cost of one hour of this role.

        Args:
            hours_per_fte: Practical hours per year used when the role gives none.

        Returns:
            `cost_per_hour`, else `cost_per_year / practical_hours_per_year`.
        """
        if self.cost_per_hour is not None:
            return self.cost_per_hour
        hours = self.practical_hours_per_year or hours_per_fte
        return (self.cost_per_year or 0.0) / hours


class DataClass(_Strict):
    """Where data of this class may go; `allowed_locations: null` means anywhere."""

    allowed_locations: list[Id] | None = None
    """Provider locations the data of this class may go to; empty: anywhere.

    Model: C2 eligibility (location)
    """
    required_certifications: list[Id] = []
    """Certifications a provider must hold to receive data of this class.

    Model: C2 eligibility (certification)
    """


class Override(_Strict):
    """Values that replace (or, without an event log, supply) the mined facts of a process."""

    cases_per_year: Cases | None = None
    """Cases per year, instead of the mined volume.

    Unit: cases per year
    Model: §2 N_p
    """
    handling_hours_per_case: Hours | None = None
    """Work hours per case (with `role`), instead of the mined handling times.

    Unit: hours per case
    Model: §2 W_p, C_p
    Example: 0.75
    """
    role: Id | None = None
    """Role whose rate prices `handling_hours_per_case`; default `default_role`.

    Model: §2 C_p
    Example: ap_clerk
    """
    inhouse_cost_per_year: Money | None = None
    """In-house labour cost per year as given; wins over hours × rate (the calibration
    factor is not applied).

    Unit: currency per year
    Model: §2 C_p
    """
    fte: Annotated[float, Field(ge=0, le=MAX_CASES)] | None = None
    """FTE of the process, instead of the computed one.

    Unit: FTE
    Model: §2 FTE_p; C5, C13
    """
    systems: list[Id] | None = None
    """IT systems the process uses, instead of the mined ones.

    Model: §2 B_ps; C10, C11
    """
    throughput_p90_hours: PositiveHours | None = None
    """P90 throughput time, instead of the mined one (the default SLA target).

    Unit: hours
    Model: §2 TT_p; C2 (SLA)
    Example: 96
    """


class Process(_Strict):
    """A business process and what the cost file says about it."""

    id: Id
    """Name of the process as the log names it (`process` attribute or file name).

    Model: §3 the set of processes
    """
    core: bool = False
    """A core process is never outsourced.

    Model: C2 eligibility (core)
    """
    data_class: Id | None = None
    """Key of `data_classes` that the process's data belongs to.

    Model: C2 eligibility (location, certification)
    """
    throughput_target_hours: PositiveHours | None = None
    """SLA target: offers promising more hours than this are not eligible; default:
    the observed P90 throughput time.

    Unit: hours
    Model: C2 eligibility (SLA)
    """
    calibration_factor: Annotated[float, Field(gt=0, le=100)] = 1.0
    """κ_p: scales the mined work for effort the log does not show (1.2 = 20 % more).

    Unit: factor
    Model: §2 C_p, FTE_p
    """
    other_avoidable_cost_per_year: Money = 0.0
    """Other cost per year that ends when the process leaves (licences per seat,
    rooms, training).

    Unit: currency per year
    Model: §4 objective (paid while in-house)
    """
    retained_share: Rate = 0.0
    """ρ_p: share of the in-house labour cost still paid after outsourcing.

    Unit: fraction (10 % = 0.1)
    Model: §4 objective (retained share)
    """
    override: Override = Override()
    """Values that replace the mined facts, or supply them for a process without a log.

    Model: §2
    """
    reference_model: str | None = None  # the documented process: .bpmn or .pnml file
    """The documented process (a .bpmn or .pnml file, relative to the cost file's folder)
    that the log is checked against; results in `conformance.csv`.

    Model: conformance check (not in the optimisation)
    Example: models/accounts_payable.pnml
    """
    not_before: Annotated[int, Field(ge=0)] = 0
    """The earliest quarter (0-based from the study's start) in which the process's transition
    may start, e.g. when a contract ends later (see docs/roadmap.md).

    Unit: quarters
    Model: transition roadmap
    Example: 4
    """


class System(_Strict):
    """An IT system: its annual run cost and how it may leave the company."""

    id: Id
    """Name of the IT system as the log (or `activity_to_system`) names it.

    Model: §3 the set of systems
    """
    run_cost_per_year: Money | None = None
    """Annual run cost while the system is kept; missing: 0, with a warning.

    Unit: currency per year
    Model: §4 objective (Run_s)
    """
    policy: SystemPolicy = "all_or_nothing"
    """`all_or_nothing`: may leave only with all its processes, to one provider;
    `shareable`: may be taken over while some users stay; `not_movable`: never
    transferred.

    Model: C10, C11
    """
    retirable: bool = True
    """Whether the system may be switched off once no in-house process or `access` offer
    needs it.

    Model: C11
    """
    decommission_cost: Money = 0.0
    """One-time cost of switching the system off.

    Unit: currency, one-time
    Model: §4 objective (D_s, annualised)
    """


class Capacity(_Strict):
    """A provider's capacity, in cases per year and/or FTE."""

    cases_per_year: Cases | None = None
    """Most cases per year the provider takes, over all its processes.

    Unit: cases per year
    Model: C5
    """
    fte: Annotated[float, Field(ge=0, le=MAX_CASES)] | None = None
    """Most in-house FTE the provider can absorb, over all its processes.

    Unit: FTE
    Model: C5
    Example: 25
    """


class RebateTier(_Strict):
    """All-units rebate on annual spend from `min_spend` on."""

    min_spend: Money
    """Annual spend from which the tier applies.

    Unit: currency per year
    Model: C7
    """
    rebate: Annotated[float, Field(ge=0, lt=1)]
    """All-units rebate on the whole annual spend once the tier is reached.

    Unit: fraction (5 % = 0.05)
    Model: C7; §4 Net_v
    """


class Takeover(_Strict):
    """What a provider charges to take an IT system over."""

    annual_fee: Money = 0.0
    """What the provider charges per year to run the system.

    Unit: currency per year
    Model: §4 Spend_v (fee_sv)
    """
    migration_cost: Money = 0.0
    """One-time cost of moving the system to the provider.

    Unit: currency, one-time
    Model: §4 objective (M_sv, annualised)
    """


class Provider(_Strict):
    """An external provider (BPO)."""

    id: Id
    """Name of the provider; offers refer to it.

    Model: §3 the set of providers
    """
    location: Id | None = None
    """Where the provider processes data (country or region code).

    Model: C2 eligibility (location)
    """
    certifications: list[Id] = []
    """Certifications the provider holds.

    Model: C2 eligibility (certification)
    """
    setup_cost: Money = 0.0
    """One-time cost of contracting the provider at all.

    Unit: currency, one-time
    Model: §4 objective (setup_v, annualised)
    """
    management_cost_per_year: Money = 0.0
    """Fixed vendor-management cost per year while the provider is contracted.

    Unit: currency per year
    Model: §4 objective (G_v)
    """
    capacity: Capacity | None = None
    """Most cases per year and/or FTE the provider takes; empty: no limit.

    Model: C5
    """
    min_annual_value: Money = 0.0
    """Least annual spend at which the provider accepts a contract.

    Unit: currency per year
    Model: C6
    """
    max_volume_share: Rate | None = None
    """θ_v: most share of all the study's cases that may go to this provider.

    Unit: fraction (60 % = 0.6)
    Model: C8
    Example: 0.6
    """
    rebate_tiers: Annotated[list[RebateTier], Field(min_length=1)] = [
        RebateTier(min_spend=0.0, rebate=0.0)
    ]
    """All-units rebates by annual spend; default one tier without rebate.

    Model: C7; §4 Net_v
    """
    risk_per_year: Money = 0.0
    """Risk of contracting this provider at all, in currency per year.

    Unit: currency per year
    Model: §4 Risk; C13
    """
    system_takeover: dict[Id, Takeover] = {}
    """System id → fee and migration cost, for offers that take the system over.

    Model: §4 Spend_v, one-time costs; C10
    """
    price_range: FactorRange | None = None
    """Triangular factor [low, mode, high] that moves all of this provider's prices in the
    uncertainty analysis; overrides study.uncertainty.ranges.provider_prices.

    Model: uncertainty analysis
    Example: [0.9, 1.0, 1.3]
    """


class Offer(_Strict):
    """One provider's offer to run one process."""

    process: Id
    """The process offered.

    Model: C2 (an offer makes the option exist)
    """
    provider: Id
    """The provider making the offer (an id under `providers`).

    Model: §3 x[p,v]
    """
    price_per_case: Money
    """Price per case.

    Unit: currency per case
    Model: §4 Spend_v (price_pv · N_p)
    """
    fixed_per_year: Money = 0.0
    """Fixed fee per year on top of the case price.

    Unit: currency per year
    Model: §4 Spend_v (fixed_pv)
    """
    transition_cost: Money = 0.0
    """One-time cost of moving the process to the provider.

    Unit: currency, one-time
    Model: §4 objective (T_pv, annualised)
    """
    sla_throughput_hours: PositiveHours | None = None
    """Throughput time the provider promises (P90); above the process's target the offer
    is not eligible.

    Unit: hours
    Model: C2 eligibility (SLA)
    """
    it: dict[Id, ItMode] = {}
    """System id → `takeover` (the provider runs it), `access` (the provider works in
    the company's system) or `own_platform` (the provider's own tools).

    Model: C10
    """
    risk_per_year: Money = 0.0
    """Risk of this offer, in currency per year.

    Unit: currency per year
    Model: §4 Risk; C13
    """
    transition_quarters: Annotated[int, Field(ge=1, le=400)] = 1
    """How many quarters moving the process to this provider takes (dual running meanwhile).

    Unit: quarters
    Model: transition roadmap
    Example: 2
    """


class Coupling(_Strict):
    """Handovers between two processes, replacing or adding to the mined ones."""

    from_: Id = Field(alias="from")
    """One process of the pair.

    Model: §2 c_pq
    """
    to: Id
    """The other process of the pair (the count covers both directions).

    Model: §2 c_pq
    """
    handovers_per_year: Cases | None = None
    """Handovers per year between the two, instead of the mined count.

    Unit: handovers per year
    Model: §4 coordination (ι·c_pq); C12
    """
    interface_cost: Money = 0.0
    """One-time cost of an interface when the two are run by different parties.

    Unit: currency, one-time
    Model: §4 objective (I_pq, annualised)
    """


class CostFile(_Strict):
    """A validated cost file (docs/cost-file.md), with the offers of `offers.csv` merged in."""

    schema_version: Literal[1]
    """Version of this file's format; always 1."""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    """ISO 4217 code of every amount in the file.

    Unit: three letters
    """
    study: Study = Study()
    """Study-wide parameters."""
    mining: Mining = Mining()
    """How the event logs are read."""
    roles: list[Role] = []
    """Labour roles and their rates.

    Model: §2 C_p
    """
    default_role: Id | None = None
    """Role of resources that are in no role.

    Model: §2 C_p
    """
    data_classes: dict[Id, DataClass] = {}
    """Data class name → where such data may go.

    Model: C2
    """
    processes: list[Process] = []
    """What the file says about each process; processes of the log not listed get the
    defaults (not core, no offers).
    """
    systems: list[System] = []
    """IT systems; systems not listed get policy `all_or_nothing` and run cost 0."""
    providers: list[Provider] = []
    """The external providers."""
    offers: list[Offer] = []
    """Offers per process and provider; more may come from `offers.csv` beside the file."""
    couplings_override: list[Coupling] = []
    """Handover counts between processes, replacing or adding to the mined ones.

    Model: §2 c_pq
    """

    def resource_roles(self) -> dict[str, str]:
        """Role id of each resource listed under `roles[].resources` (for the log's roles)."""
        return {resource: role.id for role in self.roles for resource in role.resources}

    def role(self, role_id: str) -> Role | None:
        """The role with this id, or None."""
        return next((r for r in self.roles if r.id == role_id), None)

    def process(self, process_id: str) -> Process | None:
        """The process entry with this id, or None."""
        return next((p for p in self.processes if p.id == process_id), None)

    def system(self, system_id: str) -> System | None:
        """The system entry with this id, or None."""
        return next((s for s in self.systems if s.id == system_id), None)

    def provider(self, provider_id: str) -> Provider | None:
        """The provider entry with this id, or None."""
        return next((v for v in self.providers if v.id == provider_id), None)


# --------------------------------------------------------------------------------------------
# YAML reading with line numbers
# --------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (true/false only) and `1e5`-style floats."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _expanded_size(node: Node) -> int:
    """Node count with aliases expanded; raises ValueError on a recursive alias."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(n: Node) -> int:
        key = id(n)
        if key in memo:
            return memo[key]
        if key in active:
            raise ValueError("a YAML alias refers to itself (recursive structure)")
        active.add(key)
        if isinstance(n, MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in n.value)
        elif isinstance(n, SequenceNode):
            total = 1 + sum(size(item) for item in n.value)
        else:
            total = 1
        active.discard(key)
        memo[key] = min(total, MAX_YAML_NODES + 1)
        return memo[key]

    return size(node)


def _record_lines(node: Node, lines: dict[Loc, int], dup: list[tuple[Loc, str]]) -> None:
    """Map each YAML path to the 1-based line of its key (or list item); note duplicate keys."""
    seen: set[int] = set()
    stack: list[tuple[Node, Loc]] = [(node, ())]
    lines[()] = node.start_mark.line + 1
    while stack:
        current, path = stack.pop()
        if id(current) in seen:  # an alias: its lines are those of the anchor
            continue
        seen.add(id(current))
        if isinstance(current, MappingNode):
            keys: dict[str, int] = {}
            for key_node, value_node in current.value:
                if not isinstance(key_node, ScalarNode) or key_node.value == "<<":
                    continue
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in keys:
                    dup.append(
                        (
                            (*path, key),
                            f"duplicate key (also on line {keys[key]}); YAML keeps only the "
                            "last one — remove or merge the two",
                        )
                    )
                keys[key] = line
                lines[(*path, key)] = line
                stack.append((value_node, (*path, key)))
        elif isinstance(current, SequenceNode):
            for index, item in enumerate(current.value):
                lines[(*path, index)] = item.start_mark.line + 1
                stack.append((item, (*path, index)))


def _read_yaml(text: str, file: str) -> tuple[Any, dict[Loc, int], list[Problem]]:
    """Parse YAML; return (data, lines by path, problems). Data is None when unreadable."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}, [_empty(file)]
            if _expanded_size(node) > MAX_YAML_NODES:
                return (
                    None,
                    {},
                    [
                        Problem(
                            file,
                            f"the document has more than {MAX_YAML_NODES:,} values once its "
                            "aliases are expanded; a cost file is far smaller — remove the "
                            "nested aliases",
                            node.start_mark.line + 1,
                        )
                    ],
                )
            lines: dict[Loc, int] = {}
            dups: list[tuple[Loc, str]] = []
            _record_lines(node, lines, dups)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "cannot be parsed"
        where = f" (column {mark.column + 1})" if mark is not None else ""
        if exc.context and exc.problem and exc.context_mark is not None:
            what = f"{exc.context} (line {exc.context_mark.line + 1}): {exc.problem}"
        return (
            None,
            {},
            [
                Problem(
                    file,
                    f"not valid YAML: {what}{where}; check the indentation, quoting and "
                    "colons on this line",
                    mark.line + 1 if mark is not None else None,
                )
            ],
        )
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        return None, {}, [Problem(file, f"not valid YAML: {exc}; fix the value it names")]
    except RecursionError:
        return None, {}, [Problem(file, "not valid YAML: nested too deeply; flatten the file")]
    problems = [Problem(file, f"{_path(loc)}: {msg}", lines.get(loc)) for loc, msg in dups]
    return data, lines, problems


def _empty(file: str) -> Problem:
    return Problem(
        file,
        "the file is empty; a cost file is a YAML mapping that starts with `schema_version: 1` "
        "(see docs/cost-file.md for an example)",
        1,
    )


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _path(loc: Loc) -> str:
    """Render a location as `providers[1].rebate_tiers[0].rebate`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "(top level)"


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML (roughly), shortened."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
        if math.isfinite(value):
            text = repr(value)
    elif isinstance(value, int):
        text = str(value) if abs(value) < 10**21 else f"a {len(str(abs(value)))}-digit number"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a mapping"
    elif isinstance(value, list):
        text = "a list"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return type(value).__name__


def _got(value: Any) -> str:
    """`a boolean true`, `text 'abc'`, `a mapping`: what was found, for type errors."""
    if isinstance(value, dict | list) or value is None:
        return _show(value) if value is not None else "nothing (null)"
    return f"{_kind(value)} {_show(value)}"


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_QUARTER_HINTS = {
    "transition_quarters": "a transition lasts a whole number of quarters, at least 1",
    "not_before": "give the first quarter the process may start in, counted from 0 "
    "(0 = the study's first quarter)",
}
"""Fix hints of the roadmap's quarter keys (whole numbers of quarters)."""


def _describe(error: Any, allowed: Callable[[Loc], list[str]]) -> str:
    """One pydantic error as `what is wrong — got what; how to fix it`."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    got = f"got {_show(value)}"
    loc = tuple(error["loc"])
    quarters = _QUARTER_HINTS.get(str(loc[-1])) if loc else None
    if quarters is not None and kind in {"greater_than_equal", "less_than_equal"}:
        op, bound = ("≥", ctx.get("ge")) if kind == "greater_than_equal" else ("≤", ctx.get("le"))
        return f"must be {op} {_num(bound)} — {got}; {quarters}"
    if quarters is not None and kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"must be a whole number of quarters — got {_got(value)}; {quarters}"
    if kind == "missing":
        return "required key is missing; add it"
    if kind == "extra_forbidden":
        names = allowed(loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), names, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        listed = ", ".join(names) if names else "none"
        return f"unknown key; {hint}allowed keys here: {listed}"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        op, bound = {
            "greater_than_equal": ("≥", ctx.get("ge")),
            "greater_than": (">", ctx.get("gt")),
            "less_than_equal": ("≤", ctx.get("le")),
            "less_than": ("<", ctx.get("lt")),
        }[kind]
        hint = "correct the value"
        if loc[-1:] == ("cvar_level",):
            hint = "the CVaR level is a probability strictly between 0 and 1, e.g. 0.95"
        elif loc[-2:-1] == ("uncertainty",) and bound == 1:
            hint = "draw at least one scenario (default: scenarios 1000, saa_scenarios 50)"
        elif kind in {"greater_than_equal", "greater_than"} and bound == 0:
            hint = "amounts, counts and hours cannot be negative"
            if kind == "greater_than":
                hint = "use a positive value, or leave the key out for the default"
        elif kind in {"less_than_equal", "less_than"} and bound == 1:
            hint = "rates are fractions: write 5 % as 0.05"
        elif kind == "less_than_equal" and bound == MAX_MONEY:
            hint = "amounts are per year in the file's currency; check for a typo"
        return f"must be {op} {_num(bound)} — {got}; {hint}"
    if kind == "finite_number":
        return f"must be a finite number — {got}; enter a real amount"
    if kind in {"float_type", "float_parsing"}:
        if isinstance(value, int) and not isinstance(value, bool):
            return f"is out of range — {got}; check for a typo"
        return (
            f"must be a number — got {_got(value)}; write a plain number, without quotes or units"
        )
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"must be a whole number — got {_got(value)}; write e.g. 5"
    if kind == "bool_type":
        return f"must be true or false — got {_got(value)}"
    if kind == "string_type":
        return f"must be text — got {_got(value)}" + (
            "; put it in quotes" if value is not None else ""
        )
    if kind in {"list_type", "tuple_type"}:
        return f"must be a list (`- item` lines or [a, b]) — got {_got(value)}"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"must be a mapping (`key: value` lines) — got {_got(value)}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', 'one of the allowed values')} — {got}"
    if kind in {
        "date_type",
        "date_parsing",
        "date_from_datetime_inexact",
        "date_from_datetime_parsing",
    }:
        return f"must be a date written unquoted like 2025-01-01 — {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s); leave the key out for the default"
    if kind == "string_pattern_mismatch" and loc == ("currency",):
        return f"must be a three-letter ISO 4217 code such as EUR — {got}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg']} — {got}"


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated/Optional wrappers down to the inner type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return (
        typing.get_origin(annotation) is None
        and isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
    )


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys allowed at a YAML location (for 'unknown key' messages)."""
    current: Any = CostFile
    for part in loc:
        current = _unwrap(current)
        if _is_model(current):
            if isinstance(part, int):
                return []
            field = next(
                (f for name, f in current.model_fields.items() if (f.alias or name) == part),
                None,
            )
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) in (list, dict):
            current = typing.get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if _is_model(current):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _data_loc(data: Any, loc: Loc) -> Loc:
    """Keep the parts of a pydantic location that name keys or indexes in the data."""
    out: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            current = current[part]
            out.append(part)
        elif i == len(loc) - 1 and part != "[key]":
            out.append(part)  # a missing or unknown key: name it
    return tuple(out)


class _Reporter:
    """Turns (location, message) pairs into Problems with file and line."""

    def __init__(self, file: str, lines: dict[Loc, int] | None = None, line: int | None = None):
        self.file = file
        self.lines = lines or {}
        self.line = line
        self.problems: list[Problem] = []

    def line_of(self, loc: Loc) -> int | None:
        if self.line is not None:
            return self.line
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in self.lines:
                return self.lines[loc[:cut]]
        return None

    def __call__(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(self.file, f"{_path(loc)}: {message}", self.line_of(loc)))

    def pydantic(self, exc: ValidationError, data: Any, prefix: Loc = ()) -> None:
        for error in exc.errors(include_url=False):
            if isinstance(error.get("input"), str) and error["input"].strip() == TODO:
                continue  # reported once as "still TODO" (optimize.todo)
            loc = (*prefix, *_data_loc(data, tuple(error["loc"])))
            full = (*prefix, *tuple(error["loc"]))
            self(loc, _describe({**error, "loc": full}, _allowed_keys))


# --------------------------------------------------------------------------------------------
# Cross-field checks on the raw data (so they run even where other fields are invalid)
# --------------------------------------------------------------------------------------------


def _items(data: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    section = data.get(key) if isinstance(data, dict) else None
    if isinstance(section, list):
        for index, item in enumerate(section):
            if isinstance(item, dict):
                yield index, item


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _ids(data: Any, section: str, report: _Reporter) -> dict[str, int]:
    """Ids of a section (first index of each); duplicates reported."""
    first: dict[str, int] = {}
    for index, item in _items(data, section):
        ident = _text(item.get("id"))
        if ident is None:
            continue
        if ident == RESERVED_ID and section in ("processes", "providers"):
            report(
                (section, index, "id"),
                f"{RESERVED_ID!r} is reserved for the in-house option; choose another id",
            )
        if ident in first:
            report(
                (section, index, "id"),
                f"duplicate id {ident!r} (first at {section}[{first[ident]}]); ids must be "
                "unique — rename or merge the two entries",
            )
        else:
            first[ident] = index
    return first


def _known(names: dict[str, Any] | set[str], what: str, where: str) -> str:
    listed = ", ".join(sorted(names)) if names else "none"
    return f"known {what}: {listed} — add it under {where} or fix the spelling"


def _check_roles(data: Any, roles: dict[str, int], report: _Reporter) -> None:
    owner: dict[str, str] = {}
    for index, role in _items(data, "roles"):
        per_hour = role.get("cost_per_hour")
        per_year = role.get("cost_per_year")
        if per_hour is None and per_year is None:
            report(
                ("roles", index),
                "needs cost_per_hour, or cost_per_year with practical_hours_per_year",
            )
        elif per_hour is not None and per_year is not None:
            report(
                ("roles", index, "cost_per_year"),
                "give either cost_per_hour or cost_per_year, not both",
            )
        if per_hour is not None and role.get("practical_hours_per_year") is not None:
            report(
                ("roles", index, "practical_hours_per_year"),
                "only used with cost_per_year; remove it or give cost_per_year instead",
            )
        resources = role.get("resources")
        if isinstance(resources, list):
            for k, resource in enumerate(resources):
                name = _text(resource)
                if name is None:
                    continue
                if name in owner:
                    report(
                        ("roles", index, "resources", k),
                        f"resource {name!r} is already in role {owner[name]!r}; a resource "
                        "belongs to one role",
                    )
                else:
                    owner[name] = str(role.get("id"))
    default = data.get("default_role")
    if _text(default) is not None and default not in roles:
        report(("default_role",), f"unknown role {default!r}; " + _known(roles, "roles", "roles:"))


def _check_study(data: Any, report: _Reporter) -> None:
    study = data.get("study")
    if not isinstance(study, dict):
        return
    risk = study.get("risk")
    if (
        isinstance(risk, dict)
        and risk.get("mode") == "constraint"
        and risk.get("budget_per_year") is None
    ):
        report(
            ("study", "risk", "budget_per_year"),
            "required when risk mode is constraint; give the maximum risk per year, or "
            "use mode objective or none",
        )
    if (
        isinstance(risk, dict)
        and risk.get("mode") in (None, "none")
        and risk.get("budget_per_year") is not None
    ):
        report(
            ("study", "risk", "budget_per_year"),
            "has no effect with risk mode none; set mode: constraint or remove the budget",
        )
    period = study.get("observation_period")
    if isinstance(period, dict):
        start, end = period.get("start"), period.get("end")
        if isinstance(start, date) and isinstance(end, date) and start > end:
            report(
                ("study", "observation_period", "end"),
                f"ends ({end}) before it starts ({start}); swap the dates",
            )


def _check_factor_range(value: Any, loc: Loc, report: _Reporter) -> None:
    """A triangular factor [low, mode, high]: factors ≥ 0 and low ≤ mode ≤ high."""
    if not isinstance(value, list) or len(value) != 3:
        return  # the schema reports the shape
    numbers = [_number(v) for v in value]
    for k, number in enumerate(numbers):
        if number is not None and number < 0:
            report(
                (*loc, k),
                f"a factor must be ≥ 0 — got {_num(number)}; factors multiply a figure "
                "(1.0 = unchanged, 0.9 = 10 % lower)",
            )
    low, mode, high = numbers
    if low is None or mode is None or high is None or min(numbers) < 0:  # type: ignore[type-var]
        return
    if low > high:
        report(
            loc,
            f"low {_num(low)} > high {_num(high)}; write [low, mode, high] with "
            "low ≤ mode ≤ high, e.g. [0.9, 1.0, 1.2]",
        )
    elif not low <= mode <= high:
        report(
            loc,
            f"mode {_num(mode)} is outside [{_num(low)}, {_num(high)}]; write [low, mode, "
            "high] with low ≤ mode ≤ high",
        )


def _check_uncertainty(data: Any, report: _Reporter) -> None:
    study = data.get("study")
    section = study.get("uncertainty") if isinstance(study, dict) else None
    if isinstance(section, dict):
        ranges = section.get("ranges")
        if isinstance(ranges, dict):
            for key, value in ranges.items():
                _check_factor_range(value, ("study", "uncertainty", "ranges", key), report)
    for index, provider in _items(data, "providers"):
        if "price_range" in provider:
            _check_factor_range(
                provider["price_range"], ("providers", index, "price_range"), report
            )


def _check_processes(
    data: Any, roles: dict[str, int], classes: set[str], report: _Reporter
) -> None:
    has_default = _text(data.get("default_role")) is not None
    for index, process in _items(data, "processes"):
        data_class = process.get("data_class")
        if _text(data_class) is not None and data_class not in classes:
            report(
                ("processes", index, "data_class"),
                f"unknown data class {data_class!r}; "
                + _known(classes, "data classes", "data_classes:"),
            )
        reference = process.get("reference_model")
        if isinstance(reference, str) and Path(reference).suffix.lower() not in MODEL_SUFFIXES:
            report(
                ("processes", index, "reference_model"),
                f"{reference!r} is not a .bpmn or .pnml file; name the documented process's "
                "BPMN diagram or Petri net (PNML)",
            )
        override = process.get("override")
        if not isinstance(override, dict):
            continue
        role = override.get("role")
        hours = override.get("handling_hours_per_case")
        base = ("processes", index, "override")
        if _text(role) is not None and role not in roles:
            report((*base, "role"), f"unknown role {role!r}; " + _known(roles, "roles", "roles:"))
        if role is not None and hours is None:
            report(
                (*base, "role"),
                "only used with handling_hours_per_case; add the hours or remove the role",
            )
        if hours is not None and role is None and not has_default:
            report(
                (*base, "handling_hours_per_case"),
                "needs a role to price the hours; add `role:` here or a default_role",
            )
        systems = override.get("systems")
        if isinstance(systems, list):
            seen: set[str] = set()
            for k, system in enumerate(systems):
                if isinstance(system, str) and system in seen:
                    report((*base, "systems", k), f"system {system!r} is listed twice")
                if isinstance(system, str):
                    seen.add(system)


def _not_movable(data: Any) -> set[str]:
    return {
        item["id"]
        for _, item in _items(data, "systems")
        if _text(item.get("id")) and item.get("policy") == "not_movable"
    }


def _check_providers(data: Any, report: _Reporter) -> None:
    fixed = _not_movable(data)
    for index, provider in _items(data, "providers"):
        base = ("providers", index)
        tiers = provider.get("rebate_tiers")
        if isinstance(tiers, list):
            previous: float | None = None
            for k, tier in enumerate(tiers):
                spend = _number(tier.get("min_spend")) if isinstance(tier, dict) else None
                if spend is None:
                    previous = None
                    continue
                if k == 0 and spend != 0:
                    report(
                        (*base, "rebate_tiers", 0, "min_spend"),
                        f"the first tier must start at min_spend 0 — got {_num(spend)}; add "
                        "a tier {min_spend: 0, rebate: 0.0} before it",
                    )
                if previous is not None and spend <= previous:
                    report(
                        (*base, "rebate_tiers", k, "min_spend"),
                        f"must be greater than the previous tier's min_spend {_num(previous)} "
                        f"— got {_num(spend)}; list the tiers in ascending order of min_spend",
                    )
                previous = spend
        capacity = provider.get("capacity")
        if (
            isinstance(capacity, dict)
            and capacity.get("cases_per_year") is None
            and capacity.get("fte") is None
        ):
            report((*base, "capacity"), "give cases_per_year and/or fte, or remove capacity")
        takeover = provider.get("system_takeover")
        if isinstance(takeover, dict):
            for system in takeover:
                if system in fixed:
                    report(
                        (*base, "system_takeover", system),
                        f"system {system!r} is not_movable and can never be taken over; "
                        "remove this entry or change the system's policy",
                    )


def _check_offer(
    offer: dict[str, Any],
    loc: Loc,
    report: _Reporter,
    providers: dict[str, dict[str, Any]],
    fixed: set[str],
) -> None:
    """Cross-checks of one offer (from the YAML or a row of offers.csv)."""
    provider_id = offer.get("provider")
    if _text(provider_id) is not None and provider_id not in providers:
        report(
            (*loc, "provider"),
            f"unknown provider {provider_id!r}; " + _known(providers, "providers", "providers:"),
        )
    it = offer.get("it")
    if not isinstance(it, dict):
        return
    provider = providers.get(provider_id) if isinstance(provider_id, str) else None
    takeover = provider.get("system_takeover") if provider is not None else None
    for system, mode in it.items():
        if mode != "takeover":
            continue
        if system in fixed:
            report(
                (*loc, "it", system),
                f"takeover of system {system!r} is impossible: it is not_movable; use access "
                "or own_platform, or change the system's policy",
            )
        elif provider is not None and not (isinstance(takeover, dict) and system in takeover):
            report(
                (*loc, "it", system),
                f"takeover of {system!r} needs providers[{provider['_index']}].system_takeover."
                f"{system} with annual_fee and migration_cost (write zeros if free)",
            )


def _provider_table(data: Any) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for index, provider in _items(data, "providers"):
        ident = _text(provider.get("id"))
        if ident is not None and ident not in table:
            table[ident] = {**provider, "_index": index}
    return table


def _check_offers(data: Any, report: _Reporter) -> None:
    providers = _provider_table(data)
    fixed = _not_movable(data)
    for index, offer in _items(data, "offers"):
        _check_offer(offer, ("offers", index), report, providers, fixed)


def _offer_key(offer: dict[str, Any]) -> tuple[str, str] | None:
    process, provider = _text(offer.get("process")), _text(offer.get("provider"))
    return (process, provider) if process is not None and provider is not None else None


def _check_duplicate_offers(data: Any, report: _Reporter) -> None:
    seen: dict[tuple[str, str], int] = {}
    for index, offer in _items(data, "offers"):
        key = _offer_key(offer)
        if key is None:
            continue
        if key in seen:
            report(
                ("offers", index),
                f"a second offer for process {key[0]!r} by provider {key[1]!r} (first at "
                f"offers[{seen[key]}]); keep one",
            )
        else:
            seen[key] = index


def _csv_duplicates(
    data: Any, file: str, offers_csv: Path, rows: list[tuple[int, dict[str, Any]]]
) -> list[Problem]:
    """Offers of offers.csv that repeat a (process, provider) of the YAML or an earlier row."""
    first: dict[tuple[str, str], str] = {}
    for index, offer in _items(data, "offers"):
        key = _offer_key(offer)
        if key is not None:
            first.setdefault(key, f"offers[{index}] of {file}")
    problems = []
    for line, offer in rows:
        key = _offer_key(offer)
        if key is not None and key in first:
            problems.append(
                Problem(
                    str(offers_csv),
                    f"row: a second offer for process {key[0]!r} by provider {key[1]!r} "
                    f"(first at {first[key]}); keep one",
                    line,
                )
            )
        elif key is not None:
            first[key] = f"line {line}"
    return problems


def _check_couplings(data: Any, report: _Reporter) -> None:
    seen: dict[frozenset[str], int] = {}
    for index, coupling in _items(data, "couplings_override"):
        a, b = _text(coupling.get("from")), _text(coupling.get("to"))
        if a is None or b is None:
            continue
        if a == b:
            report(
                ("couplings_override", index, "to"),
                f"a process cannot be coupled with itself ({a!r}); name two processes",
            )
            continue
        pair = frozenset((a, b))
        if pair in seen:
            report(
                ("couplings_override", index),
                f"the pair {a!r}–{b!r} is already given at couplings_override[{seen[pair]}] "
                "(handovers count both directions); keep one entry",
            )
        else:
            seen[pair] = index


def _cross_check(data: dict[str, Any], report: _Reporter) -> None:
    roles = _ids(data, "roles", report)
    _ids(data, "processes", report)
    _ids(data, "systems", report)
    _ids(data, "providers", report)
    classes = data.get("data_classes")
    class_names = {k for k in classes if isinstance(k, str)} if isinstance(classes, dict) else set()
    _check_study(data, report)
    _check_uncertainty(data, report)
    _check_roles(data, roles, report)
    _check_processes(data, roles, class_names, report)
    _check_providers(data, report)
    _check_offers(data, report)
    _check_couplings(data, report)


# --------------------------------------------------------------------------------------------
# offers.csv
# --------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "process",
    "provider",
    "price_per_case",
    "fixed_per_year",
    "transition_cost",
    "sla_throughput_hours",
    "it",
    "risk_per_year",
    "transition_quarters",
)
CSV_INFO_COLUMNS = (
    "cases_per_year",
    "handling_hours_per_case",
    "throughput_p90_hours",
    "systems",
    "data_class",
)
"""Facts `bpo offers template` writes for the providers to price on; read back and ignored."""
CSV_PRICE_COLUMNS = ("price_per_case", "fixed_per_year", "transition_cost", "sla_throughput_hours")
_CSV_REQUIRED = ("process", "provider", "price_per_case")
_CSV_TEXT = ("process", "provider")
_CSV_NUMBER = re.compile(
    r"^[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|nan|inf|infinity)$",
    re.IGNORECASE,
)


def _csv_value(column: str, cell: str, report: _Reporter) -> Any:
    if column in _CSV_TEXT:
        return cell
    if column == "it":
        modes: dict[str, str] = {}
        for part in cell.split(";"):
            if not part.strip():
                continue
            system, sep, mode = part.partition("=")
            if not sep or not system.strip() or not mode.strip():
                report(
                    ("it",),
                    f"{part.strip()!r} is not SYSTEM=MODE; write e.g. ERP=access;OCR=takeover",
                )
                continue
            modes[system.strip()] = mode.strip()
        return modes
    if column == "transition_quarters" and re.fullmatch(r"[-+]?[0-9]+", cell):
        return int(cell)  # a whole number of quarters (pydantic refuses 2.5 and 2.0 alike)
    if _CSV_NUMBER.match(cell):
        return float(cell)  # nan/inf included: pydantic rejects them with a clear message
    return cell  # pydantic reports: must be a number — got text '…'


def _read_offers_csv(
    path: Path, data: dict[str, Any]
) -> tuple[list[tuple[int, dict[str, Any]]], list[Problem]]:
    """Rows of offers.csv as (line, raw offer); problems with CSV line numbers."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [Problem(file, f"not UTF-8 text ({exc.reason}); save the file as UTF-8")]
    except OSError as exc:
        return [], [Problem(file, f"cannot be read: {exc.strerror}")]
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], [Problem(file, f"is empty; give a header row: {','.join(CSV_COLUMNS)}", 1)]
    except csv.Error as exc:
        return [], [Problem(file, f"not valid CSV: {exc}", 1)]
    head = _Reporter(file, line=1)
    for column in header:
        if column not in CSV_COLUMNS and column not in CSV_INFO_COLUMNS:
            near = difflib.get_close_matches(column, CSV_COLUMNS, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            head((column,), f"unknown column; {hint}columns: {', '.join(CSV_COLUMNS)}")
    for column in _CSV_REQUIRED:
        if column not in header:
            head((column,), "required column is missing; add it to the header row")
    for column in {c for c in header if header.count(c) > 1}:
        head((column,), "column appears twice in the header; keep one")
    if head.problems:
        return [], head.problems
    rows: list[tuple[int, dict[str, Any]]] = []
    providers = _provider_table(data)
    fixed = _not_movable(data)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(file, f"not valid CSV: {exc}", reader.line_num))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        report = _Reporter(file, line=line)
        if len(cells) != len(header):
            report((), f"has {len(cells)} cells but the header has {len(header)} columns")
            problems.extend(_fix_csv_messages(report.problems))
            continue
        raw = {
            column: _csv_value(column, cell.strip(), report)
            for column, cell in zip(header, cells, strict=True)
            if cell.strip() and column not in CSV_INFO_COLUMNS
        }
        if _unpriced_template_row(header, raw):
            continue
        try:
            Offer.model_validate(raw)
        except ValidationError as exc:
            report.pydantic(exc, raw)
        _check_offer(raw, (), report, providers, fixed)
        problems.extend(_fix_csv_messages(report.problems))
        rows.append((line, raw))
    return rows, problems


def _unpriced_template_row(header: list[str], raw: dict[str, Any]) -> bool:
    """A row of a `bpo offers template` sheet that the provider did not price: no offer."""
    return any(c in CSV_INFO_COLUMNS for c in header) and not any(
        c in raw for c in CSV_PRICE_COLUMNS
    )


def _fix_csv_messages(problems: list[Problem]) -> list[Problem]:
    """CSV rows have columns, not YAML paths: `(top level): x` reads better as `row: x`."""
    return [Problem(p.file, p.message.replace("(top level):", "row:", 1), p.line) for p in problems]


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def parse_costs(
    text: str,
    file: str = "costs.yaml",
    offers_csv: Path | None = None,
    *,
    base_dir: Path | None = None,
) -> CostFile:
    """Validate cost-file text (and optionally an offers.csv) into a `CostFile`.

    Args:
        text: The YAML document.
        file: The name used in problems (the path as the user gave it).
        offers_csv: An `offers.csv` whose rows are merged into `offers`.
        base_dir: Folder of the cost file: `processes[].reference_model` paths are relative
            to it, must exist there and are returned resolved (absolute). None: not checked.

    Returns:
        The validated cost file.

    Raises:
        InputError: Listing every problem found, each with file, line and YAML path.
    """
    data, lines, problems = _read_yaml(text, file)
    if data is None and not problems:
        problems = [_empty(file)]
    if problems and data is None:
        raise InputError(problems)
    if not isinstance(data, dict):
        raise InputError(
            Problem(
                file,
                f"the file holds {_kind(data)}, not a mapping; a cost file starts with "
                "`schema_version: 1` followed by sections such as study:, processes:, offers:",
                lines.get(()),
            )
        )
    version = data.get("schema_version")
    if "schema_version" not in data:
        raise InputError(
            Problem(
                file,
                "schema_version: required key is missing; add `schema_version: 1` as the "
                "first line",
                1,
            )
        )
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise InputError(
            Problem(
                file,
                f"schema_version: {_show(version)} is not supported; this version of bpo "
                f"reads schema_version {SCHEMA_VERSION} (docs/cost-file.md)",
                lines.get(("schema_version",)),
            )
        )
    report = _Reporter(file, lines)
    report.problems.extend(problems)
    costs: CostFile | None = None
    try:
        costs = CostFile.model_validate(data)
    except ValidationError as exc:
        report.pydantic(exc, data)
    _cross_check(data, report)
    _check_duplicate_offers(data, report)
    if base_dir is not None:
        _check_reference_files(data, base_dir, report)
    _report_todos(data, report)
    yaml_problems = sorted(report.problems, key=lambda p: (p.line or 0, p.message))
    csv_rows: list[tuple[int, dict[str, Any]]] = []
    csv_problems: list[Problem] = []
    if offers_csv is not None:
        csv_rows, csv_problems = _read_offers_csv(offers_csv, data)
        csv_problems += _csv_duplicates(data, file, offers_csv, csv_rows)
    all_problems = yaml_problems + sorted(csv_problems, key=lambda p: p.line or 0)
    if all_problems or costs is None:
        raise InputError(all_problems)
    if csv_rows:
        extra = [Offer.model_validate(raw) for _, raw in csv_rows]
        costs = costs.model_copy(update={"offers": [*costs.offers, *extra]})
    if base_dir is not None:
        processes = [
            p.model_copy(update={"reference_model": str((base_dir / p.reference_model).resolve())})
            if p.reference_model is not None
            else p
            for p in costs.processes
        ]
        costs = costs.model_copy(update={"processes": processes})
    return costs


def _report_todos(data: Any, report: _Reporter) -> None:
    """Each `TODO` left by `bpo costs init` is one problem; other findings at it are dropped."""
    todos = list(todo_locations(data))
    if not todos:
        return
    at = {f"{_path(loc)}: " for loc in todos}
    report.problems[:] = [p for p in report.problems if not p.message.startswith(tuple(at))]
    for loc in todos:
        report(loc, todo_message(loc))


def _check_reference_files(data: Any, base_dir: Path, report: _Reporter) -> None:
    """Each `processes[].reference_model` with a model suffix names an existing file."""
    for index, process in _items(data, "processes"):
        reference = process.get("reference_model")
        if not isinstance(reference, str):
            continue
        if (
            Path(reference).suffix.lower() in MODEL_SUFFIXES
            and not (base_dir / reference).is_file()
        ):
            report(
                ("processes", index, "reference_model"),
                f"file {reference!r} not found (paths are relative to the cost file's folder "
                f"{str(base_dir)!r}); check the path",
            )


_BINARY_KINDS = (
    (b"\x1f\x8b", "gzip-compressed, not YAML text; unpack it (gunzip) and give the file inside"),
    (b"PK\x03\x04", "a ZIP archive (an Excel or Word file?), not YAML text; save it as YAML"),
    (b"%PDF", "a PDF document, not YAML text; give the YAML cost file"),
    (b"PAR1", "a Parquet file, not a cost file; give logs with --log, the YAML with --costs"),
    (b"SQLite format 3", "an SQLite database, not a cost file; give the YAML with --costs"),
)


def _refuse_binary(data: bytes, file: str) -> None:
    """A compressed or binary file given as the cost file is called what it is."""
    for magic, what in _BINARY_KINDS:
        if data.startswith(magic):
            raise InputError(Problem(file, f"is {what}"))
    if b"\x00" in data[:8192]:
        raise InputError(
            Problem(file, "is a binary file, not YAML text — give the cost file (costs.yaml)")
        )


def load_costs(path: str | Path) -> CostFile:
    """Read and validate a cost file; an `offers.csv` beside it is merged into its offers.

    Args:
        path: The YAML cost file (docs/cost-file.md).

    Returns:
        The validated cost file; `processes[].reference_model` resolved to absolute paths.

    Raises:
        InputError: Listing every problem found (file, line, YAML path, what to fix);
            a missing or unreadable file, malformed YAML, a document that is not a mapping
            or a wrong `schema_version` give a single problem.
    """
    file = str(path)
    path = Path(path)
    try:
        data = path.read_bytes()
        _refuse_binary(data, file)
        text = data.decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(Problem(file, "file not found; check the --costs path")) from None
    except IsADirectoryError:
        raise InputError(Problem(file, "is a folder; give the cost file itself")) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            Problem(file, f"not UTF-8 text ({exc.reason}); save the file as UTF-8")
        ) from None
    except OSError as exc:
        raise InputError(Problem(file, f"cannot be read: {exc.strerror}")) from None
    beside = path.parent / OFFERS_CSV
    return parse_costs(text, file, beside if beside.is_file() else None, base_dir=path.parent)
