"""Row validation in DuckDB: types, formats, rules, duplicate keys and references.

:func:`check` turns a staging table into a checked table with the record's
``line``, the typed value of every contract column (``t_<column>``) and
``reason``: ``''`` for a valid row, otherwise every problem of the row, each
naming the column and rule, joined by ``'; '``. All checks are set operations
over the whole file, never per-row Python. A *batched* staging table holds the
files of many deliveries (a ``delivery_date`` column); duplicate keys and
references are then resolved within each delivery.
"""

from __future__ import annotations

import duckdb

from orchestration.ingest.contract import (
    BY_NAME,
    MAX_FIELD_CHARS,
    Column,
    Entity,
    Kind,
    Sign,
    value_pattern,
)
from orchestration.ingest.parsing import StagedFile, long_field_reason, raw_column, raw_keys
from orchestration.ingest.sql import TEMP_PREFIX, first_row, literal, quoted

_YEAR = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"  # 0001-9999
_DATE = _YEAR + "-[0-9]{2}-[0-9]{2}"  # month and day are checked by the cast
_TIME = _DATE + "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]+)?"  # no 24:00, no :60
_INTEGER = "-?[0-9]+"


def typed(column: str) -> str:
    """Name of the checked-table column holding the typed value of ``column``."""
    return f"t_{column}"


def keys_table(entity: str) -> str:
    """Temp table (column ``k``, plus ``delivery_date`` when batched) of an entity's valid keys."""
    return f"{TEMP_PREFIX}keys_{entity}"


def _matches(raw: str, pattern: str | None) -> str:
    """SQL: ``raw`` full-matches ``pattern`` (true without a pattern)."""
    return f"regexp_full_match({raw}, {literal(pattern)})" if pattern else "true"


def _typed_sql(col: Column, raw: str) -> str:
    match col.kind:
        case Kind.DATE:
            return f"CASE WHEN regexp_full_match({raw}, '{_DATE}') THEN try_cast({raw} AS DATE) END"
        case Kind.TIMESTAMP:
            return (
                f"CASE WHEN regexp_full_match({raw}, '{_TIME}Z') "
                f"THEN try_cast(replace({raw}, 'Z', '') AS TIMESTAMP) END"
            )
        case Kind.INTEGER:
            return (
                f"CASE WHEN regexp_full_match({raw}, '{_INTEGER}') "
                f"THEN try_cast({raw} AS BIGINT) END"
            )
        case Kind.BOOLEAN:
            return f"CASE {raw} WHEN 'true' THEN true WHEN 'false' THEN false END"
        case _:
            return raw


def _format_reason(col: Column, label: str, raw: str, value: str) -> str | None:
    """SQL reason for a value that is present but not of the column's type."""
    match col.kind:
        case Kind.TIMESTAMP:
            message = (
                f"CASE WHEN regexp_full_match({raw}, '{_TIME}') "
                f"THEN {quoted(f'{label}: timestamp without Z (UTC) ', raw)} "
                f"ELSE {quoted(f'{label}: bad timestamp ', raw)} END"
            )
        case Kind.INTEGER:
            message = (
                f"CASE WHEN regexp_full_match({raw}, '{_INTEGER}') "
                f"THEN {quoted(f'{label}: integer out of range ', raw)} "
                f"ELSE {quoted(f'{label}: bad integer ', raw)} END"
            )
        case Kind.DATE | Kind.BOOLEAN:
            message = quoted(f"{label}: bad {col.kind.value} ", raw)
        case _:
            return None
    return f"CASE WHEN {raw} IS NOT NULL AND {value} IS NULL THEN {message} END"


def _column_reasons(entity: Entity, col: Column, raw: str, batched: bool) -> list[str]:
    label = f"{entity.name}.{col.name}"
    reasons = []
    if not col.nullable:
        reasons.append(f"CASE WHEN {raw} IS NULL THEN {literal(label + ': missing value')} END")
    fmt = _format_reason(col, label, raw, typed(col.name))
    if fmt:
        reasons.append(fmt)
    if col.values:
        allowed = ", ".join(literal(v) for v in col.values)
        expected = f"' (expected one of {', '.join(col.values)})'"
        reasons.append(
            f"CASE WHEN {raw} NOT IN ({allowed}) "
            f"THEN {quoted(f'{label}: bad value ', raw)} || {expected} END"
        )
    pattern = value_pattern(col)
    if pattern:
        reasons.append(
            f"CASE WHEN NOT {_matches(raw, pattern)} "
            f"THEN {quoted(f'{label}: bad value ', raw)} || {literal(f' (expected {pattern})')} END"
        )
    if col.references and col.references != entity.name:
        noun = BY_NAME[col.references].noun
        keys = keys_table(col.references)
        same = f" WHERE {keys}.delivery_date = r.delivery_date" if batched else ""
        reasons.append(
            f"CASE WHEN {raw} NOT IN (SELECT k FROM {keys}{same}) "
            f"AND {_matches(raw, pattern)} THEN {quoted(f'{label}: unknown {noun} ', raw)} END"
        )
    return reasons


