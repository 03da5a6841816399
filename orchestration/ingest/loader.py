"""Loading verified deliveries into the DuckDB raw layer.

A delivery is parsed and validated into temp tables first; then one
transaction replaces everything that delivery date loaded before (entity
tables, quarantine, delivery log) with the new valid rows, the rejected rows
and the log row. A delivery that fails verification changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa

from orchestration.faults import crash_point
from orchestration.ingest.content import (
    content_keys,
    drop_unused_contents,
    ensure_snapshot_storage,
    store_contents,
)
from orchestration.ingest.contract import BY_NAME, ENTITIES, Entity
from orchestration.ingest.deliveries import Delivery, verify
from orchestration.ingest.parsing import StagedFile, kept_sql, raw_column, raw_keys, stage
from orchestration.ingest.sql import TEMP_PREFIX, first_row, literal, transaction
from orchestration.ingest.validate import check, keys_table, typed

REFERENCED = {c.references for e in ENTITIES for c in e.columns if c.references}


@dataclass(frozen=True)
class FileReport:
    """Outcome of one delivery file: records, loaded rows, quarantined rows."""

    rows: int
    loaded: int
    rejected: int
    extra_columns: tuple[str, ...]

    @property
    def reject_rate(self) -> float:
        return self.rejected / self.rows if self.rows else 0.0

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "extra_columns": list(self.extra_columns),
        }


@dataclass(frozen=True)
class DeliveryReport:
    """Outcome of ingesting one delivery, per file (keyed by file name)."""

    delivery_date: date
    manifest_sha256: str
    files: dict[str, FileReport]

    @property
    def rows_loaded(self) -> int:
        return sum(f.loaded for f in self.files.values())

    @property
    def rows_rejected(self) -> int:
        return sum(f.rejected for f in self.files.values())

    @property
    def extra_columns(self) -> dict[str, list[str]]:
        """Ignored unknown columns by ``<delivery date>/<file>``, for files that have some."""
        day = self.delivery_date.isoformat()
        files = self.files.items()
        return {f"{day}/{n}": list(f.extra_columns) for n, f in files if f.extra_columns}

    def files_json(self) -> str:
        """The ``raw.deliveries.files_json`` text."""
        return json.dumps({name: f.as_dict() for name, f in self.files.items()}, sort_keys=True)


def _entity_ddl(entity: Entity) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS raw.{entity.name} "
        f"({entity.column_ddl}, delivery_date DATE, source_line BIGINT)"
    )


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``raw`` schema and its tables when missing."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for entity in ENTITIES:
        if not entity.snapshot:
            con.execute(_entity_ddl(entity))
    con.execute(
        "CREATE TABLE IF NOT EXISTS raw.quarantine (delivery_date DATE, file VARCHAR, "
        "line BIGINT, raw_values VARCHAR, reason VARCHAR)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS raw.deliveries (delivery_date DATE, manifest_sha256 VARCHAR, "
        "ingested_at TIMESTAMP, files_json VARCHAR)"
    )
    ensure_snapshot_storage(con)


def pending(con: duckdb.DuckDBPyConnection, deliveries: list[Delivery]) -> list[Delivery]:
    """Deliveries never ingested, or whose manifest changed since (re-deliveries)."""
    loaded = dict(
        con.execute("SELECT delivery_date, manifest_sha256 FROM raw.deliveries").fetchall()
    )
    return [d for d in deliveries if loaded.get(d.delivery_date) != d.manifest_sha256]


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every table the ingest writes: entities, quarantine, delivery log and
    snapshot content keys."""
    names = [e.name for e in ENTITIES] + ["quarantine", "deliveries", "snapshot_files"]
    return {n: first_row(con, f"SELECT count(*) FROM raw.{n}")[0] for n in names}


def _quarantine_select(staged: StagedFile, checked: str, day: date) -> str:
    keys = raw_keys(staged.file.header)
    pairs = ", ".join(f"{literal(h)}, {kept_sql(f's.{raw_column(i)}')}" for i, h in enumerate(keys))
    return (
        f"SELECT DATE '{day.isoformat()}', {literal(staged.file.path.name)}, c.line, "
        f"json_object({pairs})::VARCHAR, c.reason FROM {checked} c "
        f"JOIN {staged.table} s ON {staged.line_sql('s')} = c.line WHERE c.reason <> ''"
    )


def insert_parse_rejects(con: duckdb.DuckDBPyConnection, staged: StagedFile, day: date) -> None:
    """Quarantine the records of ``staged`` that could not be split into fields."""
    rejects = pa.table(
        {
            "delivery_date": pa.array([day] * len(staged.rejects), pa.date32()),
            "file": pa.array([staged.file.path.name] * len(staged.rejects), pa.string()),
            "line": pa.array([r.line for r in staged.rejects], pa.int64()),
            "raw_values": pa.array([r.raw_values for r in staged.rejects], pa.string()),
            "reason": pa.array([r.reason for r in staged.rejects], pa.string()),
        }
    )
    view = f"{TEMP_PREFIX}rejects_arrow"
    con.register(view, rejects)
    try:
        con.execute(f"INSERT INTO raw.quarantine SELECT * FROM {view}")
    finally:
        con.unregister(view)


