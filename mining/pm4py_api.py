"""pm4py, imported on first use — the only module that imports it.

Importing pm4py costs about 2.5 CPU seconds (pandas, SciPy, NetworkX, its own ~900 modules), so
the modules that use it (`mining.discovery`, `mining.conformance`) call `load()` when they
first need it rather than at import time, and in-process runs call `preload()` once the event
log is read (`dagster_project.defs.ingestion`): the import then runs in a background thread
while the run checks the log and splits it by process, work that mostly releases the GIL
(polars), instead of before the run on the critical path. `load()` waits for a background
import before importing anything itself, so pm4py is never imported by two threads at once.

pm4py's welcome banner is switched off (it shows only when `__main__` imports pm4py, but its
flag is set anyway) and so are its progress bars (`constants.SHOW_PROGRESS_BAR`).
"""

import contextlib
import sys
import threading
from types import SimpleNamespace


class _State:
    """The imported namespace and the background import, behind one lock."""

    lock = threading.Lock()
    api: SimpleNamespace | None = None
    background: threading.Thread | None = None


def load() -> SimpleNamespace:
    """pm4py and the parts of it this project uses, imported once.

    Returns:
        A namespace with `pm4py` (the package), `Event`, `Trace`, `astar` (state-equation A*
        alignments), `constants`, and the parts `mining._pm4py_parts.namespace` lists (miners,
        token-replay steps, PNML text).
    """
    background = _State.background
    if _State.api is None and background not in (None, threading.current_thread()):
        background.join()
    return _import()


def preload() -> None:
    """Start importing pm4py in a daemon thread, unless it is imported or being imported."""
    with _State.lock:
        if _State.api is not None or _State.background is not None:
            return
        _State.background = threading.Thread(
            target=_import_quietly, name="pm4py-import", daemon=True
        )
        _State.background.start()


def _import_quietly() -> None:
    # a failure is reported by the caller's load(), which imports again
    with contextlib.suppress(Exception):
        _import()


def _import() -> SimpleNamespace:
    with _State.lock:
        if _State.api is None:
            sys._pm4py_welcome_shown = True  # type: ignore[attr-defined]  # pm4py's own flag
            import pm4py  # noqa: PLC0415
            from pm4py.algo.conformance.alignments.petri_net.variants import (  # noqa: PLC0415
                state_equation_a_star as astar,
            )
            from pm4py.objects.log.obj import Event, Trace  # noqa: PLC0415
            from pm4py.util import constants  # noqa: PLC0415

            from mining import _pm4py_parts as parts  # noqa: PLC0415

            constants.SHOW_PROGRESS_BAR = False
            _State.api = SimpleNamespace(
                pm4py=pm4py,
                Event=Event,
                Trace=Trace,
                astar=astar,
                constants=constants,
                **parts.namespace(),
            )
        return _State.api


def loaded() -> SimpleNamespace:
    """The namespace of `load()` when pm4py is imported already, without taking the lock.

    For a child process forked from one that has loaded pm4py (`mining.candidates`): another
    thread of the parent may have held the lock at the fork, and the child has no such thread.
    """
    api = _State.api
    if api is None:
        raise RuntimeError("pm4py is not loaded: call mining.pm4py_api.load() first")
    return api
