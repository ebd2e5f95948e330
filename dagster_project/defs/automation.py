"""The job, the monthly schedule and the inbox sensor of the README's Dagster section."""

import json
import os
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from dagster_project.defs.inputs import COST_FILE, EVENT_LOG_FILES
from dagster_project.defs.resources import DEFAULT_TIMEZONE, Inbox

LOG_SUFFIXES = (
    ".xes",
    ".csv",
    ".parquet",
    ".jsonocel",
    ".xmlocel",
    ".sqlite",
    ".json",
    ".xml",
)
"""File endings the sensor treats as event logs (each also gzipped)."""

COST_FILE_NAMES = ("costs.yaml", "costs.yml")
"""A cost file dropped into the inbox is used by the runs the sensor starts."""

INPUT_FILES = dg.AssetSelection.assets(EVENT_LOG_FILES, COST_FILE)
"""The observable source assets of the input files (`dagster_project.defs.inputs`)."""

observe_inputs = dg.define_asset_job(
    "observe_inputs",
    selection=INPUT_FILES,
    description="Observes the input files: hashes the event logs and the cost file (files "
    "whose size and modification time are unchanged keep their hash).",
)

bpo_pipeline = dg.define_asset_job(
    "bpo_pipeline",
    # The monthly partitions run in their own job (`monthly_history`), per month.
    # It observes the input files first, so each asset records which version it was made from.
    selection=(dg.AssetSelection.all() | INPUT_FILES)
    - dg.AssetSelection.assets("monthly_event_log", "monthly_kpis"),
    description="The whole pipeline: input files observed → event logs → process models and "
    "KPIs → sourcing plan → results folder and report.",
)

monthly_sourcing_review = dg.ScheduleDefinition(
    name="monthly_sourcing_review",
    cron_schedule="0 6 1 * *",
    job=bpo_pipeline,
    execution_timezone=os.environ.get("BPO_TIMEZONE") or DEFAULT_TIMEZONE,
    description="Re-runs the whole study on the 1st of every month at 06:00 (time zone from "
    "BPO_TIMEZONE, default Europe/Berlin).",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def is_log_file(path: Path) -> bool:
    """Whether a file in the inbox looks like an event log (by name; hidden files are not)."""
    name = path.name.lower()
    if name.startswith((".", "~")) or not path.is_file():
        return False
    if name.endswith(".gz"):
        name = name[:-3]
    return name.endswith(LOG_SUFFIXES)


def scan_inbox(folder: Path) -> dict[str, tuple[int, int]]:
    """Log files of the inbox → (size in bytes, modification time in ns)."""
    if not folder.is_dir():
        return {}
    found: dict[str, tuple[int, int]] = {}
    for path in sorted(folder.iterdir()):
        if is_log_file(path):
            stat = path.stat()
            found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def inbox_requests(folder: Path, cursor: str | None) -> tuple[list[dg.RunRequest], str, list[str]]:
    """Decide which runs to start for the inbox's current state.

    A file is reported once its size and modification time are unchanged since the previous
    tick (a file still being copied keeps growing) and it differs from what was last run.

    Args:
        folder: The inbox folder.
        cursor: JSON cursor of the previous tick: `{"seen": {path: [size, mtime]},
            "done": {path: [size, mtime]}}`.

    Returns:
        Run requests, the new cursor, and the paths still being written.
    """
    state = json.loads(cursor) if cursor else {}
    seen: dict[str, list[int]] = state.get("seen", {})
    done: dict[str, list[int]] = state.get("done", {})
    now = scan_inbox(folder)
    costs = next((folder / n for n in COST_FILE_NAMES if (folder / n).is_file()), None)
    requests: list[dg.RunRequest] = []
    growing: list[str] = []
    for path, (size, mtime) in now.items():
        current = [size, mtime]
        if seen.get(path) != current:
            growing.append(path)
            continue
        if done.get(path) == current:
            continue
        inputs: dict[str, object] = {"sources": [path]}
        if costs is not None:
            inputs["cost_file"] = str(costs)
        requests.append(
            dg.RunRequest(
                run_key=f"{path}:{mtime}:{size}",
                run_config={"resources": {"inputs": {"config": inputs}}},
                tags={"bpo/source": Path(path).name},
            )
        )
        done[path] = current
    new_cursor = json.dumps(
        {
            "seen": {p: list(v) for p, v in now.items()},
            "done": {p: v for p, v in done.items() if p in now},
        },
        sort_keys=True,
    )
    return requests, new_cursor, growing


@dg.sensor(
    name="new_event_logs",
    job=bpo_pipeline,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts the pipeline when a new or changed event log lands in the inbox "
    "folder, once per file version, after the file has stopped growing.",
)
def new_event_logs(context: dg.SensorEvaluationContext, inbox: Inbox) -> dg.SensorResult:
    """Start one run per new or changed, fully written event log in the inbox."""
    folder = inbox.path()
    requests, cursor, growing = inbox_requests(folder, context.cursor)
    if requests or growing:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    return dg.SensorResult(
        skip_reason=dg.SkipReason(f"no new or changed event log in {folder}"), cursor=cursor
    )


# --------------------------------------------------------------------------- automation

OPTIMIZATION = dg.AssetSelection.assets("cost_model").downstream()
"""The assets re-run when the cost file or the mined tables change: the `reoptimize` job's."""

REOPTIMIZE_CONDITION = dg.AutomationCondition.eager()
"""Re-materialize once after any dependency updated: a new data version of `cost_file` (an
edit seen by an observation), a new `process_kpis` etc. (`bpo mine`, a partial run), or a
dependency that this same tick requests. Not while a dependency is missing or in progress,
and not when the asset was materialized together with that update (a full run)."""


def downstream_keys(
    root: dg.AssetKey, assets: Sequence[dg.AssetsDefinition | dg.SourceAsset]
) -> set[dg.AssetKey]:
    """`root` and every asset that depends on it, directly or not."""
    children: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for spec in (s for a in assets if isinstance(a, dg.AssetsDefinition) for s in a.specs):
        for dep in spec.deps:
            children.setdefault(dep.asset_key, set()).add(spec.key)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def with_automation(
    assets: Sequence[dg.AssetsDefinition | dg.SourceAsset],
) -> list[dg.AssetsDefinition | dg.SourceAsset]:
    """The assets with `REOPTIMIZE_CONDITION` on every asset of `OPTIMIZATION`.

    The conditions are set here, on the assets of the code location, so that the selection is
    the same as the `reoptimize` job's; the asset functions stay as they are.
    """
    keys = downstream_keys(dg.AssetKey("cost_model"), assets)

    def condition(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key not in keys:
            return spec
        return spec.replace_attributes(automation_condition=REOPTIMIZE_CONDITION)

    return [
        a.map_asset_specs(condition) if isinstance(a, dg.AssetsDefinition) else a for a in assets
    ]


sourcing_automation = dg.AutomationConditionSensorDefinition(
    "sourcing_automation",
    target=INPUT_FILES | OPTIMIZATION,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Observes the input files every five minutes and re-runs the optimization "
    "when the cost file's content or the mined tables change.",
)
