"""Independent reference implementation of the nightly workbook, for tests only.

Deliberately naive and stdlib-only: it reads the delivery folders directly, applies the
landing, reporting and export rules one by one, and shares no code with the product.
``nightly_workbooks`` returns, per active team, every sheet as a list of rows whose first
row is the header. Empty cells are ``None``; dates are ``datetime.date``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

MASK = "*****"
BANDS = [("0-100", 0, 100), ("101-500", 101, 500), ("501-1000", 501, 1000)]
BANDS += [("1001-5000", 1001, 5000), ("5001+", 5001, None)]

HEADERS = {
    "Summary": [
        "Team ID", "Team", "As of", "Tokens used", "Tokens remaining", "Tokens added",
        "Tokens removed", "Tokens added/removed (net)",
    ],
    "Time ranges": [
        "Time range", "Start date", "End date", "Months", "Total tokens used",
        "Products used", "Total users",
    ],
    "Tokens by day": ["Date", "Tokens used"],
    "By product": [
        "Time range", "Product", "Total users", "Total tokens used", "Average tokens per month",
    ],
    "Token distribution": ["Time range", "Product", "Band", "Users"],
    "Users by version": ["Time range", "Product", "Version", "Users"],
    "Product users": [
        "Time range", "Product", "hashed_autodesk_id", "User", "Total tokens used",
        "Average tokens per month",
    ],
    "By user": [
        "Time range", "hashed_autodesk_id", "User", "Products used", "Number of products",
        "Total tokens used", "Days used", "Days in range",
    ],
    "User weekly days": [
        "Time range", "hashed_autodesk_id", "User", "Product", "Week starting", "Days used",
    ],
    "User versions": [
        "Time range", "hashed_autodesk_id", "User", "Product", "Version", "Days used",
    ],
    "Subscriptions": [
        "Subscription ID", "Contract number", "Offering", "Term", "Tokens purchased",
        "Start date", "End date", "Status", "Tokens used", "Tokens remaining",
        "Tokens expired", "Reseller name", "Reseller email",
    ],
    "Users": [
        "hashed_autodesk_id", "Autodesk ID", "Email", "First name", "Last name", "Role",
        "Products used", "Last used",
    ],
    "Usage": [
        "hashed_autodesk_id", "Autodesk ID", "Email", "First name", "Last name", "Team",
        "Offering", "Product", "Version", "Usage type", "Day used", "Tokens used",
    ],
}  # fmt: skip
SHEETS = list(HEADERS)

FILES = {
    "teams.csv": ["team_id", "team_alias", "include_pii", "status", "merged_into_team_id"],
    "users.csv": ["autodesk_id", "email", "first_name", "last_name"],
    "team_members.csv": ["team_id", "autodesk_id", "role"],
    "products.csv": ["product_line_code", "product_name", "tokens_per_day", "usage_category"],
    "token_packs.csv": [
        "subscription_id", "contract_number", "team_id", "offering_name", "term",
        "tokens_purchased", "purchase_date", "start_date", "end_date", "reseller_name",
        "reseller_email",
    ],
    "token_events.csv": [
        "event_id", "event_ts", "team_id", "subscription_id", "event_type", "tokens",
        "related_team_id",
    ],
    "usage.csv": [
        "usage_id", "team_id", "autodesk_id", "product_line_code", "version", "usage_date",
        "charge_ts", "tokens",
    ],
}  # fmt: skip
KEYS = {
    "teams.csv": "team_id",
    "users.csv": "autodesk_id",
    "products.csv": "product_line_code",
    "token_packs.csv": "subscription_id",
    "token_events.csv": "event_id",
    "usage.csv": "usage_id",
}
EVENT_SIGNS = {
    "purchase": 1, "move_in": 1, "merge_in": 1, "move_out": -1, "merge_out": -1,
    "adjustment": 0,
}  # fmt: skip

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
TS_RE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z")
INT_RE = re.compile(r"-?\d+")
TEAM_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BadRow(ValueError):
    """A row the landing contract says must be quarantined."""


# --------------------------------------------------------------------------- parsing


def _date(text: str) -> date:
    if not DATE_RE.fullmatch(text):
        raise BadRow(text)
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadRow(text) from exc


def _ts(text: str) -> datetime:
    match = TS_RE.fullmatch(text)
    if not match:
        raise BadRow(text)
    try:
        base = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError as exc:
        raise BadRow(text) from exc
    fraction = match.group(2)
    if fraction:
        base += timedelta(microseconds=int((fraction[1:] + "000000")[:6]))
    return base


def _int(text: str) -> int:
    if not INT_RE.fullmatch(text):
        raise BadRow(text)
    return int(text)


def _bool(text: str) -> bool:
    if text not in ("true", "false"):
        raise BadRow(text)
    return text == "true"


def _required(text: str | None) -> str:
    if not text:
        raise BadRow("empty")
    return text


def _enum(text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise BadRow(text)
    return text


def _team_id(text: str) -> str:
    if not TEAM_RE.fullmatch(text):
        raise BadRow(text)
    return text


def _known(value: str, known: set[str]) -> str:
    if value not in known:
        raise BadRow(value)
    return value


def _read_csv(path: Path) -> list[dict[str, str | None]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: (v if v != "" else None) for k, v in row.items()} for row in rows]


def _parse_file(name: str, rows: list[dict], ctx: dict[str, set[str]]) -> list[dict]:
    """Parse and validate one file; bad rows and every copy of a duplicated key are dropped."""
    key = KEYS.get(name)
    counts: dict[str | None, int] = defaultdict(int)
    if key:
        for row in rows:
            counts[row.get(key)] += 1
    good = []
    for row in rows:
        if key and counts[row.get(key)] > 1:
            continue
        try:
            good.append(_PARSERS[name](row, ctx))
        except BadRow:
            continue
    return good


def _p_team(r: dict, ctx: dict) -> dict:
    return {
        "team_id": _team_id(_required(r["team_id"])),
        "team_alias": r["team_alias"],
        "include_pii": _bool(r["include_pii"] or ""),
        "status": _enum(r["status"] or "", ("active", "merged")),
        "merged_into_team_id": r["merged_into_team_id"],
    }


def _p_user(r: dict, ctx: dict) -> dict:
    return {
        "autodesk_id": _required(r["autodesk_id"]),
        "email": r["email"],
        "first_name": r["first_name"],
        "last_name": r["last_name"],
    }


def _p_member(r: dict, ctx: dict) -> dict:
    return {
        "team_id": _known(_team_id(_required(r["team_id"])), ctx["teams"]),
        "autodesk_id": _known(_required(r["autodesk_id"]), ctx["users"]),
        "role": _enum(r["role"] or "", ("admin", "user")),
    }


def _p_product(r: dict, ctx: dict) -> dict:
    return {
        "product_line_code": _required(r["product_line_code"]),
        "product_name": r["product_name"],
        "tokens_per_day": _int(r["tokens_per_day"] or ""),
        "usage_category": _enum(r["usage_category"] or "", ("DESKTOP_PRODUCT", "CLOUD_SERVICE")),
    }


def _p_pack(r: dict, ctx: dict) -> dict:
    row = {
        "subscription_id": _required(r["subscription_id"]),
        "contract_number": r["contract_number"],
        "team_id": _known(_team_id(_required(r["team_id"])), ctx["teams"]),
        "offering_name": r["offering_name"],
        "term": r["term"],
        "tokens_purchased": _int(r["tokens_purchased"] or ""),
        "purchase_date": _date(r["purchase_date"] or ""),
        "start_date": _date(r["start_date"] or ""),
        "end_date": _date(r["end_date"] or ""),
        "reseller_name": r["reseller_name"],
        "reseller_email": r["reseller_email"],
    }
    if row["tokens_purchased"] <= 0 or row["start_date"] > row["end_date"]:
        raise BadRow("pack")
    return row


def _p_event(r: dict, ctx: dict) -> dict:
    row = {
        "event_id": _required(r["event_id"]),
        "event_ts": _ts(r["event_ts"] or ""),
        "team_id": _known(_team_id(_required(r["team_id"])), ctx["teams"]),
        "subscription_id": _known(_required(r["subscription_id"]), ctx["packs"]),
        "event_type": _enum(r["event_type"] or "", tuple(EVENT_SIGNS)),
        "tokens": _int(r["tokens"] or ""),
        "related_team_id": r["related_team_id"],
    }
    if row["related_team_id"] is not None:
        _known(row["related_team_id"], ctx["teams"])
    sign = EVENT_SIGNS[row["event_type"]]
    if sign * row["tokens"] < 0:
        raise BadRow("sign")
    return row


def _p_usage(r: dict, ctx: dict) -> dict:
    row = {
        "usage_id": _required(r["usage_id"]),
        "team_id": _known(_team_id(_required(r["team_id"])), ctx["teams"]),
        "autodesk_id": _known(_required(r["autodesk_id"]), ctx["users"]),
        "product_line_code": _known(_required(r["product_line_code"]), ctx["products"]),
        "version": r["version"],
        "usage_date": _date(r["usage_date"] or ""),
        "charge_ts": _ts(r["charge_ts"] or ""),
        "tokens": _int(r["tokens"] or ""),
    }
    if row["tokens"] < 0:
        raise BadRow("tokens")
    return row


_PARSERS = {
    "teams.csv": _p_team,
    "users.csv": _p_user,
    "team_members.csv": _p_member,
    "products.csv": _p_product,
    "token_packs.csv": _p_pack,
    "token_events.csv": _p_event,
    "usage.csv": _p_usage,
}


# --------------------------------------------------------------------------- loading


@dataclass
class State:
    """What the warehouse should know as of D: newest snapshot and deduplicated increments."""

    as_of: date
    teams: dict[str, dict] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)
    members: list[dict] = field(default_factory=list)
    products: dict[str, dict] = field(default_factory=dict)
    packs: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    usage: list[dict] = field(default_factory=list)


def _deliveries(landing: Path, as_of: date) -> list[tuple[date, Path]]:
    """Complete, valid delivery folders dated <= D, oldest first."""
    found = []
    for folder in landing.iterdir():
        if not folder.is_dir() or not DATE_RE.fullmatch(folder.name):
            continue
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if day <= as_of and (folder / "manifest.json").is_file() and _valid(folder):
            found.append((day, folder))
    return sorted(found)


def _valid(folder: Path) -> bool:
    """Manifest date, every file listed and present, sha256, record count, required columns.

    An invalid folder is treated as absent (the reference has no memory of what an earlier
    version of a re-delivered folder loaded).
    """
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("delivery_date") != folder.name:
        return False
    for name, columns in FILES.items():
        entry = manifest.get("files", {}).get(name)
        path = folder / name
        if entry is None or not path.is_file():
            return False
        if hashlib.sha256(path.read_bytes()).hexdigest() != entry.get("sha256"):
            return False
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header, *records = list(csv.reader(handle))
        if len(records) != entry.get("rows") or not set(columns) <= set(header):
            return False
    return True


def _parse_delivery(folder: Path) -> dict[str, list[dict]]:
    ctx: dict[str, set[str]] = {}
    parsed: dict[str, list[dict]] = {}
    order = ["teams.csv", "users.csv", "products.csv", "team_members.csv", "token_packs.csv"]
    order += ["token_events.csv", "usage.csv"]
    for name in order:
        parsed[name] = _parse_file(name, _read_csv(folder / name), ctx)
        if name == "teams.csv":
            ctx["teams"] = {r["team_id"] for r in parsed[name]}
        elif name == "users.csv":
            ctx["users"] = {r["autodesk_id"] for r in parsed[name]}
        elif name == "products.csv":
            ctx["products"] = {r["product_line_code"] for r in parsed[name]}
        elif name == "token_packs.csv":
            ctx["packs"] = {r["subscription_id"] for r in parsed[name]}
    return parsed


def load_state(landing: Path, as_of: date) -> State:
    """Newest snapshot dated <= D; per key, the latest delivery's increment row, facts <= D."""
    state = State(as_of=as_of)
    events: dict[str, dict] = {}
    usage: dict[str, dict] = {}
    newest: dict[str, list[dict]] = {}
    for _day, folder in _deliveries(landing, as_of):
        parsed = _parse_delivery(folder)
        newest = parsed
        for row in parsed["token_events.csv"]:
            events[row["event_id"]] = row
        for row in parsed["usage.csv"]:
            usage[row["usage_id"]] = row
    if not newest:
        return state
    state.teams = {r["team_id"]: r for r in newest["teams.csv"]}
    state.users = {r["autodesk_id"]: r for r in newest["users.csv"]}
    state.members = newest["team_members.csv"]
    state.products = {r["product_line_code"]: r for r in newest["products.csv"]}
    state.packs = {r["subscription_id"]: r for r in newest["token_packs.csv"]}
    state.events = [e for e in events.values() if e["event_ts"].date() <= as_of]
    state.usage = [u for u in usage.values() if u["usage_date"] <= as_of]
    return state


