"""Asset storage: polars frames as Parquet, everything else pickled, one folder per run.

dagster-polars does not work with polars 2.x (it passes `rechunk` to `scan_parquet`), so this is
a small IO manager of our own, built on Dagster's `UPathIOManager` (universal-pathlib over
fsspec). Its base path is a local folder (default: the Dagster instance's storage directory) or
an object-store URL (`s3://bucket/prefix`, `gs://…`, `abfs://container/prefix`, `memory://…`)
that every worker of a distributed run can reach (settings: `dagster_project.storage` and
`docs/distributed.md`).

Each run writes under `<base>/runs/<run id>/<asset key>`, so runs at the same time (two files
landing in the inbox, a CLI run during a UI run) never read each other's half-finished values.
An input comes from the same run when that run produced it, else from the run of the asset's
latest materialization (of the same partition, for a partitioned asset, which is stored one
file per partition under `<asset key>/`).

Outputs that are not assets (the ops inside a graph-backed asset, dynamic outputs included) go
under `<base>/runs/<run id>/ops/<step key>/<output name>[<mapping key>]` and are read back
from the upstream output that wrote them.

Values this process wrote in the newest run are also kept in memory and handed back as the same
object (assets must not mutate their inputs in place), as long as the stored file is still the
one written (same size and modification time, or ETag on object stores); so a step of an
in-process run does not re-read a large frame from Parquet.

A local file is written to a temporary name and renamed into place; an object is uploaded in
one PUT, which object stores make visible all at once.
"""

import os
import pickle
import threading
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster import UPathIOManager
from upath import UPath

from dagster_project.storage import StoragePath, storage_path
from dagster_project.storage import is_local as _is_local
from dagster_project.storage import signature as _signature

SUFFIXES = (".parquet", ".pkl")


