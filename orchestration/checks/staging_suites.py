"""Data-quality suites of the staged tables (``main.stg_<entity>``), which every model reads.

Derived from the landing contract like the raw suites, but judged on the whole
staged table as of the build's date: non-null values, one row per key (the
latest delivery wins), accepted values, minimums, and references resolving to
another staged table. A large table is read in batches of rows whose key hashes
to the same bucket, so a repeated key always falls in one batch; references
are resolved in SQL.
"""

from __future__ import annotations

import duckdb
import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from orchestration.checks.gx_engine import FrameSuite, expectation_meta, validate_batches
from orchestration.checks.outcome import CheckOutcome, FailedExpectation
from orchestration.checks.raw_suites import BATCH_ROWS
from orchestration.checks.warehouse_io import bulk_frame, table_columns
from orchestration.ingest.contract import BY_NAME, ENTITIES, Entity

STAGED_SCHEMA = "main"
# Staged columns named unlike the contract column they come from.
RENAMED = {("token_packs", "team_id"): "purchasing_team_id"}


def staged_table(entity: str) -> str:
    """Name of the staged table of a contract entity, e.g. ``stg_usage``."""
    return f"stg_{entity}"


def staged_check_name(entity: str) -> str:
    """Name of the check of one staged table, e.g. ``stg_usage_quality``."""
    return f"{staged_table(entity)}_quality"


def check_staged_table(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    batch_rows: int = BATCH_ROWS,
) -> CheckOutcome:
    """Validate ``main.stg_<entity>`` in batches of about ``batch_rows`` rows.

    A missing table or column fails the check.
    """
    name = staged_check_name(entity.name)
    table = staged_table(entity.name)
    missing = _missing_columns(con, entity)
    if missing:
        return CheckOutcome.from_failures(name, missing, ok_message="", fail_message="not checked")
    ((rows,),) = con.execute(f"select count(*) from {STAGED_SCHEMA}.{table}").fetchall()
    buckets = max(1, -(-rows // batch_rows))
    return CheckOutcome.from_failures(
        name,
        validate_batches(_suite(con, entity, b, buckets) for b in range(buckets)),
        ok_message=f"{rows} staged rows valid",
        stats={"rows": rows, "batches": buckets},
    )


def check_staged_layer(con: duckdb.DuckDBPyConnection) -> list[CheckOutcome]:
    """Every staged table's check, in contract order."""
    return [check_staged_table(con, entity) for entity in ENTITIES]


def _column(entity: Entity, column: str) -> str:
    return RENAMED.get((entity.name, column), column)


def _referenced_key(column_references: str) -> tuple[str, str]:
    """The staged table and key column a reference to ``column_references`` resolves to."""
    (key,) = BY_NAME[column_references].key
    return staged_table(column_references), key


def _missing_columns(con: duckdb.DuckDBPyConnection, entity: Entity) -> list[FailedExpectation]:
    """The staged tables or columns a rule of ``entity`` reads that do not exist."""
    needed = {staged_table(entity.name): [_column(entity, c.name) for c in entity.columns]}
    for col in entity.columns:
        if col.references:
            ref_table, key = _referenced_key(col.references)
            needed.setdefault(ref_table, []).append(key)
    failures = []
    for table, columns in needed.items():
        present = table_columns(con, STAGED_SCHEMA, table)
        absent = [c for c in dict.fromkeys(columns) if c not in present]
        if absent:
            failures.append(
                FailedExpectation(
                    expectation="staged_table_exists",
                    target=table,
                    column=",".join(absent),
                    rule="staged table or column missing",
                    unexpected_count=None,
                    error=f"{STAGED_SCHEMA}.{table} "
                    + ("does not exist" if not present else f"has no column {', '.join(absent)}"),
                )
            )
    return failures


def _suite(con: duckdb.DuckDBPyConnection, entity: Entity, bucket: int, buckets: int) -> FrameSuite:
    """The staged rows whose key hashes to ``bucket`` of ``buckets``, and the rules."""
    table = staged_table(entity.name)
    key = [_column(entity, c) for c in entity.key]
    selected = [f"t.{_column(entity, c.name)}" for c in entity.columns]
    expectations: list[Expectation] = []

    def add(expectation: type[Expectation], subject: str, rule: str, **kwargs: object) -> None:
        meta = expectation_meta(f"{table}.{subject}", rule)
        expectations.append(expectation(meta=meta, **kwargs))

    for col in entity.columns:
        if not col.nullable:
            column = _column(entity, col.name)
            add(gxe.ExpectColumnValuesToNotBeNull, column, "null value", column=column)
    if len(key) == 1:
        add(gxe.ExpectColumnValuesToBeUnique, key[0], "duplicate key", column=key[0])
    else:
        add(gxe.ExpectCompoundColumnsToBeUnique, "+".join(key), "duplicate key", column_list=key)
    for col in entity.columns:
        column = _column(entity, col.name)
        if col.values:
            rule = "value not in " + "/".join(col.values)
            add(
                gxe.ExpectColumnValuesToBeInSet,
                column,
                rule,
                column=column,
                value_set=list(col.values),
            )
        if col.references:
            ref_table, ref_key = _referenced_key(col.references)
            selected.append(
                f"case when t.{column} is not null and not exists (select 1 from"
                f" {STAGED_SCHEMA}.{ref_table} r where r.{ref_key} = t.{column})"
                f" then t.{column} end as unknown__{column}"
            )
            rule = f"unknown {ref_table} reference"
            add(gxe.ExpectColumnValuesToBeNull, column, rule, column=f"unknown__{column}")
    for column, minimum in entity.minimum:
        column = _column(entity, column)
        rule = f"value below {minimum}"
        add(gxe.ExpectColumnValuesToBeBetween, column, rule, column=column, min_value=minimum)
    for column, maximum in entity.maximum:
        column = _column(entity, column)
        rule = f"value above {maximum}"
        add(gxe.ExpectColumnValuesToBeBetween, column, rule, column=column, max_value=maximum)
    keys = ", ".join(f"t.{c}" for c in key)
    rows = bulk_frame(
        con,
        f"select {', '.join(selected)} from {STAGED_SCHEMA}.{table} t"
        f" where hash({keys}) % ?::ubigint = ?::ubigint order by {keys}",
        [buckets, bucket],
    )
    return FrameSuite(f"{table}_staged", rows, expectations, tuple(key))
