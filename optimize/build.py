"""From a validated cost file and the mined tables to the solver's frozen `Instance`.

Time-driven activity-based costing (docs/sourcing-model.md §2), per process p:

- N_p (cases per year): `override.cases_per_year`, else the mined `cases_per_year`; rounded
  half-up to whole cases, and that whole number is used for labour cost and provider fees alike.
- Labour cost C_p, in this order of precedence:
  1. `override.inhouse_cost_per_year` — the labour cost as given; κ_p is **not** applied (a
     warning says so when `calibration_factor` ≠ 1);
  2. `override.handling_hours_per_case` with `override.role` (else `default_role`):
     C_p = κ_p · N_p · hours · rate(role);
  3. the mined activities: C_p = κ_p · N_p · Σ_a f_pa · h_pa · rate(role of a), with f_pa =
     `executions_per_case`, h_pa = `mean_handling_minutes` / 60 and the role of a = its
     `main_role` when that is the id of a cost-file role, else `default_role` (the mining step
     maps resources to roles with `roles[].resources` before `main_role` is taken).
  A role's rate is `cost_per_hour`, or `cost_per_year / practical_hours_per_year`
  (`study.hours_per_fte` when the role gives no practical hours). C_p is computed exactly
  and rounded half-up to the cent once.
- FTE_p: `override.fte`, else κ_p · N_p · W_p / `study.hours_per_fte` with W_p the hours per
  case above (0 when unknown, with a warning if an FTE limit exists).
- Systems B_ps: `override.systems`, else the systems carrying ≥ 1 % of p's events in
  `system_usage`.
- Throughput target: `throughput_target_hours`, else the observed P90
  (`override.throughput_p90_hours`, else the mined `p90_throughput_hours`), else none.
- c_pq: mined handovers in both directions added up (symmetrised); a `couplings_override`
  entry replaces the count of its pair when it gives `handovers_per_year` and adds its
  one-time `interface_cost`.

One-time costs (transition, migration, set-up, decommissioning, interfaces) go into the
instance in cents, not annualised: `optimize.instance.Study.annualise` applies the CRF to each
item on its own, the same way in the model and the evaluator.

Cross-checks (reported, never dropped): a process in the log but nowhere in the cost file, a
cost-file process absent from the log, a system not in the cost file (run cost 0), a role of
the log that is not a cost-file role, an activity without handling time, offers of a core
process. A non-core process with neither cases nor labour cost, an offer or coupling for a
process that exists nowhere, or a process whose offers cannot be priced (no cases) is an
`InputError`. Processes without offers stay in-house.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import polars as pl

from mining.kpis import MinedTables, MiningConfig
from optimize.costfile import RESERVED_ID, CostFile, Process, Role
from optimize.instance import (
    Coupling,
    Instance,
    Offer,
    ProcessData,
    ProviderData,
    RebateTier,
    Study,
    SystemData,
    Takeover,
    exact,
    round_half_up,
    to_bp,
    to_centi,
    to_cents,
)
from pipelines.errors import InputError, Problem

SYSTEM_SHARE_THRESHOLD = MiningConfig().system_share_threshold  # one rule with mining

MINED = "mined"
OVERRIDDEN = "overridden"
DEFAULT = "default"

PROVENANCE_SCHEMA: dict[str, pl.DataType] = {
    "process": pl.String(),
    "field": pl.String(),
    "value": pl.String(),
    "source": pl.String(),
}

# Columns the builder reads, by table (docs/results.md lists more; extra columns are fine).
REQUIRED_COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "process_kpis": {
        "process": pl.String(),
        "cases_per_year": pl.Float64(),
        "p90_throughput_hours": pl.Float64(),
        "handling_time_source": pl.String(),
    },
    "activity_stats": {
        "process": pl.String(),
        "activity": pl.String(),
        "executions_per_case": pl.Float64(),
        "mean_handling_minutes": pl.Float64(),
        "main_role": pl.String(),
    },
    "handovers": {
        "from_process": pl.String(),
        "to_process": pl.String(),
        "handovers_per_year": pl.Float64(),
    },
    "system_usage": {
        "process": pl.String(),
        "system": pl.String(),
        "share_of_process_events": pl.Float64(),
    },
}


MinedInputs = MinedTables
"""The mined tables (docs/results.md) the builder reads (`load_mined_dir`, `compute_tables`)."""


@dataclass(frozen=True)
class BuiltInstance:
    """The instance, where each process value came from, and what the user should know.

    Attributes:
        instance: The frozen model input.
        provenance: Frame `process, field, value, source` with source `mined`, `overridden`
            (the cost file gives it) or `default`; one row per process and field
            (`cases_per_year`, `inhouse_cost_per_year`, `handling_hours_per_case`, `fte`,
            `systems`, `throughput_p90_hours`, `throughput_target_hours`).
        warnings: Cross-check findings in plain words (reported, nothing dropped).
    """

    instance: Instance
    provenance: pl.DataFrame
    warnings: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Reading a `bpo mine` output folder
# --------------------------------------------------------------------------------------------


def _check_frame(frame: pl.DataFrame, table: str, file: str) -> tuple[pl.DataFrame, list[Problem]]:
    """Check and cast the columns the builder needs; numbers must be finite and ≥ 0.

    Problems name the file, the column and (where known) the CSV line of the first bad value.
    """
    need = REQUIRED_COLUMNS[table]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        return frame, [
            Problem(
                file,
                f"missing column(s) {', '.join(missing)}; {table} needs "
                f"{', '.join(need)} (docs/results.md) — write the folder with `bpo mine`",
            )
        ]
    problems: list[Problem] = []
    indexed = frame.with_row_index("__row")

    def first_bad(condition: pl.Expr, column: str, what: str) -> None:
        bad = indexed.filter(condition).head(1)
        row, value = (int(bad["__row"][0]) + 2, bad[column][0]) if bad.height else (None, None)
        shown = repr(value) if isinstance(value, str) else str(value)
        problems.append(
            Problem(file, f"column {column}: {shown} is not {what}; fix or re-mine the folder", row)
        )

    casts = []
    for column, dtype in need.items():
        col = pl.col(column)
        if frame.schema[column] != dtype:
            try:
                frame.select(col.cast(dtype, strict=True))
            except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):
                kind = "a number" if dtype.is_numeric() else "text"
                first_bad(col.is_not_null() & col.cast(dtype, strict=False).is_null(), column, kind)
                continue
        if dtype.is_numeric():
            number = col.cast(dtype)
            invalid = number.is_nan() | number.is_infinite() | (number < 0)
            if indexed.select(invalid.any()).item():
                first_bad(invalid, column, "a finite number ≥ 0")
                continue
        casts.append(col.cast(dtype))
    return frame.with_columns(casts), problems


def load_mined_dir(path: str | Path) -> MinedInputs:
    """Read `process_kpis.csv`, `activity_stats.csv`, `handovers.csv`, `system_usage.csv`.

    Args:
        path: A `bpo mine` output folder.

    Returns:
        The four tables, the columns the builder needs cast to their docs/results.md types.

    Raises:
        InputError: A file is missing or unreadable, or lacks a needed column, or a value
            cannot be read as its type; every such problem is listed.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(
            Problem(str(path), "is not a folder; give the output folder of `bpo mine`")
        )
    frames: dict[str, pl.DataFrame] = {}
    problems: list[Problem] = []
    for table in REQUIRED_COLUMNS:
        file = folder / f"{table}.csv"
        if not file.is_file():
            problems.append(
                Problem(str(file), "missing; the --mined folder must be written by `bpo mine`")
            )
            continue
        try:
            raw = pl.read_csv(file, infer_schema=False)
        except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(file), f"cannot be read as CSV: {exc}"))
            continue
        frame, found = _check_frame(raw, table, str(file))
        problems.extend(found)
        frames[table] = frame
    if problems:
        raise InputError(problems)
    return MinedInputs(**frames)


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Activity:
    activity: str
    per_case: Fraction
    hours: Fraction | None
    role: str | None


