"""Local folders and object-store URLs behind one path type (universal-pathlib over fsspec).

A location is a local path (or `file://` URL), kept as `pathlib.Path`, or an fsspec URL —
`s3://bucket/prefix`, `gs://bucket/prefix`, `abfs://container/prefix`, `memory://…` (tests) —
as `upath.UPath`. Both have the same path API (`/`, `open`, `exists`, `with_name`).

Object-store settings are never arguments here: fsspec takes credentials from each backend's
own environment variables (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
`GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_ACCOUNT_NAME`/`AZURE_STORAGE_ACCOUNT_KEY`, …)
and other options from `FSSPEC_<PROTOCOL>_<OPTION>` (e.g. `FSSPEC_S3_ENDPOINT_URL`), so no
secret passes through Dagster's run config, logs or metadata.
"""

import os
import re
from pathlib import Path
from typing import Any

from upath import UPath

StoragePath = Path | UPath
"""A local file as `pathlib.Path`, an object as `UPath`."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether `location` names an object store (an fsspec URL other than `file://`)."""
    text = str(location)
    return bool(_URL.match(text)) and not text.startswith("file://")


def is_local(path: StoragePath) -> bool:
    """Whether `path` is a file on this machine's file system."""
    return not isinstance(path, UPath)


def storage_path(location: str | os.PathLike[str]) -> StoragePath:
    """A local folder (or `file://` URL) as `Path`, any other URL as `UPath`."""
    if isinstance(location, UPath):
        return location if location.protocol not in ("", "file", "local") else Path(location.path)
    text = str(location)
    if text.startswith("file://"):
        return Path(UPath(text).path)
    if is_url(text):
        return UPath(text)
    return Path(text)


def signature(path: StoragePath) -> tuple[Any, ...] | None:
    """What identifies a file's current content: size and mtime, or size and object version.

    None when there is no such file.
    """
    if is_local(path):
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_size, stat.st_mtime_ns)
    try:
        info = path.fs.info(path.path)
    except FileNotFoundError:
        return None
    if info.get("type") == "directory":
        return None
    keys = ("ETag", "etag", "md5Hash", "generation", "mtime", "LastModified", "created")
    version = next((info[k] for k in keys if info.get(k) is not None), None)
    return (info.get("size"), str(version))
