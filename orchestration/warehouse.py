"""The DuckDB warehouse file: connections, what it has loaded, the reports' release.

Writers (ingest, hashing, dbt) hold ``orchestration.locks.writer_lock``; readers
open the file read-only through :func:`reading`, under the shared reader lock.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb

from orchestration.locks import DEFAULT_WAIT_SECONDS, WarehouseBusyError, reader_lock


def connect(warehouse: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; writers must hold :func:`writer_lock`."""
    if not read_only:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(warehouse), read_only=read_only)


@contextlib.contextmanager
def reading(
    warehouse: Path, wait_seconds: float = DEFAULT_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, held under the shared reader lock."""
    with reader_lock(warehouse, wait_seconds):
        con = connect(warehouse, read_only=True)
        try:
            yield con
        finally:
            con.close()


def reports_file(warehouse: Path, dbt_target: str) -> Path:
    """The DuckDB file the exports read the reports from.

    The warehouse itself on DuckDB; on Spark, the catalog of views over the
    tables that the Spark build wrote (see ``orchestration.spark``).
    """
    if dbt_target == "spark":
        from orchestration.spark import SparkLayout

        return SparkLayout.from_env(warehouse).catalog_file
    return warehouse


def loaded_manifests(warehouse: Path, busy_is_empty: bool = True) -> dict[date, str]:
    """Delivery date -> manifest sha256 of what the warehouse has loaded.

    Empty when the warehouse does not exist yet or has no delivery table. When a
    writer holds it, empty as well (every delivery then counts as pending), or,
    with ``busy_is_empty=False``, :class:`WarehouseBusyError`.
    """
    if not warehouse.exists():
        return {}
    try:
        with reading(warehouse, wait_seconds=0) as con:
            rows = con.execute(
                "select delivery_date, manifest_sha256 from raw.deliveries"
            ).fetchall()
    except duckdb.Error:
        return {}
    except WarehouseBusyError:
        if busy_is_empty:
            return {}
        raise
    return dict(rows)


# The report with one row per active team and as-of date.
SUMMARY_MODEL = "rpt_summary"


def active_team_ids(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    """Team ids with a Summary row for ``as_of`` (the active teams of the newest snapshot)."""
    sql = f"select distinct team_id from main.{SUMMARY_MODEL} where as_of_date = ? order by 1"
    return [team_id for (team_id,) in con.execute(sql, [as_of]).fetchall()]


def active_teams(warehouse: Path, as_of: date) -> list[str]:
    """:func:`active_team_ids` of the warehouse (or reports catalog) file."""
    with reading(warehouse) as con:
        return active_team_ids(con, as_of)


def release_path(warehouse: Path) -> Path:
    """Marker of the reports that passed every blocking check (see :func:`release`)."""
    return warehouse.with_name(warehouse.name + ".release.json")


def release(warehouse: Path, as_of: date, run_id: str) -> None:
    """Mark the reports as of ``as_of`` as checked: exports may now be written from them."""
    path = release_path(warehouse)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps({"as_of": as_of.isoformat(), "run_id": run_id}))
    os.replace(temp, path)


def withdraw_release(warehouse: Path) -> None:
    """The reports are about to be rebuilt: no export until their checks pass again."""
    release_path(warehouse).unlink(missing_ok=True)


class UncheckedReportsError(RuntimeError):
    """The reports asked for have not passed their blocking checks."""


def released_as_of(warehouse: Path, requested: date | None = None) -> date:
    """The as-of date of the checked reports; ``requested`` must be that date.

    A failed, interrupted or never-run refresh leaves no release: exports are refused
    rather than written from reports that did not pass their checks.
    """
    path = release_path(warehouse)
    if not path.is_file():
        raise UncheckedReportsError(
            f"no checked reports in {warehouse}: a refresh is running, or the last one "
            "failed, was interrupted or never ran; export once a refresh has succeeded"
        )
    released = date.fromisoformat(json.loads(path.read_text())["as_of"])
    if requested is not None and requested != released:
        raise UncheckedReportsError(
            f"the warehouse holds checked reports as of {released}, not {requested}; "
            f"run `flex-usage refresh --as-of {requested}` first"
        )
    return released
