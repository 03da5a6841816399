"""The DuckDB warehouse file: connections and the single-writer lock.

DuckDB allows one writing process per file. Every writer (ingest, hashing,
dbt, a second `flex-usage refresh`) takes an exclusive advisory lock on a
sibling ``.lock`` file first; readers open the file read-only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb

from orchestration.exports.reader import DuckDBReportSource


class WarehouseBusyError(RuntimeError):
    """Another process holds the warehouse's writer lock."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


@contextlib.contextmanager
def writer_lock(warehouse: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the exclusive writer lock; wait up to ``wait_seconds`` for it, then fail clearly."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(warehouse), os.O_CREAT | os.O_RDWR, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(
                        f"another refresh is writing {warehouse} (lock {lock_path(warehouse)} "
                        "is held); wait for it to finish and run again"
                    ) from None
                time.sleep(0.5)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def refresh_lock(warehouse: Path) -> Iterator[None]:
    """Held for a whole refresh: a second refresh of the same warehouse stops at once."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    path = warehouse.with_name(warehouse.name + ".refresh.lock")
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseBusyError(
                f"another refresh of {warehouse} is running; it was left alone. "
                "Run again when it has finished."
            ) from None
        yield
    finally:
        os.close(fd)


def connect(warehouse: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; writers must hold :func:`writer_lock`."""
    if not read_only:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(warehouse), read_only=read_only)


def reports_file(warehouse: Path, dbt_target: str) -> Path:
    """The DuckDB file the exports read the reports from.

    The warehouse itself on DuckDB; on Spark, the catalog of views over the
    tables that the Spark build wrote (see ``orchestration.spark``).
    """
    if dbt_target == "spark":
        from orchestration.spark import SparkLayout

        return SparkLayout.from_env(warehouse).catalog_file
    return warehouse


def loaded_manifests(warehouse: Path) -> dict[date, str]:
    """Delivery date -> manifest sha256 of what the warehouse has loaded.

    Empty when the warehouse does not exist yet or cannot be read right now
    (a writer holds it): then every delivery is treated as pending.
    """
    if not warehouse.exists():
        return {}
    try:
        con = connect(warehouse, read_only=True)
    except duckdb.Error:
        return {}
    try:
        rows = con.execute("select delivery_date, manifest_sha256 from raw.deliveries").fetchall()
    except duckdb.Error:
        rows = []
    finally:
        con.close()
    return dict(rows)


def active_teams(warehouse: Path, as_of: date) -> list[str]:
    """Team ids with a Summary row for ``as_of``: the active teams of the newest snapshot."""
    with DuckDBReportSource(warehouse) as source:
        return source.active_teams(as_of)