# --------------------------------------------------------------------------- drawdown


@dataclass
class Ledger:
    """One team's pack balances after the drawdown, as of D."""

    held: set[str]  # packs with at least one token event of the team
    drawn: dict[str, int]  # pack -> tokens the team's usage drew from it
    balance: dict[str, int]  # pack -> balance at the end of D
    allocated: dict[str, int]  # usage_id -> tokens drawn from packs


def _active(pack: dict, day: date) -> bool:
    return pack["start_date"] <= day <= pack["end_date"]


def drawdown(state: State, team_id: str) -> Ledger:
    """Sequential drawdown: events and charges merged in time order, events first on ties."""
    timeline = []
    for e in state.events:
        if e["team_id"] == team_id:
            timeline.append((e["event_ts"], 0, e["event_id"], e))
    for u in state.usage:
        if u["team_id"] == team_id:
            timeline.append((u["charge_ts"], 1, u["usage_id"], u))
    timeline.sort(key=lambda item: item[:3])
    balance: dict[str, int] = defaultdict(int)
    drawn: dict[str, int] = defaultdict(int)
    allocated: dict[str, int] = {}
    for _ts, kind, _id, row in timeline:
        if kind == 0:
            balance[row["subscription_id"]] += row["tokens"]
            continue
        need = row["tokens"]
        candidates = [
            sub
            for sub in balance
            if balance[sub] > 0 and _active(state.packs[sub], row["usage_date"])
        ]
        candidates.sort(
            key=lambda s: (
                state.packs[s]["end_date"],
                state.packs[s]["tokens_purchased"],
                s,
            )
        )
        for sub in candidates:
            if need == 0:
                break
            take = min(need, balance[sub])
            balance[sub] -= take
            drawn[sub] += take
            need -= take
        allocated[row["usage_id"]] = row["tokens"] - need
    return Ledger(set(balance), dict(drawn), dict(balance), allocated)


