"""Discovery in a worker process that imports pm4py while the caller does other work.

In-process runs (the CLI) would otherwise import pm4py (~2.5 CPU s, nearly all of it holding
the GIL) and discover every process (pm4py's token replay holds it too) on the thread that also
runs Dagster, so those seconds add up one after the other. `start()` spawns one worker process
at once; it imports pm4py on the other core while the run starts, reads and splits the log, and
then discovers the processes the `discover_processes` step hands it (`current()`), while this
process computes the KPI tables and the quality findings. A result or an error is the one
`mining.discovery.discover_process` gives in-process; if the worker dies, the step discovers the
rest in-process.
"""

import concurrent.futures
import multiprocessing
import os
import sys
import threading
import warnings

_POOL: concurrent.futures.ProcessPoolExecutor | None = None


def _prepare() -> None:
    """Worker start: import pm4py and the discovery module, and print no warnings.

    The worker also ends when the process that started it ends, even by SIGKILL: it would
    otherwise wait for work for ever (it holds its own copy of the task queue's pipe).
    """
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()
    warnings.simplefilter("ignore")
    from mining import discovery, pm4py_api  # noqa: PLC0415, F401 - the point of the worker

    pm4py_api.load()


def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # returns once the parent has ended (its sentinel pipe closes)
        os._exit(0)


def start() -> bool:
    """Start the worker now: it imports pm4py while this process works.

    Nothing starts when a worker runs already, on a single core (the worker would only take
    turns with this process), or when this process has imported pm4py (discovering here is
    then cheaper than importing it again).

    Returns:
        Whether a worker runs.
    """
    if _POOL is not None:
        return True
    if "pm4py" in sys.modules or _cores() < 2:
        return False
    _start_pool()
    return True


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process may run on
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _start_pool() -> concurrent.futures.ProcessPoolExecutor:
    """Start the worker unconditionally (tests use it in processes that have pm4py)."""
    global _POOL  # noqa: PLW0603 - one worker per process, like pm4py's import
    _POOL = concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_prepare
    )
    _POOL.submit(int)  # the pool starts its worker on the first task
    return _POOL


def current() -> concurrent.futures.ProcessPoolExecutor | None:
    """The running worker's pool, or None (then discovery runs in this process)."""
    return _POOL


def stop() -> None:
    """Stop the worker without waiting for its work (a failed run does not wait for pm4py)."""
    global _POOL
    pool, _POOL = _POOL, None
    if pool is None:
        return
    # Python 3.14 has pool.terminate_workers(); before it, the processes are only reachable here
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
        process.join()
