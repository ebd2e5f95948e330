"""Atomic publication of a results folder."""

import threading
from pathlib import Path

import polars as pl
import pytest

from dagster_project.exports import MARKER, publish
from pipelines.errors import InputError


def _files(tag: str) -> dict[str, object]:
    return {
        "a.csv": pl.DataFrame({"x": [1, 2], "tag": [tag, tag]}),
        "models/p_map.svg": f"<svg>{tag}</svg>",
        "raw.bin": tag.encode(),
        "log.parquet": pl.DataFrame({"y": [1.5]}),
    }


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_publish_writes_every_file_and_replaces_the_previous_set(tmp_path: Path) -> None:
    out = tmp_path / "results"
    publish(out, _files("one"))
    assert _listing(out) == [MARKER, "a.csv", "log.parquet", "models/p_map.svg", "raw.bin"]
    assert (out / "a.csv").read_text() == "x,tag\n1,one\n2,one\n"
    assert pl.read_parquet(out / "log.parquet")["y"].to_list() == [1.5]
    publish(out, {"b.txt": "two"})
    assert _listing(out) == [MARKER, "b.txt"]
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == [".results.lock", "results"]


def test_a_failure_while_writing_leaves_the_earlier_results_intact(tmp_path: Path) -> None:
    out = tmp_path / "results"
    publish(out, _files("old"))
    before = {p: (out / p).read_bytes() for p in _listing(out)}
    broken = {**_files("new"), "zz_copy.csv": tmp_path / "does-not-exist.csv"}
    with pytest.raises(FileNotFoundError):
        publish(out, broken)
    assert {p: (out / p).read_bytes() for p in _listing(out)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".results.lock", "results"]


def test_a_folder_not_written_by_bpo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("precious")
    with pytest.raises(InputError) as err:
        publish(tmp_path / "mine", {"a.txt": "x"})
    assert str(err.value.problems[0]) == (
        f"error: {tmp_path / 'mine'}: is not empty and was not written by bpo; "
        "choose a new or empty --out folder"
    )
    assert (tmp_path / "mine" / "thesis.docx").read_text() == "precious"


def test_file_names_must_stay_inside_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="relative"):
        publish(tmp_path / "r", {"../escape.txt": "x"})
    assert not (tmp_path / "escape.txt").exists()


def test_concurrent_publications_end_with_one_complete_set(tmp_path: Path) -> None:
    out = tmp_path / "results"
    tags = [f"run{i}" for i in range(6)]
    big = {f"part{j}.txt": "x" * 10_000 for j in range(20)}

    def one(tag: str) -> None:
        publish(out, {**big, "tag.txt": tag, "check.csv": pl.DataFrame({"tag": [tag] * 50})})

    threads = [threading.Thread(target=one, args=(t,)) for t in tags]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tag = (out / "tag.txt").read_text()
    assert tag in tags
    assert set(pl.read_csv(out / "check.csv")["tag"]) == {tag}
    assert len(_listing(out)) == 23
    assert sorted(p.name for p in tmp_path.iterdir()) == [".results.lock", "results"]
