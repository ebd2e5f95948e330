"""Atomic publication of a results folder (a failed run leaves earlier results intact).

Everything is written into a temporary sibling folder `DIR.tmp-<uuid>`; only when every file
is written is that folder swapped into place, under an exclusive lock on the hidden sibling
file `.DIR.lock`. A run that fails or is killed before the swap leaves `DIR` exactly as it was;
two concurrent runs end with one complete set of files. On Linux the swap is a single
`renameat2(RENAME_EXCHANGE)`; elsewhere it is two renames in a row under the lock.

A writer holds a shared `flock` on its temporary folder while it lives. A run killed before
its swap (SIGKILL, power loss) leaves its `DIR.tmp-*` behind, unlocked: the next publication
removes such folders (and `DIR.old-*` leftovers) under the lock before it starts.
"""

import contextlib
import ctypes
import ctypes.util
import fcntl
import glob
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import polars as pl

from dagster_project.storage import is_url, storage_path
from pipelines.errors import InputError, Problem

MARKER = ".bpo-results"
"""File present in every folder this module publishes; other non-empty folders are refused."""

FileContent = bytes | str | pl.DataFrame | Path
"""What a file of a results folder is made of: text, bytes, a frame, or a file to copy."""

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _write_one(path: Path, content: FileContent) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, pl.DataFrame):
        if path.suffix == ".parquet":
            content.write_parquet(path)
        else:
            content.write_csv(path)
    elif isinstance(content, Path):
        shutil.copyfile(content, path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(
            Problem(str(out_dir), "exists and is not a folder; choose another --out folder")
        )
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise InputError(
            Problem(
                str(out_dir),
                "is not empty and was not written by bpo; choose a new or empty --out folder",
            )
        )


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False when the call is unavailable."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def _claim(staging: Path) -> int:
    """Hold a shared lock on our temporary folder for as long as this process lives."""
    fd = os.open(staging, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def _remove_stale(target: Path) -> None:
    """Delete temporary folders of earlier runs that died before their swap (call under lock).

    A folder whose writer is alive is locked by it and kept; the kernel drops the lock of a
    killed process, so an unlocked `DIR.tmp-*` is garbage. `DIR.old-*` only exists between a
    finished swap and its deletion, so it is garbage too (deleting it twice is harmless).
    """
    name = glob.escape(target.name)
    for stale in target.parent.glob(f"{name}.tmp-*"):
        try:
            fd = os.open(stale, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its writer is alive
        else:
            shutil.rmtree(stale, ignore_errors=True)
        finally:
            os.close(fd)
    for old in target.parent.glob(f"{name}.old-*"):
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(out_dir: str | Path, files: Mapping[str, FileContent]) -> Path:
    """Write a complete results folder and swap it into place atomically.

    An object-store URL (`s3://…`) is published by `dagster_project.store_publish` instead:
    a new version prefix, then the manifest that readers trust.

    Args:
        out_dir: The results folder (created if missing, replaced if it holds earlier results).
        files: Relative path → content. Frames become CSV (or Parquet for `.parquet` names),
            `Path` values are copied, `str`/`bytes` are written as they are.

    Returns:
        The absolute path of the published folder.

    Raises:
        InputError: `out_dir` is a file, or a non-empty folder that bpo did not write.
    """
    if is_url(out_dir):
        from dagster_project.store_publish import publish_to_store  # noqa: PLC0415 (on use)

        return publish_to_store(str(out_dir), files)  # type: ignore[return-value]
    target = Path(storage_path(out_dir)).absolute()  # a `file://` URL is a local folder
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:12]
    staging = target.with_name(f"{target.name}.tmp-{tag}")
    lock = target.with_name(f".{target.name}.lock")
    with _locked(lock):
        _remove_stale(target)
        staging.mkdir()
        claim = _claim(staging)
    try:
        for rel, content in files.items():
            relative = Path(rel)
            if relative.is_absolute() or ".." in relative.parts:
                raise ValueError(f"results file name must be relative: {rel}")
            _write_one(staging / relative, content)
        (staging / MARKER).write_text("written by bpo; replaced as a whole on each run\n")
        with _locked(lock):
            _check_target(target)
            if target.exists() and _exchange(staging, target):
                old = staging  # after the exchange the staging name holds the old folder
            else:
                old = target.with_name(f"{target.name}.old-{tag}")
                if target.exists():
                    target.rename(old)
                staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        os.close(claim)
        if staging.exists() and staging != target:
            shutil.rmtree(staging, ignore_errors=True)
    return target
