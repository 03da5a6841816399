"""On-demand exports (the portal's Export button): Subscriptions, Users, Usage."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .csv_writer import write_csv
from .errors import ExportRequestError
from .files import checked_date, checked_team_id, on_demand_dir, write_folder_atomically
from .reader import DuckDBReportSource, ReportSource
from .sheets import EXCEL_MAX_ROWS, ON_DEMAND_REPORTS
from .xlsx import new_workbook, save_workbook, write_report

FORMATS = ("xlsx", "csv")
USAGE_TYPE = "usage"
DEFAULT_USAGE_DAYS = 30
MAX_USAGE_DAYS = 365
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class _Request:
    team_id: str
    types: tuple[str, ...]
    fmt: str
    as_of: date
    days: tuple[date, date]


def export_on_demand(
    warehouse: Path,
    team_id: str,
    types: list[str],
    fmt: str,
    start: date | None,
    end: date | None,
    as_of: date,
    exports_dir: Path,
    now: datetime | None = None,
    *,
    max_rows: int = EXCEL_MAX_ROWS,
    confirm: Callable[[], object] | None = None,
) -> list[Path]:
    """Write the chosen report types to ``<exports>/<team_id>/on-demand/<timestamp>/``.

    ``xlsx``: one workbook with the chosen sheets (Subscriptions, Users, Usage order);
    ``csv``: ``<type>.csv`` per type. Usage covers ``start``..``end`` (inclusive, at most
    365 days, ending no later than ``as_of``); a missing ``end`` is ``as_of`` and a missing
    ``start`` is 29 days before ``end``. The range is checked whatever the types.
    ``now`` (naive means UTC) names the folder; a second export in the same second gets
    ``<timestamp>-02``, ``-03``…. Raises ``ExportRequestError`` and writes nothing when
    the request is invalid. ``confirm`` is called once the reports are open under the
    reader lock (no refresh can change them from then on), e.g. to check that they are
    still the released ones; an exception it raises refuses the export.
    """
    request = _validated(team_id, types, fmt, start, end, as_of)
    stamp = _utc(now or datetime.now(UTC))
    target = on_demand_dir(Path(exports_dir), request.team_id, stamp.strftime(STAMP_FORMAT))
    with DuckDBReportSource(warehouse) as source:
        if confirm is not None:
            confirm()
        active = source.active_teams(request.as_of)
        if request.team_id not in active:
            raise ExportRequestError(_not_active(source, request.team_id, request.as_of, active))

        def write(folder: Path) -> list[str]:
            if request.fmt == "csv":
                return [_write_csv(source, request, folder, kind) for kind in request.types]
            return [_write_xlsx(source, request, folder, stamp, max_rows)]

        return write_folder_atomically(target, write)


def _not_active(source: DuckDBReportSource, team_id: str, as_of: date, active: list[str]) -> str:
    """Why ``team_id`` gets no export: merged (into which team), or unknown (and the
    closest active ids, compared case-insensitively)."""
    survivor = source.merged_into(team_id)
    if survivor:
        return (
            f"team {team_id} was merged into {survivor}: its tokens and history are "
            f"reported under {survivor}; export --team {survivor}"
        )
    by_folded = {team.casefold(): team for team in active}
    close = difflib.get_close_matches(team_id.casefold(), list(by_folded), n=3, cutoff=0.6)
    hint = f"; closest active ids: {', '.join(by_folded[c] for c in close)}" if close else ""
    return f"unknown team {team_id}: not an active team as of {as_of}{hint}"


def _validated(
    team_id: str,
    types: list[str],
    fmt: str,
    start: date | None,
    end: date | None,
    as_of: date,
) -> _Request:
    team_id = checked_team_id(team_id)
    as_of = checked_date(as_of, "as_of")
    if fmt not in FORMATS:
        raise ExportRequestError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if isinstance(types, str) or not types:
        raise ExportRequestError("choose at least one report type (a list of type names)")
    unknown = sorted({str(kind) for kind in types} - ON_DEMAND_REPORTS.keys())
    if unknown:
        raise ExportRequestError(
            f"unknown report type(s) {', '.join(unknown)}: "
            f"choose among {', '.join(ON_DEMAND_REPORTS)}"
        )
    chosen = tuple(kind for kind in ON_DEMAND_REPORTS if kind in types)
    return _Request(team_id, chosen, fmt, as_of, _usage_days(start, end, as_of))


def _usage_days(start: date | None, end: date | None, as_of: date) -> tuple[date, date]:
    end = as_of if end is None else checked_date(end, "to")
    if start is None:
        start = end - timedelta(days=DEFAULT_USAGE_DAYS - 1)
    start = checked_date(start, "from")
    if start > end:
        raise ExportRequestError(f"the range starts ({start}) after it ends ({end})")
    if end > as_of:
        raise ExportRequestError(f"the range must end on or before the report date {as_of}")
    if (end - start).days + 1 > MAX_USAGE_DAYS:
        raise ExportRequestError(
            f"the range {start}..{end} spans {(end - start).days + 1} days; "
            f"at most {MAX_USAGE_DAYS} are allowed"
        )
    return start, end


def _utc(moment: datetime) -> datetime:
    """``moment`` as naive UTC (a naive input is taken as UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _write_csv(source: ReportSource, request: _Request, folder: Path, kind: str) -> str:
    report = ON_DEMAND_REPORTS[kind]
    days = request.days if kind == USAGE_TYPE else None
    name = f"{kind}.csv"
    with open(folder / name, "w", encoding="utf-8", newline="") as handle:
        write_csv(handle, report, source.batches(report, request.team_id, request.as_of, days))
        handle.flush()
        os.fsync(handle.fileno())
    return name


def _write_xlsx(
    source: ReportSource, request: _Request, folder: Path, stamp: datetime, max_rows: int
) -> str:
    name = f"flex_usage_{request.team_id}_{stamp.strftime(STAMP_FORMAT)}.xlsx"
    with new_workbook() as workbook:
        for kind in request.types:
            report = ON_DEMAND_REPORTS[kind]
            days = request.days if kind == USAGE_TYPE else None
            batches = source.batches(report, request.team_id, request.as_of, days)
            write_report(workbook, report, batches, max_rows, request.team_id)
        save_workbook(workbook, folder / name, stamp)
    return name
