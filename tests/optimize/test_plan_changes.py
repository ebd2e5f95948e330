"""Plan changes between two optimization runs (optimize.plan_changes)."""

from pathlib import Path

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from optimize.build import build_instance
from optimize.costfile import load_costs
from optimize.model import solve
from optimize.plan_changes import (
    PLAN_CHANGES_COLUMNS,
    PlanInputs,
    PlanSnapshot,
    load_snapshot,
    plan_changes,
    plan_inputs,
    save_snapshot,
    snapshot_from_tables,
)
from optimize.report_tables import tables
from pipelines.errors import InputError

COSTS = Path(__file__).resolve().parents[1] / "data" / "costs"


def _run(path: Path) -> tuple[PlanSnapshot, int]:
    """One optimization run: cost file → instance → CP-SAT → docs/results.md tables → snapshot."""
    costs = load_costs(path)
    instance = build_instance(costs, None, source=str(path)).instance
    result = solve(instance)
    assert result.status == "optimal" and result.objective_cents is not None
    snapshot = snapshot_from_tables(tables(instance, result), plan_inputs(instance, costs))
    return snapshot, result.objective_cents


def _with_price(tmp_path: Path, name: str, process: str, provider: str, price: float) -> Path:
    data = yaml.safe_load((COSTS / name).read_text())
    (offer,) = [o for o in data["offers"] if (o["process"], o["provider"]) == (process, provider)]
    offer["price_per_case"] = price
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_i3_one_price_changed_names_exactly_the_moved_processes(tmp_path: Path) -> None:
    before, cents_before = _run(COSTS / "I3.yaml")
    # A's price for P2 drops from 8 to 6: P2 moves to A; A's capacity (15,000 cases) then
    # leaves no room for P1 (10,000), which moves to B (B keeps its minimum value with P3).
    after, cents_after = _run(_with_price(tmp_path, "I3.yaml", "P2", "A", 6))
    assert (cents_before, cents_after) == (19_500_000, 18_500_000)
    changes = plan_changes(before, after)
    assert changes.columns == list(PLAN_CHANGES_COLUMNS)
    expected = pl.DataFrame(
        {
            "kind": ["provider changed", "provider changed", "total"],
            "item": ["P1", "P2", "total"],
            "before": ["A", "B", None],
            "after": ["B", "A", None],
            "cost_before": [70_000.0, 68_000.0, 195_000.0],
            "cost_after": [80_000.0, 48_000.0, 185_000.0],
            "cost_difference": [10_000.0, -20_000.0, -10_000.0],
            "changed_inputs": ["", "price P2@A: 8 → 6", "price P2@A: 8 → 6"],
        }
    )
    assert_frame_equal(changes, expected)
    total = changes.filter(pl.col("kind") == "total")["cost_difference"].item()
    assert total == (cents_after - cents_before) / 100 == after.total_cost - before.total_cost


def test_same_inputs_give_only_the_total_row() -> None:
    snapshot, _ = _run(COSTS / "I3.yaml")
    changes = plan_changes(snapshot, snapshot)
    assert changes.select("kind", "cost_difference", "changed_inputs").rows() == [
        ("total", 0.0, "")
    ]


def test_i2_processes_come_back_in_house_and_the_system_is_kept(tmp_path: Path) -> None:
    before, _ = _run(COSTS / "I2.yaml")
    after, _ = _run(_with_price(tmp_path, "I2.yaml", "P1", "A", 25))
    changes = plan_changes(before, after)
    assert changes.select("kind", "item", "before", "after").rows() == [
        ("process moved", "P1", "A", "in_house"),
        ("process moved", "P2", "A", "in_house"),
        ("system kept", "S1", "transfer:A", "keep"),
        ("total", "total", None, None),
    ]
    assert changes["cost_difference"][-1] == 450_000.0 - 405_500.0


def test_snapshot_round_trip_and_previous_results_folder(tmp_path: Path) -> None:
    before, _ = _run(COSTS / "I3.yaml")
    after, _ = _run(_with_price(tmp_path, "I3.yaml", "P2", "A", 6))
    save_snapshot(tmp_path / "run1", before)
    save_snapshot(tmp_path / "run2", after)
    loaded = load_snapshot(tmp_path / "run1")
    assert loaded.total_cost == 195_000.0
    assert loaded.inputs == before.inputs
    assert_frame_equal(
        plan_changes(loaded, load_snapshot(tmp_path / "run2")), plan_changes(before, after)
    )
    # a results folder without inputs.json: total from cost_breakdown.csv, no inputs
    (tmp_path / "run1" / "inputs.json").unlink()
    pl.DataFrame(
        {"component": ["total"], "status_quo": [240_000.0], "plan": [195_000.0]}
    ).write_csv(tmp_path / "run1" / "cost_breakdown.csv")
    plain = load_snapshot(tmp_path / "run1")
    assert (plain.total_cost, plain.inputs) == (195_000.0, PlanInputs())


def test_missing_previous_plan_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"sourcing_plan\.csv: cannot read the previous plan"):
        load_snapshot(tmp_path)
    pl.DataFrame({"process": ["P1"]}).write_csv(tmp_path / "sourcing_plan.csv")
    with pytest.raises(InputError, match="missing column"):
        load_snapshot(tmp_path)


def test_inputs_of_a_study_with_roles(tmp_path: Path) -> None:
    path = tmp_path / "costs.yaml"
    path.write_text(
        "schema_version: 1\n"
        "roles:\n"
        "  - {id: clerk, cost_per_hour: 40}\n"
        "  - {id: agent, cost_per_year: 64000, practical_hours_per_year: 1600}\n"
        "processes:\n"
        "  - id: P1\n"
        "    override: {cases_per_year: 1000, handling_hours_per_case: 0.5, role: clerk}\n"
        "providers: [{id: A}]\n"
        "offers: [{process: P1, provider: A, price_per_case: 17.5}]\n"
    )
    costs = load_costs(path)
    instance = build_instance(costs, None, source=str(path)).instance
    assert plan_inputs(instance, costs) == PlanInputs(
        volumes={"P1": 1000.0},
        inhouse_costs={"P1": 20_000.0},
        offer_prices={"P1@A": 17.5},
        role_rates={"agent": 40.0, "clerk": 40.0},
    )
