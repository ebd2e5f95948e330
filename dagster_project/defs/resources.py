"""Configurable inputs of the pipeline: where logs and costs come from, where results go.

Every field can be set in the launchpad, from environment variables (`build_resources`) or by
the `bpo` command. With no log source and no cost file configured, the demo company is
generated once under `$DAGSTER_HOME/demo/` so that "Materialize all" works in a fresh UI.
"""

import contextlib
import fcntl
import os
import re
import sys
from pathlib import Path
from typing import Literal

import dagster as dg

from pipelines.demo import write_sample

DEFAULT_TIMEZONE = "Europe/Berlin"
"""Time zone of the monthly schedule unless `BPO_TIMEZONE` says otherwise."""


def demo_folder(root: str | Path, cases: int, seed: int) -> Path:
    """Return the demo company's folder under a Dagster home, generating it on first use.

    Args:
        root: The Dagster instance's root directory (`$DAGSTER_HOME`).
        cases: Number of cases of the demo company.
        seed: Random seed of the generator.

    Returns:
        The folder holding `log.parquet` (or the generator's file) and `costs.yaml`.
    """
    folder = Path(root) / "demo" / f"{cases}-cases-seed-{seed}"
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with (folder.parent / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            paths = write_sample(folder, cases, seed, "parquet")
            done.write_text(f"{Path(paths.log).name}\n{Path(paths.costs).name}\n")
    return folder


def demo_paths(root: str | Path, cases: int, seed: int) -> tuple[Path, Path]:
    """Return (event log, cost file) of the demo company, generating them on first use."""
    folder = demo_folder(root, cases, seed)
    log_name, costs_name = (folder / ".complete").read_text().split()
    return folder / log_name, folder / costs_name


class BpoInputs(dg.ConfigurableResource):
    """The study's inputs: event-log sources, how to read them, and the cost/offer file.

    Empty `sources` and no `cost_file` mean the built-in demo company. `discovery_steps` says
    how `process_models` runs its discovery: `per_process` (one step per process, which the
    multiprocess executor runs side by side) or `single` (one step discovers every process,
    each still isolated; cheaper in-process, where each extra step costs ~0.1 s).
    `one_process` says that every step of the run shares this process (the CLI's in-process
    runs): `event_log` then starts pm4py's import and the quality check in the background once
    it has read the log, and `process_models` starts the KPI tables in a background thread
    beside its discovery.
    """

    sources: list[str] = []  # noqa: RUF012 (pydantic copies field defaults)
    object_type: str | None = None
    query: str | None = None
    process_attribute: str | None = None
    timezone: str | None = None
    cost_file: str | None = None
    mined_folder: str | None = None
    demo_cases: int = 30_000
    demo_seed: int = 7
    discovery_steps: Literal["per_process", "single"] = "per_process"
    one_process: bool = False
    plan_file: str | None = None  # the roadmap implements this plan (CSV) instead of the optimum

    def log_sources(self, instance_root: str | Path) -> list[str]:
        """The configured log sources, or the demo company's log."""
        if self.sources:
            return list(self.sources)
        return [str(demo_paths(instance_root, self.demo_cases, self.demo_seed)[0])]

    def cost_path(self, instance_root: str | Path) -> str | None:
        """The configured cost file; the demo's when no log source is configured either."""
        if self.cost_file:
            return self.cost_file
        if self.sources or self.mined_folder:
            return None
        return str(demo_paths(instance_root, self.demo_cases, self.demo_seed)[1])


class BpoOutput(dg.ConfigurableResource):
    """Where the results folder (CSV files, models, report) is published."""

    folder: str = "results"


class SolverSettings(dg.ConfigurableResource):
    """CP-SAT limits for the sourcing model and its re-solves."""

    time_limit_seconds: float = 60.0
    workers: int = 2


class Inbox(dg.ConfigurableResource):
    """Folder watched by the `new_event_logs` sensor; empty means `$DAGSTER_HOME/inbox`."""

    folder: str | None = None

    def path(self) -> Path:
        """The inbox folder (not created here)."""
        if self.folder:
            return Path(self.folder)
        home = os.environ.get("DAGSTER_HOME") or str(Path.cwd() / ".dagster")
        return Path(home) / "inbox"


class Progress(dg.ConfigurableResource):
    """Step progress: always to the run log; with `echo` also one line on standard error."""

    echo: bool = False

    def step(self, context: dg.AssetExecutionContext | dg.OpExecutionContext, message: str) -> None:
        """Report one step of progress."""
        context.log.info(message)
        if self.echo:
            with contextlib.suppress(OSError):
                sys.stderr.write(f"  … {message}\n")
                sys.stderr.flush()


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def split_sources(value: str) -> list[str]:
    """Sources in one variable, separated by the OS path separator (`:` on Linux, `;` on Windows).

    A database URL keeps its own colons: `postgresql://user:password@host:5432/erp` is one
    source. Within a URL, a colon separates sources only once the URL has its path
    (`host/…`), so after a URL's database name the next source may follow as usual.
    """
    sources: list[str] = []
    for part in value.split(os.pathsep):
        last = sources[-1] if sources else ""
        if os.pathsep == ":" and last and part.startswith("//") and _SCHEME.fullmatch(last):
            sources[-1] = f"{last}:{part}"  # scheme://
        elif os.pathsep == ":" and "://" in last and "/" not in last.split("://", 1)[1]:
            sources[-1] = f"{last}:{part}"  # user:password@host:port, before the path
        elif part:
            sources.append(part)
    return sources


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def build_resources() -> dict[str, dg.ConfigurableResource | dg.IOManager]:
    """Resources of the code location, read from environment variables where set.

    `BPO_LOGS` (sources separated by the OS path separator), `BPO_COSTS`, `BPO_MINED`,
    `BPO_OBJECT_TYPE`, `BPO_QUERY`, `BPO_TIMEZONE` (naive timestamps), `BPO_OUT`,
    `BPO_INBOX`, `BPO_SOLVER_SECONDS`, `BPO_SOLVER_WORKERS`, `BPO_DEMO_CASES`,
    `BPO_DISCOVERY_STEPS` (`per_process` or `single`), `BPO_PLAN` (the roadmap's plan file),
    `BPO_STORAGE` (where asset values are stored: a folder or an object-store URL; default
    `$DAGSTER_HOME/storage`).
    """
    from dagster_project.defs.io import ParquetPickleIOManager  # noqa: PLC0415 (cycle-free)

    def env_or(name: str) -> str | dg.EnvVar | None:
        return dg.EnvVar(name) if _env(name) else None

    sources = split_sources(_env("BPO_LOGS") or "")
    inputs = BpoInputs(
        sources=sources,
        object_type=env_or("BPO_OBJECT_TYPE"),
        query=env_or("BPO_QUERY"),
        timezone=env_or("BPO_LOG_TIMEZONE"),
        cost_file=env_or("BPO_COSTS"),
        mined_folder=env_or("BPO_MINED"),
        plan_file=env_or("BPO_PLAN"),
        demo_cases=int(_env("BPO_DEMO_CASES") or 30_000),
        discovery_steps=_env("BPO_DISCOVERY_STEPS") or "per_process",
    )
    return {
        "inputs": inputs,
        "output": BpoOutput(folder=env_or("BPO_OUT") or "results"),
        "solver": SolverSettings(
            time_limit_seconds=float(_env("BPO_SOLVER_SECONDS") or 60.0),
            workers=int(_env("BPO_SOLVER_WORKERS") or 2),
        ),
        "inbox": Inbox(folder=env_or("BPO_INBOX")),
        "progress": Progress(echo=False),
        "io_manager": ParquetPickleIOManager(base_dir=env_or("BPO_STORAGE")),
    }
