"""The Dagster code location `dagster_project.definitions:defs` (SPEC §8)."""

import dagster as dg

from dagster_project.defs.automation import bpo_pipeline, monthly_sourcing_review, new_event_logs
from dagster_project.defs.checks import (
    cost_model_valid,
    event_log_quality,
    event_log_schema,
    plan_feasible,
)
from dagster_project.defs.exports import export_assets
from dagster_project.defs.ingestion import event_log
from dagster_project.defs.mining import mined_tables, process_models
from dagster_project.defs.optimization import (
    break_even,
    cost_model,
    pareto_front,
    sensitivity,
    sourcing_plan,
)
from dagster_project.defs.resources import build_resources

ASSETS = [
    event_log,
    process_models,
    mined_tables,
    cost_model,
    sourcing_plan,
    break_even,
    sensitivity,
    pareto_front,
    *export_assets(mining=True, optimization=True),
]
"""Every asset of the pipeline, in data-flow order."""

CHECKS = [event_log_schema, event_log_quality, cost_model_valid, plan_feasible]
"""The asset checks of SPEC §8."""

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[bpo_pipeline],
    schedules=[monthly_sourcing_review],
    sensors=[new_event_logs],
    resources=build_resources(),
)
