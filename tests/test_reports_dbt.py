"""Report models on a hand-made raw layer, checked against figures worked out by hand.

Teams: `alpha` (include_pii true), `beta` (include_pii false) and `gamma`, merged into
alpha on 2026-11-25 (its pack G1 moves with the merge). Ann (u1) works in alpha and beta.

Alpha's drawdown, in time order (events before charges at the same instant):
  P0 +150 (2025-01-01 .. 2025-12-31), P1 +625 (2025-12-01 .. 2026-11-30)
  A1 2025-12-15  90 -> P0 (ends first)            P0 60
  A2 2025-12-20  30 -> P0                         P0 30 (expires with 30)
  A3 2026-09-30   0 (a launch under 5 minutes)
  A4 2026-10-01   7 -> P1 618, A9 10-27 5 -> P1 613, A5 10-31 600 -> P1 13
  A7 2026-11-20   7 -> P1 6 (a late row, delivered on 11-27)
  E7 2026-11-24  -5 on P1 -> 1; E5 11-25 G1 +280 (merge); E2 11-26 P2 +500 (starts 12-01)
  A6 2026-11-26  14 -> split: P1 1, G1 13          G1 267
  A8 2026-11-30  10 -> G1 (P1 is empty)            G1 257
Beta: B1 +50, then 700 tokens on 2026-11-26 (50 drawn, 650 unallocated) and a 0-token launch.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbt_support import MODELS_AND_SEEDS, create_raw_warehouse, failures, query, run_dbt

MID_MONTH, MONTH_END = "2026-11-27", "2026-11-30"
DELIVERIES = ["2026-11-26", "2026-11-27", "2026-11-30"]
MASK = "*****"


def _hash(autodesk_id: str) -> str:
    return hashlib.sha256(autodesk_id.encode()).hexdigest()


HASH = {user: _hash(user) for user in ("u1", "u2", "u3")}

TEAMS = [
    ("alpha", "Alpha & Co", True, "active", None),
    ("beta", "=Beta", False, "active", None),
    ("gamma", "Gamma", True, "merged", "alpha"),
]
USERS = [
    ("u1", "ann@example.com", "Ann", "Lee"),
    ("u2", "bob@example.com", "Bob", None),
    ("u3", "cy@example.com", "Cy", "Dee"),
]
MEMBERS = [
    ("alpha", "u1", "admin"),
    ("alpha", "u2", "user"),
    ("alpha", "u3", "user"),
    ("beta", "u1", "admin"),
    ("beta", "u2", "user"),
]
PRODUCTS = [
    ("ACD", "AutoCAD", 7, "DESKTOP_PRODUCT"),
    ("RVT", "Revit", 10, "DESKTOP_PRODUCT"),
    ("EAG", "eagle", 5, "CLOUD_SERVICE"),
]
PACKS = [
    ("P0", "C-0", "alpha", "Flex", "Annual", 150, "2025-01-01", "2025-12-31", "R", "r@x"),
    ("P1", "C-1", "alpha", "Flex", "Annual", 625, "2025-12-01", "2026-11-30", None, None),
    ("P2", "C-2", "alpha", "Flex", "Annual", 500, "2026-12-01", "2027-11-30", None, None),
    ("G1", "C-G", "gamma", "Flex", "Annual", 300, "2026-06-01", "2027-05-31", None, None),
    ("B1", "C-B", "beta", "Flex", "Annual", 50, "2026-01-01", "2026-12-31", None, None),
]
EVENTS = [  # event_id, ts, team, pack, type, tokens, related team, delivery
    ("E0", "2025-01-01 00:00", "alpha", "P0", "purchase", 150, None, "2026-11-26"),
    ("E1", "2025-12-01 00:00", "alpha", "P1", "purchase", 625, None, "2026-11-26"),
    ("E3", "2026-06-01 00:00", "gamma", "G1", "purchase", 300, None, "2026-11-26"),
    ("E6", "2026-01-01 00:00", "beta", "B1", "purchase", 50, None, "2026-11-26"),
    ("E7", "2026-11-24 08:00", "alpha", "P1", "adjustment", -5, None, "2026-11-26"),
    ("E4", "2026-11-25 12:00", "gamma", "G1", "merge_out", -280, "alpha", "2026-11-26"),
    ("E5", "2026-11-25 12:00", "alpha", "G1", "merge_in", 280, "gamma", "2026-11-26"),
    ("E2", "2026-11-26 09:00", "alpha", "P2", "purchase", 500, None, "2026-11-26"),
]
USAGE = [  # usage_id, team, user, product, version, charge ts, tokens, delivery
    ("A1", "alpha", "u1", "ACD", "2026", "2025-12-15 10:00", 90, "2026-11-26"),
    ("A2", "alpha", "u1", "RVT", "2026", "2025-12-20 10:00", 30, "2026-11-26"),
    ("A3", "alpha", "u2", "ACD", "2025", "2026-09-30 09:00", 0, "2026-11-26"),
    ("A4", "alpha", "u2", "ACD", "2025", "2026-10-01 09:00", 7, "2026-11-26"),
    ("A9", "alpha", "u1", "EAG", "cloud", "2026-10-27 12:00", 5, "2026-11-26"),
    ("A5", "alpha", "u1", "EAG", "cloud", "2026-10-31 12:00", 600, "2026-11-26"),
    ("A6", "alpha", "u3", "ACD", "2026", "2026-11-26 11:00", 14, "2026-11-26"),
    ("A7", "alpha", "u1", "ACD", "2026", "2026-11-20 10:00", 7, "2026-11-27"),
    ("A8", "alpha", "u1", "RVT", "2026", "2026-11-30 10:00", 10, "2026-11-30"),
    ("GU", "gamma", "u3", "ACD", "2026", "2026-07-01 10:00", 20, "2026-11-26"),
    ("B1U", "beta", "u1", "ACD", "2026", "2026-11-26 10:00", 700, "2026-11-26"),
    ("B2U", "beta", "u1", "ACD", "2026", "2026-11-27 09:00", 0, "2026-11-27"),
]


def _raw_rows() -> dict[str, list[dict[str, Any]]]:
    """Every delivery repeats the snapshots; increments are split by delivery."""
    snapshot_tables: dict[str, list[dict[str, Any]]] = {
        "teams": [], "users": [], "team_members": [], "products": [], "token_packs": [],
    }  # fmt: skip
    for day in DELIVERIES:
        snapshot_tables["teams"] += [
            dict(zip(("team_id", "team_alias", "include_pii", "status", "merged_into_team_id"),
                     team, strict=True), delivery_date=day)
            for team in TEAMS
        ]  # fmt: skip
        snapshot_tables["users"] += [
            dict(zip(("autodesk_id", "email", "first_name", "last_name"), user, strict=True),
                 delivery_date=day)
            for user in USERS
        ]  # fmt: skip
        snapshot_tables["team_members"] += [
            {"team_id": t, "autodesk_id": a, "role": r, "delivery_date": day} for t, a, r in MEMBERS
        ]
        snapshot_tables["products"] += [
            dict(zip(("product_line_code", "product_name", "tokens_per_day", "usage_category"),
                     product, strict=True), delivery_date=day)
            for product in PRODUCTS
        ]  # fmt: skip
        snapshot_tables["token_packs"] += [
            {
                "subscription_id": sub, "contract_number": contract, "team_id": team,
                "offering_name": offering, "term": term, "tokens_purchased": tokens,
                "purchase_date": start, "start_date": start, "end_date": end,
                "reseller_name": reseller, "reseller_email": reseller_email,
                "delivery_date": day,
            }
            for sub, contract, team, offering, term, tokens, start, end, reseller, reseller_email
            in PACKS
        ]  # fmt: skip
    events = [
        {
            "event_id": eid, "event_ts": ts, "team_id": team, "subscription_id": sub,
            "event_type": kind, "tokens": tokens, "related_team_id": related,
            "delivery_date": day,
        }
        for eid, ts, team, sub, kind, tokens, related, day in EVENTS
    ]  # fmt: skip
    usage = [
        {
            "usage_id": uid, "team_id": team, "autodesk_id": user, "product_line_code": code,
            "version": version, "usage_date": ts[:10], "charge_ts": ts, "tokens": tokens,
            "delivery_date": day,
        }
        for uid, team, user, code, version, ts, tokens, day in USAGE
    ]  # fmt: skip
    hashes = [{"autodesk_id": user, "hashed_autodesk_id": HASH[user]} for user in HASH]
    return {**snapshot_tables, "token_events": events, "usage": usage, "user_hashes": hashes}


RPT_MODELS = [
    "rpt_summary", "rpt_time_ranges", "rpt_tokens_by_day", "rpt_by_product",
    "rpt_token_distribution", "rpt_users_by_version", "rpt_product_users", "rpt_by_user",
    "rpt_user_weekly_days", "rpt_user_versions", "rpt_subscriptions", "rpt_users",
    "rpt_usage_history", "rpt_usage", "rpt_balances", "rpt_token_events", "rpt_tokens_by_month",
]  # fmt: skip


def _build(warehouse: Path, as_of: str) -> dict[str, list[dict[str, Any]]]:
    """Run the report models and every mart, then every test on the report models."""
    select = ["--select", "+path:models/reports", "+fct_usage_allocation"]
    built = run_dbt(warehouse, as_of, "build", [*MODELS_AND_SEEDS, *select])
    assert built.success, failures(built)
    tested = run_dbt(warehouse, as_of, "test", ["--select", "path:models/reports"])
    assert tested.success, failures(tested)
    return {model: query(warehouse, f"select * from main.{model}") for model in RPT_MODELS}


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Both report dates built on one raw layer: as_of -> model -> rows."""
    warehouse = tmp_path_factory.mktemp("reports") / "wh.duckdb"
    create_raw_warehouse(warehouse, _raw_rows())
    return {as_of: _build(warehouse, as_of) for as_of in (MID_MONTH, MONTH_END)}