class _RunCache:
    """Values written by this process in its newest run, by file, with the file's signature."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run_id: str | None = None
        self._values: dict[StoragePath, tuple[tuple[Any, ...], Any]] = {}

    def put(self, run_id: str, path: StoragePath, value: Any) -> None:
        """Remember `value` as the content of `path`; forget everything of older runs."""
        signature = _signature(path)
        if signature is None:
            return
        with self._lock:
            if run_id != self._run_id:
                self._run_id = run_id
                self._values = {}
            self._values[path] = (signature, value)

    def get(self, path: StoragePath, signature: tuple[Any, ...]) -> tuple[bool, Any]:
        """`(True, value)` if `path` is still the file holding `value`, else `(False, None)`."""
        with self._lock:
            entry = self._values.get(path)
        if entry is None or entry[0] != signature:
            return False, None
        return True, entry[1]

    def file_of(self, value: Any) -> StoragePath | None:
        """The file holding this very object, if it is kept and the file unchanged."""
        with self._lock:
            entries = [(p, e) for p, e in self._values.items() if e[1] is value]
        for path, (signature, _) in entries:
            if _signature(path) == signature:
                return path
        return None

    def paths(self) -> list[StoragePath]:
        """The files whose values are kept."""
        with self._lock:
            return sorted(self._values, key=str)

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._run_id = None
            self._values = {}


_CACHE = _RunCache()


def clear_cache() -> None:
    """Forget the values kept in memory (the files stay)."""
    _CACHE.clear()


def cached_paths() -> list[StoragePath]:
    """The stored files whose values are kept in memory (all of one run)."""
    return _CACHE.paths()


def stored_file(value: Any) -> Path | None:
    """The local Parquet or pickle file this process stored `value` in during the newest run.

    For copying a stored frame instead of encoding it again (the normalized log's export).
    None for values not stored by this process, and for objects in an object store.
    """
    if value is None:
        return None
    found = _CACHE.file_of(value)
    return found if found is not None and _is_local(found) else None


class RunFolderIOManager(UPathIOManager):
    """The IO manager itself: per-run folders under a local or object-store base path."""

    extension = None  # `.parquet` or `.pkl`, chosen per value

    def __init__(
        self, base_path: StoragePath, instance: dg.DagsterInstance, keep_in_memory: bool = True
    ) -> None:
        super().__init__(base_path=base_path)  # type: ignore[arg-type]  # a Path is accepted
        self._instance = instance
        self._keep = keep_in_memory

    # ------------------------------------------------------------------ where values live

    def _run_dir(self, run_id: str) -> StoragePath:
        return self._base_path / "runs" / run_id

    def _stored(self, stem: StoragePath) -> bool:
        return any(
            _signature(stem.with_name(stem.name + suffix)) is not None for suffix in SUFFIXES
        )

    def _input_run(self, context: dg.InputContext, partition: str | None) -> str:
        """This run if it stored the asset (partition), else the latest materialization's run."""
        run_id = context.step_context.run_id
        key = context.asset_key
        here = self._run_dir(run_id).joinpath(*key.path)
        if partition is not None:
            here = self.make_safe_partition_path(here, partition)
        if self._stored(here):
            return run_id
        if partition is None:
            latest = self._instance.get_latest_materialization_event(key)
            return latest.run_id if latest is not None else run_id
        records = self._instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
        ).records
        return records[0].run_id if records else run_id

    def get_asset_relative_path(self, context: dg.InputContext | dg.OutputContext) -> UPath:
        """`runs/<run id>/<asset key>`: this run's, or for an input the run that stored it."""
        if isinstance(context, dg.OutputContext):
            run_id = context.run_id
        else:
            run_id = self._input_run(context, None)
        return UPath("runs", run_id, *context.asset_key.path)

    def get_path_for_partition(
        self, context: dg.InputContext | dg.OutputContext, path: UPath, partition: str
    ) -> UPath:
        """`runs/<run id>/<asset key>/<partition>`, the run looked up per partition for inputs."""
        if isinstance(context, dg.InputContext):
            run_dir = self._run_dir(self._input_run(context, partition))
            path = run_dir.joinpath(*context.asset_key.path)
        return self.make_safe_partition_path(path, partition)

    def get_op_output_relative_path(self, context: dg.InputContext | dg.OutputContext) -> UPath:
        """`runs/<run id>/ops/<step key>/<output>[<mapping key>]` of the output that wrote it."""
        output = context if isinstance(context, dg.OutputContext) else context.upstream_output
        if output is None:
            raise FileNotFoundError(f"input {context.name!r} has no upstream output to load")
        name = output.name
        if output.mapping_key is not None:
            name = f"{name}[{output.mapping_key}]"
        return UPath("runs", output.run_id, "ops", output.step_key, name)

    def make_directory(self, path: StoragePath) -> None:
        """Create a local folder; object stores have none to create."""
        if _is_local(path):
            path.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ writing and reading

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Write one output value of this run (Nothing outputs store nothing)."""
        if obj is None and context.dagster_type.is_nothing:
            return
        super().handle_output(context, obj)

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: StoragePath) -> None:
        """Write the value beside `path` as `.parquet` (frames) or `.pkl` (anything else)."""
        is_frame = isinstance(obj, pl.DataFrame)
        target = path.with_name(path.name + (".parquet" if is_frame else ".pkl"))
        if _is_local(target):
            tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
            if is_frame:
                obj.write_parquet(tmp)
            else:
                with tmp.open("wb") as handle:
                    pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(target)
        else:
            with target.open("wb") as handle:  # one PUT: visible all at once or not at all
                if is_frame:
                    obj.write_parquet(handle)
                else:
                    pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        if self._keep:
            _CACHE.put(context.run_id, target, obj)

    def get_metadata(self, context: dg.OutputContext, obj: Any) -> dict[str, Any]:
        """The stored file (its full name) and, for frames, the row count."""
        if isinstance(obj, pl.DataFrame):
            stem = self._get_path(context) if not context.has_asset_partitions else None
            meta: dict[str, Any] = {"dagster/row_count": obj.height}
            if stem is not None:
                meta["path"] = dg.MetadataValue.path(str(stem) + ".parquet")
            return meta
        stem = self._get_path(context) if not context.has_asset_partitions else None
        return {} if stem is None else {"path": dg.MetadataValue.path(str(stem) + ".pkl")}

    def load_from_path(self, context: dg.InputContext, path: StoragePath) -> Any:
        """The value stored at `path` (`.parquet` or `.pkl`), from memory while unchanged."""
        for suffix in SUFFIXES:
            file = path.with_name(path.name + suffix)
            signature = _signature(file)
            if signature is None:
                continue
            hit, value = _CACHE.get(file, signature)
            if hit:
                return value
            if suffix == ".parquet":
                if _is_local(file):
                    return pl.read_parquet(file, glob=False)
                with file.open("rb") as handle:
                    return pl.read_parquet(handle)
            with file.open("rb") as handle:
                return pickle.load(handle)  # our own storage, written above
        if context.has_asset_key:
            raise FileNotFoundError(
                f"no stored value of asset {context.asset_key.to_user_string()!r}; "
                "materialize it first"
            )
        upstream = context.upstream_output
        raise FileNotFoundError(
            f"no stored value of output {upstream.name!r} of step {upstream.step_key!r}"
            if upstream is not None
            else f"no stored value for input {context.name!r}"
        )


class ParquetPickleIOManager(dg.ConfigurableIOManagerFactory):
    """Stores polars DataFrames as Parquet and other values as pickles, per run.

    `base_dir` is a local folder or an object-store URL (`s3://bucket/prefix`, `gs://…`,
    `abfs://…`); it defaults to the Dagster instance's storage directory. Object-store
    credentials and options come from the environment (`dagster_project.storage`). `keep_in_memory`
    keeps the values written in the newest run in memory, for the steps of that run in this
    process.
    """

    base_dir: str | None = None
    keep_in_memory: bool = True

    def create_io_manager(self, context: dg.InitResourceContext) -> RunFolderIOManager:
        """The IO manager for one run (or step process)."""
        instance = context.instance
        if instance is None:
            raise dg.DagsterInvariantViolationError("the IO manager needs a Dagster instance")
        base = storage_path(self.base_dir or instance.storage_directory())
        return RunFolderIOManager(base, instance, keep_in_memory=self.keep_in_memory)
