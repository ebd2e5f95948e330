"""Fixtures: a throw-away Dagster instance and resources for small runs."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from dagster_project.defs.io import ParquetPickleIOManager
from dagster_project.defs.resources import BpoInputs, BpoOutput, Inbox, Progress, SolverSettings

DATA = Path(__file__).parents[1] / "data"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance in a temporary folder."""
    home = tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


def resources(out: Path, **inputs: Any) -> dict[str, Any]:
    """The pipeline's resources with the given `BpoInputs` fields."""
    return {
        "inputs": BpoInputs(**inputs),
        "output": BpoOutput(folder=str(out)),
        "solver": SolverSettings(time_limit_seconds=10.0, workers=1),
        "inbox": Inbox(folder=str(out.parent / "inbox")),
        "progress": Progress(),
        "io_manager": ParquetPickleIOManager(),
    }
