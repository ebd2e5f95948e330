"""Asset storage: polars frames as Parquet, everything else pickled, one folder per run.

dagster-polars does not work with polars 2.x (it passes `rechunk` to `scan_parquet`), so this is
a small IO manager of our own. Each run writes under `<storage>/runs/<run id>/<asset key>`, so
runs at the same time (two files landing in the inbox, a CLI run during a UI run) never read
each other's half-finished values. An input comes from the same run when that run produced it,
else from the run of the asset's latest materialization.
"""

import os
import pickle
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl


class ParquetPickleIOManager(dg.ConfigurableIOManager):
    """Stores polars DataFrames as Parquet and other values as pickles, per run.

    `base_dir` defaults to the Dagster instance's storage directory.
    """

    base_dir: str | None = None

    def _stem(self, instance: dg.DagsterInstance, run_id: str, key: dg.AssetKey) -> Path:
        base = Path(self.base_dir or instance.storage_directory())
        return base.joinpath("runs", run_id, *key.path)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Write one asset value of this run (atomically: temporary file, then rename)."""
        if obj is None and context.dagster_type.is_nothing:
            return
        instance = context.step_context.instance
        stem = self._stem(instance, context.run_id, context.asset_key)
        stem.parent.mkdir(parents=True, exist_ok=True)
        is_frame = isinstance(obj, pl.DataFrame)
        path = stem.with_suffix(".parquet" if is_frame else ".pkl")
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        if is_frame:
            obj.write_parquet(tmp)
        else:
            with tmp.open("wb") as handle:
                pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        if is_frame:
            context.add_output_metadata({"dagster/row_count": obj.height})

    def load_input(self, context: dg.InputContext) -> Any:
        """Read an upstream value: from this run if it made one, else its latest materialization."""
        key = context.asset_key
        runs = [context.step_context.run_id]
        latest = context.instance.get_latest_materialization_event(key)
        if latest is not None:
            runs.append(latest.run_id)
        for run_id in runs:
            stem = self._stem(context.instance, run_id, key)
            if stem.with_suffix(".parquet").exists():
                return pl.read_parquet(stem.with_suffix(".parquet"))
            if stem.with_suffix(".pkl").exists():
                with stem.with_suffix(".pkl").open("rb") as handle:
                    return pickle.load(handle)  # our own storage, written above
        raise FileNotFoundError(
            f"no stored value of asset {key.to_user_string()!r}; materialize it first"
        )