def _rows(rows: list[dict[str, Any]], team: str, *columns: str, **where: Any) -> list[tuple]:
    """The team's rows as tuples of `columns`, filtered by equality on `where`, sorted."""
    picked = [
        tuple(row[c] for c in columns)
        for row in rows
        if row["team_id"] == team and all(row[k] == v for k, v in where.items())
    ]
    return sorted(picked, key=lambda values: [(v is None, "" if v is None else v) for v in values])


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_only_active_teams_get_rows_dated_as_of(reports):
    for as_of, models in reports.items():
        for model, rows in models.items():
            assert {row["team_id"] for row in rows} <= {"alpha", "beta"}, model
            assert {row["as_of_date"] for row in rows} <= {d(as_of)}, model
        assert sorted(row["team_id"] for row in models["rpt_summary"]) == ["alpha", "beta"]


def test_summary_pack_figures_and_week_of_events(reports):
    # used = P1 620 + G1 13 (+10 on 11-30); remaining = G1 267 (257); P0 is expired.
    # week D-6..D: +500 (P2) +280 (merge), -5 (adjustment).
    mid = _rows(reports[MID_MONTH]["rpt_summary"], "alpha", "team", "tokens_used",
                "tokens_remaining", "tokens_added", "tokens_removed", "tokens_net")  # fmt: skip
    assert mid == [("Alpha & Co", 633, 267, 780, -5, 775)]
    end = _rows(reports[MONTH_END]["rpt_summary"], "alpha", "tokens_used", "tokens_remaining")
    assert end == [(643, 257)]
    beta = _rows(reports[MID_MONTH]["rpt_summary"], "beta", "team", "tokens_used",
                 "tokens_remaining", "tokens_net")  # fmt: skip
    assert beta == [("=Beta", 50, 0, 0)]


