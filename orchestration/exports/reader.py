"""Reading report rows from the warehouse.

The writers only use the small ``ReportSource`` interface, so another engine can be
plugged in; ``DuckDBReportSource`` reads the DuckDB file read-only.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_right
from collections.abc import Iterator
from datetime import date
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Protocol

import duckdb

from orchestration.locks import WarehouseBusyError, reader_lock
from orchestration.warehouse import SUMMARY_MODEL, active_team_ids

from .errors import ExportError
from .sheets import Report

BATCH_ROWS = 5_000
TEAMS_MODEL = "int_report_teams"  # the reported teams and their include_pii setting

Batch = list[tuple]


class ReportSource(Protocol):
    """Where report rows come from."""

    def active_teams(self, as_of: date) -> list[str]:
        """Team ids with a Summary row as of ``as_of``, sorted."""
        ...

    def include_pii(self, team_id: str, as_of: date) -> bool:
        """Whether the team's reports show personal data (a missing setting hides it)."""
        ...

    def batches(
        self,
        report: Report,
        team_id: str,
        as_of: date,
        days: tuple[date, date] | None = None,
    ) -> Iterator[Batch]:
        """The report's rows for one team, in export order: ``report.selected`` columns.

        ``days`` keeps rows whose ``report.day_column`` lies in the inclusive range.
        """
        ...


class DuckDBReportSource:
    """Report rows from a DuckDB warehouse file, opened read-only."""

    def __init__(self, warehouse: Path, threads: int | None = None) -> None:
        warehouse = Path(warehouse)
        if not warehouse.is_file():
            raise ExportError(f"warehouse file not found: {warehouse}")
        config: dict[str, str | bool | int | float | list[str]] = (
            {"threads": threads} if threads else {}
        )
        self._lock = contextlib.ExitStack()
        try:
            self._lock.enter_context(reader_lock(warehouse))
        except WarehouseBusyError as exc:
            raise ExportError(str(exc)) from None
        try:
            self._con = duckdb.connect(str(warehouse), read_only=True, config=config)
        except BaseException:
            self._lock.close()
            raise

    def close(self) -> None:
        self._con.close()
        self._lock.close()

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
        cursor = self._con.cursor()
        try:
            return active_team_ids(cursor, as_of)
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            raise ExportError(
                f"report model main.{SUMMARY_MODEL} is missing or incomplete in the warehouse "
                f"(run the reports first): {exc}"
            ) from exc
        finally:
            cursor.close()

    def merged_into(self, team_id: str) -> str | None:
        """The team ``team_id`` was merged into (newest snapshot), or None."""
        try:
            row = self._con.execute(
                "SELECT merged_into_team_id FROM main.dim_team "
                "WHERE team_id = ? AND status = 'merged'",
                [team_id],
            ).fetchone()
        except duckdb.Error:  # an older warehouse without the mart: no hint, same refusal
            return None
        return row[0] if row else None

    def include_pii(self, team_id: str, as_of: date) -> bool:
        return self.pii_settings([team_id], as_of).get(team_id, False)

    def pii_settings(self, teams: list[str], as_of: date) -> dict[str, bool]:
        """``include_pii`` of each of ``teams`` reported as of ``as_of`` (true only if set)."""
        sql = (
            f"SELECT team_id, coalesce(include_pii, false) FROM main.{TEAMS_MODEL} "
            "WHERE as_of_date = ? AND team_id IN (SELECT unnest(?::VARCHAR[]))"
        )
        cursor = self._con.cursor()
        try:
            return dict(cursor.execute(sql, [as_of, teams]).fetchall())
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            raise ExportError(
                f"model main.{TEAMS_MODEL} is missing in the warehouse (run the reports first)"
            ) from exc
        finally:
            cursor.close()

    def batches(
        self,
        report: Report,
        team_id: str,
        as_of: date,
        days: tuple[date, date] | None = None,
    ) -> Iterator[Batch]:
        columns = ", ".join(f'"{name}"' for name in report.selected)
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

    def for_teams(self, teams: list[str], as_of: date) -> TeamSequenceSource:
        """A source handing out the rows of ``teams`` (in ascending order) as of ``as_of``."""
        return TeamSequenceSource(self, sorted(teams), as_of)

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


class TeamSequenceSource:
    """The report rows of several teams, each report read with one query for all of them.

    One query per team and report scans the whole report table every time; here each
    report is read once, ordered by team then export order, and handed out team by team.
    ``batches`` must be called with the teams in ascending order (code point order, as
    DuckDB sorts), each report at most once per team.
    """

    def __init__(self, source: DuckDBReportSource, teams: list[str], as_of: date) -> None:
        self._source = source
        self._teams = teams
        self._as_of = as_of
        self._streams: dict[str, _TeamStream] = {}
        self._pii = source.pii_settings(teams, as_of)

    def active_teams(self, as_of: date) -> list[str]:
        return self._source.active_teams(as_of)

    def include_pii(self, team_id: str, as_of: date) -> bool:
        if as_of != self._as_of or team_id not in self._teams:
            raise ValueError(f"{team_id} as of {as_of} is not in this team sequence")
        return self._pii.get(team_id, False)

    def batches(
        self,
        report: Report,
        team_id: str,
        as_of: date,
        days: tuple[date, date] | None = None,
    ) -> Iterator[Batch]:
        if as_of != self._as_of or days is not None or team_id not in self._teams:
            raise ValueError(f"{team_id} as of {as_of} is not in this team sequence")
        stream = self._streams.get(report.model)
        if stream is None:
            stream = self._streams[report.model] = _TeamStream(self._open(report))
        return stream.take(team_id)

    def close(self) -> None:
        for stream in self._streams.values():
            stream.cursor.close()
        self._streams.clear()

    def _open(self, report: Report) -> duckdb.DuckDBPyConnection:
        columns = ", ".join(f'"{name}"' for name in report.selected)
        sql = (
            f"SELECT team_id, {columns} FROM main.{report.model} "
            "WHERE as_of_date = ? AND team_id IN (SELECT unnest(?::VARCHAR[])) "
            "ORDER BY team_id, " + ", ".join(report.order_by)
        )
        return self._source._fetch(report, sql, [self._as_of, self._teams])


class _TeamStream:
    """One report's rows, ordered by team, handed out one team at a time."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor
        self._rows: list[tuple] = []
        self._at = 0
        self._last: str | None = None

    def _head(self) -> tuple | None:
        if self._at == len(self._rows):
            self._rows, self._at = self.cursor.fetchmany(BATCH_ROWS), 0
        return self._rows[self._at] if self._rows else None

    def take(self, team_id: str) -> Iterator[Batch]:
        if self._last is not None and team_id <= self._last:
            raise ValueError(f"team {team_id} requested after {self._last}")
        self._last = team_id
        while (head := self._head()) is not None and head[0] < team_id:
            self._at += 1  # rows of a team the caller skipped
        batch: Batch = []
        while (head := self._head()) is not None and head[0] == team_id:
            end = bisect_right(  # the buffer is sorted by team: its rows come first
                self._rows,
                team_id,
                self._at,
                min(len(self._rows), self._at + BATCH_ROWS - len(batch)),
                key=itemgetter(0),
            )
            batch += [row[1:] for row in self._rows[self._at : end]]
            self._at = end
            if len(batch) == BATCH_ROWS:  # same batches as a query of the team alone
                yield batch
                batch = []
        if batch:
            yield batch