@dataclass
class _Mined:
    """What the log says about one process."""

    cases_per_year: float | None = None
    p90_hours: float | None = None
    handling_source: str | None = None
    activities: list[_Activity] = field(default_factory=list)
    systems: tuple[str, ...] = ()


def _mined_by_process(mined: MinedTables) -> dict[str, _Mined]:
    problems: list[Problem] = []
    tables: dict[str, pl.DataFrame] = {}
    for table in REQUIRED_COLUMNS:
        frame, found = _check_frame(getattr(mined, table), table, f"{table} (mined)")
        problems.extend(found)
        tables[table] = frame
    if problems:
        raise InputError(problems)
    out: dict[str, _Mined] = {}
    for row in tables["process_kpis"].iter_rows(named=True):
        if row["process"] is None:
            continue
        out[row["process"]] = _Mined(
            cases_per_year=row["cases_per_year"],
            p90_hours=row["p90_throughput_hours"],
            handling_source=row["handling_time_source"],
        )
    for row in tables["activity_stats"].iter_rows(named=True):
        facts = out.setdefault(row["process"], _Mined()) if row["process"] else None
        if facts is None:
            continue
        minutes = row["mean_handling_minutes"]
        facts.activities.append(
            _Activity(
                activity=row["activity"] or "",
                per_case=exact(row["executions_per_case"] or 0.0),
                hours=None if minutes is None else exact(minutes) / 60,
                role=row["main_role"],
            )
        )
    usage = (
        tables["system_usage"]
        .filter(
            pl.col("process").is_not_null()
            & pl.col("system").is_not_null()
            & (pl.col("share_of_process_events") >= SYSTEM_SHARE_THRESHOLD)
        )
        .group_by("process")
        .agg(pl.col("system").unique().sort())
    )
    for row in usage.iter_rows(named=True):
        out.setdefault(row["process"], _Mined()).systems = tuple(row["system"])
    return out


