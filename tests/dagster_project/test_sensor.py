"""The inbox sensor, called as a function: once per new file version, never while growing."""

import json
import os
from pathlib import Path

import dagster as dg

from dagster_project.defs.automation import new_event_logs
from dagster_project.defs.resources import Inbox


def _tick(folder: Path, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, resources={"inbox": Inbox(folder=str(folder))})
    result = new_event_logs(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_fires_once_per_new_file_after_it_stopped_growing(tmp_path: Path) -> None:
    log = tmp_path / "ap.xes.gz"
    _write(log, "partial", 1_000_000_000)
    (tmp_path / "notes.txt").write_text("not a log")
    first = _tick(tmp_path, None)
    assert first.run_requests == []  # seen for the first time: may still be growing
    assert json.loads(first.cursor)["seen"] == {str(log): [7, 1_000_000_000]}

    _write(log, "partial plus more", 2_000_000_000)  # still being copied
    second = _tick(tmp_path, first.cursor)
    assert second.run_requests == []

    third = _tick(tmp_path, second.cursor)  # unchanged since the last tick: complete
    assert [r.run_key for r in third.run_requests] == [f"{log}:2000000000:17"]
    request = third.run_requests[0]
    assert request.run_config == {"resources": {"inputs": {"config": {"sources": [str(log)]}}}}

    fourth = _tick(tmp_path, third.cursor)  # nothing new: no second run for the same file
    assert fourth.run_requests == []
    assert fourth.skip_reason is not None


def test_a_changed_file_fires_again_and_a_cost_file_in_the_inbox_is_used(tmp_path: Path) -> None:
    log = tmp_path / "payroll.csv"
    _write(log, "a,b\n", 1_000)
    (tmp_path / "costs.yaml").write_text("schema_version: 1\n")
    cursor = _tick(tmp_path, None).cursor
    fired = _tick(tmp_path, cursor)
    assert [r.run_key for r in fired.run_requests] == [f"{log}:1000:4"]
    _write(log, "a,b\n1,2\n", 5_000)
    growing = _tick(tmp_path, fired.cursor)
    assert growing.run_requests == []
    again = _tick(tmp_path, growing.cursor)
    assert [r.run_key for r in again.run_requests] == [f"{log}:5000:8"]
    config = again.run_requests[0].run_config["resources"]["inputs"]["config"]
    assert config == {"sources": [str(log)], "cost_file": str(tmp_path / "costs.yaml")}


def test_hidden_and_temporary_files_and_a_missing_inbox_are_ignored(tmp_path: Path) -> None:
    _write(tmp_path / ".ap.xes.part", "x", 1)
    _write(tmp_path / "~lock.csv", "x", 1)
    cursor = _tick(tmp_path, None).cursor
    assert _tick(tmp_path, cursor).run_requests == []
    assert _tick(tmp_path / "absent", None).run_requests == []
