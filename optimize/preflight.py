"""Every input of a command checked before any work: the cost file, each log, the mined folder.

`check_inputs` validates the cost file (`optimize.costfile.load_costs`), opens every log
source and reads its header (`pipelines.probe`), and checks a `--mined` folder, and returns
all problems of all inputs together. `bpo run`, `bpo mine` and `bpo optimize` call it before
Dagster is imported or any log is read in full, and stop with exit code 2 when it finds any.
"""

from collections.abc import Sequence
from pathlib import Path

from optimize.costfile import CostFile, Mining, load_costs
from pipelines.errors import InputError, Problem
from pipelines.probe import probe_logs
from pipelines.read import LogOptions


def log_options(
    costs: CostFile | None,
    *,
    object_type: str | None = None,
    query: str | None = None,
    process_attribute: str | None = None,
    timezone: str | None = None,
) -> LogOptions:
    """Reading options: the command's flags win over the cost file's `mining:` section."""
    mining = costs.mining if costs is not None else Mining()
    return LogOptions(
        object_type=object_type or mining.object_type,
        query=query or mining.query,
        process_attribute=process_attribute or mining.process_attribute,
        system_attribute=mining.system_attribute,
        column_map=dict(mining.column_map),
        activity_to_system=dict(mining.activity_to_system),
        exclude_resources=tuple(mining.exclude_resources),
        timezone=timezone or mining.timezone or "UTC",
    )


def check_inputs(
    logs: Sequence[str] = (),
    cost_file: str | None = None,
    mined: str | None = None,
    **flags: str | None,
) -> list[Problem]:
    """All problems of all inputs, found without reading any log in full.

    Args:
        logs: Event-log sources (`--log`).
        cost_file: The cost file (`--costs`), if any.
        mined: A `bpo mine` output folder (`--mined`), if any.
        **flags: `object_type`, `query`, `process_attribute`, `timezone` from the command.

    Returns:
        The problems, cost file first, then each log in order, then the mined folder.
    """
    problems: list[Problem] = []
    costs = None
    if cost_file is not None:
        try:
            costs = load_costs(cost_file)
        except InputError as err:
            problems += err.problems
    problems += probe_logs(list(logs), log_options(costs, **flags))
    if mined is not None:
        from optimize.build import load_mined_dir  # noqa: PLC0415 - polars CSV reading

        try:
            load_mined_dir(Path(mined))
        except InputError as err:
            problems += err.problems
    return problems
