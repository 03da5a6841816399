"""Limits measured on the same data: what DuckDB and openpyxl alone need for the same work.

* ingest floor: DuckDB reading all seven files of every delivery into typed tables, nothing
  else (no validation, no line numbers, no quarantine);
* compute floor: one hand-written DuckDB query for Tokens by day and By product;
* export floor: openpyxl write-only writing as many rows and cells as the nightly
  workbooks, from rows already in memory (no query, no cell styling or escaping).
"""

from __future__ import annotations

import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
from openpyxl import Workbook

from bench.ranges import time_ranges
from orchestration.exports.sheets import NIGHTLY_REPORTS, SUMMARY
from orchestration.ingest.contract import ENTITIES, Entity


def delivery_files(landing: Path, as_of: date, name: str) -> list[str]:
    """File ``name`` of every complete delivery dated on or before ``as_of``."""
    return sorted(
        str(folder / name)
        for folder in Path(landing).iterdir()
        if (folder / "manifest.json").is_file() and date.fromisoformat(folder.name) <= as_of
    )


def _typed_read(entity: Entity, files: list[str]) -> str:
    """SQL reading ``files`` of ``entity`` with every contract column in its raw-table type."""
    types = ", ".join(f"'{c.name}': '{c.kind.sql_type}'" for c in entity.columns)
    paths = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return (
        f"SELECT * FROM read_csv([{paths}], header = true, types = {{{types}}}, "
        "timestampformat = '%Y-%m-%dT%H:%M:%SZ', ignore_errors = true)"
    )


def ingest_floor(landing: Path, as_of: date, database: Path) -> dict:
    """Read all seven files of every delivery up to ``as_of`` into typed tables; rows, seconds.

    Like for like with the product's ingest: every entity (snapshots and increments), one
    DuckDB table per entity with the raw tables' column types, in one process, no checks.
    ``usage_seconds`` is the part spent on the usage files.
    """
    con = duckdb.connect(str(database))
    seconds: dict[str, float] = {}
    try:
        files = 0
        for entity in ENTITIES:
            found = delivery_files(landing, as_of, entity.file_name)
            files += len(found)
            start = time.perf_counter()
            con.execute(f"CREATE TABLE {entity.name} AS {_typed_read(entity, found)}")
            seconds[entity.name] = time.perf_counter() - start
        (rows,) = con.execute(
            "SELECT " + " + ".join(f"(SELECT count(*) FROM {e.name})" for e in ENTITIES)
        ).fetchone()
    finally:
        con.close()
    return {
        "seconds": sum(seconds.values()),
        "rows": rows,
        "files": files,
        "usage_seconds": round(seconds["usage"], 3),
    }


def _ranges_sql(as_of: date) -> str:
    rows = ", ".join(
        f"({order}, '{label}', DATE '{first}', DATE '{last}', {months})"
        for order, (label, first, last, months) in enumerate(time_ranges(as_of), 1)
    )
    return f"SELECT * FROM (VALUES {rows}) r(range_order, time_range, first_day, last_day, months)"


def compute_floor_sql(as_of: date) -> tuple[str, str]:
    """Queries for Tokens by day (365 zero-filled days) and By product of every active team.

    Both read the raw layer directly: the latest delivery's row per usage id, facts dated
    on or before D, the active teams and products of the newest snapshot.
    """
    d = f"DATE '{as_of}'"
    common = f"""
        WITH snap AS (SELECT max(delivery_date) AS day FROM raw.deliveries
                      WHERE delivery_date <= {d}),
        teams AS (SELECT team_id FROM raw.teams WHERE delivery_date = (SELECT day FROM snap)
                  AND status = 'active'),
        products AS (SELECT product_line_code, product_name FROM raw.products
                     WHERE delivery_date = (SELECT day FROM snap)),
        usage AS (SELECT team_id, autodesk_id, product_line_code, usage_date, tokens
                  FROM raw.usage WHERE delivery_date <= {d}
                  QUALIFY row_number() OVER (PARTITION BY usage_id
                                             ORDER BY delivery_date DESC) = 1),
        kept AS (SELECT * FROM usage WHERE usage_date <= {d}
                 AND team_id IN (SELECT team_id FROM teams))
    """
    by_day = f"""{common}
        , daily AS (SELECT team_id, usage_date, sum(tokens) AS tokens FROM kept
                    WHERE usage_date > {d} - 365 GROUP BY ALL)
        SELECT t.team_id, {d} - n::INTEGER AS usage_date, coalesce(daily.tokens, 0) AS tokens
        FROM teams t CROSS JOIN range(365) r(n)
        LEFT JOIN daily ON daily.team_id = t.team_id AND daily.usage_date = {d} - n::INTEGER
    """
    by_product = f"""{common}, ranges AS ({_ranges_sql(as_of)})
        SELECT k.team_id, r.range_order, r.time_range, p.product_name,
               count(DISTINCT k.autodesk_id) AS total_users, sum(k.tokens) AS total_tokens_used,
               sum(k.tokens) / r.months AS average_tokens_per_month
        FROM kept k JOIN ranges r ON k.usage_date BETWEEN r.first_day AND r.last_day
        JOIN products p USING (product_line_code)
        GROUP BY k.team_id, r.range_order, r.time_range, r.months, p.product_line_code,
                 p.product_name
    """
    return by_day, by_product


