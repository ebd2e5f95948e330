"""The normalized event log of docs/event-log.md: one row per completed activity instance.

Every reader returns a polars DataFrame whose first columns are `COLUMNS` in this order with
these dtypes; other attributes of the source follow under their own names.
"""

import polars as pl

CASE_ID = "case_id"
ACTIVITY = "activity"
TIMESTAMP = "timestamp"
START_TIMESTAMP = "start_timestamp"
RESOURCE = "resource"
ROLE = "role"
PROCESS = "process"
SYSTEM = "system"

TS_DTYPE = pl.Datetime("us", "UTC")

SCHEMA: dict[str, pl.DataType] = {
    CASE_ID: pl.String(),
    ACTIVITY: pl.String(),
    TIMESTAMP: TS_DTYPE,
    START_TIMESTAMP: TS_DTYPE,
    RESOURCE: pl.String(),
    ROLE: pl.String(),
    PROCESS: pl.String(),
    SYSTEM: pl.String(),
}
COLUMNS: tuple[str, ...] = tuple(SCHEMA)
REQUIRED: tuple[str, ...] = (CASE_ID, ACTIVITY, TIMESTAMP, PROCESS)
