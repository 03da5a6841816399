"""The nightly report workbook: one per active team per as-of date."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, time
from itertools import repeat
from multiprocessing import get_context
from pathlib import Path

from .charts import token_distribution_chart, tokens_by_day_chart
from .errors import ExportError, ExportRequestError
from .files import checked_date, checked_team_id, workbook_path
from .reader import DuckDBReportSource, ReportSource
from .sheets import EXCEL_MAX_ROWS, NIGHTLY_REPORTS, SUMMARY, TOKEN_DISTRIBUTION, TOKENS_BY_DAY
from .xlsx import new_workbook, save_workbook, write_report

SUMMARY_CHART_ANCHOR = "A4"
# Teams are handed to the workers in this many contiguous runs per worker: each run
# reads every report once, and several runs per worker balance teams of unequal size.
CHUNKS_PER_WORKER = 4
DISTRIBUTION_CHART_ANCHOR = "F2"


def write_team_workbook(
    warehouse: Path,
    team_id: str,
    as_of: date,
    exports_dir: Path,
    *,
    max_rows: int = EXCEL_MAX_ROWS,
) -> Path:
    """Write ``<exports>/<team_id>/<as_of>/flex_usage_<team_id>_<as_of>.xlsx``; return its path.

    Raises ``ExportRequestError`` when the team has no reports (not active) as of ``as_of``.
    """
    team_id = checked_team_id(team_id)
    as_of = checked_date(as_of, "as_of")
    with DuckDBReportSource(warehouse) as source:
        if team_id not in source.active_teams(as_of):
            raise ExportRequestError(f"team {team_id} has no reports as of {as_of}")
        return write_workbook(source, team_id, as_of, Path(exports_dir), max_rows)


def write_all_workbooks(
    warehouse: Path,
    as_of: date,
    exports_dir: Path,
    team_ids: Iterable[str] | None = None,
    workers: int = 2,
    *,
    max_rows: int = EXCEL_MAX_ROWS,
) -> list[Path]:
    """Write the workbook of every active team (or of ``team_ids``); paths sorted by team.

    With ``workers`` > 1 the workbooks are written by that many processes, each reading
    the warehouse read-only. Without ``team_ids``, fails when the warehouse holds no
    reports as of ``as_of``; a team of ``team_ids`` without reports is refused.
    """
    as_of = checked_date(as_of, "as_of")
    exports_dir = Path(exports_dir)
    with DuckDBReportSource(warehouse) as source:
        active = source.active_teams(as_of)
        if team_ids is None and not active:
            raise ExportError(f"no reports as of {as_of} in the warehouse; run the reports first")
        teams = _selected_teams(active, team_ids, as_of)
        chunks = _chunks(teams, max(1, workers) * CHUNKS_PER_WORKER)
        if workers <= 1 or len(chunks) <= 1:
            return [
                path
                for chunk in chunks
                for path in _write_chunk(source, chunk, as_of, exports_dir, max_rows)
            ]
    with ProcessPoolExecutor(
        max_workers=min(workers, len(chunks)),
        mp_context=get_context("spawn"),
        initializer=_open_worker_source,
        initargs=(Path(warehouse),),
    ) as pool:
        written = pool.map(
            _write_in_worker, chunks, repeat(as_of), repeat(exports_dir), repeat(max_rows)
        )
        return [path for paths in written for path in paths]


def write_workbook(
    source: ReportSource, team_id: str, as_of: date, exports_dir: Path, max_rows: int
) -> Path:
    """Build one team's workbook from ``source`` and save it atomically."""
    path = workbook_path(exports_dir, team_id, as_of)
    with new_workbook() as workbook:
        parts = {
            report.sheet: write_report(
                workbook, report, source.batches(report, team_id, as_of), max_rows, team_id
            )
            for report in NIGHTLY_REPORTS
        }
        summary_rows = sum(part.rows for part in parts[SUMMARY.sheet])
        if summary_rows != 1:
            raise ExportError(
                f"team {team_id} has {summary_rows} Summary rows as of {as_of}; expected exactly 1"
            )
        days = parts[TOKENS_BY_DAY.sheet][0]
        if days.rows:
            parts[SUMMARY.sheet][0].worksheet.add_chart(
                tokens_by_day_chart(days), SUMMARY_CHART_ANCHOR
            )
        distribution = parts[TOKEN_DISTRIBUTION.sheet][0]
        if distribution.rows:
            distribution.worksheet.add_chart(
                token_distribution_chart(distribution), DISTRIBUTION_CHART_ANCHOR
            )
        return save_workbook(workbook, path, datetime.combine(as_of, time()))


def _selected_teams(active: list[str], team_ids: Iterable[str] | None, as_of: date) -> list[str]:
    if team_ids is None:
        return active
    wanted = sorted({checked_team_id(team_id) for team_id in team_ids})
    unknown = sorted(set(wanted) - set(active))
    if unknown:
        raise ExportRequestError(f"teams without reports as of {as_of}: {', '.join(unknown)}")
    return wanted


_worker_source: DuckDBReportSource | None = None


def _open_worker_source(warehouse: Path) -> None:
    """Process-pool initializer: one read-only, single-threaded connection per worker."""
    global _worker_source
    _worker_source = DuckDBReportSource(warehouse, threads=1)


def _write_in_worker(teams: list[str], as_of: date, exports_dir: Path, max_rows: int) -> list[Path]:
    if _worker_source is None:
        raise RuntimeError("export worker started without its report source")
    return _write_chunk(_worker_source, teams, as_of, exports_dir, max_rows)


def _write_chunk(
    source: DuckDBReportSource, teams: list[str], as_of: date, exports_dir: Path, max_rows: int
) -> list[Path]:
    """The workbooks of ``teams`` (sorted), each report read once for all of them."""
    sequence = source.for_teams(teams, as_of)
    try:
        return [write_workbook(sequence, team, as_of, exports_dir, max_rows) for team in teams]
    finally:
        sequence.close()


def _chunks(teams: list[str], count: int) -> list[list[str]]:
    """``teams`` (sorted) cut into at most ``count`` contiguous runs of nearly equal size."""
    size = -(-len(teams) // count) if teams else 1
    return [teams[i : i + size] for i in range(0, len(teams), size)]
