"""The time-range reports equal the figures the rules define.

A seeded, hand-made usage history with many rows on the ranges' edges (first and last days,
the days around L, D - 29 and D) is built as of a mid-month date and a month end; every
range report is compared in full with figures computed here, row by row, straight from the
rules: which days each range holds, distinct users, products, versions, days and weeks.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from dbt_support import MODELS_AND_SEEDS, create_raw_warehouse, failures, query, run_dbt

AS_OF_DATES = [date(2026, 11, 27), date(2026, 11, 30)]
DELIVERIES = {date(2026, 11, 27), date(2026, 11, 30)}
MASK = "*****"

TEAMS = [  # team, alias, include_pii, status, merged into
    ("t1", "One", True, "active", None),
    ("t2", "Two", False, "active", None),
    ("t3", "Three", True, "merged", "t1"),
]
USERS = {  # id: (first name, last name)
    "u1": ("Ann", "Lee"),
    "u2": ("Bob", None),
    "u3": ("Cy", "Dee"),
    "u4": ("Di", "Ng"),
}
MEMBERS = {"t1": ["u1", "u2", "u3"], "t2": ["u1", "u4"], "t3": ["u3"]}
PRODUCTS = {"ACD": "AutoCAD", "RVT": "Revit", "EAG": "eagle", "ZZZ": "Ähnlich"}
VERSIONS = {"ACD": ["2025", "2026"], "RVT": ["2026"], "EAG": ["cloud"], "ZZZ": ["1", "2"]}
TOKENS = [0, 1, 7, 60, 100, 101, 450, 500, 501, 900, 1000, 1001, 4000, 5001]

# The ranges' edges as of both dates (L = 2026-10 mid-month, 2026-11 at the month end).
EDGES = [
    "2025-10-31", "2025-11-01", "2025-11-30", "2025-12-01", "2026-01-31", "2026-02-01",
    "2026-02-28", "2026-03-01", "2026-04-30", "2026-05-01", "2026-05-31", "2026-06-01",
    "2026-07-31", "2026-08-01", "2026-08-31", "2026-09-01", "2026-10-28", "2026-10-29",
    "2026-10-31", "2026-11-01", "2026-11-02", "2026-11-27", "2026-11-28", "2026-11-30",
]  # fmt: skip
BANDS = [(1, "0-100", 0, 100), (2, "101-500", 101, 500), (3, "501-1000", 501, 1000),
         (4, "1001-5000", 1001, 5000), (5, "5001+", 5001, None)]  # fmt: skip


def _hash(user: str) -> str:
    return hashlib.sha256(user.encode()).hexdigest()


def _usage() -> list[dict[str, Any]]:
    """Seeded usage rows: half on the edges (each in turn), half on any day of 14 months."""
    rng = random.Random(15)
    first = date(2025, 10, 1)
    rows = []
    for n in range(420):
        team = rng.choice(["t1", "t1", "t2", "t3"])
        day = (
            date.fromisoformat(EDGES[n // 2 % len(EDGES)])
            if n % 2
            else first + timedelta(days=rng.randrange((date(2026, 11, 30) - first).days + 1))
        )
        code = rng.choice(list(PRODUCTS))
        rows.append({
            "usage_id": f"U{n:04d}", "team_id": team, "autodesk_id": rng.choice(MEMBERS[team]),
            "product_line_code": code, "version": rng.choice(VERSIONS[code]),
            "usage_date": day, "charge_ts": f"{day} {rng.randrange(24):02d}:{n % 60:02d}:00",
            "tokens": rng.choice(TOKENS),
            "delivery_date": min(d for d in DELIVERIES if d >= min(day, max(DELIVERIES))),
        })  # fmt: skip
    return rows


def _raw_rows(usage: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for day in sorted(DELIVERIES):
        for team, alias, pii, status, merged in TEAMS:
            tables["teams"].append({"team_id": team, "team_alias": alias, "include_pii": pii,
                                    "status": status, "merged_into_team_id": merged,
                                    "delivery_date": day})  # fmt: skip
        for user, (first_name, last_name) in USERS.items():
            tables["users"].append({"autodesk_id": user, "email": f"{user}@example.com",
                                    "first_name": first_name, "last_name": last_name,
                                    "delivery_date": day})  # fmt: skip
        for team, members in MEMBERS.items():
            tables["team_members"] += [
                {"team_id": team, "autodesk_id": user, "role": "user", "delivery_date": day}
                for user in members
            ]
        tables["products"] += [
            {"product_line_code": code, "product_name": name, "tokens_per_day": 5,
             "usage_category": "DESKTOP_PRODUCT", "delivery_date": day}
            for code, name in PRODUCTS.items()
        ]  # fmt: skip
    tables["usage"] = usage
    tables["user_hashes"] = [{"autodesk_id": u, "hashed_autodesk_id": _hash(u)} for u in USERS]
    return tables


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _ranges(as_of: date) -> list[tuple[int, str, date, date, int]]:
    """(order, label, first day, last day, months) as the reporting rules define them."""
    month_end = (
        as_of if (as_of + timedelta(days=1)).day == 1 else as_of.replace(day=1) - timedelta(1)
    )
    ranges = [(1, "Past 30 days", as_of - timedelta(days=29), as_of, 1)]
    for order, months in enumerate((3, 6, 9, 12), start=2):
        start = _add_months(month_end.replace(day=1), 1 - months)
        ranges.append((order, f"Past {months} months", start, month_end, months))
    return ranges


def _shown(team: str, user: str) -> tuple[str, str]:
    """(hashed id, user name) as the team's privacy setting shows them."""
    pii = next(t[2] for t in TEAMS if t[0] == team)
    name = " ".join(part for part in USERS[user] if part) if pii else _hash(user)
    return _hash(user), name


