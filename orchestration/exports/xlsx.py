"""Streaming xlsx writer (openpyxl write-only) with typed, formula-safe cells.

Rows are appended as plain values; only cells that need it are styled: averages get the
``0.00`` number format and formula-like text gets Excel's quote prefix (stored as text,
never as a formula). Dates get ``yyyy-mm-dd`` from openpyxl. Text is OOXML-escaped
(see ``safety``). Saving is deterministic: the document properties and every zip entry
carry the given timestamp.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from .files import write_file_atomically
from .safety import XLSX_MAX_CHARS, is_formula_like, xlsx_cut, xlsx_text
from .sheets import Report

WIDTH_SAMPLE_ROWS = 1_000
MIN_WIDTH = 8
MAX_WIDTH = 60
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SheetPart:
    """A written worksheet and its number of data rows (the header excluded)."""

    worksheet: WriteOnlyWorksheet
    rows: int


@contextmanager
def new_workbook() -> Iterator[Workbook]:
    """A write-only workbook whose temporary sheet files are removed when the block ends.

    openpyxl streams each sheet to a temp file until the workbook is saved; on an error
    before or during the save those files would otherwise be left behind.
    """
    workbook = Workbook(write_only=True)
    try:
        yield workbook
    finally:
        for worksheet in workbook.worksheets:
            _release(worksheet)


def write_report(
    workbook: Workbook,
    report: Report,
    batches: Iterable[Sequence[tuple]],
    max_rows: int,
    team: str = "",
) -> list[SheetPart]:
    """Append the report as one sheet, continued on ``<sheet> (2)``… past ``max_rows``.

    ``max_rows`` counts the header row, as Excel's row limit does. Texts longer than
    Excel's cell limit are cut, with a warning naming ``team``, sheet and column.
    """
    cut: Counter[int] = Counter()
    if max_rows < 2:
        raise ValueError("max_rows must leave room for a header and one data row")
    batches = iter(batches)
    first = next(batches, [])
    widths = _column_widths(report, first)
    formats = [column.number_format for column in report.columns]
    rows = chain(first, chain.from_iterable(batches))
    pending = next(rows, None)
    parts: list[SheetPart] = []
    while True:
        worksheet = _start_sheet(workbook, report, len(parts) + 1, widths)
        count = 0
        while pending is not None and count < max_rows - 1:
            worksheet.append(_cells(worksheet, pending, formats, cut))
            count += 1
            pending = next(rows, None)
        last = f"{get_column_letter(len(report.columns))}{count + 1}"
        worksheet.auto_filter.ref = f"A1:{last}"
        parts.append(SheetPart(worksheet, count))
        if pending is None:
            _warn_cut(team, report, cut)
            return parts


def save_workbook(workbook: Workbook, path: Path, stamp: datetime) -> Path:
    """Save atomically to ``path``, with ``stamp`` as creation/modification time everywhere."""
    workbook.properties.created = stamp
    workbook.properties.modified = stamp

    def write(handle: BinaryIO) -> None:
        ExcelWriter(workbook, _StampedZip(handle, stamp)).save()

    return write_file_atomically(path, write)


def _start_sheet(
    workbook: Workbook, report: Report, number: int, widths: list[float]
) -> WriteOnlyWorksheet:
    title = report.sheet if number == 1 else f"{report.sheet} ({number})"
    worksheet = workbook.create_sheet(title)
    for index, width in enumerate(widths, 1):
        worksheet.column_dimensions[get_column_letter(index)].width = width
    worksheet.freeze_panes = "A2"
    header = []
    for text in report.headers:
        cell = WriteOnlyCell(worksheet, text)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        header.append(cell)
    worksheet.append(header)
    return worksheet


def _cells(
    worksheet: WriteOnlyWorksheet, row: tuple, formats: list[str | None], cut: Counter[int]
) -> list[Any]:
    """The row's cells; counts in ``cut`` the texts cut to Excel's limit, per column index."""
    cells: list[Any] = []
    for index, (value, number_format) in enumerate(zip(row, formats, strict=True)):
        if isinstance(value, str):
            text = xlsx_cut(value)
            if text is not value:
                cut[index] += 1
            encoded = xlsx_text(text)
            if is_formula_like(text) or encoded in ERROR_CODES or len(encoded) > XLSX_MAX_CHARS:
                cells.append(_text_cell(worksheet, encoded, quote_prefix=is_formula_like(text)))
            else:
                cells.append(encoded)
        elif number_format is not None and value is not None:
            cell = WriteOnlyCell(worksheet, value)
            cell.number_format = number_format
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def _text_cell(worksheet: WriteOnlyWorksheet, encoded: str, quote_prefix: bool) -> Any:
    """A cell stored as text whatever its content: openpyxl would otherwise type ``#N/A``
    and the other error names as error cells, and cut an escaped text past the limit."""
    cell = WriteOnlyCell(worksheet)
    cell._value = encoded  # set directly: the value setter infers the type and cuts
    cell.data_type = "s"
    if quote_prefix:
        cell.quotePrefix = True
    return cell


def _warn_cut(team: str, report: Report, cut: Counter[int]) -> None:
    for index, count in sorted(cut.items()):
        _LOG.warning(
            "team %s, sheet %s, column %s: %d text(s) longer than %s characters cut to "
            "Excel's limit (the csv export keeps them whole)",
            team or "?",
            report.sheet,
            report.headers[index],
            count,
            f"{XLSX_MAX_CHARS:,}",
        )


def _column_widths(report: Report, sample: Sequence[tuple]) -> list[float]:
    widths = [len(header) for header in report.headers]
    for row in sample[:WIDTH_SAMPLE_ROWS]:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _display_length(value))
    return [float(min(max(width + 2, MIN_WIDTH), MAX_WIDTH)) for width in widths]


def _display_length(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, date):
        return 10
    if isinstance(value, float):
        return len(f"{value:.2f}")
    return len(str(value))


def _release(worksheet: WriteOnlyWorksheet) -> None:
    writer = worksheet._writer  # openpyxl's per-sheet stream and temp file (None if unused)
    if writer is None:
        return
    if not worksheet.closed:
        with suppress(Exception):  # a stream broken by the original error cannot be closed
            if worksheet._rows is not None:
                worksheet._rows.close()
            writer.close()
    with suppress(FileNotFoundError, ValueError):  # already removed by a successful save
        writer.cleanup()


class _StampedZip(ZipFile):
    """A zip archive whose entries all carry one timestamp, so equal content gives equal bytes."""

    def __init__(self, handle: BinaryIO, stamp: datetime) -> None:
        super().__init__(handle, "w", ZIP_DEFLATED, allowZip64=True)
        self._date_time = stamp.timetuple()[:6]

    def _info(self, name: str) -> ZipInfo:
        info = ZipInfo(name, date_time=self._date_time)
        info.compress_type = ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None) -> None:
        with (
            open(filename, "rb") as source,
            self.open(self._info(arcname or str(filename)), "w", force_zip64=True) as target,
        ):
            shutil.copyfileobj(source, target, 1 << 20)
