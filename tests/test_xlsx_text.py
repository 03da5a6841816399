"""Text cells in xlsx: error-like text stays text, text past Excel's limit is cut with a warning.

The cell types are read from the saved sheet XML (``t=`` of each ``<c>``), not through
openpyxl, so a cell typed as an error (``t="e"``) cannot hide behind a reader.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from datetime import datetime
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from orchestration.exports.csv_writer import write_csv
from orchestration.exports.sheets import Column, Report
from orchestration.exports.xlsx import new_workbook, save_workbook, write_report

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REPORT = Report("Notes", "rpt_notes", (Column("Key", "k"), Column("Note", "note")), ("k",))
ERROR_NAMES = [
    "#N/A", "#REF!", "#DIV/0!", "#NULL!", "#NAME?", "#NUM!", "#VALUE!", "#GETTING_DATA",
]  # fmt: skip


def _saved_cells(rows: list[tuple], tmp_path, team: str = "T1") -> list[tuple[str, str, str]]:
    """(reference, t attribute, text) of every data cell of the saved sheet."""
    with new_workbook() as workbook:
        write_report(workbook, REPORT, [rows], max_rows=1000, team=team)
        path = save_workbook(workbook, tmp_path / "notes.xlsx", datetime(2026, 3, 2))
    with zipfile.ZipFile(path) as archive:
        root = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    cells = []
    for cell in root.iterfind(".//m:sheetData/m:row/m:c", NS):
        if re.fullmatch(r"[A-Z]+1", cell.get("r")):
            continue  # the header row
        text = "".join(t.text or "" for t in cell.iterfind(".//m:t", NS))
        value = cell.find("m:v", NS)
        cells.append(
            (cell.get("r"), cell.get("t"), text or (value.text if value is not None else ""))
        )
    return cells


@pytest.mark.parametrize("prefix", ["", "="])
def test_error_names_are_stored_as_text(tmp_path, prefix):
    rows = [(f"k{i}", prefix + name) for i, name in enumerate(ERROR_NAMES)]
    notes = [c for c in _saved_cells(rows, tmp_path) if c[0].startswith("B")]
    assert [(t, text) for _, t, text in notes] == [
        ("inlineStr", prefix + name) for name in ERROR_NAMES
    ]
    sheet = load_workbook(tmp_path / "notes.xlsx")["Notes"]
    assert [sheet.cell(row=r, column=2).value for r in range(2, len(rows) + 2)] == [
        prefix + name for name in ERROR_NAMES
    ]


def test_text_longer_than_excel_allows_is_cut_with_a_warning(tmp_path, caplog):
    long_text = "ab" * 20_000  # 40,000 characters
    exact = "x" * 32_767  # at the limit: kept whole
    rows = [("k1", long_text), ("k2", exact), ("k3", "=" + "y" * 40_000), ("k4", "short")]
    with caplog.at_level(logging.WARNING):
        notes = {r: (t, text) for r, t, text in _saved_cells(rows, tmp_path, team="acme")}
    assert notes["B2"] == ("inlineStr", long_text[:32_766] + "…")
    assert notes["B3"] == ("inlineStr", exact)
    assert notes["B4"] == ("inlineStr", ("=" + "y" * 40_000)[:32_766] + "…")
    assert notes["B5"] == ("inlineStr", "short")
    assert [r.getMessage() for r in caplog.records] == [
        "team acme, sheet Notes, column Note: 2 text(s) longer than 32,767 characters cut to "
        "Excel's limit (the csv export keeps them whole)"
    ]
    out = io.StringIO()
    write_csv(out, REPORT, [rows])
    assert long_text in out.getvalue()


def test_escaped_text_near_the_limit_is_not_cut_again(tmp_path, caplog):
    """A carriage return is written as the 7-character escape ``_x000D_``; the text (not its
    escaped form) is what Excel's limit applies to, so nothing may be cut here."""
    text = "\r" * 10 + "z" * 32_700
    with caplog.at_level(logging.WARNING):
        cells = _saved_cells([("k1", text)], tmp_path)
    assert caplog.records == []
    sheet = load_workbook(tmp_path / "notes.xlsx")["Notes"]
    assert len(cells[1][2]) > 32_767  # the escaped form in the XML
    assert sheet["B2"].value.replace("_x000D_", "\r") == text
