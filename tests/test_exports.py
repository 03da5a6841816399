"""Tests of the spreadsheet exports (orchestration.exports).

The warehouse is a DuckDB file built here with the report tables of docs/ARCHITECTURE.md
and hand-made rows, inserted shuffled. Expected sheets are derived from those rows with
this file's own copy of the export contract (sheet names, headers, column sources) and
small reference sort keys, then compared with the files read back by openpyxl / csv.
"""

from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart
from openpyxl.utils import get_column_letter
from openpyxl.utils.escape import unescape
from openpyxl.worksheet._writer import ALL_TEMP_FILES

from orchestration.exports import (
    ExportError,
    ExportRequestError,
    export_on_demand,
    write_all_workbooks,
    write_team_workbook,
)
from orchestration.exports.files import write_file_atomically, write_folder_atomically
from tests.exports_support import BANDS, MASK, PII, PREVIOUS, ROWS, D, build_warehouse

NOW = datetime(2026, 11, 28, 4, 15, 0)
STAMP = "20261128T041500Z"

# --------------------------------------------------------------------------- contract

# (sheet, model, [(header, model column)]) in workbook order, as the export contract says.
SHEETS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "Summary",
        "rpt_summary",
        [
            ("Team ID", "team_id"),
            ("Team", "team"),
            ("As of", "as_of_date"),
            ("Tokens used", "tokens_used"),
            ("Tokens remaining", "tokens_remaining"),
            ("Tokens added", "tokens_added"),
            ("Tokens removed", "tokens_removed"),
            ("Tokens added/removed (net)", "tokens_net"),
        ],
    ),
    (
        "Balances",
        "rpt_balances",
        [
            ("Team ID", "team_id"),
            ("Team", "team"),
            ("As of", "as_of_date"),
            ("Tokens available", "tokens_available"),
            ("Tokens used", "tokens_used"),
            ("Tokens total", "tokens_total"),
            ("Available share", "available_share"),
            ("Tokens expiring within 90 days", "tokens_expiring_within_90_days"),
            ("Next expiry date", "next_expiry_date"),
            ("Days to next expiry", "days_to_next_expiry"),
            ("Unallocated tokens (past 30 days)", "unallocated_tokens_past_30_days"),
            ("Unallocated tokens (past 365 days)", "unallocated_tokens_past_365_days"),
            ("Products used (past 90 days)", "products_used_past_90_days"),
            ("Users (past 90 days)", "users_past_90_days"),
            ("Daily burn rate", "daily_burn_rate"),
            ("Run-out date", "run_out_date"),
            ("Tokens expiring unused (next 12 months)", "tokens_expiring_unused_next_12_months"),
            ("Tokens to buy (next 12 months)", "tokens_to_buy_next_12_months"),
            ("Alerts", "alerts"),
        ],
    ),
    (
        "Token events",
        "rpt_token_events",
        [
            ("Date", "event_date"),
            ("Event", "event"),
            ("Tokens", "tokens"),
            ("Subscription ID", "subscription_id"),
            ("Related team", "related_team"),
            ("Event ID", "event_id"),
        ],
    ),
    (
        "Tokens by month",
        "rpt_tokens_by_month",
        [
            ("Month", "month"),
            ("Complete", "complete"),
            ("Tokens used", "tokens_used"),
            ("Products used", "products_used"),
            ("Total users", "total_users"),
        ],
    ),
    (
        "Time ranges",
        "rpt_time_ranges",
        [
            ("Time range", "time_range"),
            ("Start date", "start_date"),
            ("End date", "end_date"),
            ("Months", "months"),
            ("Total tokens used", "total_tokens_used"),
            ("Products used", "products_used"),
            ("Total users", "total_users"),
        ],
    ),
    (
        "Tokens by day",
        "rpt_tokens_by_day",
        [("Date", "usage_date"), ("Tokens used", "tokens_used")],
    ),
    (
        "By product",
        "rpt_by_product",
        [
            ("Time range", "time_range"),
            ("Product", "product"),
            ("Total users", "total_users"),
            ("Total tokens used", "total_tokens_used"),
            ("Average tokens per month", "average_tokens_per_month"),
        ],
    ),
    (
        "Token distribution",
        "rpt_token_distribution",
        [
            ("Time range", "time_range"),
            ("Product", "product"),
            ("Band", "band"),
            ("Users", "users"),
        ],
    ),
    (
        "Users by version",
        "rpt_users_by_version",
        [
            ("Time range", "time_range"),
            ("Product", "product"),
            ("Version", "version"),
            ("Users", "users"),
        ],
    ),
    (
        "Product users",
        "rpt_product_users",
        [
            ("Time range", "time_range"),
            ("Product", "product"),
            ("hashed_autodesk_id", "hashed_autodesk_id"),
            ("User", "user_name"),
            ("Total tokens used", "total_tokens_used"),
            ("Average tokens per month", "average_tokens_per_month"),
        ],
    ),
    (
        "By user",
        "rpt_by_user",
        [
            ("Time range", "time_range"),
            ("hashed_autodesk_id", "hashed_autodesk_id"),
            ("User", "user_name"),
            ("Products used", "products_used"),
            ("Number of products", "number_of_products"),
            ("Total tokens used", "total_tokens_used"),
            ("Days used", "days_used"),
            ("Days in range", "days_in_range"),
        ],
    ),
    (
        "User weekly days",
        "rpt_user_weekly_days",
        [
            ("Time range", "time_range"),
            ("hashed_autodesk_id", "hashed_autodesk_id"),
            ("User", "user_name"),
            ("Product", "product"),
            ("Week starting", "week_starting"),
            ("Days used", "days_used"),
        ],
    ),
    (
        "User versions",
        "rpt_user_versions",
        [
            ("Time range", "time_range"),
            ("hashed_autodesk_id", "hashed_autodesk_id"),
            ("User", "user_name"),
            ("Product", "product"),
            ("Version", "version"),
            ("Days used", "days_used"),
        ],
    ),
    (
        "Subscriptions",
        "rpt_subscriptions",
        [
            ("Subscription ID", "subscription_id"),
            ("Contract number", "contract_number"),
            ("Offering", "offering"),
            ("Term", "term"),
            ("Tokens purchased", "tokens_purchased"),
            ("Start date", "start_date"),
            ("End date", "end_date"),
            ("Status", "status"),
            ("Tokens received", "tokens_received"),
            ("Tokens sent", "tokens_sent"),
            ("Adjustments", "adjustments"),
            ("Tokens used", "tokens_used"),
            ("Tokens remaining", "tokens_remaining"),
            ("Tokens expired", "tokens_expired"),
            ("Reseller name", "reseller_name"),
            ("Reseller email", "reseller_email"),
        ],
    ),
    (
        "Users",
        "rpt_users",
        [
            ("hashed_autodesk_id", "hashed_autodesk_id"),
            ("Autodesk ID", "autodesk_id"),
            ("Email", "email"),
            ("First name", "first_name"),
            ("Last name", "last_name"),
            ("Role", "role"),
            ("Products used", "products_used"),
            ("Last used", "last_used"),
        ],
    ),
    (
        "Usage",
        "rpt_usage",
        [
            ("hashed_autodesk_id", "hashed_autodesk_id"),
            ("Autodesk ID", "autodesk_id"),
            ("Email", "email"),
            ("First name", "first_name"),
            ("Last name", "last_name"),
            ("Team", "team"),
            ("Offering", "offering"),
            ("Product", "product"),
            ("Version", "version"),
            ("Usage type", "usage_type"),
            ("Day used", "day_used"),
            ("Tokens used", "tokens_used"),
        ],
    ),
]
SHEET = {name: (model, columns) for name, model, columns in SHEETS}
SHEET_USERS = next(sheet for sheet in SHEETS if sheet[0] == "Users")

