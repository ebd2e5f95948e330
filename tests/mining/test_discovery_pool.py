"""Discovery in a worker process (`mining.discovery_pool`): the results of in-process discovery."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import BrokenExecutor
from dataclasses import asdict
from pathlib import Path

import polars as pl
import pytest

from dagster_project.defs.mining import _discovered, _submitted
from mining import discovery_pool
from mining.discovery import discover_process
from mining.kpis import MiningConfig
from pipelines.demo import write_sample
from pipelines.read import read_log

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pool() -> Iterator[discovery_pool.concurrent.futures.ProcessPoolExecutor]:
    """A worker started even though this test process has imported pm4py."""
    pool = discovery_pool._start_pool()
    yield pool
    discovery_pool.stop()


@pytest.fixture(scope="module")
def process_log(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    sample = write_sample(tmp_path_factory.mktemp("pool"), cases=300, seed=11, fmt="csv")
    log = read_log(sample.log)
    return log.filter(pl.col("process") == log["process"].min())


def _fields(result: object, folder: Path) -> dict[str, object]:
    """The result's values, paths relative to its folder (both runs write the same names)."""
    return {
        k: str(Path(v).relative_to(folder)) if isinstance(v, Path) else v
        for k, v in asdict(result).items()
    }


def test_worker_result_equals_discovery_here(
    pool: discovery_pool.concurrent.futures.ProcessPoolExecutor,
    process_log: pl.DataFrame,
    tmp_path: Path,
) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    expected = discover_process(process_log, "p", here, MiningConfig())
    future = pool.submit(discover_process, process_log, "p", there, MiningConfig())
    result = _discovered(future, process_log, "p", there, MiningConfig())
    assert _fields(result, there) == _fields(expected, here)
    assert sorted(p.name for p in there.iterdir()) == sorted(p.name for p in here.iterdir())


def test_a_dead_worker_leaves_discovery_to_this_process(
    pool: discovery_pool.concurrent.futures.ProcessPoolExecutor,
    process_log: pl.DataFrame,
    tmp_path: Path,
) -> None:
    dead = pool.submit(os._exit, 3)  # the worker process ends without an answer
    result = _discovered(dead, process_log, "p", tmp_path, MiningConfig())
    assert result.fitness == discover_process(process_log, "p", tmp_path / "again").fitness
    assert (tmp_path / "p.bpmn").is_file()


def test_a_worker_dead_before_the_step_leaves_discovery_to_this_process(
    pool: discovery_pool.concurrent.futures.ProcessPoolExecutor,
    process_log: pl.DataFrame,
    tmp_path: Path,
) -> None:
    with pytest.raises(BrokenExecutor):
        pool.submit(os._exit, 3).result()
    assert _submitted(process_log, "p", tmp_path, MiningConfig()) is None  # no submit to it
    assert _discovered(None, process_log, "p", tmp_path, MiningConfig()).fitness > 0.9


def test_an_error_in_the_worker_is_the_error_of_this_process(
    pool: discovery_pool.concurrent.futures.ProcessPoolExecutor,
    process_log: pl.DataFrame,
    tmp_path: Path,
) -> None:
    broken = process_log.drop("activity")
    with pytest.raises(Exception) as here:
        discover_process(broken, "p", tmp_path)
    future = pool.submit(discover_process, broken, "p", tmp_path, MiningConfig())
    with pytest.raises(type(here.value)) as there:
        _discovered(future, broken, "p", tmp_path, MiningConfig())
    assert str(there.value) == str(here.value)


_ORPHAN = """
import os, signal, sys
from mining import discovery_pool
pool = discovery_pool._start_pool()
pool.submit(int).result()  # the worker is up
print(next(iter(pool._processes)), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no finally, no stop(): as when the OOM killer strikes
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_worker_ends_with_a_killed_parent(tmp_path: Path) -> None:
    printed = tmp_path / "stdout"
    with printed.open("w") as stdout:  # a file, not a pipe: a living worker would hold a pipe
        done = subprocess.run(
            [sys.executable, "-c", _ORPHAN],
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=300,
            check=False,
        )
    assert done.returncode == -9
    worker = int(printed.read_text().split()[0])
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    ended = not _alive(worker)
    if not ended:
        os.kill(worker, 9)  # leave no orphan behind a failing test
    assert ended


_CLI = """
import sys
from bpo.cli import main
if sys.argv[1] == "here":
    import mining.pm4py_api
    mining.pm4py_api.load()  # pm4py imported already: no worker, discovery in this process
code = main(["mine", "--log", sys.argv[2], "--out", sys.argv[3]])
heavy = sorted(m for m in ("pm4py", "pandas", "ortools") if m in sys.modules)
print(code, heavy)
"""


@pytest.mark.slow
def test_cli_discovers_in_the_worker_and_imports_neither_pm4py_nor_pandas(
    tmp_path: Path,
) -> None:
    """`bpo mine` keeps pm4py, pandas and OR-Tools out of its process; results are the same."""
    sample = write_sample(tmp_path, cases=200, seed=5, fmt="xes")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    outputs = {}
    for where in ("there", "here"):
        out = tmp_path / where
        done = subprocess.run(
            [sys.executable, "-c", _CLI, where, str(sample.log), str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs[where] = done.stdout.splitlines()[-1]
        assert (out / "process_kpis.csv").is_file()
    assert outputs == {"there": "0 []", "here": "0 ['pandas', 'pm4py']"}
    kpis = [pl.read_csv(tmp_path / w / "process_kpis.csv") for w in ("there", "here")]
    assert kpis[0]["fitness"].null_count() == 0
    assert kpis[0].equals(kpis[1])  # bit for bit: handling hours are summed exactly
    maps = [sorted(p.name for p in (tmp_path / w / "models").iterdir()) for w in ("there", "here")]
    assert maps[0] == maps[1] and maps[0]
