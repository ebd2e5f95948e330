"""Fixtures for the robustness tests: the demo company's inputs, earlier results, tree hashes."""

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.demo import SamplePaths, write_sample

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
BAD = DATA / "bad"
BAD_COSTS = DATA / "costs" / "bad"


def tree_hash(folder: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file under `folder` (empty when it does not exist)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def bpo(
    *args: str | Path, home: Path, cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bpo ARGS` as a user does, with its own `DAGSTER_HOME`."""
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bpo", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SamplePaths:
    """The demo company at 300 cases as CSV: a good log and a good cost file."""
    return write_sample(tmp_path_factory.mktemp("sample"), 300, 7, "csv")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh `DAGSTER_HOME` for in-process `bpo.cli.main` calls."""
    folder = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(folder))
    yield folder


@pytest.fixture(scope="session")
def first_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real results folder: `bpo demo --cases 300 --seed 3`, run once per session."""
    base = tmp_path_factory.mktemp("first_run")
    done = bpo("demo", "--cases", "300", "--seed", "3", "--out", "results",
               home=base / "dagster_home", cwd=base)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return base / "results"


@pytest.fixture
def earlier_results(tmp_path: Path, first_results: Path) -> Path:
    """An output folder holding the results of an earlier run (a copy of `first_results`)."""
    out = tmp_path / "results"
    shutil.copytree(first_results, out)
    return out