def test_subscriptions_statuses_split_and_expiry(reports):
    cols = ("subscription_id", "status", "tokens_used", "tokens_remaining", "tokens_expired")
    assert _rows(reports[MID_MONTH]["rpt_subscriptions"], "alpha", *cols) == sorted([
        ("G1", "Active", 13, 267, 0),
        ("P0", "Expired", 120, 0, 30),
        ("P1", "Active", 620, 0, 0),
        ("P2", "Not started", 0, 0, 0),
    ])  # fmt: skip
    assert _rows(reports[MONTH_END]["rpt_subscriptions"], "alpha", *cols)[0] == (
        "G1", "Active", 23, 257, 0,
    )  # fmt: skip
    p0 = _rows(reports[MID_MONTH]["rpt_subscriptions"], "alpha", "offering", "term",
               "tokens_purchased", "start_date", "end_date", "reseller_name",
               "reseller_email", subscription_id="P0")  # fmt: skip
    assert p0 == [("Flex", "Annual", 150, d("2025-01-01"), d("2025-12-31"), "R", "r@x")]
    assert _rows(reports[MID_MONTH]["rpt_subscriptions"], "beta", *cols) == [
        ("B1", "Active", 50, 0, 0)
    ]


def test_time_ranges_mid_month_and_month_end(reports):
    cols = ("time_range", "start_date", "end_date", "months", "total_tokens_used",
            "products_used", "total_users")  # fmt: skip
    mid = {row[0]: row[1:] for row in _rows(reports[MID_MONTH]["rpt_time_ranges"], "alpha", *cols)}
    assert mid == {
        "Past 30 days": (d("2026-10-29"), d("2026-11-27"), 1, 621, 2, 2),
        "Past 3 months": (d("2026-08-01"), d("2026-10-31"), 3, 612, 2, 2),
        "Past 6 months": (d("2026-05-01"), d("2026-10-31"), 6, 612, 2, 2),
        "Past 9 months": (d("2026-02-01"), d("2026-10-31"), 9, 612, 2, 2),
        "Past 12 months": (d("2025-11-01"), d("2026-10-31"), 12, 732, 3, 2),
    }
    end = {row[0]: row[1:] for row in _rows(reports[MONTH_END]["rpt_time_ranges"], "alpha", *cols)}
    assert end == {
        "Past 30 days": (d("2026-11-01"), d("2026-11-30"), 1, 31, 2, 2),
        "Past 3 months": (d("2026-09-01"), d("2026-11-30"), 3, 643, 3, 3),
        "Past 6 months": (d("2026-06-01"), d("2026-11-30"), 6, 643, 3, 3),
        "Past 9 months": (d("2026-03-01"), d("2026-11-30"), 9, 643, 3, 3),
        "Past 12 months": (d("2025-12-01"), d("2026-11-30"), 12, 763, 3, 3),
    }
    beta = _rows(reports[MID_MONTH]["rpt_time_ranges"], "beta", "range_order",
                 "total_tokens_used", "products_used", "total_users")  # fmt: skip
    assert beta == [(1, 700, 1, 1), (2, 0, 0, 0), (3, 0, 0, 0), (4, 0, 0, 0), (5, 0, 0, 0)]