def _replace(
    con: duckdb.DuckDBPyConnection,
    report: DeliveryReport,
    staged: dict[str, StagedFile],
    checked: dict[str, str],
    contents: dict[str, str],
) -> None:
    """Swap the delivery's rows in every raw table, in one transaction."""
    day = report.delivery_date
    day_sql = f"DATE '{day.isoformat()}'"
    with transaction(con):
        for entity in ENTITIES:
            cols = ", ".join(entity.column_names)
            values = ", ".join(typed(c) for c in entity.column_names)
            valid = f"FROM {checked[entity.name]} WHERE reason = ''"
            if entity.snapshot:
                key = contents[entity.name]
                select = f"SELECT {literal(key)}, {values}, line {valid}"
                store_contents(con, entity, [key], select)
                continue
            con.execute(f"DELETE FROM raw.{entity.name} WHERE delivery_date = {day_sql}")
            con.execute(
                f"INSERT INTO raw.{entity.name} ({cols}, delivery_date, source_line) "
                f"SELECT {values}, {day_sql}, line {valid}"
            )
        con.execute(f"DELETE FROM raw.quarantine WHERE delivery_date = {day_sql}")
        for entity in ENTITIES:
            stg = staged[entity.name]
            if report.files[entity.file_name].rejected > len(stg.rejects):
                select = _quarantine_select(stg, checked[entity.name], day)
                con.execute(f"INSERT INTO raw.quarantine {select}")
            if stg.rejects:
                insert_parse_rejects(con, stg, day)
        record_loaded(con, f"delivery_date = {day_sql}", [(report, contents)])
        crash_point("ingest.before_commit")


def record_loaded(
    con: duckdb.DuckDBPyConnection,
    where: str,
    loaded: list[tuple[DeliveryReport, dict[str, str]]],
) -> None:
    """Record the ``loaded`` deliveries (each with its snapshot content keys by entity),
    replacing what the rows matching ``where`` said, in the caller's transaction: which
    content each snapshot file carried, contents no delivery carries any more dropped, and
    the delivery log."""
    con.execute(f"DELETE FROM raw.snapshot_files WHERE {where}")
    con.executemany(
        "INSERT INTO raw.snapshot_files VALUES (?, ?, ?)",
        [
            [report.delivery_date, BY_NAME[name].file_name, key]
            for report, contents in loaded
            for name, key in contents.items()
        ],
    )
    drop_unused_contents(con)
    con.execute(f"DELETE FROM raw.deliveries WHERE {where}")
    now = datetime.now(UTC).replace(tzinfo=None)
    con.executemany(
        "INSERT INTO raw.deliveries VALUES (?, ?, ?, ?)",
        [[r.delivery_date, r.manifest_sha256, now, r.files_json()] for r, _ in loaded],
    )


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every temp table of an ingest."""
    names = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
        [TEMP_PREFIX],
    ).fetchall()
    for (name,) in names:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{name}")


def _validate(
    con: duckdb.DuckDBPyConnection, staged: dict[str, StagedFile]
) -> tuple[dict[str, str], dict[str, FileReport]]:
    """Check every file in reference order; the checked tables and per-file counts."""
    checked: dict[str, str] = {}
    files: dict[str, FileReport] = {}
    for entity in ENTITIES:
        table = f"{TEMP_PREFIX}chk_{entity.name}"
        check(con, staged[entity.name], table)
        checked[entity.name] = table
        if entity.name in REFERENCED:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {keys_table(entity.name)} AS "
                f"SELECT {typed(entity.key[0])} AS k FROM {table} WHERE reason = ''"
            )
        loaded, bad = first_row(
            con,
            f"SELECT count(*) FILTER (reason = ''), count(*) FILTER (reason <> '') FROM {table}",
        )
        stg = staged[entity.name]
        files[entity.file_name] = FileReport(
            rows=stg.records,
            loaded=loaded,
            rejected=bad + len(stg.rejects),
            extra_columns=stg.file.extra_columns,
        )
    return checked, files


def ingest(con: duckdb.DuckDBPyConnection, delivery: Delivery) -> DeliveryReport:
    """Verify, validate and load one delivery, replacing what its date loaded before.

    Raises :class:`~orchestration.ingest.deliveries.InvalidDeliveryError` (and
    changes nothing) when the delivery breaks the contract.
    """
    verified = verify(delivery)
    day = delivery.delivery_date
    (ordered,) = first_row(con, "SELECT current_setting('preserve_insertion_order')")
    con.execute("SET preserve_insertion_order = true")  # staging rowid = record order
    try:
        staged = {
            f.entity.name: stage(con, day, f, f"{TEMP_PREFIX}stg_{f.entity.name}")
            for f in verified.files
        }
        checked, files = _validate(con, staged)
        report = DeliveryReport(day, verified.manifest_sha256, files)
        _replace(con, report, staged, checked, content_keys(verified.files))
        return report
    finally:
        drop_temp_tables(con)
        con.execute(f"SET preserve_insertion_order = {ordered}")
