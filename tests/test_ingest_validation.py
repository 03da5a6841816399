"""Bad rows: each kind is quarantined with its reason, the rest of the delivery loads."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from ingest_cases_support import (
    CASES,
)
from landing_builder import base_files, render, write_delivery

from orchestration.ingest import loader
from orchestration.ingest.deliveries import discover


def load(tmp_path, con, files) -> loader.DeliveryReport:
    write_delivery(tmp_path, "2026-03-02", files)
    (delivery,) = discover(tmp_path)
    return loader.ingest(con, delivery)


def quarantine(con) -> list[tuple]:
    return con.execute("SELECT file, line, reason FROM raw.quarantine ORDER BY ALL").fetchall()


@pytest.mark.parametrize(("mutate", "expected"), CASES.values(), ids=CASES.keys())
def test_bad_rows_are_quarantined_with_reason(tmp_path, con, mutate, expected):
    files = base_files()
    mutate(files)
    report = load(tmp_path, con, files)
    assert quarantine(con) == sorted(expected)
    for name, rows in files.items():
        rejected = sum(1 for f, _, _ in expected if f == name)
        assert (report.files[name].rows, report.files[name].rejected) == (len(rows), rejected)
        table = name.removesuffix(".csv")
        loaded = con.execute(f"SELECT count(*) FROM raw.{table}").fetchall()[0][0]
        assert report.files[name].loaded == loaded == len(rows) - rejected


def test_quarantine_keeps_raw_values_of_every_column(tmp_path, con):
    files = base_files()
    files["usage.csv"][1].update(tokens="-3", version="")
    files["usage.csv"][1]["note"] = "extra"
    load(tmp_path, con, files)
    ((delivery_date, raw_values),) = con.execute(
        "SELECT delivery_date::VARCHAR, raw_values FROM raw.quarantine"
    ).fetchall()
    assert delivery_date == "2026-03-02"
    assert json.loads(raw_values) == {
        "usage_id": "X2", "team_id": "northwind_01", "autodesk_id": "U2",
        "product_line_code": "RVT", "version": "", "usage_date": "2026-03-02",
        "charge_ts": "2026-03-02T10:04:40Z", "tokens": "-3", "note": "extra",
    }  # fmt: skip


def test_adjustments_may_have_either_sign(tmp_path, con):
    files = base_files()
    for i, tokens in enumerate(("-5", "5", "0")):
        files["token_events.csv"].append(
            {"event_id": f"A{i}", "event_ts": "2026-03-02T12:00:00Z", "team_id": "acme-design",
             "subscription_id": "S1", "event_type": "adjustment", "tokens": tokens}
        )  # fmt: skip
    load(tmp_path, con, files)
    assert quarantine(con) == []
    assert con.execute(
        "SELECT event_id, tokens FROM raw.token_events WHERE event_type = 'adjustment' ORDER BY 1"
    ).fetchall() == [("A0", -5), ("A1", 5), ("A2", 0)]


def test_nullable_columns_may_be_empty(tmp_path, con):
    files = base_files()
    files["users.csv"][0].update(first_name="", last_name="")
    load(tmp_path, con, files)
    assert quarantine(con) == []
    assert con.execute(
        "SELECT first_name, last_name FROM raw.users WHERE autodesk_id = 'U1'"
    ).fetchall() == [(None, None)]


def test_invalid_utf8_and_wrong_field_count_rows_are_quarantined(tmp_path, con):
    files = base_files()
    header, x1, x2, x3 = render("usage.csv", files["usage.csv"]).splitlines()
    files["usage.csv"] = b"\n".join(
        [header, x1.replace(b",2026,", b",20\xff26,"), x2 + b",surplus", x3, b""]
    )
    report = load(tmp_path, con, files)
    assert quarantine(con) == [
        ("usage.csv", 2, "usage.version: invalid UTF-8 bytes"),
        ("usage.csv", 3, "usage: wrong field count (found 9, header has 8)"),
    ]
    assert con.execute("SELECT usage_id, source_line FROM raw.usage").fetchall() == [("X3", 4)]
    usage = report.files["usage.csv"]
    assert (usage.rows, usage.loaded, usage.rejected, usage.reject_rate) == (3, 1, 2, 2 / 3)
    raw = dict(con.execute("SELECT line, raw_values FROM raw.quarantine").fetchall())
    assert json.loads(raw[2])["version"] == "20\\xff26"
    assert json.loads(raw[3])["#9"] == "surplus"


def test_extreme_valid_dates_and_times_load(tmp_path, con):
    files = base_files()
    files["usage.csv"][0].update(usage_date="0001-01-01", charge_ts="0001-01-01T00:00:00Z")
    files["usage.csv"][1].update(usage_date="9999-12-31", charge_ts="9999-12-31T23:59:59.999999Z")
    files["usage.csv"][2].update(usage_date="2028-02-29", charge_ts="2028-02-29T00:00:00.5Z")
    load(tmp_path, con, files)
    assert quarantine(con) == []
    assert con.execute(
        "SELECT usage_id, usage_date, charge_ts FROM raw.usage ORDER BY usage_id"
    ).fetchall() == [
        ("X1", date(1, 1, 1), datetime(1, 1, 1)),
        ("X2", date(9999, 12, 31), datetime(9999, 12, 31, 23, 59, 59, 999999)),
        ("X3", date(2028, 2, 29), datetime(2028, 2, 29, 0, 0, 0, 500000)),
    ]
