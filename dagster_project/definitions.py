"""The Dagster code location `dagster_project.definitions:defs` (the README's Dagster section)."""

import dagster as dg

from dagster_project.defs.automation import (
    bpo_pipeline,
    monthly_sourcing_review,
    new_event_logs,
    observe_inputs,
    sourcing_automation,
    with_automation,
)
from dagster_project.defs.checks import (
    cost_model_valid,
    event_log_quality,
    event_log_schema,
    plan_feasible,
)
from dagster_project.defs.engine import pipeline_executor
from dagster_project.defs.exports import export_assets
from dagster_project.defs.ingestion import event_log
from dagster_project.defs.inputs import cost_file, event_log_files
from dagster_project.defs.mining import mined_tables, process_models
from dagster_project.defs.optimization import (
    break_even,
    cost_model,
    pareto_front,
    sensitivity,
    sourcing_plan,
)
from dagster_project.defs.resources import build_resources
from dagster_project.defs.roadmap import roadmap
from dagster_project.defs.steering import (
    conformance_asset,
    drift,
    kpi_drift,
    kpi_history,
    monthly_event_log,
    monthly_history,
    monthly_kpis,
    reoptimize,
)
from dagster_project.defs.uncertainty import uncertainty_asset

INPUTS = [event_log_files, cost_file]
"""The input files as observable source assets: where the lineage starts."""

ASSETS = [
    event_log,
    process_models,
    mined_tables,
    cost_model,
    sourcing_plan,
    break_even,
    sensitivity,
    pareto_front,
    roadmap,
    kpi_history,
    drift,
    conformance_asset,
    uncertainty_asset(history=True),
    *export_assets(mining=True, optimization=True, steering=True, uncertainty=True, roadmap=True),
]
"""Every asset of the pipeline, in data-flow order (all but the monthly partitions)."""

MONTHLY_ASSETS = [monthly_event_log, monthly_kpis]
"""The assets partitioned by calendar month (issue 8): run per month or as a backfill."""

CHECKS = [event_log_schema, event_log_quality, cost_model_valid, plan_feasible]
"""The asset checks of the README's Dagster section."""

STEERING_CHECKS = [kpi_drift]
"""The warning check on KPI drift (issue 8)."""

defs = dg.Definitions(
    assets=[*INPUTS, *with_automation(ASSETS), *MONTHLY_ASSETS],
    asset_checks=[*CHECKS, *STEERING_CHECKS],
    jobs=[bpo_pipeline, reoptimize, monthly_history, observe_inputs],
    schedules=[monthly_sourcing_review],
    sensors=[new_event_logs, sourcing_automation],
    resources=build_resources(),
    executor=pipeline_executor(),  # BPO_EXECUTOR: multiprocess (default), celery or k8s
)
