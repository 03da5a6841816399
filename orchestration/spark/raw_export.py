"""Copy the DuckDB raw layer to Parquet, the source layer of the Spark target."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

RAW_SCHEMA = "raw"
PART_FILE = "part-0.parquet"
# Spark and DuckDB globs skip names starting with "_", so a half-written file is never read.
TEMP_FILE = "_part-0.parquet.tmp"


def export_raw_to_parquet(duckdb_file: Path, parquet_dir: Path) -> dict[str, int]:
    """Write every table of schema ``raw`` to ``parquet_dir/<table>/part-0.parquet``.

    Each table is replaced atomically (written to a hidden file, then renamed over the
    old one), so a reader sees either the previous or the new complete table. Returns
    the number of rows written per table.
    """
    parquet_dir = Path(parquet_dir)
    with duckdb.connect(str(duckdb_file), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
                [RAW_SCHEMA],
            ).fetchall()
        ]
        counts: dict[str, int] = {}
        for table in tables:
            folder = parquet_dir / table
            folder.mkdir(parents=True, exist_ok=True)
            temp = folder / TEMP_FILE
            [(counts[table],)] = con.execute(
                f"copy {RAW_SCHEMA}.\"{table}\" to '{_sql_text(temp)}' (format parquet)"
            ).fetchall()
            os.replace(temp, folder / PART_FILE)
    return counts


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")