def _mined_handovers(mined: MinedTables | None) -> dict[frozenset[str], Fraction]:
    if mined is None:
        return {}
    pairs: dict[frozenset[str], Fraction] = {}
    frame = mined.handovers.select(
        pl.col("from_process").cast(pl.String),
        pl.col("to_process").cast(pl.String),
        pl.col("handovers_per_year").cast(pl.Float64),
    )
    for a, b, per_year in frame.iter_rows():
        if a is None or b is None or a == b or per_year is None:
            continue
        key = frozenset((a, b))
        pairs[key] = pairs.get(key, Fraction(0)) + exact(per_year)
    return pairs


def _show(value: Fraction | float | int) -> str:
    """A number for the provenance table: plain decimal, at most 6 decimals."""
    number = float(value)
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.6f}".rstrip("0").rstrip(".")


def _hourly_rate(role: Role, hours_per_fte: float) -> Fraction:
    if role.cost_per_hour is not None:
        return exact(role.cost_per_hour)
    hours = role.practical_hours_per_year or hours_per_fte
    return exact(role.cost_per_year or 0.0) / exact(hours)


class _Builder:
    def __init__(self, costs: CostFile, mined: MinedTables | None, source: str) -> None:
        self.costs = costs
        self.source = source
        self.mined = _mined_by_process(mined) if mined is not None else None
        self.handovers = _mined_handovers(mined)
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.provenance: list[tuple[str, str, str, str]] = []
        self.roles = {r.id: r for r in costs.roles}
        self.hours_per_fte = costs.study.hours_per_fte
        self.unknown_log_roles: dict[str, set[str]] = {}
        self.known: set[str] = set()
        self.unpriced: set[tuple[str, str | None]] = set()  # (process, log role) reported

    def problem(self, message: str) -> None:
        self.problems.append(Problem(self.source, message))

    def note(self, process: str, name: str, value: str, source: str) -> None:
        self.provenance.append((process, name, value, source))

    # ---- processes --------------------------------------------------------------------------

    def process_ids(self) -> list[str]:
        ids = [p.id for p in self.costs.processes]
        if self.mined is not None:
            ids += sorted(set(self.mined) - set(ids))
        return ids

    def rate_of(self, role_id: str | None, process: str, activity: str) -> Fraction | None:
        if role_id is not None and role_id in self.roles:
            return _hourly_rate(self.roles[role_id], self.hours_per_fte)
        default = self.costs.default_role
        if role_id is not None:
            self.unknown_log_roles.setdefault(role_id, set()).add(process)
        if default is None or default not in self.roles:
            if (process, role_id) in self.unpriced:
                return None
            self.unpriced.add((process, role_id))
            what = (
                "has no role in the log"
                if role_id is None
                else f"has the log's role {role_id!r}, which is not a role of the cost file,"
            )
            self.problem(
                f"process {process!r}, activity {activity!r} {what} and there is no "
                "default_role; add the role under roles: or set default_role"
            )
            return None
        return _hourly_rate(self.roles[default], self.hours_per_fte)

    def labour(
        self, entry: Process, index: int | None, cases: int | None, facts: _Mined | None
    ) -> tuple[int | None, Fraction | None, str]:
        """(C_p in cents or None, hours per case W_p or None, source of C_p)."""
        ov = entry.override
        kappa = exact(entry.calibration_factor)
        where = f"processes[{index}]" if index is not None else f"process {entry.id!r}"
        fix = (
            f"give {where}.override.inhouse_cost_per_year or handling_hours_per_case"
            if index is not None
            else "list it under processes: with override.inhouse_cost_per_year or "
            "handling_hours_per_case"
        )
        if ov.inhouse_cost_per_year is not None:
            if entry.calibration_factor != 1:
                self.warnings.append(
                    f"{where}: calibration_factor {entry.calibration_factor:g} is not applied "
                    "to override.inhouse_cost_per_year (a labour cost given directly)"
                )
            hours = None
            if ov.handling_hours_per_case is not None:
                hours = exact(ov.handling_hours_per_case)
            elif facts is not None and facts.activities:
                hours = self.mined_hours(facts)
            return to_cents(ov.inhouse_cost_per_year), hours, OVERRIDDEN
        if ov.handling_hours_per_case is not None:
            role_id = ov.role or self.costs.default_role
            role = self.roles.get(role_id or "")
            if role is None:  # validated in the cost file; kept for a hand-built CostFile
                self.problem(f"{where}.override.role: unknown role {role_id!r}")
                return None, None, OVERRIDDEN
            hours = exact(ov.handling_hours_per_case)
            if cases is None:
                return None, hours, OVERRIDDEN
            rate = _hourly_rate(role, self.hours_per_fte)
            return round_half_up(kappa * cases * hours * rate * 100), hours, OVERRIDDEN
        if facts is None or not facts.activities or cases is None:
            return None, None, DEFAULT
        if facts.handling_source == "none" or all(a.hours is None for a in facts.activities):
            self.problem(
                f"process {entry.id!r}: the log gives no handling times (no start timestamps, "
                f"no usable resource gaps), so its labour cost is unknown; {fix}"
            )
            return None, None, MINED
        total = Fraction(0)
        for activity in facts.activities:
            if activity.hours is None:
                self.warnings.append(
                    f"process {entry.id!r}, activity {activity.activity!r}: no handling time "
                    "in the log; counted as 0 hours"
                )
                continue
            rate = self.rate_of(activity.role, entry.id, activity.activity)
            if rate is not None:
                total += activity.per_case * activity.hours * rate
        return round_half_up(kappa * cases * total * 100), self.mined_hours(facts), MINED

    @staticmethod
    def mined_hours(facts: _Mined) -> Fraction:
        return sum(
            (a.per_case * a.hours for a in facts.activities if a.hours is not None), Fraction(0)
        )

    def build_process(self, pid: str, offered: set[str]) -> ProcessData | None:
        index = next((i for i, p in enumerate(self.costs.processes) if p.id == pid), None)
        entry = self.costs.processes[index] if index is not None else Process(id=pid)
        where = f"processes[{index}] ({pid})" if index is not None else f"process {pid!r}"
        facts = self.mined.get(pid) if self.mined is not None else None
        ov = entry.override
        if pid == RESERVED_ID:
            self.problem(
                f"process {pid!r}: {RESERVED_ID!r} is reserved for the in-house option; "
                "rename the process in the log (process attribute)"
            )
            return None
        if self.mined is not None and facts is None and index is not None:
            self.warnings.append(
                f"{where} is in the cost file but not in the event log: its values come from "
                "its overrides"
            )
        if self.mined is not None and facts is not None and index is None and pid not in offered:
            self.warnings.append(
                f"process {pid!r} is in the event log but not in the cost file: not core, no "
                "data class, no offers, so it stays in-house"
            )

        # N_p
        cases: int | None = None
        if ov.cases_per_year is not None:
            cases = round_half_up(exact(ov.cases_per_year))
            self.note(pid, "cases_per_year", str(cases), OVERRIDDEN)
        elif facts is not None and facts.cases_per_year is not None:
            cases = round_half_up(exact(facts.cases_per_year))
            self.note(pid, "cases_per_year", str(cases), MINED)

        # C_p
        reported = len(self.problems)
        cost, hours, cost_source = self.labour(entry, index, cases, facts)
        if len(self.problems) > reported:
            return None
        if cost is not None:
            self.note(pid, "inhouse_cost_per_year", _show(Fraction(cost, 100)), cost_source)
        if hours is not None:
            hours_source = OVERRIDDEN if ov.handling_hours_per_case is not None else MINED
            self.note(pid, "handling_hours_per_case", _show(hours), hours_source)

        has_offers = pid in offered and not entry.core
        if cases is None and cost is None:
            if not entry.core:
                self.problem(
                    f"{where}: no cases and no labour cost — it is not in the event log and "
                    "has no overrides; give override.cases_per_year and "
                    "override.inhouse_cost_per_year (or handling_hours_per_case), or remove it"
                )
                return None
            self.warnings.append(
                f"{where}: no cases and no labour cost (not in the log, no overrides); it is "
                "core and stays in-house at 0"
            )
        elif cases is None:
            if has_offers:
                self.problem(
                    f"{where}: its offers are priced per case but its cases per year are "
                    "unknown; give override.cases_per_year"
                )
                return None
            self.warnings.append(f"{where}: cases per year unknown; taken as 0")
        elif cost is None:
            if not entry.core:
                self.problem(
                    f"{where}: cases per year known but no labour cost; give "
                    "override.inhouse_cost_per_year, or handling_hours_per_case with a role"
                )
                return None
            self.warnings.append(f"{where}: labour cost unknown; it is core, taken as 0")
        if cases is None:
            self.note(pid, "cases_per_year", "0", DEFAULT)
        if cost is None:
            self.note(pid, "inhouse_cost_per_year", "0", DEFAULT)

        # FTE_p
        kappa = exact(entry.calibration_factor)
        if ov.fte is not None:
            fte = float(exact(ov.fte))
            self.note(pid, "fte", _show(fte), OVERRIDDEN)
        elif hours is not None and cases is not None:
            fte = float(kappa * cases * hours / exact(self.hours_per_fte))
            source = (
                MINED
                if ov.cases_per_year is None and ov.handling_hours_per_case is None
                else OVERRIDDEN
            )
            self.note(pid, "fte", _show(fte), source)
        else:
            fte = 0.0
            self.note(pid, "fte", "0", DEFAULT)
            if self.fte_limited():
                self.warnings.append(
                    f"{where}: FTE unknown, taken as 0 for the FTE limits; give override.fte"
                )

        # B_ps
        if ov.systems is not None:
            systems = tuple(ov.systems)
            self.note(pid, "systems", ";".join(systems), OVERRIDDEN)
        elif facts is not None and facts.systems:
            systems = facts.systems
            self.note(pid, "systems", ";".join(systems), MINED)
        else:
            systems = ()
            self.note(pid, "systems", "", DEFAULT)

        # TT_p and the SLA target
        p90: float | None = None
        if ov.throughput_p90_hours is not None:
            p90 = ov.throughput_p90_hours
            self.note(pid, "throughput_p90_hours", _show(p90), OVERRIDDEN)
        elif facts is not None and facts.p90_hours is not None:
            p90 = facts.p90_hours
            self.note(pid, "throughput_p90_hours", _show(p90), MINED)
        if entry.throughput_target_hours is not None:
            target: float | None = entry.throughput_target_hours
            self.note(
                pid, "throughput_target_hours", _show(entry.throughput_target_hours), OVERRIDDEN
            )
        else:
            target = p90
            src = (
                DEFAULT
                if p90 is None
                else (OVERRIDDEN if ov.throughput_p90_hours is not None else MINED)
            )
            self.note(pid, "throughput_target_hours", "" if p90 is None else _show(p90), src)

        data_class = self.costs.data_classes.get(entry.data_class) if entry.data_class else None
        return ProcessData(
            id=pid,
            core=entry.core,
            cases_per_year=cases or 0,
            inhouse_cost_cents=cost or 0,
            fte=fte,
            systems=systems,
            other_avoidable_cost_cents=to_cents(entry.other_avoidable_cost_per_year),
            retained_share_bp=to_bp(entry.retained_share),
            data_class=entry.data_class,
            allowed_locations=(
                None
                if data_class is None or data_class.allowed_locations is None
                else tuple(data_class.allowed_locations)
            ),
            required_certifications=(
                () if data_class is None else tuple(data_class.required_certifications)
            ),
            throughput_target_hours=target,
        )

    def fte_limited(self) -> bool:
        study = self.costs.study
        return (
            study.inhouse_fte_cap is not None
            or study.transition_fte_cap is not None
            or any(
                v.capacity is not None and v.capacity.fte is not None for v in self.costs.providers
            )
        )

    # ---- systems, providers, offers, couplings -------------------------------------------

    def build_systems(self, processes: Iterable[ProcessData]) -> tuple[SystemData, ...]:
        used: dict[str, list[str]] = {}
        for p in processes:
            for s in p.systems:
                used.setdefault(s, []).append(p.id)
        named: dict[str, list[str]] = {}
        for o in self.costs.offers:
            for s in o.it:
                named.setdefault(s, []).append(f"the offer of {o.provider} for {o.process}")
        for v in self.costs.providers:
            for s in v.system_takeover:
                named.setdefault(s, []).append(f"provider {v.id}'s system_takeover")
        out: list[SystemData] = []
        for i, s in enumerate(self.costs.systems):
            if s.run_cost_per_year is None:
                self.warnings.append(f"systems[{i}] ({s.id}): no run_cost_per_year; taken as 0")
            if s.id not in used and s.id not in named:
                self.warnings.append(
                    f"systems[{i}] ({s.id}): used by no process; the plan may retire it"
                    + (" and save its run cost" if s.retirable else "")
                )
            out.append(
                SystemData(
                    id=s.id,
                    run_cost_cents=to_cents(s.run_cost_per_year or 0.0),
                    policy=s.policy,
                    retirable=s.retirable,
                    decommission_cost_cents=to_cents(s.decommission_cost),
                )
            )
        listed = {s.id for s in self.costs.systems}
        for s in sorted((set(used) | set(named)) - listed):
            who = used.get(s) or named.get(s) or []
            self.warnings.append(
                f"system {s!r} (used by {', '.join(sorted(set(who)))}) is not in the cost file: "
                "run cost 0, policy all_or_nothing, retirable, decommission cost 0 — add it "
                "under systems:"
            )
            out.append(SystemData(id=s))
        return tuple(out)

    def build_providers(self) -> tuple[ProviderData, ...]:
        out = []
        for v in self.costs.providers:
            cap = v.capacity
            out.append(
                ProviderData(
                    id=v.id,
                    location=v.location or "",
                    certifications=tuple(v.certifications),
                    setup_cost_cents=to_cents(v.setup_cost),
                    management_cost_cents=to_cents(v.management_cost_per_year),
                    capacity_cases=(
                        None
                        if cap is None or cap.cases_per_year is None
                        else round_half_up(exact(cap.cases_per_year))
                    ),
                    capacity_fte=None if cap is None else cap.fte,
                    min_annual_value_cents=to_cents(v.min_annual_value),
                    rebate_tiers=tuple(
                        RebateTier(to_cents(t.min_spend), to_bp(t.rebate)) for t in v.rebate_tiers
                    ),
                    risk_cents=to_cents(v.risk_per_year),
                    takeover=tuple(
                        Takeover(s, to_cents(t.annual_fee), to_cents(t.migration_cost))
                        for s, t in sorted(v.system_takeover.items())
                    ),
                    max_volume_share_bp=(
                        None if v.max_volume_share is None else to_bp(v.max_volume_share)
                    ),
                )
            )
        return tuple(out)

    def build_offers(self, processes: dict[str, ProcessData]) -> tuple[Offer, ...]:
        out = []
        providers = {v.id for v in self.costs.providers}
        core_offers: dict[str, list[str]] = {}
        for o in self.costs.offers:
            label = f"the offer of {o.provider!r} for process {o.process!r}"
            if o.process not in processes:
                if o.process in self.known:
                    continue  # the process itself was reported already
                self.problem(
                    f"{label}: process {o.process!r} is neither in the event log nor under "
                    "processes:; fix the name or add the process with overrides"
                )
                continue
            if o.provider not in providers:  # validated in the cost file
                self.problem(f"{label}: unknown provider {o.provider!r}")
                continue
            p = processes[o.process]
            if p.core:
                core_offers.setdefault(p.id, []).append(o.provider)
            for s in o.it:
                if s not in p.systems:
                    self.warnings.append(
                        f"{label} names system {s!r}, which {o.process!r} does not use"
                    )
            out.append(
                Offer(
                    process=o.process,
                    provider=o.provider,
                    price_per_case_cents=exact(o.price_per_case) * 100,
                    fixed_cents=to_cents(o.fixed_per_year),
                    transition_cents=to_cents(o.transition_cost),
                    sla_throughput_hours=o.sla_throughput_hours,
                    it=tuple(sorted(o.it.items())),
                    risk_cents=to_cents(o.risk_per_year),
                )
            )
        for pid, providers_ in core_offers.items():
            self.warnings.append(
                f"process {pid!r} is core: the offers of {', '.join(providers_)} are ignored"
            )
        return tuple(out)

    def build_couplings(self, processes: dict[str, ProcessData]) -> tuple[Coupling, ...]:
        pairs: dict[frozenset[str], tuple[Fraction, int]] = {
            key: (count, 0)
            for key, count in self.handovers.items()
            if all(p in processes for p in key)
        }
        for i, c in enumerate(self.costs.couplings_override):
            if any(p not in processes for p in (c.from_, c.to)):
                # a process that failed to build was reported already; name only unknown ones
                unknown = [p for p in (c.from_, c.to) if p not in self.known]
                if not unknown:
                    continue
                self.problem(
                    f"couplings_override[{i}]: process {unknown[0]!r} is neither in the event "
                    "log nor under processes:; fix the name"
                )
                continue
            key = frozenset((c.from_, c.to))
            mined_count = pairs.get(key, (Fraction(0), 0))[0]
            count = mined_count if c.handovers_per_year is None else exact(c.handovers_per_year)
            pairs[key] = (count, to_cents(c.interface_cost))
            a, b = sorted(key)
            self.note(
                a,
                f"handovers_with:{b}",
                _show(count),
                MINED if c.handovers_per_year is None else OVERRIDDEN,
            )
        out = []
        overridden = {frozenset((c.from_, c.to)) for c in self.costs.couplings_override}
        for key, (count, interface) in sorted(pairs.items(), key=lambda kv: sorted(kv[0])):
            a, b = sorted(key)
            if key not in overridden:
                self.note(a, f"handovers_with:{b}", _show(count), MINED)
            out.append(Coupling(a, b, float(count), interface))
        return tuple(out)

    def build_study(self) -> Study:
        s = self.costs.study
        return Study(
            horizon_years=s.horizon_years,
            discount_rate=exact(s.discount_rate),
            governance_bp=to_bp(s.governance_share),
            hours_per_fte=s.hours_per_fte,
            cost_per_handover_cents=to_cents(s.cost_per_cross_org_handover),
            max_providers=s.max_providers,
            inhouse_fte_cap_centi=None
            if s.inhouse_fte_cap is None
            else to_centi(s.inhouse_fte_cap),
            keep_together_threshold=s.keep_together_threshold,
            risk_mode=s.risk.mode,
            risk_budget_cents=(
                None if s.risk.budget_per_year is None else to_cents(s.risk.budget_per_year)
            ),
            risk_weight_bp=to_bp(s.risk.weight),
            transition_fte_cap_centi=(
                None if s.transition_fte_cap is None else to_centi(s.transition_fte_cap)
            ),
            currency=self.costs.currency,
        )

    def build(self) -> BuiltInstance:
        ids = self.process_ids()
        self.known = set(ids)
        if not ids:
            raise InputError(
                Problem(
                    self.source,
                    "processes: no processes — give an event log (--mined) or list processes "
                    "with override.cases_per_year and override.inhouse_cost_per_year",
                )
            )
        offered = {o.process for o in self.costs.offers}
        built = [self.build_process(pid, offered) for pid in ids]
        processes = {p.id: p for p in built if p is not None}
        for role_id, users in sorted(self.unknown_log_roles.items()):
            self.warnings.append(
                f"role {role_id!r} of the log (processes {', '.join(sorted(users))}) is not a "
                f"role of the cost file: priced at default_role {self.costs.default_role!r}"
            )
        offers = self.build_offers(processes)
        couplings = self.build_couplings(processes)
        systems = self.build_systems(processes.values())
        providers = self.build_providers()
        study = self.build_study()
        if self.problems:
            raise InputError(self.problems)
        instance = Instance(
            processes=tuple(processes.values()),
            systems=systems,
            providers=providers,
            offers=offers,
            couplings=couplings,
            study=study,
        )
        provenance = pl.DataFrame(self.provenance, schema=PROVENANCE_SCHEMA, orient="row")
        return BuiltInstance(instance, provenance, tuple(self.warnings))


def build_instance(costs: CostFile, mined: MinedTables | None, *, source: str) -> BuiltInstance:
    """Turn a validated cost file and (optionally) the mined tables into an `Instance`.

    Args:
        costs: The validated cost file (`optimize.costfile.load_costs`).
        mined: The docs/results.md tables (`MinedInputs`, `load_mined_dir`, or
            `mining.kpis.MinedTables`); None builds every process from the cost file's
            overrides alone (what-if studies, the worked instances of docs/sourcing-model.md §8).
        source: The cost file's name, used in problems and warnings.

    Returns:
        The instance, the provenance of each process value, and the cross-check warnings.

    Raises:
        InputError: A non-core process with neither cases nor labour cost, a process whose
            labour cost cannot be computed, an offer or coupling naming a process that exists
            nowhere, missing mined columns; every problem is listed.
    """
    return _Builder(costs, mined, source).build()
