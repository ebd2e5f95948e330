"""Writing the mined KPI tables as the CSV files of docs/results.md."""

from pathlib import Path

from mining.kpis import MinedTables

FILE_NAMES: dict[str, str] = {
    "process_kpis": "process_kpis.csv",
    "activity_stats": "activity_stats.csv",
    "handovers": "handovers.csv",
    "system_usage": "system_usage.csv",
}


def write_tables(tables: MinedTables, out_dir: Path) -> dict[str, Path]:
    """Write `process_kpis.csv`, `activity_stats.csv`, `handovers.csv`, `system_usage.csv`.

    Nulls are written as empty cells; floats at full precision.

    Args:
        tables: The mined tables (with fitness and precision filled, normally).
        out_dir: Output folder (created if missing).

    Returns:
        Table name → path written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, file_name in FILE_NAMES.items():
        path = out_dir / file_name
        getattr(tables, name).write_csv(path)
        written[name] = path
    return written