def _expected(usage: list[dict[str, Any]], as_of: date) -> dict[str, set[tuple]]:
    """Every range report's rows (the compared columns), from the usage rows alone."""
    active = [t[0] for t in TEAMS if t[3] == "active"]
    out: dict[str, set[tuple]] = defaultdict(set)
    for order, label, start, end, months in _ranges(as_of):
        rows = [
            r for r in usage
            if r["team_id"] in active and start <= r["usage_date"] <= end
            and r["delivery_date"] <= as_of
        ]  # fmt: skip
        for team in active:
            mine = [r for r in rows if r["team_id"] == team]
            out["rpt_time_ranges"].add((team, order, label, start, end, months,
                                        sum(r["tokens"] for r in mine),
                                        len({r["product_line_code"] for r in mine}),
                                        len({r["autodesk_id"] for r in mine})))  # fmt: skip
            per_user_product: dict[tuple[str, str], int] = defaultdict(int)
            for r in mine:
                per_user_product[r["autodesk_id"], r["product_line_code"]] += r["tokens"]
            for code in {r["product_line_code"] for r in mine}:
                users = {u: t for (u, c), t in per_user_product.items() if c == code}
                total = sum(users.values())
                product = PRODUCTS[code]
                out["rpt_by_product"].add((team, order, label, product, len(users), total,
                                           total / months))  # fmt: skip
                for band_order, band, low, high in BANDS:
                    count = sum(
                        1 for t in users.values() if low <= t and (high is None or t <= high)
                    )
                    out["rpt_token_distribution"].add((team, order, product, band_order, band,
                                                       count))  # fmt: skip
                for user, tokens in users.items():
                    out["rpt_product_users"].add((team, order, product, *_shown(team, user),
                                                  tokens, tokens / months))  # fmt: skip
                for version in {r["version"] for r in mine if r["product_line_code"] == code}:
                    picked = [
                        r for r in mine if (r["product_line_code"], r["version"]) == (code, version)
                    ]
                    version_users = {r["autodesk_id"] for r in picked}
                    out["rpt_users_by_version"].add(
                        (team, order, product, version, len(version_users))
                    )
                    for user in version_users:
                        days = {r["usage_date"] for r in picked if r["autodesk_id"] == user}
                        out["rpt_user_versions"].add((team, order, *_shown(team, user), product,
                                                      version, len(days)))  # fmt: skip
            for user in {r["autodesk_id"] for r in mine}:
                used = [r for r in mine if r["autodesk_id"] == user]
                names = sorted({PRODUCTS[r["product_line_code"]] for r in used})
                out["rpt_by_user"].add((team, order, label, *_shown(team, user), "; ".join(names),
                                        len(names), sum(r["tokens"] for r in used),
                                        len({r["usage_date"] for r in used}),
                                        (end - start).days + 1))  # fmt: skip
                weeks: dict[tuple[str, date], set[date]] = defaultdict(set)
                for r in used:
                    monday = r["usage_date"] - timedelta(days=r["usage_date"].weekday())
                    weeks[PRODUCTS[r["product_line_code"]], monday].add(r["usage_date"])
                for (product, monday), days in weeks.items():
                    out["rpt_user_weekly_days"].add((team, order, *_shown(team, user), product,
                                                     monday, len(days)))  # fmt: skip
                if label == "Past 12 months":
                    out["rpt_users"].add((team, _hash(user), "; ".join(names)))
    for team in active:  # members without usage in Past 12 months have no products
        listed = {row[1] for row in out["rpt_users"] if row[0] == team}
        out["rpt_users"] |= {
            (team, _hash(u), None) for u in MEMBERS[team] if _hash(u) not in listed
        }
    return out


