"""What changed in the sourcing plan since the previous optimization run (`plan_changes.csv`).

Every run keeps its plan as a `PlanSnapshot`: the `sourcing_plan` and `systems_plan` frames of
docs/results.md, the plan's total annual cost (the `total` row of `cost_breakdown.csv`, column
`plan`) and the inputs that drive a plan (`PlanInputs`: cases per year and in-house cost per
process, price per case per offer, cost per hour per role). `save_snapshot` writes it into a
run's output folder (`sourcing_plan.csv`, `systems_plan.csv`, `inputs.json`); `load_snapshot`
reads it back, so the previous run's results folder is the previous snapshot.

`plan_changes(previous, current)` lists, one row each:

- `process moved` — a process went from in-house to a provider or back;
- `provider changed` — a process went from one provider to another;
- `process added` / `process dropped` — a process is in only one of the two plans;
- `system transferred`, `system retired`, `system kept` — a system's decision changed, named
  by its new decision (`transfer:<provider>`, `retire`, `keep`); `system added` / `system
  dropped` as for processes;
- `total` — always last: the plan's total annual cost before and after.

Columns: `kind, item, before, after` (the decisions), `cost_before, cost_after,
cost_difference` (a process's `plan_cost`, a system's `annual_cost_after`, the totals;
difference = after − before, rounded to cents), `changed_inputs` (for a process: its volume,
in-house cost and offer prices that changed; for the total row: every changed input, role
rates included; `; `-separated, `name: before → after`). The total row's cost difference is
the difference of the two plans' totals, whatever moved.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from optimize.costfile import CostFile
from optimize.instance import IN_HOUSE, Instance
from pipelines.errors import InputError, Problem

SOURCING_COLUMNS: tuple[str, ...] = ("process", "decision", "plan_cost", "cases_per_year")
SYSTEMS_COLUMNS: tuple[str, ...] = ("system", "decision", "annual_cost_after")
PLAN_CHANGES_COLUMNS: tuple[str, ...] = (
    "kind",
    "item",
    "before",
    "after",
    "cost_before",
    "cost_after",
    "cost_difference",
    "changed_inputs",
)
INPUTS_JSON = "inputs.json"

_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "item": pl.String(),
    "before": pl.String(),
    "after": pl.String(),
    "cost_before": pl.Float64(),
    "cost_after": pl.Float64(),
    "cost_difference": pl.Float64(),
    "changed_inputs": pl.String(),
}


@dataclass(frozen=True)
class PlanInputs:
    """The inputs that move a sourcing plan, in the cost file's currency.

    Attributes:
        volumes: Cases per year by process.
        inhouse_costs: In-house labour cost per year by process.
        offer_prices: Price per case by offer, keyed `process@provider`.
        role_rates: Cost per hour by role.
    """

    volumes: Mapping[str, float] = field(default_factory=dict)
    inhouse_costs: Mapping[str, float] = field(default_factory=dict)
    offer_prices: Mapping[str, float] = field(default_factory=dict)
    role_rates: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, dict[str, float]]:
        """Plain, sorted dictionaries (for `inputs.json`)."""
        return {
            "volumes": dict(sorted(self.volumes.items())),
            "inhouse_costs": dict(sorted(self.inhouse_costs.items())),
            "offer_prices": dict(sorted(self.offer_prices.items())),
            "role_rates": dict(sorted(self.role_rates.items())),
        }


@dataclass(frozen=True)
class PlanSnapshot:
    """One run's plan, as `plan_changes` compares it.

    Attributes:
        sourcing_plan: `sourcing_plan.csv` frame (needs `SOURCING_COLUMNS`).
        systems_plan: `systems_plan.csv` frame (needs `SYSTEMS_COLUMNS`).
        total_cost: The plan's total annual cost (`cost_breakdown.csv`, total, plan).
        inputs: The inputs the plan was computed from.
    """

    sourcing_plan: pl.DataFrame
    systems_plan: pl.DataFrame
    total_cost: float
    inputs: PlanInputs = PlanInputs()


def plan_inputs(instance: Instance, costs: CostFile | None = None) -> PlanInputs:
    """The inputs of a study that `plan_changes` reports when they change.

    Args:
        instance: The built study (volumes, in-house costs and prices after overrides).
        costs: The cost file, for the role rates (none without it).

    Returns:
        The PlanInputs, money in currency units (cents / 100).
    """
    rates: dict[str, float] = {}
    if costs is not None:
        hours = costs.study.hours_per_fte
        rates = {role.id: float(role.hourly_rate(hours)) for role in costs.roles}
    return PlanInputs(
        volumes={p.id: float(p.cases_per_year) for p in instance.processes},
        inhouse_costs={p.id: p.inhouse_cost_cents / 100 for p in instance.processes},
        offer_prices={
            f"{o.process}@{o.provider}": float(o.price_per_case_cents) / 100
            for o in instance.offers
        },
        role_rates=rates,
    )


def _total_of(cost_breakdown: pl.DataFrame, source: str) -> float:
    total = cost_breakdown.filter(pl.col("component") == "total")
    if total.height != 1 or "plan" not in total.columns or total["plan"][0] is None:
        raise InputError(
            Problem(source, "no `total` row with a `plan` value: write the file with bpo again")
        )
    return float(total["plan"][0])


def snapshot_from_tables(
    tables: Mapping[str, pl.DataFrame], inputs: PlanInputs | None = None
) -> PlanSnapshot:
    """A snapshot from the docs/results.md tables of a run (`optimize.report_tables.tables`).

    Args:
        tables: Frames by name; `sourcing_plan`, `systems_plan` and `cost_breakdown` are used.
        inputs: The run's inputs (`plan_inputs`).

    Returns:
        The PlanSnapshot.
    """
    return PlanSnapshot(
        sourcing_plan=tables["sourcing_plan"],
        systems_plan=tables["systems_plan"],
        total_cost=_total_of(tables["cost_breakdown"], "cost_breakdown"),
        inputs=inputs or PlanInputs(),
    )


def save_snapshot(directory: str | Path, snapshot: PlanSnapshot) -> None:
    """Write a snapshot: `sourcing_plan.csv`, `systems_plan.csv`, `inputs.json`.

    Args:
        directory: The run's output folder (created if missing).
        snapshot: What to keep.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    snapshot.sourcing_plan.write_csv(out / "sourcing_plan.csv")
    snapshot.systems_plan.write_csv(out / "systems_plan.csv")
    data = {"total_cost": snapshot.total_cost, **snapshot.inputs.to_json()}
    (out / INPUTS_JSON).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _read_csv(path: Path, needed: tuple[str, ...]) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, infer_schema_length=None)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(Problem(str(path), f"cannot read the previous plan ({exc})")) from None
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(
            Problem(str(path), f"missing column(s) {', '.join(missing)}: not a bpo plan file")
        )
    return frame