def test_tokens_by_day_is_zero_filled_over_365_days(reports):
    rows = _rows(reports[MID_MONTH]["rpt_tokens_by_day"], "alpha", "usage_date", "tokens_used")
    assert len(rows) == 365
    assert (rows[0][0], rows[-1][0]) == (d("2025-11-28"), d("2026-11-27"))
    nonzero = {day.isoformat(): tokens for day, tokens in rows if tokens}
    assert nonzero == {
        "2025-12-15": 90, "2025-12-20": 30, "2026-10-01": 7, "2026-10-27": 5,
        "2026-10-31": 600, "2026-11-20": 7, "2026-11-26": 14,
    }  # fmt: skip
    beta = dict(_rows(reports[MID_MONTH]["rpt_tokens_by_day"], "beta", "usage_date", "tokens_used"))
    assert beta[d("2026-11-26")] == 700  # unallocated tokens count in usage figures
    assert sum(beta.values()) == 700


def test_by_product_distribution_and_versions(reports):
    models = reports[MID_MONTH]
    twelve = {"time_range": "Past 12 months"}
    assert _rows(models["rpt_by_product"], "alpha", "product", "total_users",
                 "total_tokens_used", "average_tokens_per_month", **twelve) == [
        ("AutoCAD", 2, 97, 97 / 12), ("Revit", 1, 30, 2.5), ("eagle", 1, 605, 605 / 12),
    ]  # fmt: skip
    distribution = _rows(models["rpt_token_distribution"], "alpha", "product", "band_order",
                         "band", "users", **twelve)  # fmt: skip
    bands = ["0-100", "101-500", "501-1000", "1001-5000", "5001+"]
    expected = {"AutoCAD": [2, 0, 0, 0, 0], "Revit": [1, 0, 0, 0, 0], "eagle": [0, 0, 1, 0, 0]}
    assert distribution == sorted(
        (product, i + 1, band, counts[i])
        for product, counts in expected.items()
        for i, band in enumerate(bands)
    )
    assert _rows(models["rpt_users_by_version"], "alpha", "product", "version", "users",
                 **twelve) == [
        ("AutoCAD", "2025", 1), ("AutoCAD", "2026", 1), ("Revit", "2026", 1),
        ("eagle", "cloud", 1),
    ]  # fmt: skip
    assert _rows(models["rpt_product_users"], "alpha", "product", "user_name",
                 "total_tokens_used", "average_tokens_per_month", **twelve) == [
        ("AutoCAD", "Ann Lee", 90, 7.5), ("AutoCAD", "Bob", 7, 7 / 12),
        ("Revit", "Ann Lee", 30, 2.5), ("eagle", "Ann Lee", 605, 605 / 12),
    ]  # fmt: skip