COLUMNS = {
    "rpt_time_ranges": "team_id, range_order, time_range, start_date, end_date, months, "
    "total_tokens_used, products_used, total_users",
    "rpt_by_product": "team_id, range_order, time_range, product, total_users, total_tokens_used, "
    "average_tokens_per_month",
    "rpt_token_distribution": "team_id, range_order, product, band_order, band, users",
    "rpt_product_users": "team_id, range_order, product, hashed_autodesk_id, user_name, "
    "total_tokens_used, average_tokens_per_month",
    "rpt_users_by_version": "team_id, range_order, product, version, users",
    "rpt_user_versions": "team_id, range_order, hashed_autodesk_id, user_name, product, version, "
    "days_used",
    "rpt_by_user": "team_id, range_order, time_range, hashed_autodesk_id, user_name, "
    "products_used, number_of_products, total_tokens_used, days_used, days_in_range",
    "rpt_user_weekly_days": "team_id, range_order, hashed_autodesk_id, user_name, product, "
    "week_starting, days_used",
    "rpt_users": "team_id, hashed_autodesk_id, products_used",
}


def _tuples(rows: Iterable[dict[str, Any]]) -> set[tuple]:
    return {tuple(row.values()) for row in rows}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[list[dict[str, Any]], dict[date, dict[str, set[tuple]]]]:
    """The usage rows, and per as-of date the compared columns of every range report."""
    usage = _usage()
    warehouse: Path = tmp_path_factory.mktemp("ranges") / "wh.duckdb"
    create_raw_warehouse(warehouse, _raw_rows(usage))
    # the range reports and every report base model (whose tests run below), with their inputs
    models = " ".join(f"+{model}" for model in [*COLUMNS, "path:models/reports/base"])
    tables = {}
    for as_of in AS_OF_DATES:
        result = run_dbt(warehouse, as_of, "build", [*MODELS_AND_SEEDS, "--select", models])
        assert result.success, failures(result)
        tested = run_dbt(warehouse, as_of, "test", ["--select", "path:models/reports/base"])
        assert tested.success, failures(tested)
        tables[as_of] = {
            model: _tuples(query(warehouse, f"select {columns} from main.{model}"))
            for model, columns in COLUMNS.items()
        }
        dates = query(warehouse, "select distinct as_of_date from main.rpt_by_user")
        assert dates == [{"as_of_date": as_of}]
    return usage, tables


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
@pytest.mark.parametrize("model", list(COLUMNS))
def test_range_report_equals_the_rules(built, model, as_of):
    usage, tables = built
    expected = _expected(usage, as_of)[model]
    assert expected, "the hand-made history must give every report rows"
    assert tables[as_of][model] == expected


def test_history_reaches_every_band(built):
    """The seeded rows hit every range edge, so a band off by one day would show."""
    usage, _ = built
    days = {row["usage_date"] for row in usage}
    assert {date.fromisoformat(edge) for edge in EDGES} <= days
