"""Expose the tables of a Spark build to DuckDB readers (the exports, the parity test).

Spark keeps each managed table as Parquet files under
``<warehouse_dir>/<schema>.db/<table>/``. :func:`write_spark_catalog` writes a small
DuckDB file whose schema ``main`` holds one view per such table, so anything that
reads report models from a DuckDB warehouse file (``DuckDBReportSource``,
``orchestration.warehouse.active_teams``) reads a Spark build unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from .environment import SPARK_SCHEMA


class SparkCatalogError(RuntimeError):
    """The Spark warehouse has no built tables to expose."""


def _table_dirs(warehouse_dir: Path, schema: str = SPARK_SCHEMA) -> dict[str, Path]:
    """Managed table folders of ``schema`` by table name (hidden and ``_`` names skipped)."""
    schema_dir = Path(warehouse_dir) / f"{schema}.db"
    if not schema_dir.is_dir():
        return {}
    return {
        path.name: path
        for path in sorted(schema_dir.iterdir())
        if path.is_dir() and not path.name.startswith(("_", "."))
    }


def write_spark_catalog(
    warehouse_dir: Path, catalog_file: Path, schema: str = SPARK_SCHEMA
) -> list[str]:
    """(Re)write ``catalog_file`` with a view ``main.<table>`` per table of ``schema``.

    The views read the Parquet files in place (absolute paths), so the catalog stays
    valid while Spark rebuilds tables with the same columns. The file is replaced
    atomically. Returns the table names.
    """
    tables = _table_dirs(warehouse_dir, schema)
    if not tables:
        raise SparkCatalogError(
            f"no Spark tables under {Path(warehouse_dir) / (schema + '.db')} (run dbt first)"
        )
    catalog_file = Path(catalog_file)
    catalog_file.parent.mkdir(parents=True, exist_ok=True)
    temp = catalog_file.with_name(f".{catalog_file.name}.tmp")
    temp.unlink(missing_ok=True)
    with duckdb.connect(str(temp)) as con:
        for name, folder in tables.items():
            con.execute(f'create view main."{name}" as {_table_select(con, folder)}')
    os.replace(temp, catalog_file)
    return list(tables)


def _table_select(con: duckdb.DuckDBPyConnection, folder: Path) -> str:
    """SELECT over a table's Parquet files, instants turned back into naive UTC timestamps.

    Spark stores its TIMESTAMP (an instant) as UTC-adjusted Parquet, which DuckDB reads
    as TIMESTAMP WITH TIME ZONE; the DuckDB build holds naive UTC timestamps instead.
    """
    pattern = str(folder.resolve() / "*.parquet").replace("'", "''")
    source = f"read_parquet('{pattern}')"
    instants = [
        name
        for name, sql_type, *_ in con.execute(f"describe select * from {source}").fetchall()
        if sql_type == "TIMESTAMP WITH TIME ZONE"
    ]
    if not instants:
        return f"select * from {source}"
    replaced = ", ".join(f'timezone(\'UTC\', "{name}") as "{name}"' for name in instants)
    return f"select * replace ({replaced}) from {source}"
