"""Small helpers to build DuckDB SQL text safely."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

TEMP_PREFIX = "_ingest_"  # every temp table of an ingest starts with this; dropped at the end


def literal(text: str) -> str:
    """A SQL string literal for ``text``."""
    return "'" + text.replace("'", "''") + "'"


def quoted(text: str, value_sql: str) -> str:
    """SQL text expression: ``text`` followed by the value in single quotes."""
    return f"{literal(text)} || '''' || {value_sql} || ''''"


def first_row(con: duckdb.DuckDBPyConnection, query: str) -> tuple:
    """The first row of ``query``, with the result fully consumed.

    DuckDB keeps a partly fetched result open on the connection (and then
    refuses ``con.sql``), so results are always fetched completely.
    """
    return con.execute(query).fetchall()[0]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction around the block: committed at its end, rolled back on any error
    (a kill at a crash point included)."""
    con.begin()
    try:
        yield
        con.commit()
    except BaseException:
        con.rollback()
        raise
