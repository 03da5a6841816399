"""Read-only access to the warehouse for the checks: SQL in, pandas frames out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
import pandas as pd


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """Run ``sql`` and return the rows as a pandas frame."""
    return con.execute(sql, list(params)).df()


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of ``schema.table`` (empty when the table does not exist)."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return dict(rows)


def date_list(dates: Sequence[date]) -> list[date]:
    """Distinct dates, sorted: the parameter form of a delivery or as-of list."""
    return sorted(set(dates))
