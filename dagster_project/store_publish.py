"""Publication of a results folder to an object store (`s3://…`, `gs://…`, `abfs://…`).

Object stores have no atomic rename of a folder, so a publication never changes files that a
reader may be reading. Every file of a run goes under a new version prefix
`<out>/.bpo-versions/<version>/`; then the manifest `<out>/MANIFEST.json` is written last, in
one PUT, naming the version and every file with its size and SHA-256. Readers trust only the
manifest (`published_files`, `read_published`): until it is replaced they see the previous
results whole, after it the new ones whole. A run that fails or is killed before its manifest
leaves an unreferenced version prefix behind and the published results unchanged.

Clean-up after each manifest: the versions named by the new and the previous manifest stay (a
reader that read the old manifest a moment ago can finish); other versions older than
`STALE_SECONDS` are deleted (younger ones may belong to a run that is still writing). Two runs
publishing at once end with the manifest of whichever wrote last, and so one complete set.
"""

import datetime as dt
import hashlib
import io
import json
import uuid
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from dagster_project.storage import StoragePath, storage_path
from pipelines.errors import InputError, Problem

MANIFEST = "MANIFEST.json"
"""The object readers trust: which version holds the results, and every file's checksum."""

VERSIONS = ".bpo-versions"
"""Prefix (under the results URL) of the published versions."""

STALE_SECONDS = 3600
"""An unreferenced version older than this belongs to a dead run and is deleted."""

FileContent = bytes | str | pl.DataFrame | Path


def _render(name: str, content: FileContent) -> bytes:
    if isinstance(content, pl.DataFrame):
        buffer = io.BytesIO()
        if name.endswith(".parquet"):
            content.write_parquet(buffer)
        else:
            content.write_csv(buffer)
        return buffer.getvalue()
    if isinstance(content, Path):
        return content.read_bytes()
    if isinstance(content, bytes):
        return content
    return content.encode("utf-8")


def _version_name(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


def _version_time(name: str) -> dt.datetime | None:
    try:
        made = dt.datetime.strptime(name.split("-", maxsplit=1)[0], "%Y%m%dT%H%M%S%fZ")
    except ValueError:
        return None
    return made.replace(tzinfo=dt.UTC)


def read_manifest(out: str | StoragePath) -> dict[str, Any] | None:
    """The current manifest of a published results URL, or None when nothing is published."""
    path = storage_path(out) / MANIFEST
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def published_files(out: str | StoragePath) -> dict[str, StoragePath]:
    """Relative name → object of every file of the current publication (empty if none)."""
    manifest = read_manifest(out)
    if manifest is None:
        return {}
    root = storage_path(out) / VERSIONS / manifest["version"]
    return {name: root.joinpath(*PurePosixPath(name).parts) for name in manifest["files"]}


def read_published(out: str | StoragePath) -> dict[str, bytes]:
    """The current publication's files, each checked against the manifest's SHA-256.

    Raises:
        ValueError: A file does not match the manifest (changed or damaged after publication).
    """
    manifest = read_manifest(out) or {"files": {}}
    found: dict[str, bytes] = {}
    for name, path in published_files(out).items():
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest["files"][name]["sha256"]:
            raise ValueError(f"{path}: does not match {MANIFEST}; publish the results again")
        found[name] = data
    return found


def _check_target(root: StoragePath) -> None:
    if (root / MANIFEST).exists() or not root.exists():
        return
    if any(child.name != VERSIONS for child in root.iterdir()):  # a dead first run is ours
        raise InputError(
            Problem(
                str(root),
                "is not empty and was not written by bpo; choose a new or empty --out location",
            )
        )


def _remove_stale(root: StoragePath, keep: set[str], now: dt.datetime) -> None:
    versions = root / VERSIONS
    if not versions.exists():
        return
    for child in versions.iterdir():
        made = _version_time(child.name)
        if child.name in keep or made is None:
            continue
        if (now - made).total_seconds() > STALE_SECONDS:
            child.fs.rm(child.path, recursive=True)


def publish_to_store(out: str | StoragePath, files: Mapping[str, FileContent]) -> StoragePath:
    """Write a results folder under a new version prefix, then its manifest.

    Args:
        out: The results URL (`s3://bucket/results`, …).
        files: Relative path → content, as for `dagster_project.exports.publish`.

    Returns:
        The results URL as a path.

    Raises:
        InputError: The URL holds objects that bpo did not write.
    """
    root = storage_path(out)
    _check_target(root)
    now = dt.datetime.now(dt.UTC)
    version = _version_name(now)
    prefix = root / VERSIONS / version
    listing: dict[str, dict[str, Any]] = {}
    for rel, content in files.items():
        relative = PurePosixPath(rel)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"results file name must be relative: {rel}")
        data = _render(rel, content)
        prefix.joinpath(*relative.parts).write_bytes(data)
        listing[str(relative)] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    previous = read_manifest(root)
    manifest = {
        "format": 1,
        "version": version,
        "published_at": now.isoformat(),
        "files": dict(sorted(listing.items())),
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    keep = {version} | ({previous["version"]} if previous else set())
    _remove_stale(root, keep, now)
    return root
