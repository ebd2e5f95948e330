"""Polars frames as Dagster table metadata (shown as tables in the asset's page)."""

import datetime as dt

import dagster as dg
import polars as pl

_MAX_ROWS = 100


def _column_type(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    return "string"


def _cell(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def table_metadata(frame: pl.DataFrame, max_rows: int = _MAX_ROWS) -> dg.TableMetadataValue:
    """A frame's first `max_rows` rows as a `dg.TableMetadataValue` with its schema."""
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name, _column_type(dtype))
            for name, dtype in zip(frame.columns, frame.dtypes, strict=True)
        ]
    )
    records = [
        dg.TableRecord({k: _cell(v) for k, v in row.items()})
        for row in frame.head(max_rows).iter_rows(named=True)
    ]
    return dg.MetadataValue.table(records, schema=schema)