def test_by_user_weekly_days_and_versions(reports):
    models = reports[MID_MONTH]
    assert _rows(models["rpt_by_user"], "alpha", "time_range", "hashed_autodesk_id",
                 "user_name", "products_used", "number_of_products", "total_tokens_used",
                 "days_used", "days_in_range", range_order=5) == sorted([
        ("Past 12 months", HASH["u1"], "Ann Lee", "AutoCAD; Revit; eagle", 3, 725, 4, 365),
        ("Past 12 months", HASH["u2"], "Bob", "AutoCAD", 1, 7, 2, 365),
    ])  # fmt: skip
    # 30 days from 10-29: Ann's eagle week starts Monday 10-26 but only 10-31 is in range.
    weekly_30 = _rows(models["rpt_user_weekly_days"], "alpha", "user_name", "product",
                      "week_starting", "days_used", range_order=1)  # fmt: skip
    assert weekly_30 == [
        ("Ann Lee", "AutoCAD", d("2026-11-16"), 1),
        ("Ann Lee", "eagle", d("2026-10-26"), 1),
        ("Cy Dee", "AutoCAD", d("2026-11-23"), 1),
    ]
    weekly_3m = _rows(models["rpt_user_weekly_days"], "alpha", "user_name", "product",
                      "week_starting", "days_used", range_order=2)  # fmt: skip
    assert weekly_3m == [
        ("Ann Lee", "eagle", d("2026-10-26"), 2),
        ("Bob", "AutoCAD", d("2026-09-28"), 2),
    ]
    assert _rows(models["rpt_user_versions"], "alpha", "user_name", "product", "version",
                 "days_used", range_order=2) == [
        ("Ann Lee", "eagle", "cloud", 2), ("Bob", "AutoCAD", "2025", 2),
    ]  # fmt: skip