# Reference export order per model (Python sorts strings by code point, like DuckDB).
ORDER = {
    "rpt_summary": lambda r: (),
    "rpt_balances": lambda r: (),
    "rpt_token_events": lambda r: (
        r["event_date"],
        r["entry_order"],
        r["event_ts"] or datetime.min,
        r["event_id"] or "",
        r["subscription_id"],
    ),
    "rpt_tokens_by_month": lambda r: (r["month"],),
    "rpt_time_ranges": lambda r: (r["range_order"],),
    "rpt_tokens_by_day": lambda r: (r["usage_date"],),
    "rpt_by_product": lambda r: (r["range_order"], r["product"]),
    "rpt_token_distribution": lambda r: (r["range_order"], r["product"], r["band_order"]),
    "rpt_users_by_version": lambda r: (r["range_order"], r["product"], r["version"]),
    "rpt_product_users": lambda r: (
        r["range_order"],
        r["product"],
        r["user_name"],
        r["hashed_autodesk_id"],
    ),
    "rpt_by_user": lambda r: (r["range_order"], r["user_name"], r["hashed_autodesk_id"]),
    "rpt_user_weekly_days": lambda r: (
        r["range_order"],
        r["user_name"],
        r["hashed_autodesk_id"],
        r["product"],
        r["week_starting"],
    ),
    "rpt_user_versions": lambda r: (
        r["range_order"],
        r["user_name"],
        r["hashed_autodesk_id"],
        r["product"],
        r["version"],
    ),
    "rpt_subscriptions": lambda r: (r["start_date"], r["subscription_id"]),
    "rpt_users": lambda r: (
        f"{r['first_name']} {r['last_name']}" if PII[r["team_id"]] else r["hashed_autodesk_id"],
        r["hashed_autodesk_id"],
    ),
    "rpt_usage": lambda r: (r["day_used"], r["charge_ts"], r["usage_id"]),
    "rpt_usage_history": lambda r: (r["day_used"], r["charge_ts"], r["usage_id"]),
}


def expected(model: str, columns: list[str], team: str, as_of: date = D, days=None) -> list:
    """The rows a sheet must show: the team's rows, reference-sorted, projected to columns."""
    rows = [r for r in ROWS[model] if r["team_id"] == team and r["as_of_date"] == as_of]
    if days is not None:
        rows = [r for r in rows if days[0] <= r["day_used"] <= days[1]]
    rows.sort(key=ORDER[model])
    return [tuple(_same(None if r[c] == "" else r[c]) for c in columns) for r in rows]


def _same(v: object) -> object:
    """Floats to 15 significant digits: Excel's precision (openpyxl writes 16 digits)."""
    if isinstance(v, Decimal):
        return float(v)
    return float(f"{v:.15g}") if isinstance(v, float) else v


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("wh") / "flex_usage.duckdb", ROWS)


