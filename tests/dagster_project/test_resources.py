"""Resources from environment variables and from run config (launchpad, sensor)."""

import importlib
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.defs import automation, checks, exports, mining, optimization
from dagster_project.defs.resources import build_resources
from tests.dagster_project.conftest import DATA, QUIET

OPTIMIZE = [
    mining.mined_tables_from_folder,
    optimization.cost_model,
    optimization.sourcing_plan,
    optimization.break_even,
    optimization.sensitivity,
    optimization.pareto_front,
    *exports.export_assets(mining=False, optimization=True),
    checks.cost_model_valid,
    checks.plan_feasible,
]


def _plan_cost(instance: dg.DagsterInstance) -> float:
    event = instance.get_latest_materialization_event(dg.AssetKey("sourcing_plan"))
    return event.asset_materialization.metadata["plan_cost"].value


def test_environment_variables_configure_the_code_location(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BPO_COSTS", str(DATA / "costs" / "I1.yaml"))
    monkeypatch.setenv("BPO_OUT", str(tmp_path / "env-out"))
    monkeypatch.setenv("BPO_SOLVER_SECONDS", "5")
    resources = build_resources()
    assert resources["solver"].time_limit_seconds == 5.0
    result = dg.materialize(OPTIMIZE, instance=instance, resources=resources, run_config=QUIET)
    assert result.success
    assert _plan_cost(instance) == 282_500.0
    assert (tmp_path / "env-out" / "sourcing_plan.csv").exists()


@pytest.mark.parametrize(
    ("value", "sources"),
    [
        ("a.xes:/data/b.csv", ["a.xes", "/data/b.csv"]),
        ("postgresql://bpo:pw@db:5432/erp", ["postgresql://bpo:pw@db:5432/erp"]),
        ("x.csv:postgresql://db/erp:y.csv", ["x.csv", "postgresql://db/erp", "y.csv"]),
        ("sqlite:///tmp/erp.db::b.xes", ["sqlite:///tmp/erp.db", "b.xes"]),
    ],
    ids=["paths", "url-with-password-and-port", "url-between-paths", "sqlite-and-empty"],
)
def test_bpo_logs_splits_at_the_path_separator_but_not_inside_a_url(
    monkeypatch: pytest.MonkeyPatch, value: str, sources: list[str]
) -> None:
    monkeypatch.setenv("BPO_LOGS", value)
    assert build_resources()["inputs"].sources == sources


def test_run_config_overrides_one_field_and_keeps_the_others(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    resources = build_resources()
    run_config = {
        **QUIET,
        "resources": {
            "inputs": {"config": {"cost_file": str(DATA / "costs" / "I4.yaml")}},
            "output": {"config": {"folder": str(tmp_path / "out")}},
        },
    }
    result = dg.materialize(OPTIMIZE, instance=instance, resources=resources, run_config=run_config)
    assert result.success
    assert _plan_cost(instance) == 302_400.0


def test_schedule_time_zone_comes_from_bpo_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPO_TIMEZONE", "America/New_York")
    try:
        reloaded = importlib.reload(automation)
        assert reloaded.monthly_sourcing_review.execution_timezone == "America/New_York"
    finally:
        monkeypatch.delenv("BPO_TIMEZONE")
        importlib.reload(automation)
