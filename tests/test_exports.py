"""Tests of the spreadsheet exports (orchestration.exports).

The warehouse is a DuckDB file built here with the report tables of docs/ARCHITECTURE.md
and hand-made rows, inserted shuffled. Expected sheets are derived from those rows with
this file's own copy of the export contract (sheet names, headers, column sources) and
small reference sort keys, then compared with the files read back by openpyxl / csv.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import re
import socket
import subprocess
import sys
import time
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart
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

D = date(2026, 11, 27)
PREVIOUS = D - timedelta(days=1)
MASK = "*****"
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
PII = {"A": True, "B": False, "C": True}

# Reference export order per model (Python sorts strings by code point, like DuckDB).
ORDER = {
    "rpt_summary": lambda r: (),
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

_RANGE_COLS = "range_order INTEGER, time_range VARCHAR"
_USAGE_COLS = (
    "usage_id VARCHAR, charge_ts TIMESTAMP, hashed_autodesk_id VARCHAR, autodesk_id VARCHAR, "
    "email VARCHAR, first_name VARCHAR, last_name VARCHAR, team VARCHAR, offering VARCHAR, "
    "product VARCHAR, version VARCHAR, usage_type VARCHAR, day_used DATE, tokens_used BIGINT"
)
SCHEMAS = {
    "rpt_summary": "team VARCHAR, tokens_used BIGINT, tokens_remaining BIGINT, "
    "tokens_added BIGINT, tokens_removed BIGINT, tokens_net BIGINT",
    "rpt_time_ranges": f"{_RANGE_COLS}, start_date DATE, end_date DATE, months INTEGER, "
    "total_tokens_used HUGEINT, products_used BIGINT, total_users BIGINT",
    "rpt_tokens_by_day": "usage_date DATE, tokens_used HUGEINT",
    "rpt_by_product": f"{_RANGE_COLS}, product VARCHAR, total_users BIGINT, "
    "total_tokens_used HUGEINT, average_tokens_per_month DOUBLE",
    "rpt_token_distribution": f"{_RANGE_COLS}, product VARCHAR, band_order INTEGER, "
    "band VARCHAR, users BIGINT",
    "rpt_users_by_version": f"{_RANGE_COLS}, product VARCHAR, version VARCHAR, users BIGINT",
    "rpt_product_users": f"{_RANGE_COLS}, product VARCHAR, hashed_autodesk_id VARCHAR, "
    "user_name VARCHAR, total_tokens_used HUGEINT, average_tokens_per_month DOUBLE",
    "rpt_by_user": f"{_RANGE_COLS}, hashed_autodesk_id VARCHAR, user_name VARCHAR, "
    "products_used VARCHAR, number_of_products BIGINT, total_tokens_used HUGEINT, "
    "days_used BIGINT, days_in_range INTEGER",
    "rpt_user_weekly_days": f"{_RANGE_COLS}, hashed_autodesk_id VARCHAR, user_name VARCHAR, "
    "product VARCHAR, week_starting DATE, days_used BIGINT",
    "rpt_user_versions": f"{_RANGE_COLS}, hashed_autodesk_id VARCHAR, user_name VARCHAR, "
    "product VARCHAR, version VARCHAR, days_used BIGINT",
    "rpt_subscriptions": "subscription_id VARCHAR, contract_number VARCHAR, offering VARCHAR, "
    "term VARCHAR, tokens_purchased BIGINT, start_date DATE, end_date DATE, status VARCHAR, "
    "tokens_used HUGEINT, tokens_remaining HUGEINT, tokens_expired HUGEINT, "
    "reseller_name VARCHAR, reseller_email VARCHAR",
    "rpt_users": "hashed_autodesk_id VARCHAR, autodesk_id VARCHAR, email VARCHAR, "
    "first_name VARCHAR, last_name VARCHAR, role VARCHAR, products_used VARCHAR, last_used DATE",
    "rpt_usage_history": _USAGE_COLS,
    "rpt_usage": _USAGE_COLS,
}

# ------------------------------------------------------------------------ hand-made rows

BANDS = ["0-100", "101-500", "501-1000", "1001-5000", "5001+"]


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _users(team: str) -> list[dict]:
    """Team members: id, names, email, role (PII already applied for masked teams)."""
    if team == "A":
        people = [
            ("ADSK-A1", "Amy", "Zu", "amy@acme.test", "Admin"),
            ("ADSK-A2", "Zed", "Adams", "zed@acme.test", "User"),
            ("-42", '=HYPERLINK("http://evil.test")', "+1 555", "@attacker", "\rCarriage"),
        ]
    elif team == "B":
        people = [
            ("ADSK-B1", "Bea", "Bolt", "bea@bolt.test", "Admin"),
            ("ADSK-B2", "Bo", "B", "", ""),
        ]
    else:
        people = [("ADSK-C1", "Cy", "Cee", "cy@c.test", "Admin")]
    users = []
    for autodesk_id, first, last, email, role in people:
        hashed = _hashed(autodesk_id)
        if PII[team]:
            shown = {"autodesk_id": autodesk_id, "email": email, "first_name": first}
            shown |= {"last_name": last, "user_name": f"{first} {last}"}
        else:
            shown = {key: MASK for key in ("autodesk_id", "email", "first_name", "last_name")}
            shown["user_name"] = hashed
        users.append({"hashed_autodesk_id": hashed, "role": role or "User", **shown})
    return users


def team_rows(team: str, as_of: date, base: int) -> dict[str, list[dict]]:
    """Report rows of one team as of one date; ``base`` makes the team's numbers distinct."""
    alias = {"A": "Acme", "B": "Bolt Corp", "C": "Cee Ltd"}[team]
    products = {"A": ["Revit", "-Minus CAD"], "B": ["Revit", "Maya B-only"], "C": ["Revit"]}[team]
    versions = {"A": ["2025", "\tTabbed"], "B": ["2024"], "C": ["2023"]}[team]
    users = _users(team)
    ranges = [
        (1, "Past 30 days", as_of - timedelta(days=29), as_of, 1),
        (2, "Past 3 months", date(2026, 8, 1), date(2026, 10, 31), 3),
        (3, "Past 6 months", date(2026, 5, 1), date(2026, 10, 31), 6),
        (4, "Past 9 months", date(2026, 2, 1), date(2026, 10, 31), 9),
        (5, "Past 12 months", date(2025, 11, 1), date(2026, 10, 31), 12),
    ]
    rows: dict[str, list[dict]] = {model: [] for model in SCHEMAS}
    rows["rpt_summary"].append(
        {
            "team": alias,
            "tokens_used": base + 1,
            "tokens_remaining": base + 2,
            "tokens_added": base + 3,
            "tokens_removed": -(base + 4),
            "tokens_net": -1,
        }
    )
    for order, label, first, last, months in ranges:
        rows["rpt_time_ranges"].append(
            {
                "range_order": order,
                "time_range": label,
                "start_date": first,
                "end_date": last,
                "months": months,
                "total_tokens_used": base + 10 * order,
                "products_used": len(products),
                "total_users": len(users),
            }
        )
    for offset in range(365):
        day = as_of - timedelta(days=364 - offset)
        rows["rpt_tokens_by_day"].append({"usage_date": day, "tokens_used": base + offset % 7})
    for order, label, first, last, months in ranges[:2]:
        span = {"range_order": order, "time_range": label}
        for p_index, product in enumerate(products):
            total = base + 100 * order + p_index
            rows["rpt_by_product"].append(
                span
                | {
                    "product": product,
                    "total_users": len(users),
                    "total_tokens_used": total,
                    "average_tokens_per_month": total / months,
                }
            )
            for band_order, band in enumerate(BANDS, 1):
                rows["rpt_token_distribution"].append(
                    span
                    | {
                        "product": product,
                        "band_order": band_order,
                        "band": band,
                        "users": band_order,
                    }
                )
            for version in versions:
                rows["rpt_users_by_version"].append(
                    span | {"product": product, "version": version, "users": 2}
                )
            for u_index, user in enumerate(users):
                who = {key: user[key] for key in ("hashed_autodesk_id", "user_name")}
                total = base + 1000 * order + 10 * p_index + u_index
                rows["rpt_product_users"].append(
                    span
                    | who
                    | {
                        "product": product,
                        "total_tokens_used": total,
                        "average_tokens_per_month": total / months,
                    }
                )
                rows["rpt_user_weekly_days"].append(
                    span | who | {"product": product, "week_starting": first, "days_used": 3}
                )
                for version in versions:
                    rows["rpt_user_versions"].append(
                        span | who | {"product": product, "version": version, "days_used": 4}
                    )
        for u_index, user in enumerate(users):
            rows["rpt_by_user"].append(
                span
                | {key: user[key] for key in ("hashed_autodesk_id", "user_name")}
                | {
                    "products_used": "; ".join(sorted(products)),
                    "number_of_products": len(products),
                    "total_tokens_used": base + 50 * order + u_index,
                    "days_used": 5 + u_index,
                    "days_in_range": (last - first).days + 1,
                }
            )
    packs = [("SUB-2", date(2026, 1, 1)), ("SUB-1", date(2026, 1, 1)), ("SUB-0", date(2026, 6, 1))]
    for p_index, (suffix, start) in enumerate(packs):
        rows["rpt_subscriptions"].append(
            {
                "subscription_id": f"{team}-{suffix}",
                "contract_number": f"C-{team}{p_index}",
                "offering": "Flex",
                "term": "Annual",
                "tokens_purchased": base + 7000 + p_index,
                "start_date": start,
                "end_date": start + timedelta(days=364),
                "status": "Active",
                "tokens_used": base + 20 + p_index,
                "tokens_remaining": base + 30 + p_index,
                "tokens_expired": 0,
                "reseller_name": f"Reseller {team}",
                "reseller_email": "=cmd|' /C calc'!A0" if team == "A" else f"sales@{team}.test",
            }
        )
    for u_index, user in enumerate(users):
        rows["rpt_users"].append(
            {key: user[key] for key in ("hashed_autodesk_id", "autodesk_id", "email", "role")}
            | {key: user[key] for key in ("first_name", "last_name")}
            | {
                "products_used": "; ".join(sorted(products)) if u_index else "",
                "last_used": as_of - timedelta(days=u_index) if u_index != 1 else None,
            }
        )
    # Usage history: days before, at and inside Past 30 days; two charges on D.
    offsets = [45, 30, 29, 20, 10, 3, 1, 0, 0]
    for index, offset in enumerate(offsets):
        user = users[index % len(users)]
        rows["rpt_usage_history"].append(
            {key: user[key] for key in ("hashed_autodesk_id", "autodesk_id", "email")}
            | {key: user[key] for key in ("first_name", "last_name")}
            | {
                "usage_id": f"{team}-U{index:02d}",
                "charge_ts": datetime.combine(as_of - timedelta(days=offset), datetime.min.time())
                + timedelta(hours=23 - index),
                "team": alias,
                "offering": "Flex",
                "product": products[index % len(products)],
                "version": versions[index % len(versions)],
                "usage_type": "Design",
                "day_used": as_of - timedelta(days=offset),
                "tokens_used": base + 500 + index,
            }
        )
    rows["rpt_usage"] = [
        row for row in rows["rpt_usage_history"] if row["day_used"] >= as_of - timedelta(days=29)
    ]
    for model_rows in rows.values():
        for row in model_rows:
            row.update(team_id=team, as_of_date=as_of)
    return rows


