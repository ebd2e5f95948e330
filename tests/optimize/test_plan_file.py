"""Plan files: the decisions the roadmap implements instead of the optimum."""

from pathlib import Path

import pytest

from optimize.build import build_instance
from optimize.costfile import load_costs
from optimize.plan_file import plan_from_file, read_plan_file
from optimize.roadmap import build_roadmap, solve_roadmap, transition_settings
from pipelines.errors import InputError

COSTS = Path(__file__).parents[1] / "data" / "costs"


def _instance(name: str):
    return build_instance(load_costs(COSTS / name), None, source=name).instance


def test_bad_plan_file_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("process,decision,saving\nP1,A,1\nP9,A,2\nP2,B,3\nP1,in_house,4\n\nP3,a,5\n")
    with pytest.raises(InputError) as info:
        read_plan_file(path, _instance("R1.yaml"))
    assert [str(p) for p in info.value.problems] == [
        f"error: {path}:3: process: unknown process 'P9'; known: P1, P2, P3, P4 — fix the spelling",
        f"error: {path}:4: decision: unknown provider 'B'; known: in_house, A — fix the spelling",
        f"error: {path}:5: process: 'P1' is listed twice (first on line 2); keep one row",
        f"error: {path}:7: decision: unknown provider 'a'; did you mean 'A'? known: in_house, A — "
        "fix the spelling",
    ]


def test_plan_file_needs_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("process,option\nP1,A\n")
    with pytest.raises(InputError) as info:
        read_plan_file(path, _instance("R1.yaml"))
    assert [str(p) for p in info.value.problems] == [
        f"error: {path}:1: column 'decision' is missing; the header needs `process,decision`"
    ]


def test_roadmap_of_a_plan_file_moves_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("process,decision\nP1,A\nP3,A\nP2,in_house\n")  # P4 not named: in-house
    instance = _instance("R1.yaml")
    plan = plan_from_file(path, instance)
    assert plan.assignment == {"P1": "A", "P2": "in_house", "P3": "A", "P4": "in_house"}
    road = build_roadmap(instance, plan, transition_settings(load_costs(COSTS / "R1.yaml")))
    assert [m.process for m in road.moves] == ["P1", "P3"]
    assert road.fixed_cents == 24_000_000 + 12_000_000  # P2 and P4 stay
    result = solve_roadmap(road)
    assert result.status == "optimal"
    assert set(result.starts) == {"P1", "P3"}


def test_plan_file_that_breaks_the_rules_names_them(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("process,decision\nP1,A\n")  # I2: S1 cannot leave while P2 stays
    with pytest.raises(InputError) as info:
        plan_from_file(path, _instance("I2.yaml"))
    (problem,) = info.value.problems
    assert str(problem).startswith(f"error: {path}: this split breaks the study's rules: ")
    assert "P1 is forced to A" in str(problem)