def compute_floor(warehouse: Path, as_of: date) -> dict:
    """Run the compute floor's two queries on the warehouse (read-only); rows and seconds."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        start = time.perf_counter()
        rows = [con.execute(sql).to_arrow_table().num_rows for sql in compute_floor_sql(as_of)]
        seconds = time.perf_counter() - start
    finally:
        con.close()
    return {"seconds": seconds, "rows": sum(rows), "tokens_by_day_rows": rows[0]}


def export_shape(warehouse: Path, as_of: date) -> dict[str, dict[str, int]]:
    """Rows of every nightly sheet per active team as of ``as_of``: team -> sheet -> rows."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        teams = [
            t
            for (t,) in con.execute(
                f"SELECT team_id FROM main.{SUMMARY.model} WHERE as_of_date = ? ORDER BY 1",
                [as_of],
            ).fetchall()
        ]
        shape = {team: dict.fromkeys((r.sheet for r in NIGHTLY_REPORTS), 0) for team in teams}
        for report in NIGHTLY_REPORTS:
            counts = con.execute(
                f"SELECT team_id, count(*) FROM main.{report.model} WHERE as_of_date = ? "
                "GROUP BY team_id",
                [as_of],
            ).fetchall()
            for team, rows in counts:
                if team in shape:
                    shape[team][report.sheet] = rows
    finally:
        con.close()
    return shape


def shape_totals(shape: dict[str, dict[str, int]]) -> tuple[int, int]:
    """(rows, cells) of the data rows of every sheet of every workbook of ``shape``."""
    width = {report.sheet: len(report.columns) for report in NIGHTLY_REPORTS}
    rows = sum(n for sheets in shape.values() for n in sheets.values())
    cells = sum(n * width[s] for sheets in shape.values() for s, n in sheets.items())
    return rows, cells


def _sample_rows(warehouse: Path, as_of: date) -> dict[str, tuple]:
    """One real row per nightly sheet (typed values of realistic width), read before timing."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        samples = {}
        for report in NIGHTLY_REPORTS:
            columns = ", ".join(f'"{c.name}"' for c in report.columns)
            row = con.execute(
                f"SELECT {columns} FROM main.{report.model} WHERE as_of_date = ? LIMIT 1",
                [as_of],
            ).fetchone()
            samples[report.sheet] = row or tuple("x" for _ in report.columns)
    finally:
        con.close()
    return samples


def export_floor(warehouse: Path, as_of: date) -> dict:
    """Write one workbook per active team with the nightly sheets' row counts, one process."""
    shape = export_shape(warehouse, as_of)
    samples = _sample_rows(warehouse, as_of)
    headers = {report.sheet: report.headers for report in NIGHTLY_REPORTS}
    with tempfile.TemporaryDirectory(prefix="export_floor_") as folder:
        start = time.perf_counter()
        for index, sheets in enumerate(shape.values()):
            workbook = Workbook(write_only=True)
            for sheet, rows in sheets.items():
                worksheet = workbook.create_sheet(sheet)
                worksheet.append(headers[sheet])
                sample = samples[sheet]
                for _ in range(rows):
                    worksheet.append(sample)
            workbook.save(Path(folder) / f"{index}.xlsx")
        seconds = time.perf_counter() - start
    rows, cells = shape_totals(shape)
    return {"seconds": seconds, "rows": rows, "cells": cells, "workbooks": len(shape)}


def on_demand_range(as_of: date) -> tuple[date, date]:
    """The longest on-demand Usage range: 365 days ending on ``as_of``."""
    return as_of - timedelta(days=364), as_of
