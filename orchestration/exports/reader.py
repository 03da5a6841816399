"""Reading report rows from the warehouse.

The writers only use the small ``ReportSource`` interface, so another engine can be
plugged in; ``DuckDBReportSource`` reads the DuckDB file read-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Protocol

import duckdb

from .errors import ExportError
from .sheets import SUMMARY, Report

BATCH_ROWS = 5_000

Batch = list[tuple]


class ReportSource(Protocol):
    """Where report rows come from."""

    def active_teams(self, as_of: date) -> list[str]:
        """Team ids with a Summary row as of ``as_of``, sorted."""
        ...

    def latest_as_of(self) -> date | None:
        """The newest as-of date with reports, or None when there are none."""
        ...

    def batches(
        self,
        report: Report,
        team_id: str,
        as_of: date,
        days: tuple[date, date] | None = None,
    ) -> Iterator[Batch]:
        """The report's rows for one team, exported columns only, in export order.

        ``days`` keeps rows whose ``report.day_column`` lies in the inclusive range.
        """
        ...


class DuckDBReportSource:
    """Report rows from a DuckDB warehouse file, opened read-only."""

    def __init__(self, warehouse: Path, threads: int | None = None) -> None:
        warehouse = Path(warehouse)
        if not warehouse.is_file():
            raise ExportError(f"warehouse file not found: {warehouse}")
        config = {"threads": threads} if threads else {}
        self._con = duckdb.connect(str(warehouse), read_only=True, config=config)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> DuckDBReportSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def active_teams(self, as_of: date) -> list[str]:
        sql = f"SELECT DISTINCT team_id FROM main.{SUMMARY.model} WHERE as_of_date = ? ORDER BY 1"
        return [team_id for (team_id,) in self._fetch(SUMMARY, sql, [as_of]).fetchall()]

    def latest_as_of(self) -> date | None:
        sql = f"SELECT max(as_of_date) FROM main.{SUMMARY.model}"
        return self._fetch(SUMMARY, sql, []).fetchone()[0]

    def batches(
        self,
        report: Report,
        team_id: str,
        as_of: date,
        days: tuple[date, date] | None = None,
    ) -> Iterator[Batch]:
        columns = ", ".join(f'"{column.name}"' for column in report.columns)
        sql = f"SELECT {columns} FROM main.{report.model} WHERE team_id = ? AND as_of_date = ?"
        params: list[object] = [team_id, as_of]
        if days is not None:
            if report.day_column is None:
                raise ValueError(f"{report.model} cannot be filtered by day")
            sql += f' AND "{report.day_column}" BETWEEN ? AND ?'
            params += list(days)
        sql += " ORDER BY " + ", ".join(report.order_by)
        cursor = self._fetch(report, sql, params)
        try:
            while batch := cursor.fetchmany(BATCH_ROWS):
                yield batch
        finally:
            cursor.close()

    def _fetch(self, report: Report, sql: str, params: list[object]) -> duckdb.DuckDBPyConnection:
        cursor = self._con.cursor()
        try:
            return cursor.execute(sql, params)
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            cursor.close()
            raise ExportError(
                f"report model main.{report.model} is missing or incomplete in the warehouse "
                f"(run the reports first): {exc}"
            ) from exc