def all_rows() -> dict[str, list[dict]]:
    """Teams A (PII) and B (masked) as of D; A again and C only as of the day before."""
    merged: dict[str, list[dict]] = {model: [] for model in SCHEMAS}
    for team, as_of, base in (("A", D, 1000), ("B", D, 900000), ("A", PREVIOUS, 700000)):
        for model, rows in team_rows(team, as_of, base).items():
            merged[model] += rows
    for model, rows in team_rows("C", PREVIOUS, 800000).items():
        merged[model] += rows
    return merged


def build_warehouse(path: Path, rows: dict[str, list[dict]]) -> Path:
    con = duckdb.connect(str(path))
    for model, columns in SCHEMAS.items():
        con.execute(f"CREATE TABLE main.{model} (team_id VARCHAR, as_of_date DATE, {columns})")
        names = ["team_id", "as_of_date"] + [c.split()[0] for c in columns.split(", ")]
        shuffled = list(rows[model])
        random.Random(model).shuffle(shuffled)
        if shuffled:
            table = pa.Table.from_pylist([{name: row[name] for name in names} for row in shuffled])
            con.register("incoming", table)
            con.execute(f"INSERT INTO main.{model} BY NAME SELECT * FROM incoming")
            con.unregister("incoming")
    con.close()
    return path


