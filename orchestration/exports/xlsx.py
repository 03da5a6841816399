"""Streaming xlsx writer (openpyxl write-only) with typed, formula-safe cells.

Rows of plain values are serialised straight to sheet XML (``row_xml``); the others are
appended to openpyxl as values, and only cells that need it are styled: figures get their
column's number format (thousands separators, 2 decimals, percentage), a flagged column
its red/green fill, and formula-like text Excel's quote prefix (stored as text, never as
a formula). Dates get ``yyyy-mm-dd`` from openpyxl. Text is OOXML-escaped (see
``safety``). Every sheet prints landscape, one page wide, with the header row repeated.
Saving is deterministic: the document properties and every zip entry carry the given
timestamp.
"""

from __future__ import annotations

import logging
import shutil
import textwrap
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from .files import write_file_atomically
from .row_xml import RowSerializer
from .safety import XLSX_MAX_CHARS, is_formula_like, xlsx_cut, xlsx_text
from .sheets import Report

WIDTH_SAMPLE_ROWS = 1_000
MIN_WIDTH = 8
MAX_WIDTH = 80  # a 64-character hashed id fits
HEADER_PAD = 3  # room for the filter button beside a header
VALUE_PAD = 2  # padding beside a value
HEADER_LINES = 3  # a long header wraps onto at most this many lines
WRAP_FROM = 10  # headers longer than this many characters may wrap
LINE_HEIGHT = 15  # points per line of 11-point text: row heights of wrapped text
# Viewers do not grow rows for wrapped text on opening (LibreOffice keeps the default
# height), so rows with wrapped text get an explicit height from the estimated lines.
TEXT_PER_WIDTH = 1.25  # text characters per width unit (the unit is one digit wide)
MARGIN_INCHES = 0.4  # left and right page margins
FONT_NAME = "Calibri"
HEADER_FONT = Font(name=FONT_NAME, size=11, bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_LOG = logging.getLogger(__name__)
_HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
LOW_FILL = PatternFill("solid", fgColor="F8CBAD")  # red: the flag holds
OK_FILL = PatternFill("solid", fgColor="C6EFCE")  # green: it does not


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
    styled = [
        (
            index,
            bool(column.wrap),
            report.selected.index(column.fill_flag) if column.fill_flag else None,
        )
        for index, column in enumerate(report.columns)
        if column.fill_flag or column.wrap
    ]
    wrapped = [(index, widths[index]) for index, column in enumerate(report.columns) if column.wrap]
    width = len(report.columns)
    rows = chain(first, chain.from_iterable(batches))
    pending = next(rows, None)
    parts: list[SheetPart] = []
    while True:
        worksheet = _start_sheet(workbook, report, len(parts) + 1, widths)
        if not parts:
            formats = _number_styles(worksheet, report)
        serializer = None if styled else RowSerializer(worksheet, formats)
        count = 0
        while pending is not None and count < max_rows - 1:
            prebuilt = serializer.row(pending, count + 2) if serializer else None
            if prebuilt is not None:
                worksheet.append(prebuilt)
                count += 1
                pending = next(rows, None)
                continue
            lines = max(_lines(pending[i], w) for i, w in wrapped) if wrapped else 1
            if styled:
                cells = _cells(worksheet, pending[:width], formats, cut)
                for index, wrap, flag in styled:
                    cells[index] = _styled(worksheet, cells[index], wrap, flag, pending)
            else:
                cells = _cells(worksheet, pending, formats, cut)
            if lines > 1:  # a taller row: every cell of it aligned to the top
                worksheet.row_dimensions[count + 2].height = LINE_HEIGHT * lines
                cells = [_top(worksheet, cell) for cell in cells]
            worksheet.append(cells)
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
    _print_setup(worksheet, report.one_page)
    lines = max(
        _lines(header, width - HEADER_PAD + VALUE_PAD)
        for header, width in zip(report.headers, widths, strict=True)
    )
    if lines > 1:
        worksheet.row_dimensions[1].height = LINE_HEIGHT * lines
    header = []
    for text in report.headers:
        cell = WriteOnlyCell(worksheet, text)
        cell.font = HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGNMENT
        header.append(cell)
    worksheet.append(header)
    return worksheet


def _print_setup(worksheet: WriteOnlyWorksheet, one_page: bool) -> None:
    """Landscape, one page wide (and one page tall for ``one_page``), header row repeated."""
    worksheet.page_setup.orientation = "landscape"
    worksheet.page_setup.fitToWidth = 1
    worksheet.page_setup.fitToHeight = 1 if one_page else 0
    worksheet.sheet_properties.pageSetUpPr.fitToPage = True
    worksheet.print_title_rows = "1:1"
    worksheet.page_margins.left = worksheet.page_margins.right = MARGIN_INCHES


def _top(worksheet: WriteOnlyWorksheet, cell: Any) -> Cell:
    """``cell`` (a value or a styled cell) aligned to the top of its row."""
    cell = _own_style(worksheet, cell)
    if not cell.alignment.wrap_text:
        cell.alignment = _TOP
    return cell


def _lines(text: object, width: float) -> int:
    """Lines ``text`` takes wrapped at spaces in a column ``width`` wide (margin excluded)."""
    room = int((width - VALUE_PAD) * TEXT_PER_WIDTH)
    if not isinstance(text, str) or len(text) <= room:
        return 1
    return len(textwrap.wrap(text, room, break_on_hyphens=False))


def _styled(
    worksheet: WriteOnlyWorksheet, cell: Any, wrap: bool, flag: int | None, row: tuple
) -> Cell:
    """``cell`` (a value or a styled cell) wrapped and/or filled by the flag at ``row[flag]``.

    The fill is red when the flag holds, green otherwise.
    """
    cell = _own_style(worksheet, cell)
    if wrap:
        cell.alignment = _WRAP
    if flag is not None:
        cell.fill = LOW_FILL if row[flag] else OK_FILL
    return cell


def _number_styles(worksheet: WriteOnlyWorksheet, report: Report) -> list[StyleArray | None]:
    """Per column, the style of its number format (None: none), shared by its cells.

    Setting ``number_format`` on every cell costs a style lookup each time; a prepared
    style array is several times faster on large sheets.
    """
    styles: list[StyleArray | None] = []
    for column in report.columns:
        if column.number_format is None:
            styles.append(None)
        else:
            template = WriteOnlyCell(worksheet)
            template.number_format = column.number_format
            styles.append(template._style)
    return styles


def _own_style(worksheet: WriteOnlyWorksheet, cell: Any) -> Cell:
    """``cell`` as a cell (a plain value wrapped) with a style array of its own to change."""
    if not isinstance(cell, Cell):
        return WriteOnlyCell(worksheet, cell)
    cell._style = copy(cell._style)
    return cell


def _cells(
    worksheet: WriteOnlyWorksheet,
    row: tuple,
    formats: list[StyleArray | None],
    cut: Counter[int],
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
            cell._style = number_format  # shared: copied before any change (see _own_style)
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
    """Widths fitting the header (long ones wrapped) and the sampled values.

    A wrapping column is at most its ``wrap`` wide; its longer texts wrap.
    """
    widths = [header_width(header) + HEADER_PAD for header in report.headers]
    for row in sample[:WIDTH_SAMPLE_ROWS]:
        for index, column in enumerate(report.columns):
            shown = display_length(row[index], column.number_format) + VALUE_PAD
            widths[index] = max(widths[index], shown)
    for index, column in enumerate(report.columns):
        if column.wrap:
            widths[index] = min(widths[index], column.wrap)
    return [float(min(max(width, MIN_WIDTH), MAX_WIDTH)) for width in widths]


def header_width(header: str) -> int:
    """Characters a header needs: all of it when short, else wrapped at spaces onto at most
    ``HEADER_LINES`` lines."""
    if len(header) <= WRAP_FROM:
        return len(header)
    words = header.split(" ")
    need = max(len(word) for word in words)
    while True:
        lines, line = 1, 0
        for word in words:
            line = len(word) if line == 0 else line + 1 + len(word)
            if line > need:
                lines, line = lines + 1, len(word)
        if lines <= HEADER_LINES:
            return need
        need += 1


def display_length(value: object, number_format: str | None) -> int:
    """Characters ``value`` takes when shown with ``number_format``."""
    if value is None:
        return 0
    if isinstance(value, date):
        return 10
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return len(str(value))
    if number_format and number_format.endswith("%"):
        return len(f"{value * 100:.1f}%")
    if number_format and "," in number_format:
        return len(f"{value:,.2f}" if "." in number_format else f"{value:,.0f}")
    return len(f"{value:.2f}" if isinstance(value, float) else str(value))


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
