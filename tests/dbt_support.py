"""Build a throwaway warehouse with a populated raw layer and run dbt on it.

Usage from a test::

    warehouse = tmp_path / "wh.duckdb"
    create_raw_warehouse(warehouse, {"usage": [{...}, ...], "token_packs": [...]})
    result = run_dbt(warehouse, "2026-03-31", "build")
    assert result.success
    rows = query(warehouse, "select * from main.fct_usage")

Rows are dicts keyed by column name; missing columns are null. Every entity
row needs `delivery_date`; `source_line` defaults to the row's position. When
no `deliveries` rows are given, one is made per distinct delivery_date found.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from dbt.cli.main import dbtRunner, dbtRunnerResult

from orchestration.ingest.content import ensure_snapshot_storage

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# `build` arguments that materialize the selected models and the seeds they read, without tests
# (`dbt run` loads no seeds).
MODELS_AND_SEEDS = ("--resource-type", "model", "--resource-type", "seed")

_ENTITY_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "teams": [
        ("team_id", "VARCHAR"),
        ("team_alias", "VARCHAR"),
        ("include_pii", "BOOLEAN"),
        ("status", "VARCHAR"),
        ("merged_into_team_id", "VARCHAR"),
    ],
    "users": [
        ("autodesk_id", "VARCHAR"),
        ("email", "VARCHAR"),
        ("first_name", "VARCHAR"),
        ("last_name", "VARCHAR"),
    ],
    "team_members": [("team_id", "VARCHAR"), ("autodesk_id", "VARCHAR"), ("role", "VARCHAR")],
    "products": [
        ("product_line_code", "VARCHAR"),
        ("product_name", "VARCHAR"),
        ("tokens_per_day", "BIGINT"),
        ("usage_category", "VARCHAR"),
    ],
    "token_packs": [
        ("subscription_id", "VARCHAR"),
        ("contract_number", "VARCHAR"),
        ("team_id", "VARCHAR"),
        ("offering_name", "VARCHAR"),
        ("term", "VARCHAR"),
        ("tokens_purchased", "BIGINT"),
        ("purchase_date", "DATE"),
        ("start_date", "DATE"),
        ("end_date", "DATE"),
        ("reseller_name", "VARCHAR"),
        ("reseller_email", "VARCHAR"),
    ],
    "token_events": [
        ("event_id", "VARCHAR"),
        ("event_ts", "TIMESTAMP"),
        ("team_id", "VARCHAR"),
        ("subscription_id", "VARCHAR"),
        ("event_type", "VARCHAR"),
        ("tokens", "BIGINT"),
        ("related_team_id", "VARCHAR"),
    ],
    "usage": [
        ("usage_id", "VARCHAR"),
        ("team_id", "VARCHAR"),
        ("autodesk_id", "VARCHAR"),
        ("product_line_code", "VARCHAR"),
        ("version", "VARCHAR"),
        ("usage_date", "DATE"),
        ("charge_ts", "TIMESTAMP"),
        ("tokens", "BIGINT"),
    ],
}

# Column names and DuckDB types of every raw table, as in docs/ARCHITECTURE.md.
RAW_COLUMNS: dict[str, list[tuple[str, str]]] = {
    **{
        table: [*columns, ("delivery_date", "DATE"), ("source_line", "BIGINT")]
        for table, columns in _ENTITY_COLUMNS.items()
    },
    "quarantine": [
        ("delivery_date", "DATE"),
        ("file", "VARCHAR"),
        ("line", "BIGINT"),
        ("raw_values", "VARCHAR"),
        ("reason", "VARCHAR"),
    ],
    "deliveries": [
        ("delivery_date", "DATE"),
        ("manifest_sha256", "VARCHAR"),
        ("ingested_at", "TIMESTAMP"),
        ("files_json", "VARCHAR"),
    ],
    "user_hashes": [("autodesk_id", "VARCHAR"), ("hashed_autodesk_id", "VARCHAR")],
}


def create_raw_warehouse(warehouse: Path, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
    """Create `warehouse` with every raw table (empty unless given rows in `rows`)."""
    unknown = set(rows) - set(RAW_COLUMNS)
    if unknown:
        raise ValueError(f"unknown raw tables: {sorted(unknown)}")
    table_rows = {table: [dict(row) for row in rows.get(table, ())] for table in RAW_COLUMNS}
    if not table_rows["deliveries"]:
        dates = {row["delivery_date"] for table in _ENTITY_COLUMNS for row in table_rows[table]}
        table_rows["deliveries"] = [{"delivery_date": day} for day in sorted(dates)]
    for table in _ENTITY_COLUMNS:
        for line, row in enumerate(table_rows[table], start=2):
            row.setdefault("source_line", line)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists raw")
        for table, columns in RAW_COLUMNS.items():
            ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
            con.execute(f"create or replace table raw.{table} ({ddl})")
            names = [name for name, _ in columns]
            values = [tuple(row.get(name) for name in names) for row in table_rows[table]]
            if values:
                placeholders = ", ".join("?" for _ in names)
                con.executemany(f"insert into raw.{table} values ({placeholders})", values)
        ensure_snapshot_storage(con)  # one content per delivery, as the ingest would store


def run_dbt(
    warehouse: Path,
    as_of_date: date | str,
    command: str = "build",
    args: Sequence[str] = (),
    target_dir: Path | None = None,
) -> dbtRunnerResult:
    """Run `dbt <command> <args>` in-process on `warehouse` for report date `as_of_date`.

    Compiled artifacts go to `target_dir` (default: next to the warehouse file) so
    parallel test runs never share dbt_project/target.
    """
    target = target_dir or warehouse.parent / f"{warehouse.stem}_dbt_target"
    cli_args = [
        command,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        *args,
    ]
    names = ("FLEX_WAREHOUSE", "FLEX_DBT_TARGET", "FLEX_AS_OF_DATE")
    previous = {name: os.environ.get(name) for name in names}
    os.environ["FLEX_WAREHOUSE"] = str(warehouse)
    os.environ["FLEX_DBT_TARGET"] = "duckdb"
    os.environ["FLEX_AS_OF_DATE"] = str(as_of_date)
    try:
        return dbtRunner().invoke(cli_args)
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def failures(result: dbtRunnerResult) -> list[str]:
    """Nodes that errored, failed or warned (not the ones skipped because of them)."""
    if result.exception is not None:
        return [repr(result.exception)]
    if result.result is None:
        return []
    return [
        f"{item.node.unique_id}: {item.status} {item.message}"
        for item in result.result
        if str(item.status) not in {"success", "pass", "skipped"}
    ]


def query(warehouse: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of `sql` on `warehouse` as dicts."""
    with duckdb.connect(str(warehouse)) as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