def test_users_sheet_is_per_member_and_per_team(reports):
    cols = ("hashed_autodesk_id", "autodesk_id", "email", "first_name", "last_name", "role",
            "products_used", "last_used")  # fmt: skip
    # Ann's beta usage (11-26, 11-27) and Cy's gamma usage do not count for alpha.
    assert _rows(reports[MID_MONTH]["rpt_users"], "alpha", *cols) == sorted([
        (HASH["u1"], "u1", "ann@example.com", "Ann", "Lee", "admin",
         "AutoCAD; Revit; eagle", d("2026-11-20")),
        (HASH["u2"], "u2", "bob@example.com", "Bob", None, "user", "AutoCAD", d("2026-10-01")),
        (HASH["u3"], "u3", "cy@example.com", "Cy", "Dee", "user", None, d("2026-11-26")),
    ])  # fmt: skip
    end = _rows(reports[MONTH_END]["rpt_users"], "alpha", "autodesk_id", "products_used",
                "last_used")  # fmt: skip
    assert end == [
        ("u1", "AutoCAD; Revit; eagle", d("2026-11-30")),
        ("u2", "AutoCAD", d("2026-10-01")),
        ("u3", "AutoCAD", d("2026-11-26")),
    ]
    beta = _rows(reports[MID_MONTH]["rpt_users"], "beta", *cols)
    assert beta == sorted([
        (HASH["u1"], MASK, MASK, MASK, MASK, "admin", None, d("2026-11-27")),
        (HASH["u2"], MASK, MASK, MASK, MASK, "user", None, None),
    ])  # fmt: skip


def test_usage_rows_and_privacy(reports):
    models = reports[MID_MONTH]
    cols = ("usage_id", "charge_ts", "hashed_autodesk_id", "autodesk_id", "email", "first_name",
            "last_name", "team", "offering", "product", "version", "usage_type", "day_used",
            "tokens_used")  # fmt: skip
    assert _rows(models["rpt_usage"], "beta", *cols) == [
        ("B1U", datetime(2026, 11, 26, 10), HASH["u1"], MASK, MASK, MASK, MASK, "=Beta", "Flex",
         "AutoCAD", "2026", "DESKTOP_PRODUCT", d("2026-11-26"), 700),
        ("B2U", datetime(2026, 11, 27, 9), HASH["u1"], MASK, MASK, MASK, MASK, "=Beta", "Flex",
         "AutoCAD", "2026", "DESKTOP_PRODUCT", d("2026-11-27"), 0),
    ]  # fmt: skip
    assert [r[0] for r in _rows(models["rpt_usage"], "alpha", "usage_id")] == ["A5", "A6", "A7"]
    history = [r[0] for r in _rows(models["rpt_usage_history"], "alpha", "usage_id")]
    assert history == ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A9"]  # A8 is after D
    eagle = _rows(models["rpt_usage"], "alpha", "product", "usage_type", usage_id="A5")
    assert eagle == [("eagle", "CLOUD_SERVICE")]
    pii = {"u1", "u2", "Ann", "Lee", "Bob", "Ann Lee", "ann@example.com", "bob@example.com"}
    for model, rows in models.items():
        for row in rows:
            if row["team_id"] == "beta":
                assert not pii & {v for v in row.values() if isinstance(v, str)}, (model, row)


