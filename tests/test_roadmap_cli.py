"""`bpo optimize` and the transition roadmap, in a subprocess as a user runs it."""

from pathlib import Path

import polars as pl
import pytest

from tests.robustness.conftest import ROOT, bpo

COSTS = ROOT / "tests" / "data" / "costs"


def _r1(tmp_path: Path, old: str = "", new: str = "") -> Path:
    text = (COSTS / "R1.yaml").read_text()
    if old:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "costs.yaml"
    path.write_text(text)
    return path


@pytest.mark.slow  # a subprocess importing dagster and OR-Tools: ~10 s
def test_optimize_writes_the_roadmap_and_prints_it(tmp_path: Path) -> None:
    done = bpo("optimize", "--costs", COSTS / "R1.yaml", "--out", "out", home=tmp_path / "h",
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "  roadmap (optimal): 4 move(s) over 20 quarters, NPV saving €231,909, payback in Y3 Q4"
        in done.stdout.splitlines()
    )
    out = tmp_path / "out"
    assert pl.read_csv(out / "roadmap.csv")["start_quarter"].to_list() == [0, 2, 3, 4]
    assert pl.read_csv(out / "roadmap_summary.csv")["npv_cost"][0] == 3_790_899.15
    assert (out / "models" / "landscape_after.svg").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("old", "new", "rules"),
    [
        ("max_parallel: 1", "max_parallel: 0", ["at most 0 process(es) in transition at once"]),
        (
            "  - id: P3\n",
            "  - id: P3\n    not_before: 18\n",
            [
                "P3's transition of 3 quarter(s) must end within the horizon of 20 quarters "
                "(5 years)",
                "P3 may not start before quarter 18",
            ],
        ),
    ],
    ids=["capacity_0", "not_before_beyond_horizon"],
)
def test_infeasible_roadmap_exits_3_naming_the_rules(
    tmp_path: Path, old: str, new: str, rules: list[str]
) -> None:
    costs = _r1(tmp_path, old, new)
    done = bpo("optimize", "--costs", costs, "--out", "out", home=tmp_path / "h", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    expected = (
        "The transition roadmap is infeasible: these rules cannot all hold together:\n"
        + "".join(f"  - {rule}\n" for rule in rules)
    )
    assert (tmp_path / "out" / "infeasibility.txt").read_text() == expected
    assert done.stdout.startswith(expected)
    assert (
        not (tmp_path / "out" / "roadmap_cashflow.csv").exists()
        or pl.read_csv(tmp_path / "out" / "roadmap_cashflow.csv").is_empty()
    )


@pytest.mark.slow
def test_bad_roadmap_keys_exit_2_with_path_and_line(tmp_path: Path) -> None:
    costs = _r1(tmp_path, "transition_quarters: 2}", "transition_quarters: -2}")
    text = costs.read_text().replace("  - id: P4\n", "  - id: P4\n    not_before: 1.5\n")
    costs.write_text(text)
    done = bpo("optimize", "--costs", costs, "--out", "out", home=tmp_path / "h", cwd=tmp_path)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {costs}:24: processes[3].not_before: must be a whole number of quarters — got a "
        "number 1.5; give the first quarter the process may start in, counted from 0 (0 = the "
        "study's first quarter)",
        f"error: {costs}:30: offers[1].transition_quarters: must be ≥ 1 — got -2; a transition "
        "lasts a whole number of quarters, at least 1",
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_plan_file_naming_an_unknown_provider_exits_2(tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text("process,decision\nP1,A\nP2,acme\n")
    done = bpo("optimize", "--costs", COSTS / "R1.yaml", "--plan", plan, "--out", "out",
               home=tmp_path / "h", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"error: {plan}:3: decision: unknown provider 'acme'; known: in_house, A — fix the " \
        "spelling" in done.stderr.splitlines()  # fmt: skip
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_plan_file_is_the_plan_the_roadmap_implements(tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text("process,decision\nP4,A\nP2,A\n")
    done = bpo("optimize", "--costs", COSTS / "R1.yaml", "--plan", plan, "--out", "out",
               home=tmp_path / "h", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    roadmap = pl.read_csv(tmp_path / "out" / "roadmap.csv")
    assert sorted(roadmap["process"].to_list()) == ["P2", "P4"]
    # The sourcing plan itself is still the optimum (all four move).
    assert (pl.read_csv(tmp_path / "out" / "sourcing_plan.csv")["decision"] == "A").all()