def expired_tokens(state: State, team_id: str, ledger: Ledger, sub: str) -> int:
    """The team's balance in the pack at the end of its end_date, when positive."""
    end = state.packs[sub]["end_date"]
    inflow = sum(
        e["tokens"]
        for e in state.events
        if e["team_id"] == team_id and e["subscription_id"] == sub and e["event_ts"].date() <= end
    )
    return max(inflow - ledger.drawn.get(sub, 0), 0)


# --------------------------------------------------------------------------- ranges


def _last_day_of_month(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def time_ranges(as_of: date) -> list[tuple[str, date, date, int]]:
    """The five ranges as (label, first day, last day, months)."""
    if (as_of + timedelta(days=1)).day == 1:
        last = (as_of.year, as_of.month)
    else:
        last = _shift_month(as_of.year, as_of.month, -1)
    end = _last_day_of_month(*last)
    ranges = [("Past 30 days", as_of - timedelta(days=29), as_of, 1)]
    for months in (3, 6, 9, 12):
        year, month = _shift_month(*last, -(months - 1))
        ranges.append((f"Past {months} months", date(year, month, 1), end, months))
    return ranges


# --------------------------------------------------------------------------- sheets


def hashed_id(autodesk_id: str, key: str) -> str:
    return hmac.new(key.encode("utf-8"), autodesk_id.encode("utf-8"), hashlib.sha256).hexdigest()


def _user_fields(user: dict, pii: bool, key: str) -> dict:
    hashed = hashed_id(user["autodesk_id"], key)
    if not pii:
        return {"hashed": hashed, "id": MASK, "email": MASK, "first": MASK, "last": MASK,
                "name": hashed}  # fmt: skip
    name = " ".join(p for p in (user["first_name"], user["last_name"]) if p)
    return {
        "hashed": hashed,
        "id": user["autodesk_id"],
        "email": user["email"],
        "first": user["first_name"],
        "last": user["last_name"],
        "name": name,
    }


def _band(tokens: int) -> str:
    for label, low, high in BANDS:
        if tokens >= low and (high is None or tokens <= high):
            return label
    raise AssertionError(tokens)


def team_workbook(state: State, team_id: str, key: str) -> dict[str, list[list]]:
    """Every sheet of one team's nightly workbook, header first."""
    team = state.teams[team_id]
    pii = team["include_pii"]
    d = state.as_of
    usage = [u for u in state.usage if u["team_id"] == team_id]
    users = {a: _user_fields(state.users[a], pii, key) for a in {u["autodesk_id"] for u in usage}}
    name = {c: p["product_name"] for c, p in state.products.items()}
    sheets: dict[str, list[list]] = {s: [HEADERS[s]] for s in SHEETS}

    # Summary upper section and Subscriptions.
    ledger = drawdown(state, team_id)
    active_now = [s for s in ledger.held if _active(state.packs[s], d)]
    week = [
        e["tokens"]
        for e in state.events
        if e["team_id"] == team_id and d - timedelta(days=6) <= e["event_ts"].date() <= d
    ]
    added = sum(t for t in week if t > 0)
    removed = sum(t for t in week if t < 0)
    sheets["Summary"].append([
        team_id,
        team["team_alias"],
        d,
        sum(ledger.drawn.get(s, 0) for s in active_now),
        sum(max(ledger.balance[s], 0) for s in active_now),
        added,
        removed,
        added + removed,
    ])  # fmt: skip
    for sub in sorted(ledger.held, key=lambda s: (state.packs[s]["start_date"], s)):
        pack = state.packs[sub]
        if pack["end_date"] < d:
            status = "Expired"
        elif d < pack["start_date"]:
            status = "Not started"
        else:
            status = "Active"
        remaining = max(ledger.balance[sub], 0) if status == "Active" else 0
        expired = expired_tokens(state, team_id, ledger, sub) if status == "Expired" else 0
        sheets["Subscriptions"].append([
            sub, pack["contract_number"], pack["offering_name"], pack["term"],
            pack["tokens_purchased"], pack["start_date"], pack["end_date"], status,
            ledger.drawn.get(sub, 0), remaining, expired, pack["reseller_name"],
            pack["reseller_email"],
        ])  # fmt: skip

    # Tokens by day.
    for offset in range(364, -1, -1):
        day = d - timedelta(days=offset)
        tokens = sum(u["tokens"] for u in usage if u["usage_date"] == day)
        sheets["Tokens by day"].append([day, tokens])

    # Time ranges and the per-range tabs.
    for label, first, last, months in time_ranges(d):
        rows = [u for u in usage if first <= u["usage_date"] <= last]
        sheets["Time ranges"].append([
            label, first, last, months, sum(u["tokens"] for u in rows),
            len({u["product_line_code"] for u in rows}), len({u["autodesk_id"] for u in rows}),
        ])  # fmt: skip
        _range_sheets(sheets, label, first, last, months, rows, users, name)

    # Users (team members), sorted by the shown name (real name or hashed id).
    member_rows = []
    _label, year_first, year_last, _months = time_ranges(d)[4]
    for member in state.members:
        if member["team_id"] != team_id:
            continue
        f = _user_fields(state.users[member["autodesk_id"]], pii, key)
        own = [u for u in usage if u["autodesk_id"] == member["autodesk_id"]]
        recent = {
            name[u["product_line_code"]] for u in own if year_first <= u["usage_date"] <= year_last
        }
        last_used = max((u["usage_date"] for u in own), default=None)
        member_rows.append((f["name"], f["hashed"], [
            f["hashed"], f["id"], f["email"], f["first"], f["last"], member["role"],
            "; ".join(sorted(recent)) or None, last_used,
        ]))  # fmt: skip
    sheets["Users"].extend(row for *_sort, row in sorted(member_rows, key=lambda r: r[:2]))

    # Usage (Past 30 days).
    first30 = d - timedelta(days=29)
    recent = sorted(
        (u for u in usage if first30 <= u["usage_date"] <= d),
        key=lambda u: (u["usage_date"], u["charge_ts"], u["usage_id"]),
    )
    for u in recent:
        f = users[u["autodesk_id"]]
        product = state.products[u["product_line_code"]]
        sheets["Usage"].append([
            f["hashed"], f["id"], f["email"], f["first"], f["last"], team["team_alias"], "Flex",
            product["product_name"], u["version"], product["usage_category"], u["usage_date"],
            u["tokens"],
        ])  # fmt: skip
    return sheets


def _range_sheets(sheets, label, first, last, months, rows, users, name) -> None:
    by_product: dict[str, list[dict]] = defaultdict(list)
    for u in rows:
        by_product[name[u["product_line_code"]]].append(u)
    for product in sorted(by_product):
        prows = by_product[product]
        total = sum(u["tokens"] for u in prows)
        per_user: dict[str, int] = defaultdict(int)
        for u in prows:
            per_user[u["autodesk_id"]] += u["tokens"]
        sheets["By product"].append([label, product, len(per_user), total, total / months])
        for band, _low, _high in BANDS:
            count = sum(1 for t in per_user.values() if _band(t) == band)
            sheets["Token distribution"].append([label, product, band, count])
        versions: dict[str, set[str]] = defaultdict(set)
        for u in prows:
            versions[u["version"]].add(u["autodesk_id"])
        for version in sorted(versions):
            sheets["Users by version"].append([label, product, version, len(versions[version])])
        for a in sorted(per_user, key=lambda a: (users[a]["name"], users[a]["hashed"])):
            f = users[a]
            sheets["Product users"].append(
                [label, product, f["hashed"], f["name"], per_user[a], per_user[a] / months]
            )

    by_user: dict[str, list[dict]] = defaultdict(list)
    for u in rows:
        by_user[u["autodesk_id"]].append(u)
    for a in sorted(by_user, key=lambda a: (users[a]["name"], users[a]["hashed"])):
        f = users[a]
        urows = by_user[a]
        products = sorted({name[u["product_line_code"]] for u in urows})
        sheets["By user"].append([
            label, f["hashed"], f["name"], "; ".join(products), len(products),
            sum(u["tokens"] for u in urows), len({u["usage_date"] for u in urows}),
            (last - first).days + 1,
        ])  # fmt: skip
        weeks: dict[tuple[str, date], set[date]] = defaultdict(set)
        versions: dict[tuple[str, str], set[date]] = defaultdict(set)
        for u in urows:
            day = u["usage_date"]
            product = name[u["product_line_code"]]
            weeks[(product, day - timedelta(days=day.weekday()))].add(day)
            versions[(product, u["version"])].add(day)
        for product, monday in sorted(weeks):
            sheets["User weekly days"].append(
                [label, f["hashed"], f["name"], product, monday, len(weeks[(product, monday)])]
            )
        for product, version in sorted(versions):
            sheets["User versions"].append(
                [label, f["hashed"], f["name"], product, version, len(versions[(product, version)])]
            )


def nightly_workbooks(landing: Path, as_of: date, key: str) -> dict[str, dict[str, list[list]]]:
    """team_id -> sheet name -> rows (header first), for every active team as of D."""
    state = load_state(landing, as_of)
    return {
        team_id: team_workbook(state, team_id, key)
        for team_id, team in sorted(state.teams.items())
        if team["status"] == "active"
    }


# --------------------------------------------------------------------------- balances, forecast


@dataclass(frozen=True)
class Forecast:
    """The simulation's outcome, in exact tokens."""

    run_out: date | None
    expiring_unused: Fraction
    to_buy: Fraction


def forecast(
    as_of: date, burn: Fraction, packs: dict[str, dict], balances: dict[str, int]
) -> Forecast:
    """Day by day over D+1 .. D+365: draw ``burn`` from the packs active that day with a
    positive balance, in drawdown order, splitting; a pack's balance expires at the end of
    its end_date. ``balances`` are the team's balances at the end of D per pack."""
    left = {
        sub: Fraction(max(balance, 0))
        for sub, balance in balances.items()
        if packs[sub]["end_date"] > as_of
    }
    run_out, expiring, drawn = None, Fraction(0), Fraction(0)
    for offset in range(1, 366):
        day = as_of + timedelta(days=offset)
        need = burn
        for sub in sorted(
            (s for s in left if left[s] > 0 and _active(packs[s], day)),
            key=lambda s: (packs[s]["end_date"], packs[s]["tokens_purchased"], s),
        ):
            take = min(need, left[sub])
            left[sub] -= take
            drawn += take
            need -= take
        if need > 0 and run_out is None:
            run_out = day
        for sub in left:
            if packs[sub]["end_date"] == day:
                expiring += left[sub]
                left[sub] = Fraction(0)
    return Forecast(run_out, expiring, burn * 365 - drawn)


def round_half_up(value: Fraction, places: int = 0) -> Decimal:
    """``value`` (not negative) rounded half up to ``places`` decimals."""
    scaled = value * 10**places
    return Decimal(int(scaled + Fraction(1, 2))).scaleb(-places)


ALERTS = (
    "low balance",
    "tokens expiring within 90 days",
    "run-out within 90 days",
    "usage not covered by a pack",
)


def balances_row(state: State, team_id: str) -> dict:
    """The Balances figures of one team, keyed by the rpt_balances column names."""
    d = state.as_of
    ledger = drawdown(state, team_id)
    active = [s for s in ledger.held if _active(state.packs[s], d)]
    available = sum(max(ledger.balance[s], 0) for s in active)
    used = sum(ledger.drawn.get(s, 0) for s in active)
    total = available + used
    positive = [s for s in active if ledger.balance[s] > 0]
    next_expiry = min((state.packs[s]["end_date"] for s in positive), default=None)
    usage = [u for u in state.usage if u["team_id"] == team_id]
    recent = [u for u in usage if d - timedelta(days=89) <= u["usage_date"] <= d]

    def unallocated(days: int) -> int:
        return sum(
            u["tokens"] - ledger.allocated.get(u["usage_id"], 0)
            for u in usage
            if d - timedelta(days=days - 1) <= u["usage_date"] <= d
        )

    burn = Fraction(sum(u["tokens"] for u in recent), 90)
    outlook = forecast(d, burn, state.packs, {s: ledger.balance[s] for s in ledger.held})
    row = {
        "tokens_available": available,
        "tokens_used": used,
        "tokens_total": total,
        "available_share": available / total if total else None,
        "tokens_expiring_within_90_days": sum(
            ledger.balance[s] for s in positive if state.packs[s]["end_date"] <= d + timedelta(89)
        ),
        "next_expiry_date": next_expiry,
        "days_to_next_expiry": (next_expiry - d).days if next_expiry else None,
        "unallocated_tokens_past_30_days": unallocated(30),
        "unallocated_tokens_past_365_days": unallocated(365),
        "products_used_past_90_days": len({u["product_line_code"] for u in recent}),
        "users_past_90_days": len({u["autodesk_id"] for u in recent}),
        "daily_burn_rate": round_half_up(burn, 2),
        "run_out_date": outlook.run_out,
        "tokens_expiring_unused_next_12_months": int(round_half_up(outlook.expiring_unused)),
        "tokens_to_buy_next_12_months": int(round_half_up(outlook.to_buy)),
    }
    holds = [
        total == 0 or available * 5 < total,
        row["tokens_expiring_within_90_days"] > 0,
        outlook.run_out is not None and outlook.run_out <= d + timedelta(90),
        row["unallocated_tokens_past_30_days"] > 0,
    ]
    row["alerts"] = "; ".join(name for name, on in zip(ALERTS, holds, strict=True) if on)
    row["low_balance"] = holds[0]
    return row


def token_event_rows(state: State, team_id: str) -> list[tuple]:
    """Token events sheet rows, in export order: (date, event, tokens, subscription, related
    team, event id)."""
    d = state.as_of
    first = d - timedelta(days=89)
    events = sorted(
        (e for e in state.events if e["team_id"] == team_id and first <= e["event_ts"].date()),
        key=lambda e: (e["event_ts"].date(), e["event_ts"], e["event_id"]),
    )
    rows = [
        (e["event_ts"].date(), 0, e["event_type"], e["tokens"], e["subscription_id"],
         e["related_team_id"], e["event_id"])
        for e in events
    ]  # fmt: skip
    ledger = drawdown(state, team_id)
    for sub in sorted(ledger.held):
        end = state.packs[sub]["end_date"]
        expired = expired_tokens(state, team_id, ledger, sub)
        if first <= end <= d - timedelta(days=1) and expired > 0:
            rows.append((end, 1, "expiration", -expired, sub, None, None))
    rows.sort(key=lambda r: (r[0], r[1]))  # stable: events keep their order, packs by id
    return [(day, *rest) for day, _order, *rest in rows]


def tokens_by_month_rows(state: State, team_id: str) -> list[tuple]:
    """Tokens by month rows: (first day, complete, tokens used, products used, total users)."""
    d = state.as_of
    _label, first, last, _months = time_ranges(d)[4]
    starts = []
    year, month = first.year, first.month
    while date(year, month, 1) <= d:
        starts.append(date(year, month, 1))
        year, month = _shift_month(year, month, 1)
    rows = []
    for start in starts:
        end = min(_last_day_of_month(start.year, start.month), d)
        used = [
            u for u in state.usage if u["team_id"] == team_id and start <= u["usage_date"] <= end
        ]
        rows.append((
            start, "yes" if start <= last else "no", sum(u["tokens"] for u in used),
            len({u["product_line_code"] for u in used}), len({u["autodesk_id"] for u in used}),
        ))  # fmt: skip
    return rows


def subscription_flows(state: State, team_id: str) -> dict[str, tuple[int, int, int]]:
    """Per pack held: (tokens received, tokens sent, adjustments) over events up to D."""
    flows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for e in state.events:
        if e["team_id"] != team_id:
            continue
        kind = e["event_type"]
        if kind in ("purchase", "move_in", "merge_in"):
            slot = 0
        else:
            slot = 2 if kind == "adjustment" else 1
        flows[e["subscription_id"]][slot] += -e["tokens"] if slot == 1 else e["tokens"]
    return {sub: tuple(values) for sub, values in flows.items()}
