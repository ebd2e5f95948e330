"""Building small normalized logs from literals."""

from datetime import UTC, datetime

import polars as pl

from pipelines.schema import COLUMNS, SCHEMA


def t(text: str) -> datetime:
    """'2024-01-01 09:00' → aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_log(rows: list[dict]) -> pl.DataFrame:
    """Rows with keys case, act, ts, and optional start, res, role, proc, sys."""
    data = {
        "case_id": [r["case"] for r in rows],
        "activity": [r["act"] for r in rows],
        "timestamp": [t(r["ts"]) for r in rows],
        "start_timestamp": [t(r["start"]) if r.get("start") else None for r in rows],
        "resource": [r.get("res") for r in rows],
        "role": [r.get("role") for r in rows],
        "process": [r.get("proc", "P") for r in rows],
        "system": [r.get("sys") for r in rows],
    }
    return pl.DataFrame(data, schema=SCHEMA).select(COLUMNS)