def expected(model: str, columns: list[str], team: str, as_of: date = D, days=None) -> list:
    """The rows a sheet must show: the team's rows, reference-sorted, projected to columns."""
    rows = [r for r in ROWS[model] if r["team_id"] == team and r["as_of_date"] == as_of]
    if days is not None:
        rows = [r for r in rows if days[0] <= r["day_used"] <= days[1]]
    rows.sort(key=ORDER[model])
    return [tuple(_same(None if r[c] == "" else r[c]) for c in columns) for r in rows]


def _same(v: object) -> object:
    """Floats to 15 significant digits: Excel's precision (openpyxl writes 16 digits)."""
    return float(f"{v:.15g}") if isinstance(v, float) else v


ROWS = all_rows()

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
    assert wb.sheetnames == [name for name, _, _ in SHEETS]
    for name, model, columns in SHEETS:
        rows = sheet_rows(wb[name])
        assert rows[0] == tuple(header for header, _ in columns), name
        want = expected(model, [column for _, column in columns], "A")
        assert rows[1:] == want, name
    assert len(sheet_rows(wb["Summary"])) == 2
    assert len(sheet_rows(wb["Tokens by day"])) == 366
    # Usage holds Past 30 days only: D-29 .. D (the D-30 and D-45 rows are left out).
    days_used = [row[10] for row in sheet_rows(wb["Usage"])[1:]]
    assert min(days_used) == D - timedelta(days=29) and len(days_used) == 7


