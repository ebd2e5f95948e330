"""Asset storage: polars frames as Parquet, everything else pickled, one folder per run.

dagster-polars does not work with polars 2.x (it passes `rechunk` to `scan_parquet`), so this is
a small IO manager of our own. Each run writes under `<storage>/runs/<run id>/<asset key>`, so
runs at the same time (two files landing in the inbox, a CLI run during a UI run) never read
each other's half-finished values. An input comes from the same run when that run produced it,
else from the run of the asset's latest materialization.

Outputs that are not assets (the ops inside a graph-backed asset, dynamic outputs included) go
under `<storage>/runs/<run id>/ops/<step key>/<output name>[<mapping key>]` and are read back
from the upstream output that wrote them.

Values this process wrote in the newest run are also kept in memory and handed back as the same
object (assets must not mutate their inputs in place), as long as the file on disk is still the
one written; so a step of an in-process run does not re-read a large frame from Parquet.
"""

import os
import pickle
import threading
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

SUFFIXES = (".parquet", ".pkl")


class _RunCache:
    """Values written by this process in its newest run, by file, with the file's size/mtime."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run_id: str | None = None
        self._values: dict[Path, tuple[int, int, Any]] = {}

    def put(self, run_id: str, path: Path, value: Any) -> None:
        """Remember `value` as the content of `path`; forget everything of older runs."""
        stat = path.stat()
        with self._lock:
            if run_id != self._run_id:
                self._run_id = run_id
                self._values = {}
            self._values[path] = (stat.st_size, stat.st_mtime_ns, value)

    def get(self, path: Path, stat: os.stat_result) -> tuple[bool, Any]:
        """`(True, value)` if `path` is still the file holding `value`, else `(False, None)`."""
        with self._lock:
            entry = self._values.get(path)
        if entry is None or (entry[0], entry[1]) != (stat.st_size, stat.st_mtime_ns):
            return False, None
        return True, entry[2]

    def file_of(self, value: Any) -> Path | None:
        """The file holding this very object, if it is kept and the file unchanged."""
        with self._lock:
            entries = [(p, e) for p, e in self._values.items() if e[2] is value]
        for path, (size, mtime, _) in entries:
            stat = _stat(path)
            if stat is not None and (stat.st_size, stat.st_mtime_ns) == (size, mtime):
                return path
        return None

    def paths(self) -> list[Path]:
        """The files whose values are kept."""
        with self._lock:
            return sorted(self._values)

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._run_id = None
            self._values = {}


_CACHE = _RunCache()


def clear_cache() -> None:
    """Forget the values kept in memory (the files stay)."""
    _CACHE.clear()


def cached_paths() -> list[Path]:
    """The stored files whose values are kept in memory (all of one run)."""
    return _CACHE.paths()


def stored_file(value: Any) -> Path | None:
    """The Parquet or pickle file this process stored `value` in during the newest run, if any.

    For copying a stored frame instead of encoding it again (the normalized log's export).
    """
    return None if value is None else _CACHE.file_of(value)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


class ParquetPickleIOManager(dg.ConfigurableIOManager):
    """Stores polars DataFrames as Parquet and other values as pickles, per run.

    `base_dir` defaults to the Dagster instance's storage directory. `keep_in_memory` keeps the
    values written in the newest run in memory, for the steps of that run in this process.
    """

    base_dir: str | None = None
    keep_in_memory: bool = True

    def _run_dir(self, instance: dg.DagsterInstance, run_id: str) -> Path:
        return Path(self.base_dir or instance.storage_directory()) / "runs" / run_id

    def _stem(self, instance: dg.DagsterInstance, run_id: str, key: dg.AssetKey) -> Path:
        return self._run_dir(instance, run_id).joinpath(*key.path)

    def _op_stem(self, instance: dg.DagsterInstance, context: dg.OutputContext) -> Path:
        name = context.name
        if context.mapping_key is not None:
            name = f"{name}[{context.mapping_key}]"
        return self._run_dir(instance, context.run_id) / "ops" / context.step_key / name

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Write one output value of this run (atomically: temporary file, then rename)."""
        if obj is None and context.dagster_type.is_nothing:
            return
        instance = context.step_context.instance
        if context.has_asset_key:
            stem = self._stem(instance, context.run_id, context.asset_key)
        else:
            stem = self._op_stem(instance, context)
        stem.parent.mkdir(parents=True, exist_ok=True)
        is_frame = isinstance(obj, pl.DataFrame)
        path = stem.with_name(stem.name + (".parquet" if is_frame else ".pkl"))
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        if is_frame:
            obj.write_parquet(tmp)
        else:
            with tmp.open("wb") as handle:
                pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        if self.keep_in_memory:
            _CACHE.put(context.run_id, path, obj)
        if is_frame:
            context.add_output_metadata({"dagster/row_count": obj.height})

    def load_input(self, context: dg.InputContext) -> Any:
        """Read an upstream value: from this run if it made one, else its latest materialization.

        An op output (no asset key) is read from the run and step that wrote it.
        """
        instance = context.instance
        if not context.has_asset_key:
            upstream = context.upstream_output
            if upstream is None:
                raise FileNotFoundError(f"input {context.name!r} has no upstream output to load")
            found = self._read(self._op_stem(instance, upstream))
            if found is None:
                raise FileNotFoundError(
                    f"no stored value of output {upstream.name!r} of step {upstream.step_key!r}"
                )
            return found[0]
        key = context.asset_key
        found = self._read(self._stem(instance, context.step_context.run_id, key))
        if found is None:
            latest = instance.get_latest_materialization_event(key)
            if latest is not None:
                found = self._read(self._stem(instance, latest.run_id, key))
        if found is None:
            raise FileNotFoundError(
                f"no stored value of asset {key.to_user_string()!r}; materialize it first"
            )
        return found[0]

    @staticmethod
    def _read(stem: Path) -> tuple[Any] | None:
        """`(value,)` stored at `stem` (from memory when unchanged), or None when there is none."""
        for suffix in SUFFIXES:
            path = stem.with_name(stem.name + suffix)
            stat = _stat(path)
            if stat is None:
                continue
            hit, value = _CACHE.get(path, stat)
            if hit:
                return (value,)
            if suffix == ".parquet":
                return (pl.read_parquet(path, glob=False),)
            with path.open("rb") as handle:
                return (pickle.load(handle),)  # our own storage, written above
        return None