def load_snapshot(directory: str | Path) -> PlanSnapshot:
    """Read the snapshot of a run's output folder.

    The total comes from `inputs.json` when it has one, else from `cost_breakdown.csv`; a
    folder without `inputs.json` gives empty inputs.

    Args:
        directory: A folder written by `save_snapshot` (or by a run's CSV exports).

    Returns:
        The PlanSnapshot.

    Raises:
        InputError: A plan file is missing, unreadable or lacks a needed column.
    """
    folder = Path(directory)
    sourcing = _read_csv(folder / "sourcing_plan.csv", SOURCING_COLUMNS)
    systems = _read_csv(folder / "systems_plan.csv", SYSTEMS_COLUMNS)
    data: dict[str, Any] = {}
    inputs_path = folder / INPUTS_JSON
    if inputs_path.is_file():
        try:
            data = json.loads(inputs_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(Problem(str(inputs_path), f"not valid JSON ({exc})")) from None
    if "total_cost" in data:
        total = float(data["total_cost"])
    else:
        breakdown = _read_csv(folder / "cost_breakdown.csv", ("component", "plan"))
        total = _total_of(breakdown, str(folder / "cost_breakdown.csv"))
    inputs = PlanInputs(
        volumes=data.get("volumes", {}),
        inhouse_costs=data.get("inhouse_costs", {}),
        offer_prices=data.get("offer_prices", {}),
        role_rates=data.get("role_rates", {}),
    )
    return PlanSnapshot(sourcing, systems, total, inputs)


def _fmt(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.0f}"


def _diffs(name: str, before: Mapping[str, float], after: Mapping[str, float]) -> list[str]:
    """`name key: before → after` for every key whose value differs (or appears/vanishes)."""
    out = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b is None or a is None or not math.isclose(b, a, rel_tol=0, abs_tol=1e-9):
            out.append(f"{name} {key}: {_fmt(b)} → {_fmt(a)}")
    return out


def _process_inputs(process: str, previous: PlanInputs, current: PlanInputs) -> list[str]:
    def mine(prices: Mapping[str, float]) -> dict[str, float]:
        return {k: v for k, v in prices.items() if k.split("@", 1)[0] == process}

    def one(values: Mapping[str, float]) -> dict[str, float]:
        return {process: values[process]} if process in values else {}

    return [
        *_diffs("volume", one(previous.volumes), one(current.volumes)),
        *_diffs("in-house cost", one(previous.inhouse_costs), one(current.inhouse_costs)),
        *_diffs("price", mine(previous.offer_prices), mine(current.offer_prices)),
    ]


def _kind_of_process(before: str | None, after: str | None) -> str:
    if before is None:
        return "process added"
    if after is None:
        return "process dropped"
    if IN_HOUSE in (before, after):
        return "process moved"
    return "provider changed"


def _kind_of_system(before: str | None, after: str | None) -> str:
    if before is None:
        return "system added"
    if after is None:
        return "system dropped"
    if after.startswith("transfer:"):
        return "system transferred"
    return "system retired" if after == "retire" else "system kept"


def _by_key(frame: pl.DataFrame, key: str, cost: str) -> dict[str, tuple[str, float | None]]:
    return {
        str(k): (str(d), None if c is None else float(c))
        for k, d, c in frame.select(key, "decision", cost).iter_rows()
    }


def _difference(before: float | None, after: float | None) -> float | None:
    if before is None and after is None:
        return None
    return round((after or 0.0) - (before or 0.0), 2)


def plan_changes(previous: PlanSnapshot, current: PlanSnapshot) -> pl.DataFrame:
    """What differs between two runs' plans, with costs and the inputs that changed.

    Args:
        previous: The earlier run's snapshot.
        current: This run's snapshot.

    Returns:
        `PLAN_CHANGES_COLUMNS`: processes (sorted), then systems (sorted), then the `total`
        row (module docstring).
    """
    rows: list[tuple[Any, ...]] = []
    old_p = _by_key(previous.sourcing_plan, "process", "plan_cost")
    new_p = _by_key(current.sourcing_plan, "process", "plan_cost")
    for process in sorted(set(old_p) | set(new_p)):
        (b, cb), (a, ca) = old_p.get(process, (None, None)), new_p.get(process, (None, None))
        if b == a:
            continue
        changed = _process_inputs(process, previous.inputs, current.inputs)
        rows.append(
            (
                _kind_of_process(b, a),
                process,
                b,
                a,
                cb,
                ca,
                _difference(cb, ca),
                "; ".join(changed),
            )
        )
    old_s = _by_key(previous.systems_plan, "system", "annual_cost_after")
    new_s = _by_key(current.systems_plan, "system", "annual_cost_after")
    for system in sorted(set(old_s) | set(new_s)):
        (b, cb), (a, ca) = old_s.get(system, (None, None)), new_s.get(system, (None, None))
        if b == a:
            continue
        rows.append((_kind_of_system(b, a), system, b, a, cb, ca, _difference(cb, ca), ""))
    p, c = previous.inputs, current.inputs
    every = [
        *_diffs("volume", p.volumes, c.volumes),
        *_diffs("in-house cost", p.inhouse_costs, c.inhouse_costs),
        *_diffs("price", p.offer_prices, c.offer_prices),
        *_diffs("rate", p.role_rates, c.role_rates),
    ]
    rows.append(
        (
            "total",
            "total",
            None,
            None,
            previous.total_cost,
            current.total_cost,
            _difference(previous.total_cost, current.total_cost),
            "; ".join(every),
        )
    )
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row")
