"""pm4py is imported on first use, or in the background when a run starts."""

import subprocess
import sys

_SCRIPT = """
import sys
import dagster_project.definitions  # every asset, check and job of the project
assert "pm4py" not in sys.modules, "importing the definitions imported pm4py"
import mining.pm4py_api as api
api.preload()
thread = api._State.background
assert thread is not None and thread.name == "pm4py-import"
api.preload()  # a second call starts nothing
assert api._State.background is thread
namespace = api.load()  # waits for the background import
assert not thread.is_alive() and api.load() is namespace
assert namespace.pm4py is sys.modules["pm4py"]
assert namespace.constants.SHOW_PROGRESS_BAR is False
print("ok")
"""


def test_definitions_do_not_import_pm4py_and_preload_imports_it_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n" and "PM4Py" not in done.stderr
