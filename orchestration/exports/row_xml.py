"""Plain rows serialised straight to sheet XML, the bytes openpyxl would write for them.

openpyxl's write-only sheets still build a cell object per value and serialise it
element by element: about 12 µs a cell, most of the workbook step on large sheets. A row
whose every value is plain (non-empty printable text that is no formula, no error name, needs no
escape and fits a cell; a finite number; a date or naive timestamp; None) is written here instead as
one ``<row>`` element parsed from a string. Any other row returns None and goes through
openpyxl unchanged, so both paths write the same XML (``tests/test_row_xml.py``
compares them byte for byte).

The sheet's stream is openpyxl's own: a serializer makes its write-only worksheet take a
:class:`PrebuiltRow` through ``append``, so row numbers, the sheet's other parts and
saving stay openpyxl's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from lxml import etree
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.compat import safe_string
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .safety import FORMULA_PREFIXES, XLSX_MAX_CHARS

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_NUMBERS = (int, float, Decimal)


class PrebuiltRow(tuple):
    """A row already serialised: a 1-tuple holding its ``<row>`` element."""


def _accept_prebuilt_rows(worksheet: WriteOnlyWorksheet) -> None:
    """Let ``worksheet.append`` take a :class:`PrebuiltRow` (other rows as before).

    Call after the sheet's first row is appended (openpyxl creates its writer then).
    """
    to_cells = worksheet._values_to_row
    writer = worksheet._writer
    write_row = writer.write_row

    def values_to_row(values, row_idx):
        return values if isinstance(values, PrebuiltRow) else to_cells(values, row_idx)

    def write(xf, row, row_idx):
        if isinstance(row, PrebuiltRow):
            xf.write(row[0])
        else:
            write_row(xf, row, row_idx)

    worksheet._values_to_row = values_to_row
    writer.write_row = write


class RowSerializer:
    """Serialises the plain rows of one sheet whose columns have ``formats`` (the number
    format's shared style per column, None for none); made after the sheet's header row."""

    def __init__(self, worksheet: WriteOnlyWorksheet, formats: Sequence[StyleArray | None]):
        _accept_prebuilt_rows(worksheet)
        self._worksheet = worksheet
        self._formats = formats
        self._letters = [get_column_letter(i) for i in range(1, len(formats) + 1)]
        self._epoch = worksheet.parent.epoch
        # ' s="N"' per column and per date type, registered on first use as openpyxl does,
        # so the workbook's style table comes out in the same order
        self._number_attrs: dict[int, str] = {}
        self._date_attrs: dict[type, str] = {}

    def _style_attr(self, style: StyleArray) -> str:
        cell = WriteOnlyCell(self._worksheet)
        cell._style = style
        return f' s="{cell.style_id}"'

    def _number_attr(self, index: int) -> str:
        attr = self._number_attrs.get(index)
        if attr is None:
            style = self._formats[index]
            attr = self._number_attrs[index] = "" if style is None else self._style_attr(style)
        return attr

    def _date_attr(self, day: date) -> str:
        attr = self._date_attrs.get(type(day))
        if attr is None:
            style = WriteOnlyCell(self._worksheet, day)._style  # openpyxl's date format
            attr = self._date_attrs[type(day)] = self._style_attr(style)
        return attr

    def row(self, values: Sequence[object], number: int) -> PrebuiltRow | None:
        """Row ``number`` (1-based) as a prebuilt row, or None when a value is not plain."""
        parts = [f'<row r="{number}">']
        for index, value in enumerate(values):
            kind = type(value)
            if value is None:
                continue
            ref = f"{self._letters[index]}{number}"
            if kind is str:
                text: str = value  # type: ignore[assignment]
                if (
                    not text  # openpyxl writes <c ...></c>, lxml would write <c .../>
                    or len(text) > XLSX_MAX_CHARS
                    or not text.isprintable()
                    or "_x" in text
                    or text.startswith(FORMULA_PREFIXES)
                    or text in ERROR_CODES
                ):
                    return None
                space = ' xml:space="preserve"' if text != text.strip() else ""
                escaped = text.translate(_ESCAPES)
                parts.append(f'<c r="{ref}" t="inlineStr"><is><t{space}>{escaped}</t></is></c>')
            elif kind in _NUMBERS:
                if kind is not int and not math.isfinite(value):  # type: ignore[arg-type]
                    return None
                shown = safe_string(value)  # openpyxl's own number text
                parts.append(f'<c r="{ref}"{self._number_attr(index)} t="n"><v>{shown}</v></c>')
            elif (kind is date or kind is datetime) and self._formats[index] is None:
                day: date = value  # type: ignore[assignment]
                if isinstance(day, datetime) and day.tzinfo is not None:
                    return None
                shown = safe_string(to_excel(day, self._epoch))
                parts.append(f'<c r="{ref}"{self._date_attr(day)} t="n"><v>{shown}</v></c>')
            else:
                return None
        parts.append("</row>")
        return PrebuiltRow((etree.fromstring("".join(parts)),))
