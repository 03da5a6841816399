"""Rows serialised straight to sheet XML give the same workbook, byte for byte, as openpyxl."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from itertools import chain

import pytest

from orchestration.exports import row_xml, xlsx
from orchestration.exports.sheets import AVERAGE_FORMAT, COUNT_FORMAT, SHARE_FORMAT, Column, Report

STAMP = datetime(2026, 12, 4)
REPORT = Report(
    "Mixed",
    "rpt_mixed",
    (
        Column("Day", "day"),
        Column("Name", "name"),
        Column("Tokens", "tokens", COUNT_FORMAT),
        Column("Average", "average", AVERAGE_FORMAT),
        Column("Share", "share", SHARE_FORMAT),
        Column("Raw", "raw"),
    ),
    ("day",),
)
PLAIN_ROWS = [
    (date(2026, 1, 5), "Ada & <Bob> > Eve", 12345, Decimal("1234.50"), 0.125, None),
    (date(2026, 1, 6), "  leading and trailing  ", 0, Decimal("0.00"), 1.0, 7),
    (datetime(2026, 1, 7, 8, 30, 15), "e", 10**18, Decimal("-3.25"), None, 2.5),
    (None, "日本語 ✓ 🙂", -1, None, 0.0, "x"),
    (date(1900, 3, 1), "a" * 32_767, 1, Decimal("1e-7"), 2.0 / 3.0, 1e300),
]
# rows the serialiser leaves to openpyxl: empty text, formulas, error names, escapes,
# control characters, over-long text, booleans, non-finite numbers
OTHER_ROWS = [
    (date(2026, 1, 31), "", 1, None, None, None),
    (date(2026, 2, 1), "=1+1", 1, None, None, None),
    (date(2026, 2, 2), "#N/A", 1, None, None, None),
    (date(2026, 2, 3), "a_x0041_b", 1, None, None, None),
    (date(2026, 2, 4), "line\nbreak\ttab\r", 1, None, None, None),
    (date(2026, 2, 5), "b" * 40_000, 1, None, None, None),
    (date(2026, 2, 6), "flag", 1, None, None, True),
    (date(2026, 2, 7), "nan", 1, None, float("nan"), None),
    (date(2026, 2, 8), "inf", 1, None, None, float("inf")),
    (date(2026, 2, 9), "-minus", 1, None, None, None),
]


def _workbook(rows: list[tuple]) -> dict[str, bytes]:
    out = io.BytesIO()
    with xlsx.new_workbook() as workbook:
        xlsx.write_report(workbook, REPORT, [rows], max_rows=4)
        workbook.properties.created = workbook.properties.modified = STAMP
        xlsx.ExcelWriter(workbook, xlsx._StampedZip(out, STAMP)).save()
    with zipfile.ZipFile(out) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def counted(monkeypatch) -> list[int]:
    """How many rows the serialiser wrote (and how many it left to openpyxl)."""
    counts = [0, 0]
    original = row_xml.RowSerializer.row

    def row(self, values, number):
        built = original(self, values, number)
        counts[built is None] += 1
        return built

    monkeypatch.setattr(row_xml.RowSerializer, "row", row)
    return counts


INTERLEAVED = [
    *chain.from_iterable(zip(PLAIN_ROWS, OTHER_ROWS[: len(PLAIN_ROWS)], strict=True)),
    *OTHER_ROWS[len(PLAIN_ROWS) :],
]


@pytest.mark.parametrize(
    "rows", [PLAIN_ROWS, OTHER_ROWS, INTERLEAVED], ids=["plain", "other", "interleaved"]
)
def test_serialised_rows_are_the_bytes_openpyxl_writes(rows, counted, monkeypatch):
    fast = _workbook(rows)
    plain, other = counted
    assert plain + other == len(rows)
    assert plain == sum(r in PLAIN_ROWS for r in rows)  # the serialiser did write them
    monkeypatch.setattr(row_xml.RowSerializer, "row", lambda self, values, number: None)
    slow = _workbook(rows)
    assert fast.keys() == slow.keys()
    assert len([name for name in fast if name.startswith("xl/worksheets/sheet")]) > 1
    for name in fast:
        assert fast[name] == slow[name], name