def test_balances_and_forecast(reports):
    # Forecast packs: G1 (267 / 257 left, ends 2027-05-31) then P2 (500, from 12-01; it ends
    # 2027-11-30 = D+368 mid-month, D+365 at month end). b = 633/90 (mid) and 643/90 (end).
    # Mid: G1 lasts to day 38 (24030 units / 633), P2 covers days 38..110, short on day 110
    # = 2027-03-17; drawn 69030 of 231045 units -> 162015/90 = 1800.17 -> 1800.
    # End: G1 to day 36, P2 to day 106 = 2027-03-16; 234695 - 68130 = 166565 units -> 1851.
    cols = ("tokens_available", "tokens_used", "tokens_total", "tokens_expiring_within_90_days",
            "next_expiry_date", "days_to_next_expiry", "unallocated_tokens_past_30_days",
            "unallocated_tokens_past_365_days", "products_used_past_90_days", "users_past_90_days",
            "daily_burn_rate", "run_out_date", "tokens_expiring_unused_next_12_months",
            "tokens_to_buy_next_12_months", "alerts", "low_balance")  # fmt: skip
    mid, end = reports[MID_MONTH]["rpt_balances"], reports[MONTH_END]["rpt_balances"]
    assert _rows(mid, "alpha", *cols) == [
        (267, 633, 900, 0, d("2027-05-31"), 185, 0, 0, 2, 3, Decimal("7.03"), d("2027-03-17"),
         0, 1800, "", False)
    ]  # fmt: skip
    assert _rows(end, "alpha", *cols) == [
        (257, 643, 900, 0, d("2027-05-31"), 182, 0, 0, 3, 3, Decimal("7.14"), d("2027-03-16"),
         0, 1851, "", False)
    ]  # fmt: skip
    # beta: B1 is empty, 650 of its 700 tokens unallocated; b = 700/90 and nothing to draw.
    alerts = "low balance; run-out within 90 days; usage not covered by a pack"
    for rows, run_out in ((mid, d("2026-11-28")), (end, d("2026-12-01"))):
        assert _rows(rows, "beta", *cols) == [
            (0, 50, 50, 0, None, None, 650, 650, 1, 1, Decimal("7.78"), run_out, 0, 2839,
             alerts, True)
        ]  # fmt: skip
    assert _rows(mid, "alpha", "available_share")[0][0] == pytest.approx(267 / 900)
    assert _rows(mid, "beta", "available_share") == [(0.0,)]


def test_token_events_tokens_by_month_and_subscription_flows(reports):
    events = [("2026-11-24", "adjustment", -5, "P1", None, "E7"),
              ("2026-11-25", "merge_in", 280, "G1", "gamma", "E5"),
              ("2026-11-26", "purchase", 500, "P2", None, "E2")]  # fmt: skip
    for as_of in (MID_MONTH, MONTH_END):  # P1 ends on MONTH_END itself: no expiration row
        cols = ("event_date", "event", "tokens", "subscription_id", "related_team", "event_id")
        assert _rows(reports[as_of]["rpt_token_events"], "alpha", *cols) == [
            (d(e[0]), *e[1:]) for e in events
        ]
        assert _rows(reports[as_of]["rpt_token_events"], "beta", *cols) == []
    by_month = {
        as_of: {
            row[0]: row[1:]
            for row in _rows(reports[as_of]["rpt_tokens_by_month"], "alpha", "month",
                             "complete", "tokens_used", "products_used", "total_users")
        }
        for as_of in (MID_MONTH, MONTH_END)
    }  # fmt: skip
    assert min(by_month[MID_MONTH]) == d("2025-11-01") and len(by_month[MID_MONTH]) == 13
    assert min(by_month[MONTH_END]) == d("2025-12-01") and len(by_month[MONTH_END]) == 12
    assert by_month[MID_MONTH][d("2025-12-01")] == ("yes", 120, 2, 1)
    assert by_month[MID_MONTH][d("2026-09-01")] == ("yes", 0, 1, 1)  # a 0-token launch
    assert by_month[MID_MONTH][d("2026-10-01")] == ("yes", 612, 2, 2)
    assert by_month[MID_MONTH][d("2026-11-01")] == ("no", 21, 1, 2)
    assert by_month[MONTH_END][d("2026-11-01")] == ("yes", 31, 2, 2)
    assert sum(v[1] for v in by_month[MID_MONTH].values()) == 120 + 612 + 21
    flows = ("subscription_id", "tokens_received", "tokens_sent", "adjustments")
    assert _rows(reports[MID_MONTH]["rpt_subscriptions"], "alpha", *flows) == [
        ("G1", 280, 0, 0), ("P0", 150, 0, 0), ("P1", 625, 0, -5), ("P2", 500, 0, 0)
    ]  # fmt: skip
    assert _rows(reports[MID_MONTH]["rpt_subscriptions"], "beta", *flows) == [("B1", 50, 0, 0)]