def _rule_reasons(entity: Entity, raw: dict[str, str]) -> list[str]:
    reasons = []
    for name, minimum in entity.minimum:
        label = f"{entity.name}.{name}"
        text = "negative value " if minimum == 0 else f"must be >= {minimum}, got "
        reasons.append(
            f"CASE WHEN {typed(name)} < {minimum} THEN {quoted(f'{label}: {text}', raw[name])} END"
        )
    for name, maximum in entity.maximum:
        label = f"{entity.name}.{name}"
        reasons.append(
            f"CASE WHEN {typed(name)} > {maximum} "
            f"THEN {quoted(f'{label}: must be <= {maximum}, got ', raw[name])} END"
        )
    for first, last in entity.ordered_dates:
        message = (
            f"{quoted(f'{entity.name}.{first}: after {last} (', raw[first])}"
            f" || ' > ' || {quoted('', raw[last])} || ')'"
        )
        reasons.append(f"CASE WHEN {typed(first)} > {typed(last)} THEN {message} END")
    if entity.sign_rule:
        amount, kind, signs = entity.sign_rule
        label = f"{entity.name}.{amount}"
        for sign, test in ((Sign.POSITIVE, "<= 0"), (Sign.NEGATIVE, ">= 0")):
            types = [t for t, s in signs.items() if s is sign]
            reasons.append(
                f"CASE WHEN {typed(kind)} IN ({', '.join(literal(t) for t in types)}) "
                f"AND {typed(amount)} {test} THEN "
                f"{literal(f'{label}: must be {sign.value} for ')} || {typed(kind)} || "
                f"{quoted(', got ', raw[amount])} END"
            )
    return reasons


def _duplicates(
    entity: Entity, raw: dict[str, str], staging: str, batched: bool
) -> tuple[str, str]:
    """Join clause (alias ``d``) giving ``_copies`` of duplicated keys, and their reason."""
    keys = [raw[k] for k in entity.key]
    group = ["delivery_date", *keys] if batched else keys
    key_list = ", ".join(group)
    present = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    on = " AND ".join(f"s.{k} = d.{k}" for k in group)
    join = (
        f"LEFT JOIN (SELECT {key_list}, count(*) AS _copies FROM {staging} WHERE {present} "
        f"GROUP BY ALL HAVING count(*) > 1) d ON {on}"
    )
    if len(keys) == 1:
        label = f"{entity.name}.{entity.key[0]}"
        shown = quoted(f"{label}: duplicate key ", keys[0])
    else:
        label = f"{entity.name}.({', '.join(entity.key)})"
        parts = " || ', ' || ".join(quoted("", k) for k in keys)
        shown = f"{literal(f'{label}: duplicate key (')} || {parts} || ')'"
    reason = f"CASE WHEN _copies > 1 THEN {shown} || ' (' || _copies || ' copies in the file)' END"
    return join, reason


def _long_fields(staged: StagedFile) -> str:
    """SQL: the reasons of the record's fields (any column) longer than the field limit."""
    name = staged.file.entity.name
    cases = ", ".join(
        f"CASE WHEN length(s.{raw_column(i)}) > {MAX_FIELD_CHARS} "
        f"THEN {literal(long_field_reason(name, key))} END"
        for i, key in enumerate(raw_keys(staged.file.header))
    )
    return f"nullif(concat_ws('; ', {cases}), '')"


def check(
    con: duckdb.DuckDBPyConnection, staged: StagedFile, table: str, batched: bool = False
) -> None:
    """Create the checked temp table ``table`` from ``staged``.

    Referenced entities must have been checked before, their valid keys in
    :func:`keys_table`; a reference to the file's own entity is resolved
    against its valid rows, repeatedly, so chains of bad rows are all caught.
    ``batched``: ``staged.table`` has a ``delivery_date`` column (kept in
    ``table``) and every file of a delivery is checked against that delivery only.
    """
    entity = staged.file.entity
    raw = {c: raw_column(i) for c, i in staged.file.positions.items()}
    dup_join, dup_reason = _duplicates(entity, raw, staged.table, batched)
    typed_cols = ", ".join(
        f"{_typed_sql(c, 's.' + raw[c.name])} AS {typed(c.name)}" for c in entity.columns
    )
    raw_cols = ", ".join(f"s.{r}" for r in raw.values())
    reasons = ["_long"]
    reasons += [r for c in entity.columns for r in _column_reasons(entity, c, raw[c.name], batched)]
    reasons += _rule_reasons(entity, raw)
    reasons.append(dup_reason)
    own = [c for c in entity.columns if c.references == entity.name]
    day = "delivery_date, " if batched else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        f"SELECT {day}line, {', '.join(typed(c) for c in entity.column_names)}, "
        f"concat_ws('; ', {', '.join(reasons)}) AS reason "
        f"FROM (SELECT {'s.' + day if batched else ''}{staged.line_sql('s')} AS line, "
        f"{raw_cols}, {typed_cols}, {_long_fields(staged)} AS _long, d._copies AS _copies "
        f"FROM {staged.table} s {dup_join}) AS r"
    )
    for col in own:
        key = typed(entity.key[0])
        flag = f"_ref_{col.name}"
        value = typed(col.name)
        message = quoted(f"{entity.name}.{col.name}: unknown {entity.noun} ", value)
        con.execute(f"ALTER TABLE {table} ADD COLUMN {flag} BOOLEAN DEFAULT false")
        same = f" AND v.delivery_date = {table}.delivery_date" if batched else ""
        changed = True
        while changed:
            (changed,) = first_row(
                con,
                f"UPDATE {table} SET reason = concat_ws('; ', nullif(reason, ''), {message}), "
                f"{flag} = true WHERE NOT {flag} AND {_matches(value, value_pattern(col))} "
                f"AND {value} NOT IN (SELECT v.{key} FROM {table} v WHERE v.reason = ''{same})",
            )
