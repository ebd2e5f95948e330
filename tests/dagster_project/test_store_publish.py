"""Publication of a results folder to an object store: version prefix first, manifest last.

fsspec's in-memory file system stands for S3/GCS/Azure (the same `UPath` code, no network).
"""

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import fsspec
import polars as pl
import pytest

from dagster_project import store_publish
from dagster_project.exports import publish
from dagster_project.store_publish import (
    MANIFEST,
    VERSIONS,
    published_files,
    read_manifest,
    read_published,
)
from pipelines.errors import InputError

URL = "memory://bpo-results-test/study"


@pytest.fixture
def memory() -> Iterator[fsspec.AbstractFileSystem]:
    fs = fsspec.filesystem("memory")
    if fs.exists("/bpo-results-test"):
        fs.rm("/bpo-results-test", recursive=True)
    yield fs
    if fs.exists("/bpo-results-test"):
        fs.rm("/bpo-results-test", recursive=True)


def _files(tag: str) -> dict[str, object]:
    return {
        "a.csv": pl.DataFrame({"x": [1, 2], "tag": [tag, tag]}),
        "models/p_map.svg": f"<svg>{tag}</svg>",
        "raw.bin": tag.encode(),
        "log.parquet": pl.DataFrame({"y": [1.5]}),
    }


def test_a_url_is_published_as_a_version_and_a_manifest(memory: fsspec.AbstractFileSystem) -> None:
    publish(URL, _files("one"))
    manifest = read_manifest(URL)
    assert manifest is not None
    assert sorted(manifest["files"]) == ["a.csv", "log.parquet", "models/p_map.svg", "raw.bin"]
    got = read_published(URL)
    assert got["a.csv"] == b"x,tag\n1,one\n2,one\n"
    assert got["raw.bin"] == b"one"
    assert manifest["files"]["raw.bin"] == {
        "bytes": 3,
        "sha256": hashlib.sha256(b"one").hexdigest(),
    }
    objects = sorted(
        p.removeprefix("/bpo-results-test/study/") for p in memory.find("/bpo-results-test")
    )
    version = manifest["version"]
    assert objects == [
        f"{VERSIONS}/{version}/a.csv",
        f"{VERSIONS}/{version}/log.parquet",
        f"{VERSIONS}/{version}/models/p_map.svg",
        f"{VERSIONS}/{version}/raw.bin",
        MANIFEST,
    ]
    with published_files(URL)["log.parquet"].open("rb") as handle:
        assert pl.read_parquet(handle)["y"].to_list() == [1.5]

    publish(URL, {"b.txt": "two"})
    assert read_published(URL) == {"b.txt": b"two"}
    # the previous version stays for readers that read the old manifest a moment ago
    assert sorted(memory.ls(f"/bpo-results-test/study/{VERSIONS}", detail=False)) == sorted(
        f"/bpo-results-test/study/{VERSIONS}/{v}" for v in (version, read_manifest(URL)["version"])
    )


def test_a_failure_before_the_manifest_changes_nothing_readers_see(
    memory: fsspec.AbstractFileSystem, tmp_path: Path
) -> None:
    publish(URL, _files("old"))
    before = read_published(URL)
    manifest_before = memory.cat(f"/bpo-results-test/study/{MANIFEST}")
    broken = {**_files("new"), "zz_copy.csv": tmp_path / "does-not-exist.csv"}
    with pytest.raises(FileNotFoundError):
        publish(URL, broken)
    assert memory.cat(f"/bpo-results-test/study/{MANIFEST}") == manifest_before
    assert read_published(URL) == before


def test_stale_versions_of_dead_runs_are_removed_and_young_ones_kept(
    memory: fsspec.AbstractFileSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = f"/bpo-results-test/study/{VERSIONS}"
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    dead = f"{old:%Y%m%dT%H%M%S%fZ}-deadbeef"
    young = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-0a1b2c3d"  # a run still writing
    memory.pipe(f"{base}/{dead}/a.csv", b"half")
    memory.pipe(f"{base}/{young}/a.csv", b"half")
    publish(URL, {"a.csv": "done"})
    left = sorted(p.rsplit("/", 1)[1] for p in memory.ls(base, detail=False))
    assert left == sorted([young, read_manifest(URL)["version"]])
    monkeypatch.setattr(store_publish, "STALE_SECONDS", -1)
    publish(URL, {"a.csv": "again"})  # now everything but this and the previous version goes
    versions = [read_manifest(URL)["version"]]
    left = sorted(p.rsplit("/", 1)[1] for p in memory.ls(base, detail=False))
    assert len(left) == 2 and versions[0] in left and young not in left


def test_a_damaged_file_is_refused_by_readers(memory: fsspec.AbstractFileSystem) -> None:
    publish(URL, {"a.csv": "1,2\n"})
    (path,) = published_files(URL).values()
    memory.pipe(path.path, b"9,9\n")
    with pytest.raises(ValueError, match=r"a\.csv: does not match MANIFEST\.json"):
        read_published(URL)


def test_a_location_not_written_by_bpo_is_refused(memory: fsspec.AbstractFileSystem) -> None:
    memory.pipe("/bpo-results-test/study/thesis.docx", b"precious")
    with pytest.raises(InputError) as err:
        publish(URL, {"a.txt": "x"})
    assert str(err.value.problems[0]) == (
        f"error: {URL}: is not empty and was not written by bpo; "
        "choose a new or empty --out location"
    )
    assert memory.cat("/bpo-results-test/study/thesis.docx") == b"precious"
    assert memory.find("/bpo-results-test") == ["/bpo-results-test/study/thesis.docx"]
