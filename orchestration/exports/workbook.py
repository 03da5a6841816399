"""The nightly report workbook: one per active team per as-of date."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, time
from multiprocessing import get_context
from pathlib import Path

from .about import about_rows
from .charts import (
    DISTRIBUTION_PRODUCTS,
    Block,
    by_product_chart,
    token_distribution_chart,
    tokens_by_day_chart,
    tokens_by_month_chart,
)
from .errors import ExportError, ExportRequestError, WorkbooksFailedError, describe_os_error
from .files import checked_date, checked_team_id, workbook_path
from .reader import Batch, DuckDBReportSource, ReportSource
from .sheets import (
    ABOUT,
    BY_PRODUCT,
    EXCEL_MAX_ROWS,
    NIGHTLY_REPORTS,
    PAST_12_MONTHS,
    SUMMARY,
    TIME_RANGES,
    TOKEN_DISTRIBUTION,
    TOKENS_BY_DAY,
    TOKENS_BY_MONTH,
    Report,
)
from .xlsx import SheetPart, new_workbook, save_workbook, write_report

# Summary: the table in rows 1-2, the two charts stacked below it.
DAY_CHART_ANCHOR = "A4"
MONTH_CHART_ANCHOR = "A21"
# By product / Token distribution: the chart to the right of the table.
BY_PRODUCT_CHART_ANCHOR = "G2"
DISTRIBUTION_CHART_ANCHOR = "F2"
# Teams are handed to the workers in this many contiguous runs per worker: each run
# reads every report once, and several runs per worker balance teams of unequal size.
CHUNKS_PER_WORKER = 4
# Worker processes for a nightly run of many teams. Below MIN_TEAMS_FOR_WORKERS teams one
# process writes them all: starting a worker (an interpreter, its imports, a DuckDB
# connection) costs more CPU than a few small workbooks take.
DEFAULT_WORKERS = 2
MIN_TEAMS_FOR_WORKERS = 8


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
    workers: int | None = None,
    *,
    max_rows: int = EXCEL_MAX_ROWS,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the workbook of every active team (or of ``team_ids``); paths sorted by team.

    With ``workers`` > 1 the workbooks are written by that many processes, each reading
    the warehouse read-only; by default ``DEFAULT_WORKERS``, or this process alone for
    fewer than ``MIN_TEAMS_FOR_WORKERS`` teams. Without ``team_ids``, fails when the
    warehouse holds no reports as of ``as_of``; a team of ``team_ids`` without reports
    is refused.
    ``on_progress(done, total)`` is called as runs of teams finish.

    A workbook that cannot be written does not stop the others of other runs: once all
    have finished, ``WorkbooksFailedError`` names each failure and holds the workbooks
    published. Within a run, a file-system error (full disk, read-only or blocked
    folder) stops that run, since the next team would meet it too.
    """
    as_of = checked_date(as_of, "as_of")
    exports_dir = Path(exports_dir)
    with DuckDBReportSource(warehouse) as source:
        active = source.active_teams(as_of)
        if team_ids is None and not active:
            raise ExportError(f"no reports as of {as_of} in the warehouse; run the reports first")
        teams = _selected_teams(active, team_ids, as_of)
        if workers is None:
            workers = DEFAULT_WORKERS if len(teams) >= MIN_TEAMS_FOR_WORKERS else 1
        chunks = _chunks(teams, max(1, workers) * CHUNKS_PER_WORKER)
        if workers <= 1 or len(chunks) <= 1:
            outcomes = []
            for chunk in chunks:
                outcomes.append(_write_chunk(source, chunk, as_of, exports_dir, max_rows))
                if on_progress:
                    on_progress(sum(len(o.written) for o in outcomes), len(teams))
            return _published(outcomes)
    with ProcessPoolExecutor(
        max_workers=min(workers, len(chunks)),
        mp_context=get_context("spawn"),
        initializer=_open_worker_source,
        initargs=(Path(warehouse),),
    ) as pool:
        futures = {
            pool.submit(_write_in_worker, chunk, as_of, exports_dir, max_rows): i
            for i, chunk in enumerate(chunks)
        }
        by_chunk: dict[int, _ChunkOutcome] = {}
        for future in as_completed(futures):
            by_chunk[futures[future]] = future.result()
            if on_progress:
                on_progress(sum(len(o.written) for o in by_chunk.values()), len(teams))
        return _published([by_chunk[i] for i in range(len(chunks))])


@dataclass
class _ChunkOutcome:
    written: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    not_attempted: int = 0


def _published(outcomes: list[_ChunkOutcome]) -> list[Path]:
    """The paths written, in team order; raises when any workbook failed."""
    written = [path for outcome in outcomes for path in outcome.written]
    failures = [line for outcome in outcomes for line in outcome.failures]
    if failures:
        raise WorkbooksFailedError(
            written, failures, sum(outcome.not_attempted for outcome in outcomes)
        )
    return written