def test_cells_are_typed(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    checked = set()
    for name, _, _ in SHEETS:
        for row in wb[name].iter_rows(min_row=2):
            for cell in row:
                v = cell.value
                if isinstance(v, datetime):
                    assert cell.number_format == "yyyy-mm-dd", cell.coordinate
                    checked.add("date")
                elif isinstance(v, float):
                    assert cell.number_format == "0.00", cell.coordinate
                    checked.add("float")
                elif isinstance(v, int):
                    assert cell.data_type == "n"
                    checked.add("int")
                elif v is not None:
                    assert isinstance(v, str) and cell.data_type == "s"
    assert checked == {"date", "float", "int"}
    summary = wb["Summary"]
    assert summary["C2"].value == datetime(2026, 11, 27) and summary["D2"].value == 1001
    # averages: unrounded in data, shown with 2 decimals
    averages = [r[4].value for r in wb["By product"].iter_rows(min_row=2)]
    assert averages == [1101.0, 1100.0, pytest.approx(1201 / 3, rel=1e-15), 400.0]


def test_layout_frozen_header_filter_widths(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    for name, _, columns in SHEETS:
        ws = wb[name]
        last_col = chr(ord("A") + len(columns) - 1)
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref == f"A1:{last_col}{ws.max_row}", name
        for index, (header, _) in enumerate(columns):
            width = ws.column_dimensions[chr(ord("A") + index)].width
            assert min(len(header) + 2, 60) <= width <= 60, (name, header)
        assert all(cell.font.b for cell in ws[1])
    # a 64-character hashed id widens its column beyond the header's length
    assert wb["Users"].column_dimensions["A"].width == 60
    assert wb["Summary"].column_dimensions["C"].width == 12  # "yyyy-mm-dd" + margin


def test_charts_reference_their_sheets(workbook_a: Path) -> None:
    wb = load_workbook(workbook_a)
    (line,) = wb["Summary"]._charts
    assert isinstance(line, LineChart)
    (series,) = line.series
    assert series.val.numRef.f == "'Tokens by day'!$B$2:$B$366"
    assert series.cat.numRef.f == "'Tokens by day'!$A$2:$A$366"
    (bar,) = wb["Token distribution"]._charts
    assert isinstance(bar, BarChart)
    rows = wb["Token distribution"].max_row
    assert rows == 1 + 2 * 2 * 5
    assert bar.type == "col"
    (series,) = bar.series
    assert series.val.numRef.f == f"'Token distribution'!$D$2:$D${rows}"
    # single-level text categories: the Band column, read by every viewer
    assert series.cat.multiLvlStrRef is None and series.cat.numRef is None
    assert series.cat.strRef.f == f"'Token distribution'!$C$2:$C${rows}"
    labels = [c.value for (c,) in wb["Token distribution"][f"C2:C{rows}"]]
    assert labels == BANDS * 4
    with zipfile.ZipFile(workbook_a) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2
        assert not any(b"multiLvlStrRef" in archive.read(name) for name in charts)


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
        users_xml = archive.read("xl/worksheets/sheet12.xml").decode()
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
    (line,) = wb["Summary"]._charts
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
