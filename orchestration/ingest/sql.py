"""Small helpers to build DuckDB SQL text safely."""

from __future__ import annotations


def literal(text: str) -> str:
    """A SQL string literal for ``text``."""
    return "'" + text.replace("'", "''") + "'"


def quoted(text: str, value_sql: str) -> str:
    """SQL text expression: ``text`` followed by the value in single quotes."""
    return f"{literal(text)} || '''' || {value_sql} || ''''"
