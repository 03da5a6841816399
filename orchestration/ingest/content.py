"""Snapshot contents: keyed by what determines their rows, stored once.

A snapshot file's validated rows depend on its bytes and, through its references,
on the valid keys of the snapshots it refers to in the same delivery (team members
on teams and users, packs on teams). Its content key is the sha256 of its own
sha256 and the content keys of those snapshots, so snapshot files of two deliveries
with equal keys load exactly the same rows and reject exactly the same records.

Storage: ``raw.snapshot_files`` records the content key of every loaded delivery's
snapshot files; ``raw.<entity>_contents`` holds each content's valid rows once
(``content_key``, the columns, ``source_line``); ``raw.<entity>`` is a view giving
every delivery its content's rows, as if each delivery had stored its own copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import duckdb

from orchestration.ingest.contract import ENTITIES, Entity
from orchestration.ingest.deliveries import DeliveryFile
from orchestration.ingest.sql import literal, transaction

SNAPSHOTS = tuple(e for e in ENTITIES if e.snapshot)
SNAPSHOT_FILES_DDL = (
    "CREATE TABLE IF NOT EXISTS raw.snapshot_files "
    "(delivery_date DATE, file VARCHAR, content_key VARCHAR)"
)


def content_keys(files: Iterable[DeliveryFile]) -> dict[str, str]:
    """Content key of every snapshot file of one delivery, by entity name."""
    by_entity = {f.entity.name: f for f in files}
    keys: dict[str, str] = {}
    for entity in ENTITIES:  # referenced entities come first
        if not entity.snapshot:
            continue
        refs = sorted({c.references for c in entity.columns if c.references} - {entity.name})
        parts = [by_entity[entity.name].sha256, *(f"{r}:{keys[r]}" for r in refs)]
        keys[entity.name] = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return keys


def contents_table(entity: Entity) -> str:
    """The table holding each content of ``entity``'s snapshot file once."""
    return f"raw.{entity.name}_contents"


def ensure_snapshot_storage(con: duckdb.DuckDBPyConnection) -> None:
    """Create the content tables and the per-delivery views, upgrading a raw layer
    that still stores a copy per delivery (``raw.<entity>`` as a table)."""
    con.execute(SNAPSHOT_FILES_DDL)
    for entity in SNAPSHOTS:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {contents_table(entity)} "
            f"(content_key VARCHAR, {entity.column_ddl}, source_line BIGINT)"
        )
        if _is_table(con, entity.name):
            with transaction(con):
                _move_copies_to_contents(con, entity)
                _create_view(con, entity)
        else:
            _create_view(con, entity)


def _create_view(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    names = ", ".join(f"c.{c}" for c in entity.column_names)
    con.execute(
        f"CREATE OR REPLACE VIEW raw.{entity.name} AS "
        f"SELECT {names}, f.delivery_date, c.source_line FROM raw.snapshot_files f "
        f"JOIN {contents_table(entity)} c ON c.content_key = f.content_key "
        f"WHERE f.file = {literal(entity.file_name)}"
    )


def _is_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = ?",
        [name],
    ).fetchall()
    return found[0][0] > 0


def _move_copies_to_contents(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Keep one delivery's rows per content; a delivery loaded before content keys were
    recorded gets a key of its own (``copy:<delivery date>``)."""
    file = literal(entity.file_name)
    con.execute(
        "INSERT INTO raw.snapshot_files SELECT d.delivery_date, "
        f"{file}, 'copy:' || d.delivery_date "
        f"FROM (SELECT DISTINCT delivery_date FROM raw.{entity.name}) d "
        "WHERE NOT EXISTS (SELECT 1 FROM raw.snapshot_files f "
        f"WHERE f.delivery_date = d.delivery_date AND f.file = {file})"
    )
    names = ", ".join(entity.column_names)
    con.execute(
        f"INSERT INTO {contents_table(entity)} SELECT k.content_key, {names}, r.source_line "
        f"FROM raw.{entity.name} r JOIN (SELECT content_key, min(delivery_date) AS day "
        f"FROM raw.snapshot_files WHERE file = {file} GROUP BY content_key) k "
        "ON r.delivery_date = k.day "
        f"WHERE k.content_key NOT IN (SELECT content_key FROM {contents_table(entity)})"
    )
    con.execute(f"DROP TABLE raw.{entity.name}")


def store_contents(
    con: duckdb.DuckDBPyConnection, entity: Entity, keys: list[str], select: str
) -> None:
    """Store the contents ``keys``, whose rows ``select`` yields (content_key, the columns,
    source_line), replacing any rows stored before under the same keys."""
    con.execute(
        f"DELETE FROM {contents_table(entity)} WHERE content_key IN (SELECT unnest(?))", [keys]
    )
    con.execute(f"INSERT INTO {contents_table(entity)} {select}")


def drop_unused_contents(con: duckdb.DuckDBPyConnection) -> None:
    """Delete contents no delivery carries any more (a re-delivery replaced them)."""
    for entity in SNAPSHOTS:
        con.execute(
            f"DELETE FROM {contents_table(entity)} WHERE content_key NOT IN "
            f"(SELECT content_key FROM raw.snapshot_files WHERE file = {literal(entity.file_name)})"
        )
