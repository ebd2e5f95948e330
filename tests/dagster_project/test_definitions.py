"""The code location loads and names what the README's Dagster section names."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.definitions import defs
from dagster_project.defs.resources import BpoInputs, BpoOutput, SolverSettings

ROOT = Path(__file__).parents[2]

GROUPS = {
    "event_log": "ingestion",
    "process_models": "mining",
    "process_kpis": "mining",
    "activity_stats": "mining",
    "handovers": "mining",
    "system_usage": "mining",
    "cost_model": "optimization",
    "sourcing_plan": "optimization",
    "break_even": "optimization",
    "sensitivity": "optimization",
    "pareto_front": "optimization",
    "roadmap": "optimization",
    "csv_exports": "exports",
    "report": "exports",
}
"""The asset keys and groups the README names, and the transition roadmap (issue 16)."""

STEERING = {
    "monthly_event_log": "steering",
    "monthly_kpis": "steering",
    "kpi_history": "steering",
    "drift": "steering",
    "conformance": "steering",
}
"""Issue 8's assets, in their own group."""

UNCERTAINTY = {"uncertainty": "optimization"}
"""Issue 15's asset (does nothing without `study.uncertainty` in the cost file)."""

INPUTS = {"event_log_files": "inputs", "cost_file": "inputs"}
"""The input files as observable source assets (issue 17)."""


def test_asset_keys_and_groups_are_those_of_spec_8() -> None:
    graph = defs.resolve_asset_graph()
    found = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert found == GROUPS | STEERING | UNCERTAINTY | INPUTS


def test_every_asset_has_a_business_description() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        description = graph.get(key).description or ""
        assert len(description) > 40, key
        assert "Args:" not in description, key


def test_asset_checks_and_which_block() -> None:
    graph = defs.resolve_asset_graph()
    checks = {
        (key.asset_key.to_user_string(), key.name): graph.get_check_spec(key).blocking
        for key in graph.asset_check_keys
    }
    assert checks == {
        ("event_log", "event_log_schema"): True,
        ("event_log", "event_log_quality"): False,
        ("cost_model", "cost_model_valid"): True,
        ("sourcing_plan", "plan_feasible"): True,
        ("drift", "kpi_drift"): False,
    }


def test_dependencies_follow_the_data_flow() -> None:
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("event_log_files") == set() and parents("cost_file") == set()
    assert parents("event_log") == {"event_log_files"}
    assert parents("process_models") == {"event_log"}
    assert parents("process_kpis") == {"event_log", "process_models"}
    assert parents("handovers") == {"event_log"}
    assert parents("cost_model") == {
        "cost_file", "process_kpis", "activity_stats", "handovers", "system_usage",
    }  # fmt: skip
    assert parents("sourcing_plan") == {"cost_model", "cost_file"}
    assert parents("pareto_front") == {"cost_model", "sourcing_plan"}
    assert parents("roadmap") == {"cost_model", "sourcing_plan", "cost_file"}
    assert "cost_file" in parents("csv_exports")
    assert "roadmap" in parents("csv_exports") & parents("report")
    assert "report" in parents("csv_exports")
    assert parents("monthly_event_log") == {"event_log"}
    assert parents("monthly_kpis") == {"monthly_event_log"}
    assert parents("kpi_history") == {"event_log"}
    assert parents("drift") == {"kpi_history", "event_log"}
    assert {"kpi_history", "drift", "conformance"} <= parents("csv_exports")
    assert parents("uncertainty") == {"cost_model", "sourcing_plan", "kpi_history", "event_log"}
    assert "uncertainty" in parents("csv_exports") and "uncertainty" in parents("report")


def test_job_schedule_and_sensor() -> None:
    job = defs.resolve_job_def("bpo_pipeline")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert selected == set(GROUPS) | {"kpi_history", "drift", "conformance", "uncertainty"} | set(
        INPUTS
    )  # the input files are observed first
    assert job.partitions_def is None
    monthly = defs.resolve_job_def("monthly_history")
    assert isinstance(monthly.partitions_def, dg.MonthlyPartitionsDefinition)
    assert monthly.partitions_def.get_partition_keys()[0] == "2025-01-01"
    reoptimize = defs.resolve_job_def("reoptimize")
    assert {k.to_user_string() for k in reoptimize.asset_layer.selected_asset_keys} == {
        "cost_model", "sourcing_plan", "break_even", "sensitivity", "pareto_front",
        "roadmap", "report", "csv_exports", "uncertainty", "cost_file",
    }  # fmt: skip
    schedule = defs.resolve_schedule_def("monthly_sourcing_review")
    assert schedule.cron_schedule == "0 6 1 * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.job_name == "bpo_pipeline"
    sensor = defs.resolve_sensor_def("new_event_logs")
    assert sensor.job_name == "bpo_pipeline"


def test_resources_default_to_the_demo_company() -> None:
    resources = defs.resources
    inputs = resources["inputs"]
    assert isinstance(inputs, BpoInputs)
    assert inputs.sources == [] and inputs.cost_file is None
    assert isinstance(resources["output"], BpoOutput) and resources["output"].folder == "results"
    assert isinstance(resources["solver"], SolverSettings)


def test_input_files_are_observable_roots_and_the_optimization_re_runs_on_its_own() -> None:
    graph = defs.resolve_asset_graph()
    for key in ("event_log_files", "cost_file"):
        node = graph.get(dg.AssetKey(key))
        assert node.is_observable and not node.is_materializable and node.group_name == "inputs"
        assert node.automation_condition is not None
    observe = defs.resolve_job_def("observe_inputs")
    assert {k.to_user_string() for k in observe.asset_layer.executable_asset_keys} == {
        "event_log_files",
        "cost_file",
    }
    reoptimize = defs.resolve_job_def("reoptimize").asset_layer.selected_asset_keys
    for key in graph.get_all_asset_keys():
        condition = graph.get(key).automation_condition
        label = condition.get_label() if condition is not None else None
        if key in reoptimize and not graph.get(key).is_observable:
            assert label == "eager", key
        elif not graph.get(key).is_observable:
            assert condition is None, key  # mining re-runs when a new log arrives (inbox sensor)
    sensor = defs.resolve_sensor_def("sourcing_automation")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    targeted = {k.to_user_string() for k in sensor.asset_selection.resolve(graph)}
    assert targeted == {"event_log_files"} | {k.to_user_string() for k in reoptimize}
    assert {s.name for s in defs.get_repository_def().sensor_defs} == {
        "new_event_logs",
        "sourcing_automation",
    }


@pytest.mark.slow  # two `dg` commands, each loads the code location: ~15 s
def test_dg_checks_and_lists_the_code_location() -> None:
    """`[tool.dg]` in pyproject.toml: `dg check defs` and `dg list defs` work on the project."""
    dg_cli = Path(sys.executable).with_name("dg")
    env = {**os.environ, "VIRTUAL_ENV": sys.prefix}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(dg_cli), *args]
        return subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    check = run("check", "defs")
    assert check.returncode == 0, check.stderr
    assert "All definitions loaded successfully." in check.stdout + check.stderr
    listed = run("list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    graph = defs.resolve_asset_graph()
    assert {a["asset_key"] for a in found["assets"]} == {
        k.to_user_string() for k in graph.get_all_asset_keys()
    }
    assert {s["name"] for s in found["sensors"]} == {"new_event_logs", "sourcing_automation"}
    assert "observe_inputs" in {j["name"] for j in found["jobs"]}
