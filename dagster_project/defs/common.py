"""Helpers shared by the asset modules: bad input as a Dagster failure, and the cost file."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from optimize.costfile import CostFile, load_costs
from pipelines.errors import InputError, Problem

PROBLEMS_KEY = "problem_lines"
"""Metadata key under which a failure carries the `error: …` lines of bad input (text)."""


@contextmanager
def input_errors_as_failure(what: str) -> Iterator[None]:
    """Turn an `InputError` into a `dg.Failure` that lists every problem (no traceback in the UI).

    The original error stays attached as `__cause__`, so the `bpo` command can print the
    problems and exit with 2.
    """
    try:
        yield
    except InputError as err:
        lines = [str(p) for p in err.problems]
        raise dg.Failure(
            description=f"{what}: {len(lines)} problem(s) in the input\n" + "\n".join(lines),
            metadata={
                PROBLEMS_KEY: dg.MetadataValue.text("\n".join(lines)),
                "problems": dg.MetadataValue.md("\n".join(f"- `{ln}`" for ln in lines)),
            },
            allow_retries=False,
        ) from err


def try_load_costs(path: str | None) -> tuple[CostFile | None, tuple[Problem, ...]]:
    """Load and validate a cost file; return (cost file or None, problems)."""
    if not path:
        return None, ()
    try:
        return load_costs(path), ()
    except InputError as err:
        return None, err.problems
