"""Fixtures for mining tests: real XES logs as normalized polars frames, pm4py views of them.

Logs come from tests/data (public logs, see tests/data/NOTICE). They are read with
`pipelines.read.read_log`; `_normalize` is the independent conversion used before the reader
existed (one row per `complete` event; a `start` paired with the k-th `complete` of the same
(case, activity) in time order; process = file stem; system = null) and gives the same rows.
"""

import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from pipelines.schema import COLUMNS, SCHEMA

USE_PIPELINES_READER = True
TEST_DATA = Path(__file__).resolve().parents[1] / "data"
LOGS = (
    "running-example.xes",
    "repair_example.xes.gz",
    "teleclaims.xes.gz",
    "receipt.xes.gz",
    "roadtraffic100traces.xes",
)
PM4PY_KEYS = {
    "case_id_key": "case:concept:name",
    "activity_key": "concept:name",
    "timestamp_key": "time:timestamp",
}


def _stem(name: str) -> str:
    return name.removesuffix(".gz").removesuffix(".xes")


def log_path(name: str) -> Path:
    """tests/data/<name>; a missing log is an error, never a skip."""
    path = TEST_DATA / name
    assert path.is_file(), f"{path} is missing: the test logs ship with the repository"
    return path


def read_raw(name: str) -> pd.DataFrame:
    """The XES file as pm4py reads it (all lifecycle transitions)."""
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pm4py's note that it reads with rustxes
        return pm4py.read_xes(str(log_path(name)))


def _normalize(raw: pd.DataFrame, process: str) -> pl.DataFrame:
    frame = pl.from_pandas(raw).with_row_index("__row")
    rename = {
        "case:concept:name": "case_id",
        "concept:name": "activity",
        "time:timestamp": "timestamp",
        "org:resource": "resource",
    }
    frame = frame.rename({k: v for k, v in rename.items() if k in frame.columns})
    role = "org:role" if "org:role" in frame.columns else "org:group"
    if role in frame.columns:
        frame = frame.rename({role: "role"})
    frame = frame.with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))
    if "lifecycle:transition" in frame.columns:
        life = pl.col("lifecycle:transition").str.to_lowercase()
        keys = ["case_id", "activity"]
        nth = pl.int_range(pl.len()).over(keys)
        completes = (
            frame.filter(life == "complete").sort("timestamp", maintain_order=True)
        ).with_columns(__k=nth)
        starts = (
            frame.filter(life == "start")
            .sort("timestamp", maintain_order=True)
            .select(*keys, pl.col("timestamp").alias("start_timestamp"))
            .with_columns(__k=nth)
        )
        frame = completes.join(starts, on=[*keys, "__k"], how="left").drop("__k")
    frame = frame.sort("__row").drop("__row")
    adds = {
        "process": pl.lit(process),
        "system": pl.lit(None, pl.String),
        "start_timestamp": pl.lit(None, SCHEMA["start_timestamp"]),
        "resource": pl.lit(None, pl.String),
        "role": pl.lit(None, pl.String),
    }
    frame = frame.with_columns(v.alias(k) for k, v in adds.items() if k not in frame.columns)
    frame = frame.with_columns(pl.col(c).cast(t) for c, t in SCHEMA.items())
    return frame.select(*COLUMNS, *[c for c in frame.columns if c not in COLUMNS])


def read_normalized(name: str) -> pl.DataFrame:
    """The normalized frame: pipelines.read.read_log when it exists, else our conversion."""
    if USE_PIPELINES_READER:
        from pipelines.read import read_log

        return read_log(str(log_path(name)))
    return _normalize(read_raw(name), _stem(name))


def to_pm4py(log: pl.DataFrame) -> pd.DataFrame:
    """Completion events sorted stably by case and timestamp, under pm4py's column names."""
    return (
        log.select("case_id", "activity", "timestamp")
        .sort(["case_id", "timestamp"], maintain_order=True)
        .rename(
            {
                "case_id": "case:concept:name",
                "activity": "concept:name",
                "timestamp": "time:timestamp",
            }
        )
        .to_pandas()
    )


_CACHE: dict[str, pl.DataFrame] = {}


@pytest.fixture(scope="session")
def real_log():
    """Session-cached loader: real_log(name) -> normalized polars frame."""

    def load(name: str) -> pl.DataFrame:
        if name not in _CACHE:
            _CACHE[name] = read_normalized(name)
        return _CACHE[name]

    return load