@pytest.fixture(scope="module")
def workbook_a(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_team_workbook(warehouse, "A", D, tmp_path_factory.mktemp("exports"))


def value(cell) -> object:
    """A cell value as written: midnight datetimes as dates, OOXML escapes decoded."""
    v = cell.value
    if isinstance(v, datetime) and v.time() == datetime.min.time():
        return v.date()
    if isinstance(v, str):
        return unescape(v)
    return _same(v)


def sheet_rows(ws) -> list[tuple]:
    return [tuple(value(c) for c in row) for row in ws.iter_rows()]


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------------- nightly workbook


def test_workbook_path_sheets_headers_and_values(workbook_a: Path) -> None:
    assert workbook_a.name == "flex_usage_A_2026-11-27.xlsx"
    assert workbook_a.parent.name == "2026-11-27" and workbook_a.parent.parent.name == "A"
    wb = load_workbook(workbook_a)
    assert wb.sheetnames == [name for name, _, _ in SHEETS] + ["About"]
    for name, model, columns in SHEETS:
        rows = sheet_rows(wb[name])
        assert rows[0] == tuple(header for header, _ in columns), name
        want = expected(model, [column for _, column in columns], "A")
        assert rows[1:] == want, name
    assert len(sheet_rows(wb["Summary"])) == len(sheet_rows(wb["Balances"])) == 2
    assert len(sheet_rows(wb["Tokens by day"])) == 366
    assert len(sheet_rows(wb["Tokens by month"])) == 14
    # Usage holds Past 30 days only: D-29 .. D (the D-30 and D-45 rows are left out).
    days_used = [row[10] for row in sheet_rows(wb["Usage"])[1:]]
    assert min(days_used) == D - timedelta(days=29) and len(days_used) == 7
    # Token events: by date, token events before expirations, then by time of day.
    events = [row[1] for row in sheet_rows(wb["Token events"])[1:]]
    assert events == ["purchase", "adjustment", "transfer_out", "expiration", "transfer_in"]
    balances = sheet_rows(wb["Balances"])[1]
    assert balances[14] == 11.11 and balances[15] == D + timedelta(days=3)
    assert balances[18] == "low balance; run-out within 90 days; usage not covered by a pack"
    subscriptions = sheet_rows(wb["Subscriptions"])
    assert subscriptions[0][7:14] == (
        "Status",
        "Tokens received",
        "Tokens sent",
        "Adjustments",
        "Tokens used",
        "Tokens remaining",
        "Tokens expired",
    )


# Number formats by header, as the contract's presentation rules say.
TWO_DECIMALS = {"Average tokens per month", "Daily burn rate"}
PERCENT = {"Available share"}


def test_cells_are_typed_and_formatted(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    checked = set()
    for name, _, columns in SHEETS:
        headers = [header for header, _ in columns]
        for row in wb[name].iter_rows(min_row=2):
            for cell in row:
                v, header = cell.value, headers[cell.column - 1]
                if isinstance(v, datetime):
                    assert cell.number_format == "yyyy-mm-dd", cell.coordinate
                    checked.add("date")
                elif isinstance(v, int | float):
                    assert cell.data_type == "n"
                    if header in TWO_DECIMALS:
                        assert cell.number_format == "#,##0.00", (name, cell.coordinate)
                    elif header in PERCENT:
                        assert cell.number_format == "0.0%", (name, cell.coordinate)
                    else:  # every token and count figure
                        assert cell.number_format == "#,##0", (name, cell.coordinate)
                    checked.add(header if header in TWO_DECIMALS | PERCENT else "count")
                elif v is not None:
                    assert isinstance(v, str) and cell.data_type == "s"
    assert checked == {"date", "count"} | TWO_DECIMALS | PERCENT
    summary = wb["Summary"]
    assert summary["C2"].value == datetime(2026, 11, 27) and summary["D2"].value == 1001
    # averages: unrounded in data, shown with 2 decimals
    averages = [r[4].value for r in wb["By product"].iter_rows(min_row=2)]
    assert averages[:4] == [1101.0, 1100.0, pytest.approx(1201 / 3, rel=1e-15), 400.0]
    assert wb["Balances"]["G2"].value == 0.05


def test_available_share_fill_follows_low_balance(workbook_a: Path, warehouse: Path, tmp_path):
    red, green = "00F8CBAD", "00C6EFCE"
    share = load_workbook(workbook_a)["Balances"]["G2"]  # A: low balance
    assert share.fill.fill_type == "solid" and share.fill.fgColor.rgb == red
    other = load_workbook(write_team_workbook(warehouse, "B", D, tmp_path))["Balances"]["G2"]
    assert other.value == 0.8 and other.fill.fgColor.rgb == green
    assert other.number_format == "0.0%"
    # only that cell is filled
    for cell in load_workbook(workbook_a)["Balances"][2]:
        assert (cell.fill.fill_type == "solid") == (cell.column_letter == "G"), cell.coordinate


def _shown_length(v: object, header: str) -> int:
    """Characters a value shows with the contract's formats (the test's own rendering)."""
    if isinstance(v, datetime):
        return 10
    if header in PERCENT:
        return len(f"{v * 100:.1f}%")
    if header in TWO_DECIMALS:
        return len(f"{v:,.2f}")
    if isinstance(v, int | float):
        return len(f"{v:,}")
    return len(str(v))


def test_layout_frozen_header_filter_widths(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    for name, _, columns in SHEETS:
        ws = wb[name]
        last_col = get_column_letter(len(columns))
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref == f"A1:{last_col}{ws.max_row}", name
        header_lines = 1
        for index, (header, _) in enumerate(columns, 1):
            width = ws.column_dimensions[get_column_letter(index)].width
            assert width <= 80, (name, header)
            # the header's longest word fits, and the header on at most 3 wrapped lines
            assert width >= max(len(word) for word in header.split()) + 2, (name, header)
            lines = len(textwrap.wrap(header, int(width) - 2))
            assert lines <= 3, (name, header, width)
            header_lines = max(header_lines, lines)
            longest = max(
                (
                    _shown_length(value(c), header)
                    for (c,) in ws.iter_rows(min_row=2, min_col=index, max_col=index)
                    if c.value is not None and header != "Alerts"
                ),
                default=0,
            )
            assert width >= longest + 1, (name, header)
        for cell in ws[1]:
            assert cell.font.b and cell.font.name == "Calibri" and cell.font.sz == 11
            assert cell.alignment.wrap_text
        if header_lines > 1:  # rows of wrapped headers are made tall enough
            assert ws.row_dimensions[1].height >= 15 * header_lines - 15, name
    # 64-character hashed ids fit their columns
    assert wb["Users"].column_dimensions["A"].width >= 66
    assert wb["Product users"].column_dimensions["C"].width >= 66
    assert wb["Summary"].column_dimensions["C"].width == 12  # "yyyy-mm-dd" + margin
    assert wb["Summary"]["D2"].number_format == "#,##0"


def test_print_settings(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    single = {"Summary", "Balances", "Tokens by month", "Time ranges"}
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert int(setup.fitToWidth) == 1, ws.title
        assert int(setup.fitToHeight) == (1 if ws.title in single else 0), ws.title
        assert ws.print_title_rows == "$1:$1", ws.title


def _text(title) -> str:
    return "".join(run.t for paragraph in title.tx.rich.p for run in paragraph.r or [])


def _axis_titles(chart) -> tuple[str, str]:
    return _text(chart.x_axis.title), _text(chart.y_axis.title)


def test_summary_charts(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    line, months = wb["Summary"]._charts
    assert isinstance(line, LineChart)
    assert _text(line.title) == "Tokens used per day (last 365 days)"
    assert _axis_titles(line) == ("Date", "Tokens used")
    (series,) = line.series
    assert series.val.numRef.f == "'Tokens by day'!$B$2:$B$366"
    assert series.cat.numRef.f == "'Tokens by day'!$A$2:$A$366"
    assert isinstance(months, BarChart) and months.type == "col"
    assert _text(months.title) == "Tokens used per month (the current month is incomplete)"
    assert _axis_titles(months) == ("Month", "Tokens used")
    (series,) = months.series
    assert series.val.numRef.f == "'Tokens by month'!$C$2:$C$14"
    assert series.cat.numRef.f == "'Tokens by month'!$A$2:$A$14"
    assert (line.anchor._from.row, months.anchor._from.row) == (3, 20)  # below the table


def test_by_product_chart_plots_past_12_months(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    ws = wb["By product"]
    past_year = [c.row for (c,) in ws["A2:A" + str(ws.max_row)] if c.value == "Past 12 months"]
    assert past_year == [6, 7]  # two products, after Past 30 days and Past 3 months
    (bar,) = ws._charts
    assert isinstance(bar, BarChart) and bar.type == "bar"
    assert _text(bar.title) == "Total tokens used per product (Past 12 months)"
    assert _axis_titles(bar) == ("Product", "Total tokens used")
    (series,) = bar.series
    assert series.val.numRef.f == "'By product'!$D$6:$D$7"
    assert series.cat.strRef.f == "'By product'!$B$6:$B$7"
    assert [ws[f"B{r}"].value for r in (6, 7)] == ["-Minus CAD", "Revit"]


def test_token_distribution_chart_bands_by_product(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    ws = wb["Token distribution"]
    assert ws.max_row == 1 + 3 * 2 * 5
    (chart,) = ws._charts
    assert isinstance(chart, BarChart) and chart.type == "col"
    assert _text(chart.title) == "Users per token band, Past 12 months (every product)"
    assert _axis_titles(chart) == ("Tokens used in the range (band)", "Users")
    # Past 12 months: rows 22-26 (-Minus CAD) and 27-31 (Revit); one series each
    labels = [s.tx.strRef.f for s in chart.series]
    assert labels == ["'Token distribution'!$B$22", "'Token distribution'!$B$27"]
    assert [s.val.numRef.f for s in chart.series] == [
        "'Token distribution'!$D$22:$D$26",
        "'Token distribution'!$D$27:$D$31",
    ]
    for series in chart.series:  # five single-level text categories: the bands
        assert series.cat.multiLvlStrRef is None and series.cat.numRef is None
        assert series.cat.strRef.f == "'Token distribution'!$C$22:$C$26"
    assert [ws[f"C{r}"].value for r in range(22, 27)] == BANDS
    assert chart.legend is not None
    with zipfile.ZipFile(workbook_a) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 4
        assert not any(b"multiLvlStrRef" in archive.read(name) for name in charts)


def test_token_distribution_chart_keeps_the_ten_products_with_most_users(tmp_path: Path) -> None:
    rows = {model: list(r) for model, r in ROWS.items()}
    rows["rpt_token_distribution"] = [
        r
        for r in rows["rpt_token_distribution"]
        if not (r["team_id"] == "A" and r["as_of_date"] == D)
    ]
    # 12 products; P00..P11 with 1..12 users per band except P05 and P07 tied at 3 users.
    users = {f"P{i:02d}": i + 1 for i in range(12)}
    users["P05"] = users["P07"] = 3
    for product, count in users.items():
        for band_order, band in enumerate(BANDS, 1):
            rows["rpt_token_distribution"].append(
                {
                    "team_id": "A",
                    "as_of_date": D,
                    "range_order": 5,
                    "time_range": "Past 12 months",
                    "product": product,
                    "band_order": band_order,
                    "band": band,
                    "users": count,
                }
            )
    path = write_team_workbook(build_warehouse(tmp_path / "wh.duckdb", rows), "A", D, tmp_path)
    ws = load_workbook(path)["Token distribution"]
    (chart,) = ws._charts
    assert _text(chart.title) == (
        "Users per token band, Past 12 months (the 10 products with the most users)"
    )
    # most users first: P11..P08, P06, P05 and P07 (3 each; P05 wins the tie by name), P04...
    # P00 (1) and P01 (2) are left out; series in product order
    charted = [ws[s.tx.strRef.f.split("!")[1].replace("$", "")].value for s in chart.series]
    assert charted == ["P02", "P03", "P04", "P05", "P06", "P07", "P08", "P09", "P10", "P11"]
    first = 2 + 2 * 5  # P02's rows
    assert chart.series[0].val.numRef.f == f"'Token distribution'!$D${first}:$D${first + 4}"


def test_about_sheet(workbook_a: Path, warehouse: Path, tmp_path: Path) -> None:
    about = sheet_rows(load_workbook(workbook_a)["About"])
    assert about[0] == ("Topic", "Explanation")
    topics = dict(about[1:])
    assert topics["Report date"].startswith("2026-11-27")
    assert topics["Personal data"].startswith("Shown")
    ranges = expected("rpt_time_ranges", ["time_range", "start_date", "end_date"], "A")
    assert [(k, v) for k, v in about[1:] if k.startswith("Time range")] == [
        (f"Time range: {name}", f"{start.isoformat()} to {end.isoformat()}")
        for name, start, end in ranges
    ]
    assert [k for k, _ in about[1:] if k.startswith("Sheet: ")] == [
        f"Sheet: {name}" for name, _, _ in SHEETS
    ]
    masked = sheet_rows(load_workbook(write_team_workbook(warehouse, "B", D, tmp_path))["About"])
    assert dict(masked[1:])["Personal data"].startswith("Hidden")
    # no user's name, e-mail or id, of any team
    identities = {
        str(r[key])
        for r in ROWS["rpt_users"]
        for key in ("hashed_autodesk_id", "autodesk_id", "email", "first_name", "last_name")
        if r[key] not in ("", MASK)
    }
    for rows in (about, masked):
        text = " ".join(v for row in rows for v in row)
        assert not [who for who in identities if who in text]
    ws = load_workbook(workbook_a)["About"]
    assert ws["B3"].alignment.wrap_text and ws.column_dimensions["B"].width <= 90


def test_formula_like_text_is_quote_prefixed_text(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                text = value(cell)
                if not isinstance(text, str):
                    continue
                assert cell.data_type == "s"
                risky = text[:1] in ("=", "+", "-", "@", "\t", "\r")
                assert bool(cell.quotePrefix) == risky, (ws.title, cell.coordinate, text)
                seen.add(text[:1]) if risky else None
    assert seen == {"=", "+", "-", "@", "\t", "\r"}
    assert sheet_rows(wb["Users"])[1][3] == '=HYPERLINK("http://evil.test")'
    with zipfile.ZipFile(workbook_a) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = archive.read(name).decode()
                assert "<f>" not in xml and "<f " not in xml, name
        users_xml = archive.read(f"xl/worksheets/sheet{SHEETS.index(SHEET_USERS) + 1}.xml")
        users_xml = users_xml.decode()
    assert "<t>=HYPERLINK(&quot;http://evil.test&quot;)</t>" in users_xml or (
        '<t>=HYPERLINK("http://evil.test")</t>' in users_xml
    )
    assert "_x000D_Carriage" in users_xml  # CR kept (OOXML escape), not turned into LF


def test_team_isolation_every_cell(warehouse: Path, workbook_a: Path) -> None:
    def values(rows: list[dict]) -> set:
        return {v for row in rows for v in row.values() if v not in (None, "")}

    own = set()
    others = set()
    for rows in ROWS.values():
        own |= values([r for r in rows if r["team_id"] == "A" and r["as_of_date"] == D])
        others |= values([r for r in rows if not (r["team_id"] == "A" and r["as_of_date"] == D)])
    foreign = others - own
    assert "Maya B-only" in foreign and 900001 in foreign and 700001 in foreign
    headers = {header for _, _, columns in SHEETS for header, _ in columns}
    wb = load_workbook(workbook_a)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = value(cell)
                assert v is None or v in headers or v not in foreign, (ws.title, cell.coordinate, v)


def test_team_b_workbook_is_masked_and_its_own(warehouse: Path, tmp_path: Path) -> None:
    path = write_team_workbook(warehouse, "B", D, tmp_path)
    wb = load_workbook(path)
    for name, model, columns in SHEETS:
        assert sheet_rows(wb[name])[1:] == expected(model, [c for _, c in columns], "B"), name
    assert {row[3] for row in sheet_rows(wb["Users"])[1:]} == {MASK}


def test_row_limit_continues_on_numbered_sheets(warehouse: Path, tmp_path: Path) -> None:
    path = write_team_workbook(warehouse, "A", D, tmp_path, max_rows=100)
    wb = load_workbook(path)
    days = [n for n in wb.sheetnames if n.startswith("Tokens by day")]
    assert days == ["Tokens by day", "Tokens by day (2)", "Tokens by day (3)", "Tokens by day (4)"]
    assert wb.sheetnames.index("Tokens by day (4)") + 1 == wb.sheetnames.index("By product")
    parts = [sheet_rows(wb[n]) for n in days]
    assert [len(p) for p in parts] == [100, 100, 100, 69]
    assert all(p[0] == ("Date", "Tokens used") for p in parts)
    model, columns = SHEET["Tokens by day"]
    assert [r for p in parts for r in p[1:]] == expected(model, [c for _, c in columns], "A")
    line, _ = wb["Summary"]._charts
    assert line.series[0].val.numRef.f == "'Tokens by day'!$B$2:$B$100"


def test_reproducible_bytes(warehouse: Path, workbook_a: Path, tmp_path: Path) -> None:
    again = write_team_workbook(warehouse, "A", D, tmp_path)
    assert again.read_bytes() == workbook_a.read_bytes()
    props = load_workbook(again).properties
    assert props.created == props.modified == datetime(2026, 11, 27)


def test_atomic_write_leaves_only_the_workbook(workbook_a: Path) -> None:
    assert [p.name for p in workbook_a.parent.iterdir()] == [workbook_a.name]


def test_atomic_write_failure_leaves_nothing(tmp_path: Path) -> None:
    def broken(handle) -> None:
        handle.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_file_atomically(tmp_path / "out" / "book.xlsx", broken)
    assert files_under(tmp_path) == []

    def half_written(folder: Path) -> list[str]:
        (folder / "a.csv").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_folder_atomically(tmp_path / "folder", half_written)
    assert files_under(tmp_path) == [] and not (tmp_path / "folder").exists()


def _temp(folder: Path, writer: str, age_seconds: float = 0) -> Path:
    """A temp of ``book.xlsx`` as ``writer`` (``<pid>@<host>``) would leave it."""
    path = folder / f".book.xlsx.{writer}.{len(list(folder.iterdir()))}abc.tmp"
    path.write_bytes(b"partial")
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def _ended_pid() -> int:
    """The pid of a process that has exited (a killed writer's)."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(ended.stdout)


def test_only_stale_temp_files_are_removed(tmp_path: Path) -> None:
    host, me = socket.gethostname(), os.getpid()
    dead = _ended_pid()
    live = _temp(tmp_path, f"{me}@{host}")  # another writer, still at work
    elsewhere = _temp(tmp_path, f"{dead}@other-host.example")  # pid not ours to judge
    legacy = _temp(tmp_path, "tmpname")  # writer unknown
    killed = _temp(tmp_path, f"{dead}@{host}")
    old = _temp(tmp_path, f"{me}@{host}", age_seconds=2 * 3600)
    old_legacy = _temp(tmp_path, "tmpname", age_seconds=2 * 3600)
    write_file_atomically(tmp_path / "book.xlsx", lambda handle: handle.write(b"done"))
    assert (tmp_path / "book.xlsx").read_bytes() == b"done"
    left = {p for p in tmp_path.iterdir() if p.name != "book.xlsx"}
    assert left == {live, elsewhere, legacy}
    assert not {killed, old, old_legacy} & left


def test_temp_folders_of_killed_exports_are_removed(tmp_path: Path) -> None:
    host, me = socket.gethostname(), os.getpid()
    killed = tmp_path / f".20261127T090000Z.{_ended_pid()}@{host}.x1.tmp"
    live = tmp_path / f".20261127T090001Z.{me}@{host}.x2.tmp"
    for folder in (killed, live):
        folder.mkdir()
        (folder / "usage.csv").write_text("partial")

    def write(folder: Path) -> list[str]:
        (folder / "users.csv").write_text("done")
        return ["users.csv"]

    written = write_folder_atomically(tmp_path / "20261127T100000Z", write)
    assert [p.read_text() for p in written] == ["done"]
    assert not killed.exists() and (live / "usage.csv").exists()


def test_writer_starting_mid_write_keeps_the_other_temp(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"

    def slow(handle) -> None:  # a second writer of the same file starts meanwhile
        handle.write(b"first")
        write_file_atomically(path, lambda other: other.write(b"second"))

    write_file_atomically(path, slow)
    assert path.read_bytes() == b"first" and files_under(tmp_path) == [path]


@pytest.mark.parametrize("team_id", ["../A", "A/B", "..", "", "A.B", "x" * 65, "A B", "Ä"])
def test_unsafe_team_ids_are_refused(warehouse: Path, tmp_path: Path, team_id: str) -> None:
    with pytest.raises(ExportRequestError, match="invalid team id"):
        write_team_workbook(warehouse, team_id, D, tmp_path)
    with pytest.raises(ExportRequestError, match="invalid team id"):
        export_on_demand(warehouse, team_id, ["users"], "csv", None, None, D, tmp_path, NOW)
    assert files_under(tmp_path) == []


def test_inactive_team_gets_no_workbook(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportRequestError, match="team C has no reports as of 2026-11-27"):
        write_team_workbook(warehouse, "C", D, tmp_path)
    assert files_under(tmp_path) == []


def test_write_all_workbooks_parallel_matches_sequential(warehouse: Path, tmp_path: Path) -> None:
    parallel = write_all_workbooks(warehouse, D, tmp_path / "p", workers=2)
    sequential = write_all_workbooks(warehouse, D, tmp_path / "s", workers=1)
    assert [p.relative_to(tmp_path / "p") for p in parallel] == [
        Path("A/2026-11-27/flex_usage_A_2026-11-27.xlsx"),
        Path("B/2026-11-27/flex_usage_B_2026-11-27.xlsx"),
    ]
    assert [p.read_bytes() for p in parallel] == [s.read_bytes() for s in sequential]
    assert write_all_workbooks(warehouse, PREVIOUS, tmp_path / "prev", team_ids=["C"]) == [
        tmp_path / "prev/C/2026-11-26/flex_usage_C_2026-11-26.xlsx"
    ]


def test_worker_processes_only_for_many_teams(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ProcessPoolExecutor

    from orchestration.exports import workbook

    pools: list[int | None] = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, max_workers=None, **kwargs) -> None:
            pools.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(workbook, "ProcessPoolExecutor", CountedPool)
    few = write_all_workbooks(warehouse, D, tmp_path / "few")  # two teams: A and B
    assert pools == [] and len(few) == 2
    monkeypatch.setattr(workbook, "MIN_TEAMS_FOR_WORKERS", 2)
    many = write_all_workbooks(warehouse, D, tmp_path / "many")
    assert pools == [workbook.DEFAULT_WORKERS]
    assert [p.read_bytes() for p in many] == [p.read_bytes() for p in few]


def test_write_all_workbooks_refusals(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no reports as of 2026-11-28"):
        write_all_workbooks(warehouse, D + timedelta(days=1), tmp_path)
    with pytest.raises(ExportRequestError, match="without reports as of 2026-11-27: C"):
        write_all_workbooks(warehouse, D, tmp_path, team_ids=["A", "C"])
    with pytest.raises(ExportRequestError, match="invalid team id"):
        write_all_workbooks(warehouse, D, tmp_path, team_ids=["../A"])
    assert write_all_workbooks(warehouse, D + timedelta(days=1), tmp_path, team_ids=[]) == []
    assert files_under(tmp_path) == []


def test_missing_report_model_is_a_clear_error(tmp_path: Path) -> None:
    rows = {model: r for model, r in ROWS.items()}
    path = build_warehouse(tmp_path / "wh.duckdb", rows)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE main.rpt_user_versions")
    con.close()
    pending = list(ALL_TEMP_FILES)  # openpyxl's per-sheet temp files not yet removed
    with pytest.raises(ExportError, match="main.rpt_user_versions is missing"):
        write_team_workbook(path, "A", D, tmp_path / "exports")
    assert not (tmp_path / "exports").exists()
    assert pending == ALL_TEMP_FILES  # the nine sheets already streamed were cleaned up


# --------------------------------------------------------------------- on-demand


def _on_demand_columns(sheet: str) -> list[str]:
    return [column for _, column in SHEET[sheet][1]]


def test_on_demand_xlsx(warehouse: Path, tmp_path: Path) -> None:
    start, end = D - timedelta(days=30), D - timedelta(days=1)
    (path,) = export_on_demand(
        warehouse, "A", ["usage", "subscriptions", "users"], "xlsx", start, end, D, tmp_path, NOW
    )
    assert path == tmp_path / "A" / "on-demand" / STAMP / f"flex_usage_A_{STAMP}.xlsx"
    assert files_under(tmp_path) == [path]
    wb = load_workbook(path)
    assert wb.sheetnames == ["Subscriptions", "Users", "Usage"]
    for name in ("Subscriptions", "Users"):
        model = SHEET[name][0]
        assert sheet_rows(wb[name])[1:] == expected(model, _on_demand_columns(name), "A")
    usage = expected("rpt_usage_history", _on_demand_columns("Usage"), "A", days=(start, end))
    assert sheet_rows(wb["Usage"])[1:] == usage
    assert {row[10] for row in usage} == {D - timedelta(days=d) for d in (30, 29, 20, 10, 3, 1)}
    assert wb["Usage"].freeze_panes == "A2" and wb["Usage"]["L2"].value == 1501


def test_on_demand_xlsx_row_limit_and_default_range(warehouse: Path, tmp_path: Path) -> None:
    (path,) = export_on_demand(
        warehouse, "A", ["usage"], "xlsx", None, None, D, tmp_path, NOW, max_rows=5
    )
    wb = load_workbook(path)
    assert wb.sheetnames == ["Usage", "Usage (2)"]
    first, second = sheet_rows(wb["Usage"]), sheet_rows(wb["Usage (2)"])
    assert first[0] == second[0] == tuple(h for h, _ in SHEET["Usage"][1])
    assert len(first) == 5
    default = (D - timedelta(days=29), D)
    want = expected("rpt_usage_history", _on_demand_columns("Usage"), "A", days=default)
    assert first[1:] + second[1:] == want and len(want) == 7


def test_on_demand_csv(warehouse: Path, tmp_path: Path) -> None:
    paths = export_on_demand(
        warehouse,
        "A",
        ["users", "usage", "subscriptions"],
        "csv",
        D - timedelta(days=45),
        D - timedelta(days=29),
        D,
        tmp_path,
        datetime.fromisoformat("2026-11-28T05:15:00+01:00"),
    )
    folder = tmp_path / "A" / "on-demand" / STAMP
    assert paths == [folder / "subscriptions.csv", folder / "users.csv", folder / "usage.csv"]
    assert files_under(tmp_path) == sorted(paths)

    def text(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, str) and re.match(r"[=+\-@\t\r]", v):
            return "'" + v
        return v.isoformat() if isinstance(v, date) else str(v)

    days = (D - timedelta(days=45), D - timedelta(days=29))
    for path, sheet, model in (
        (paths[0], "Subscriptions", "rpt_subscriptions"),
        (paths[1], "Users", "rpt_users"),
        (paths[2], "Usage", "rpt_usage_history"),
    ):
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == [h for h, _ in SHEET[sheet][1]]
        span = days if model == "rpt_usage_history" else None
        want = expected(model, _on_demand_columns(sheet), "A", days=span)
        assert rows[1:] == [[text(v) for v in row] for row in want], sheet
    users = paths[1].read_bytes().decode("utf-8")
    assert "'=HYPERLINK" in users and "'+1 555" in users and "'@attacker" in users
    assert "'-42" in users and "'\rCarriage" in users
    usage = paths[2].read_bytes().decode("utf-8")
    assert "'-Minus CAD" in usage and "'\tTabbed" in usage and "2026-10-13" in usage


def test_on_demand_masked_team_and_reproducible(warehouse: Path, tmp_path: Path) -> None:
    args = (warehouse, "B", ["users", "usage"], "xlsx", None, None, D)
    (one,) = export_on_demand(*args, tmp_path / "one", NOW)
    (two,) = export_on_demand(*args, tmp_path / "two", NOW)
    assert one.read_bytes() == two.read_bytes()
    wb = load_workbook(one)
    assert sheet_rows(wb["Users"])[1:] == expected("rpt_users", _on_demand_columns("Users"), "B")
    assert "Maya B-only" in {row[7] for row in sheet_rows(wb["Usage"])}


@pytest.mark.parametrize(
    ("team", "types", "fmt", "start", "end", "message"),
    [
        ("C", ["users"], "csv", None, None, "unknown team C"),
        ("ZZ", ["users"], "csv", None, None, "unknown team ZZ"),
        ("A", ["payments"], "csv", None, None, "unknown report type"),
        ("A", ["users", "Usage"], "csv", None, None, "unknown report type"),
        ("A", [], "csv", None, None, "at least one report type"),
        ("A", "usage", "csv", None, None, "at least one report type"),
        ("A", ["users"], "pdf", None, None, "unknown format 'pdf'"),
        ("A", ["usage"], "csv", D - timedelta(days=2), D - timedelta(days=3), "after it ends"),
        ("A", ["usage"], "xlsx", D - timedelta(days=365), D, "spans 366 days"),
        ("A", ["usage"], "xlsx", None, D + timedelta(days=1), "on or before the report date"),
        ("A", ["usage"], "xlsx", D, D + timedelta(days=1), "on or before the report date"),
        # a given range is checked the same way when Usage is not chosen
        ("A", ["users"], "csv", D, PREVIOUS, "after it ends"),
        ("A", ["subscriptions", "users"], "xlsx", D, D - timedelta(days=2), "after it ends"),
        ("A", ["users"], "xlsx", D - timedelta(days=365), D, "spans 366 days"),
        ("A", ["subscriptions"], "csv", PREVIOUS, D + timedelta(days=1), "on or before"),
    ],
)
def test_on_demand_refusals_write_nothing(
    warehouse: Path, tmp_path: Path, team, types, fmt, start, end, message
) -> None:
    with pytest.raises(ExportRequestError, match=message):
        export_on_demand(warehouse, team, types, fmt, start, end, D, tmp_path, NOW)
    assert list(tmp_path.rglob("*")) == []


def test_on_demand_range_limits_and_range_without_usage(warehouse: Path, tmp_path: Path) -> None:
    (full_year,) = export_on_demand(
        warehouse, "A", ["usage"], "csv", D - timedelta(days=364), D, D, tmp_path / "y", NOW
    )
    assert len(full_year.read_text(encoding="utf-8").splitlines()) == 1 + 9
    # A valid range does not change the other types.
    (ranged,) = export_on_demand(warehouse, "A", ["users"], "csv", D, D, D, tmp_path / "r", NOW)
    (plain,) = export_on_demand(warehouse, "A", ["users"], "csv", None, None, D, tmp_path, NOW)
    assert ranged.read_bytes() == plain.read_bytes()


def test_on_demand_same_second_gets_distinct_folders(warehouse: Path, tmp_path: Path) -> None:
    first = export_on_demand(warehouse, "A", ["users"], "csv", None, None, D, tmp_path, NOW)
    second = export_on_demand(
        warehouse, "A", ["subscriptions"], "xlsx", None, None, D, tmp_path, NOW
    )
    third = export_on_demand(warehouse, "A", ["users"], "csv", None, None, D, tmp_path, NOW)
    folders = [paths[0].parent.name for paths in (first, second, third)]
    assert folders == [STAMP, f"{STAMP}-02", f"{STAMP}-03"] == sorted(folders)
    assert first[0].read_bytes() == third[0].read_bytes()
    assert files_under(tmp_path) == sorted([*first, *second, *third])


def test_folder_taken_while_writing_goes_to_the_next_name(tmp_path: Path) -> None:
    target = tmp_path / STAMP

    def write(folder: Path) -> list[str]:  # another export publishes the name meanwhile
        assert write_folder_atomically(target, lambda other: [_file(other, "b.csv")])
        return [_file(folder, "a.csv")]

    (mine,) = write_folder_atomically(target, write)
    assert mine == tmp_path / f"{STAMP}-02" / "a.csv"
    assert files_under(tmp_path) == [target / "b.csv", mine]


def _file(folder: Path, name: str) -> str:
    (folder / name).write_text(name)
    return name
