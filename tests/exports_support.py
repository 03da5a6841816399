"""Hand-made report tables for the export tests: teams A (PII), B (masked) and C.

The rows are written here, independently of the dbt models, in the report tables'
documented shapes; ``build_warehouse`` stores them shuffled in a DuckDB file.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

D = date(2026, 11, 27)
PREVIOUS = D - timedelta(days=1)
MASK = "*****"
PII = {"A": True, "B": False, "C": True}

_RANGE_COLS = "range_order INTEGER, time_range VARCHAR"
_USAGE_COLS = (
    "usage_id VARCHAR, charge_ts TIMESTAMP, hashed_autodesk_id VARCHAR, autodesk_id VARCHAR, "
    "email VARCHAR, first_name VARCHAR, last_name VARCHAR, team VARCHAR, offering VARCHAR, "
    "product VARCHAR, version VARCHAR, usage_type VARCHAR, day_used DATE, tokens_used BIGINT"
)
SCHEMAS = {
    "int_report_teams": "team_alias VARCHAR, include_pii BOOLEAN",
    "rpt_summary": "team VARCHAR, tokens_used BIGINT, tokens_remaining BIGINT, "
    "tokens_added BIGINT, tokens_removed BIGINT, tokens_net BIGINT",
    "rpt_balances": "team VARCHAR, tokens_available BIGINT, tokens_used BIGINT, "
    "tokens_total BIGINT, available_share DOUBLE, tokens_expiring_within_90_days BIGINT, "
    "next_expiry_date DATE, days_to_next_expiry INTEGER, "
    "unallocated_tokens_past_30_days BIGINT, unallocated_tokens_past_365_days BIGINT, "
    "products_used_past_90_days BIGINT, users_past_90_days BIGINT, "
    "daily_burn_rate DECIMAL(18,2), run_out_date DATE, "
    "tokens_expiring_unused_next_12_months BIGINT, tokens_to_buy_next_12_months BIGINT, "
    "alerts VARCHAR, low_balance BOOLEAN",
    "rpt_token_events": "event_date DATE, event VARCHAR, tokens BIGINT, "
    "subscription_id VARCHAR, related_team VARCHAR, event_id VARCHAR, event_ts TIMESTAMP, "
    "entry_order INTEGER",
    "rpt_tokens_by_month": "month DATE, complete VARCHAR, tokens_used HUGEINT, "
    "products_used BIGINT, total_users BIGINT",
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
    "tokens_received HUGEINT, tokens_sent HUGEINT, adjustments HUGEINT, "
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
    rows["int_report_teams"].append({"team_alias": alias, "include_pii": PII[team]})
    low = team == "A"  # A: 5% available (red); B, C: 80% (green)
    rows["rpt_balances"].append(
        {
            "team": alias,
            "tokens_available": base * 5 // 100 if low else base * 4,
            "tokens_used": base * 95 // 100 if low else base,
            "tokens_total": base if low else base * 5,
            "available_share": 0.05 if low else 0.8,
            "tokens_expiring_within_90_days": base + 40,
            "next_expiry_date": as_of + timedelta(days=35) if low else None,
            "days_to_next_expiry": 35 if low else None,
            "unallocated_tokens_past_30_days": 12 if low else 0,
            "unallocated_tokens_past_365_days": base + 41,
            "products_used_past_90_days": len(products),
            "users_past_90_days": len(users),
            "daily_burn_rate": Decimal(base * 100 // 90) / 100,
            "run_out_date": as_of + timedelta(days=3) if low else None,
            "tokens_expiring_unused_next_12_months": base + 42,
            "tokens_to_buy_next_12_months": base + 43 if low else 0,
            "alerts": "low balance; run-out within 90 days; usage not covered by a pack"
            if low
            else "",
            "low_balance": low,
        }
    )
    events = [
        (as_of - timedelta(days=80), "purchase", base + 5000, "SUB-1", None, "E1", 0),
        (as_of - timedelta(days=40), "transfer_out", -(base + 6), "SUB-1", "Z9", "E2", 0),
        (as_of - timedelta(days=40), "expiration", -(base + 7), "SUB-2", None, None, 1),
        (as_of - timedelta(days=40), "adjustment", base + 8, "SUB-0", None, "E0", 0),
        (as_of, "transfer_in", base + 9, "SUB-0", "Y8", "E3", 0),
    ]
    for day, event, tokens, pack, related, event_id, entry_order in events:
        stamp = None if event_id is None else datetime.combine(day, datetime.min.time())
        rows["rpt_token_events"].append(
            {
                "event_date": day,
                "event": event,
                "tokens": tokens,
                "subscription_id": f"{team}-{pack}",
                "related_team": related,
                "event_id": None if event_id is None else f"{team}-{event_id}",
                # E0 and E2 on the same date: E0 at midnight, E2 at 02:00
                "event_ts": None if stamp is None else stamp + timedelta(hours=int(event_id[1])),
                "entry_order": entry_order,
            }
        )
    for offset in range(13):
        month = date(
            as_of.year - 1 + (as_of.month + offset - 1) // 12,
            (as_of.month + offset - 1) % 12 + 1,
            1,
        )
        rows["rpt_tokens_by_month"].append(
            {
                "month": month,
                "complete": "no" if offset == 12 else "yes",
                "tokens_used": base * 10 + offset,
                "products_used": len(products),
                "total_users": len(users),
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
    for order, label, first, last, months in (*ranges[:2], ranges[4]):
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
                        "users": band_order * (p_index + 1),
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
                "tokens_received": base + 7000 + p_index,
                "tokens_sent": 10 * p_index,
                "adjustments": -p_index,
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


ROWS = all_rows()
