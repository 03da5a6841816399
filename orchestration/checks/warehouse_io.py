"""Read-only access to the warehouse for the checks: SQL in, pandas frames out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

# Arrow types with nulls read as pandas' nullable dtypes, as DuckDB's own conversion does.
_NULLABLE_DTYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """Run ``sql`` and return the rows as a pandas frame."""
    return con.execute(sql, list(params)).df()


def bulk_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> pd.DataFrame:
    """Like :func:`frame` for many rows, read through Arrow: far faster and leaner.

    Strings come as categoricals (cheaper to compare, hash and test for
    nulls), DATE columns as ``datetime64[ms]``; other dtypes are those of
    :func:`frame`.
    """
    rows = con.sql(sql, params=list(params)).to_arrow_table()
    result = rows.to_pandas(date_as_object=False)
    for name, column in zip(rows.column_names, rows.columns, strict=True):
        if pa.types.is_string(column.type):
            result[name] = result[name].astype("category")
        elif column.null_count and column.type in _NULLABLE_DTYPES:
            result[name] = column.to_pandas(types_mapper=_NULLABLE_DTYPES.get)
    return result


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
