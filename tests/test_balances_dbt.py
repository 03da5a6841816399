"""Balances, Token events, Tokens by month, the Subscriptions flows and their checks, on a
hand-made raw layer whose figures are worked out by hand below (D = 2026-06-15, a Monday
in mid-month, so L = May 2026 and the 90 days are 2026-03-18 .. D).

north holds N0 (100, 01-01 .. 04-30), N1 (200 + adjustment 10, 03-01 .. 08-31), N2 (300,
bought 06-10, 07-01 .. 2027-06-30) and S1 (40 moved in from south on 05-01); N0 gets an
adjustment of -5 on 05-10, after its end date. Its usage: a1 02-10 30 -> N0 70;
a2 04-10 20 -> N0 50 (ends first); a3 05-20 45 -> N1 165 (N0 expired with 50);
a5 06-01 18 -> N1 147; a4 06-15 a 0-token launch.
south bought S1 (100, 01-01 .. 12-31): b2 03-10 5 -> 95; moved 40 out on 05-01 -> 55;
b1 06-05 70 -> 55 drawn, 15 unallocated.

north's forecast (b = 83/90, packs in order N1 147 to day 77, S1 40 to day 199, N2 300 from
day 16 and never expiring): N1 gives 77 * 83/90 and expires with 13230 - 6391 = 6839/90
(75.99 -> 76); S1 gives all 40 on days 78 .. 121; N2 covers the rest: no run-out, nothing
to buy. south (b = 70/90, no balance): short on day 1; buys 25550/90 = 283.89 -> 284.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_support import MODELS_AND_SEEDS, create_raw_warehouse, failures, query, run_dbt

AS_OF = "2026-06-15"
DAY = "2026-06-15"  # the one delivery


def _rows() -> dict[str, list[dict[str, Any]]]:
    teams = [
        {"team_id": "north", "team_alias": "North", "include_pii": True, "status": "active"},
        {"team_id": "south", "team_alias": "South", "include_pii": True, "status": "active"},
    ]
    users = [
        {"autodesk_id": u, "email": f"{u}@x.io", "first_name": u, "last_name": "X"}
        for u in ("u1", "u2")
    ]
    products = [
        {"product_line_code": "ACD", "product_name": "AutoCAD", "tokens_per_day": 7,
         "usage_category": "DESKTOP_PRODUCT"},
        {"product_line_code": "RVT", "product_name": "Revit", "tokens_per_day": 10,
         "usage_category": "DESKTOP_PRODUCT"},
    ]  # fmt: skip
    packs = [
        ("N0", "north", 100, "2026-01-01", "2026-04-30"),
        ("N1", "north", 200, "2026-03-01", "2026-08-31"),
        ("N2", "north", 300, "2026-07-01", "2027-06-30"),
        ("S1", "south", 100, "2026-01-01", "2026-12-31"),
    ]
    events = [
        ("e1", "2026-01-01 00:00", "north", "N0", "purchase", 100, None),
        ("e2", "2026-03-01 00:00", "north", "N1", "purchase", 200, None),
        ("e3", "2026-01-01 00:00", "south", "S1", "purchase", 100, None),
        ("e4", "2026-05-01 10:00", "south", "S1", "move_out", -40, "north"),
        ("e5", "2026-05-01 10:00", "north", "S1", "move_in", 40, "south"),
        ("e6", "2026-06-10 09:00", "north", "N2", "purchase", 300, None),
        ("e7", "2026-04-20 08:00", "north", "N1", "adjustment", 10, None),
        ("e8", "2026-05-10 12:00", "north", "N0", "adjustment", -5, None),
    ]
    usage = [
        ("a1", "north", "u1", "ACD", "2026-02-10 09:00", 30),
        ("a2", "north", "u2", "RVT", "2026-04-10 09:00", 20),
        ("a3", "north", "u1", "ACD", "2026-05-20 09:00", 45),
        ("a4", "north", "u1", "ACD", "2026-06-15 09:00", 0),
        ("a5", "north", "u2", "ACD", "2026-06-01 09:00", 18),
        ("b1", "south", "u1", "RVT", "2026-06-05 09:00", 70),
        ("b2", "south", "u1", "RVT", "2026-03-10 09:00", 5),
    ]
    return {
        "teams": [{**t, "delivery_date": DAY} for t in teams],
        "users": [{**u, "delivery_date": DAY} for u in users],
        "team_members": [
            {"team_id": t, "autodesk_id": "u1", "role": "admin", "delivery_date": DAY}
            for t in ("north", "south")
        ],
        "products": [{**p, "delivery_date": DAY} for p in products],
        "token_packs": [
            {
                "subscription_id": sub,
                "contract_number": f"C-{sub}",
                "team_id": team,
                "offering_name": "Flex",
                "term": "Annual",
                "tokens_purchased": size,
                "purchase_date": start,
                "start_date": start,
                "end_date": end,
                "delivery_date": DAY,
            }
            for sub, team, size, start, end in packs
        ],  # fmt: skip
        "token_events": [
            {
                "event_id": eid,
                "event_ts": ts,
                "team_id": team,
                "subscription_id": sub,
                "event_type": kind,
                "tokens": tokens,
                "related_team_id": related,
                "delivery_date": DAY,
            }
            for eid, ts, team, sub, kind, tokens, related in events
        ],  # fmt: skip
        "usage": [
            {
                "usage_id": uid,
                "team_id": team,
                "autodesk_id": user,
                "product_line_code": code,
                "version": "2026",
                "usage_date": ts[:10],
                "charge_ts": ts,
                "tokens": tokens,
                "delivery_date": DAY,
            }
            for uid, team, user, code, ts, tokens in usage
        ],  # fmt: skip
        "user_hashes": [{"autodesk_id": u, "hashed_autodesk_id": f"h-{u}"} for u in ("u1", "u2")],
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("balances_dbt") / "wh.duckdb"
    create_raw_warehouse(path, _rows())
    built = run_dbt(path, AS_OF, "build", [*MODELS_AND_SEEDS, "--select", "+path:models/reports"])
    assert built.success, failures(built)
    return path


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_balances_figures(warehouse):
    rows = {r.pop("team_id"): r for r in query(warehouse, "select * from main.rpt_balances")}
    assert rows == {
        "north": {
            "as_of_date": d(AS_OF), "team": "North",
            "tokens_available": 187, "tokens_used": 63, "tokens_total": 250,
            "available_share": 0.748, "tokens_expiring_within_90_days": 147,
            "next_expiry_date": d("2026-08-31"), "days_to_next_expiry": 77,
            "unallocated_tokens_past_30_days": 0, "unallocated_tokens_past_365_days": 0,
            "products_used_past_90_days": 2, "users_past_90_days": 2,
            "daily_burn_rate": Decimal("0.92"), "run_out_date": None,
            "tokens_expiring_unused_next_12_months": 76, "tokens_to_buy_next_12_months": 0,
            "alerts": "tokens expiring within 90 days", "low_balance": False,
        },
        "south": {
            "as_of_date": d(AS_OF), "team": "South",
            "tokens_available": 0, "tokens_used": 60, "tokens_total": 60,
            "available_share": 0.0, "tokens_expiring_within_90_days": 0,
            "next_expiry_date": None, "days_to_next_expiry": None,
            "unallocated_tokens_past_30_days": 15, "unallocated_tokens_past_365_days": 15,
            "products_used_past_90_days": 1, "users_past_90_days": 1,
            "daily_burn_rate": Decimal("0.78"), "run_out_date": d("2026-06-16"),
            "tokens_expiring_unused_next_12_months": 0, "tokens_to_buy_next_12_months": 284,
            "alerts": "low balance; run-out within 90 days; usage not covered by a pack",
            "low_balance": True,
        },
    }  # fmt: skip


def test_token_events_with_expirations(warehouse):
    rows = query(
        warehouse,
        "select team_id, event_date, event, tokens, subscription_id, related_team, event_id,"
        " entry_order from main.rpt_token_events"
        " order by team_id, event_date, entry_order, event_ts, event_id, subscription_id",
    )
    assert [tuple(r.values()) for r in rows] == [
        ("north", d("2026-04-20"), "adjustment", 10, "N1", None, "e7", 0),
        ("north", d("2026-04-30"), "expiration", -50, "N0", None, None, 1),
        ("north", d("2026-05-01"), "move_in", 40, "S1", "south", "e5", 0),
        ("north", d("2026-05-10"), "adjustment", -5, "N0", None, "e8", 0),
        ("north", d("2026-06-10"), "purchase", 300, "N2", None, "e6", 0),
        ("south", d("2026-05-01"), "move_out", -40, "S1", "north", "e4", 0),
    ]


def test_tokens_by_month(warehouse):
    rows = query(
        warehouse,
        "select team_id, month, complete, tokens_used, products_used, total_users"
        " from main.rpt_tokens_by_month order by team_id, month",
    )
    months = [d(f"{2025 + (5 + i) // 12}-{(5 + i) % 12 + 1:02d}-01") for i in range(13)]
    busy = {
        ("north", d("2026-02-01")): (30, 1, 1),
        ("north", d("2026-04-01")): (20, 1, 1),
        ("north", d("2026-05-01")): (45, 1, 1),
        ("north", d("2026-06-01")): (18, 1, 2),  # with the 0-token launch of u1
        ("south", d("2026-03-01")): (5, 1, 1),
        ("south", d("2026-06-01")): (70, 1, 1),
    }
    expected = [
        (team, month, "no" if month == d("2026-06-01") else "yes",
         *busy.get((team, month), (0, 0, 0)))
        for team in ("north", "south")
        for month in months
    ]  # fmt: skip
    assert months[0] == d("2025-06-01") and months[-1] == d("2026-06-01")
    assert [tuple(r.values()) for r in rows] == expected


def test_subscription_flows(warehouse):
    rows = query(
        warehouse,
        "select team_id, subscription_id, status, tokens_received, tokens_sent, adjustments,"
        " tokens_used, tokens_remaining, tokens_expired from main.rpt_subscriptions"
        " order by team_id, subscription_id",
    )
    assert [tuple(r.values()) for r in rows] == [
        ("north", "N0", "Expired", 100, 0, -5, 50, 0, 50),
        ("north", "N1", "Active", 200, 0, 10, 63, 147, 0),
        ("north", "N2", "Not started", 300, 0, 0, 0, 0, 0),
        ("north", "S1", "Active", 40, 0, 0, 0, 40, 0),
        ("south", "S1", "Active", 100, 40, 0, 60, 0, 0),
    ]


# --------------------------------------------------------------------------- checks

BLOCKING = ["assert_report_pack_identity", "assert_report_balances_match_summary"]


def _test_results(warehouse: Path, *tests: str) -> dict[str, tuple[str, int]]:
    """Status and number of failing rows per test; failing rows kept in main_dbt_test__audit."""
    result = run_dbt(warehouse, AS_OF, "test", ["--select", *tests, "--store-failures"])
    assert result.exception is None
    return {
        r.node.name: (str(r.status), r.failures)
        for r in result.result
        if r.node.resource_type == "test"
    }


def test_checks_pass_and_warnings_list_packs_and_alerts(warehouse):
    warnings = ["warn_report_packs_outside_identity", "warn_report_balance_alerts"]
    results = _test_results(warehouse, *BLOCKING, *warnings)
    assert results == {
        "assert_report_pack_identity": ("pass", 0),
        "assert_report_balances_match_summary": ("pass", 0),
        # N0 has an adjustment dated after its end date
        "warn_report_packs_outside_identity": ("warn", 1),
        # low balance, run-out and not covered (south), expiring (north)
        "warn_report_balance_alerts": ("warn", 4),
    }
    listed = query(
        warehouse,
        "select alert, teams, team_ids from main_dbt_test__audit.warn_report_balance_alerts"
        " order by alert_order",
    )
    assert [tuple(r.values()) for r in listed] == [
        ("low balance", 1, "south"),
        ("tokens expiring within 90 days", 1, "north"),
        ("run-out within 90 days", 1, "south"),
        ("usage not covered by a pack", 1, "south"),
    ]
    packs = query(
        warehouse, "select * from main_dbt_test__audit.warn_report_packs_outside_identity"
    )
    assert [(r["team_id"], r["subscription_id"]) for r in packs] == [("north", "N0")]


@pytest.mark.parametrize(
    ("check", "tamper"),
    [
        ("assert_report_pack_identity",
         "update main.rpt_subscriptions set tokens_used = tokens_used + 1"
         " where subscription_id = 'N1'"),
        ("assert_report_pack_identity",
         "update main.rpt_subscriptions set tokens_sent = 39 where team_id = 'south'"),
        ("assert_report_pack_identity",
         "update main.rpt_subscriptions set tokens_received = 41"
         " where team_id = 'north' and subscription_id = 'S1'"),
        ("assert_report_balances_match_summary",
         "update main.rpt_balances set tokens_available = 186 where team_id = 'north'"),
        ("assert_report_balances_match_summary",
         "update main.rpt_balances set tokens_used = 61 where team_id = 'south'"),
        ("assert_report_balances_match_summary",
         "delete from main.rpt_balances where team_id = 'south'"),
    ],
)  # fmt: skip
def test_blocking_checks_fail_on_tampered_reports(warehouse, tmp_path, check, tamper):
    copy = tmp_path / warehouse.name
    for path in warehouse.parent.glob(f"{warehouse.name}*"):  # with a pending .wal
        shutil.copy(path, tmp_path / path.name)
    with duckdb.connect(str(copy)) as con:
        con.execute(tamper)
    status, failed = _test_results(copy, check)[check]
    assert (status, failed) == ("fail", 1)