def write_workbook(
    source: ReportSource, team_id: str, as_of: date, exports_dir: Path, max_rows: int
) -> Path:
    """Build one team's workbook from ``source`` and save it atomically."""
    path = workbook_path(exports_dir, team_id, as_of)
    watched = {
        report.sheet: _Watched(report, source.batches(report, team_id, as_of))
        for report in (TIME_RANGES, BY_PRODUCT, TOKEN_DISTRIBUTION)
    }
    with new_workbook() as workbook:
        parts = {
            report.sheet: write_report(
                workbook,
                report,
                watched.get(report.sheet) or source.batches(report, team_id, as_of),
                max_rows,
                team_id,
            )
            for report in NIGHTLY_REPORTS
        }
        summary_rows = sum(part.rows for part in parts[SUMMARY.sheet])
        if summary_rows != 1:
            raise ExportError(
                f"team {team_id} has {summary_rows} Summary rows as of {as_of}; expected exactly 1"
            )
        ranges = [row[:3] for _, row in watched[TIME_RANGES.sheet].rows]
        pii = source.include_pii(team_id, as_of)
        write_report(workbook, ABOUT, [about_rows(as_of, ranges, pii)], max_rows, team_id)
        _add_charts(parts, watched, max_rows)
        return save_workbook(workbook, path, datetime.combine(as_of, time()))


class _Watched:
    """A report's batches passed through unchanged, keeping (row index, row) of some rows.

    Time ranges keeps all its rows; the range-by-product sheets their Past 12 months rows.
    """

    def __init__(self, report: Report, batches: Iterable[Batch]) -> None:
        self._batches = batches
        self._range = None if report is TIME_RANGES else report.position("time_range") - 1
        self.rows: list[tuple[int, tuple]] = []

    def __iter__(self) -> Iterator[Batch]:
        seen = 0
        for batch in self._batches:
            self.rows += [
                (seen + index, row)
                for index, row in enumerate(batch)
                if self._range is None or row[self._range] == PAST_12_MONTHS
            ]
            seen += len(batch)
            yield batch


def _add_charts(
    parts: dict[str, list[SheetPart]], watched: dict[str, _Watched], max_rows: int
) -> None:
    """The Summary, By product and Token distribution charts (of the sheets with rows)."""
    summary = parts[SUMMARY.sheet][0].worksheet
    days, months = parts[TOKENS_BY_DAY.sheet][0], parts[TOKENS_BY_MONTH.sheet][0]
    if days.rows:
        summary.add_chart(tokens_by_day_chart(days), DAY_CHART_ANCHOR)
    if months.rows:
        summary.add_chart(tokens_by_month_chart(months), MONTH_CHART_ANCHOR)
    products = [index for index, _ in watched[BY_PRODUCT.sheet].rows]
    block = _block(products, parts[BY_PRODUCT.sheet], max_rows) if products else None
    if block:
        block.worksheet.add_chart(by_product_chart(block), BY_PRODUCT_CHART_ANCHOR)
    product = TOKEN_DISTRIBUTION.position("product") - 1
    distribution = watched[TOKEN_DISTRIBUTION.sheet].rows
    bands = _blocks(distribution, parts[TOKEN_DISTRIBUTION.sheet], max_rows, product)
    if bands:
        users = TOKEN_DISTRIBUTION.position("users") - 1
        totals: dict[str, int] = {}
        for _, row in distribution:
            totals[row[product]] = totals.get(row[product], 0) + row[users]
        top = sorted(bands, key=lambda name: (-totals[name], name))[:DISTRIBUTION_PRODUCTS]
        chart = token_distribution_chart([bands[name] for name in sorted(top)], len(totals))
        bands[top[0]].worksheet.add_chart(chart, DISTRIBUTION_CHART_ANCHOR)


def _block(indexes: list[int], parts: list[SheetPart], max_rows: int) -> Block | None:
    """The sheet block of the rows ``indexes``, or None when they do not sit consecutively
    on one sheet part (a table continued on ``<name> (2)``): a chart series references one
    cell range."""
    per_part = max_rows - 1
    first, last = indexes[0], indexes[-1]
    if first // per_part != last // per_part or last - first + 1 != len(indexes):
        return None
    return Block(parts[first // per_part].worksheet, first % per_part + 2, last % per_part + 2)


def _blocks(
    rows: list[tuple[int, tuple]], parts: list[SheetPart], max_rows: int, key: int
) -> dict[str, Block]:
    """The sheet block of each value of the text ``row[key]`` (rows by index), if it has one."""
    groups: dict[str, list[int]] = {}
    for index, row in rows:
        groups.setdefault(row[key], []).append(index)
    found = {name: _block(indexes, parts, max_rows) for name, indexes in groups.items()}
    return {name: block for name, block in found.items() if block}


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


def _write_in_worker(
    teams: list[str], as_of: date, exports_dir: Path, max_rows: int
) -> _ChunkOutcome:
    if _worker_source is None:
        raise RuntimeError("export worker started without its report source")
    return _write_chunk(_worker_source, teams, as_of, exports_dir, max_rows)


def _write_chunk(
    source: DuckDBReportSource, teams: list[str], as_of: date, exports_dir: Path, max_rows: int
) -> _ChunkOutcome:
    """The workbooks of ``teams`` (sorted), each report read once for all of them."""
    sequence = source.for_teams(teams, as_of)
    outcome = _ChunkOutcome()
    try:
        for i, team in enumerate(teams):
            try:
                outcome.written.append(write_workbook(sequence, team, as_of, exports_dir, max_rows))
            except OSError as err:
                outcome.failures.append(f"team {team}: {describe_os_error(err)}")
                outcome.not_attempted = len(teams) - i - 1
                break
            except ExportError as err:
                outcome.failures.append(f"team {team}: {err}")
        return outcome
    finally:
        sequence.close()


def _chunks(teams: list[str], count: int) -> list[list[str]]:
    """``teams`` (sorted) cut into at most ``count`` contiguous runs of nearly equal size."""
    size = -(-len(teams) // count) if teams else 1
    return [teams[i : i + size] for i in range(0, len(teams), size)]
