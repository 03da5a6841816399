"""The synthetic delivery generator follows the landing contract and is deterministic."""

from __future__ import annotations

import calendar
import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from tools.generate import generate_landing

START, END = date(2026, 3, 2), date(2026, 3, 15)
TEAMS, SEED, SCALE = 6, 7, 4.0

HEADERS = {
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

TEAM_ID = r"[A-Za-z0-9_-]{1,64}"
DATE = r"\d{4}-\d{2}-\d{2}"
TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
KEY = r"\S+"
FORMATS = {
    "teams.csv": {"team_id": TEAM_ID, "team_alias": r"(?s).+", "include_pii": "true|false",
                  "status": "active|merged", "merged_into_team_id": f"|{TEAM_ID}"},
    "users.csv": {"autodesk_id": r"[A-Z0-9]{12}", "email": r"[a-z0-9.]+@[a-z0-9.-]+\.example",
                  "first_name": r".*", "last_name": r".*"},
    "team_members.csv": {"team_id": TEAM_ID, "autodesk_id": r"[A-Z0-9]{12}",
                         "role": "admin|user"},
    "products.csv": {"product_line_code": r"[A-Z0-9]+", "product_name": r".+",
                     "tokens_per_day": r"[1-9]\d*",
                     "usage_category": "DESKTOP_PRODUCT|CLOUD_SERVICE"},
    "token_packs.csv": {"subscription_id": KEY, "contract_number": KEY, "team_id": TEAM_ID,
                        "offering_name": "Flex", "term": "Annual", "tokens_purchased": r"[1-9]\d*",
                        "purchase_date": DATE, "start_date": DATE, "end_date": DATE,
                        "reseller_name": r".*", "reseller_email": r"|\S+@\S+"},
    "token_events.csv": {"event_id": KEY, "event_ts": TS, "team_id": TEAM_ID,
                         "subscription_id": KEY,
                         "event_type": "purchase|move_in|move_out|merge_in|merge_out|adjustment",
                         "tokens": r"-?[1-9]\d*", "related_team_id": f"|{TEAM_ID}"},
    "usage.csv": {"usage_id": KEY, "team_id": TEAM_ID, "autodesk_id": r"[A-Z0-9]{12}",
                  "product_line_code": r"[A-Z0-9]+", "version": r"20\d\d|cloud",
                  "usage_date": DATE, "charge_ts": TS, "tokens": r"\d+"},
}  # fmt: skip
SIGNS = {"purchase": 1, "move_in": 1, "merge_in": 1, "move_out": -1, "merge_out": -1}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    summary = generate_landing(landing, START, END, TEAMS, SEED, SCALE)
    return landing, summary


@pytest.fixture(scope="module")
def deliveries(run):
    """{delivery date: {file name: rows}} read back with the csv module."""
    landing, _ = run
    return {
        date.fromisoformat(d.name): {name: read_csv(d / name) for name in HEADERS}
        for d in sorted(landing.iterdir())
    }


def good_usage(deliveries, summary):
    bad = set(summary.bad_usage_ids)
    return {
        day: [r for r in files["usage.csv"] if r["usage_id"] not in bad]
        for day, files in deliveries.items()
    }


def test_one_folder_per_day(run):
    landing, summary = run
    expected = [(START + timedelta(days=i)).isoformat() for i in range((END - START).days + 1)]
    assert sorted(p.name for p in landing.iterdir()) == expected
    assert summary.days == len(expected)


def test_manifest_last_and_consistent(run):
    landing, _ = run
    for folder in landing.iterdir():
        assert sorted(p.name for p in folder.iterdir()) == sorted([*HEADERS, "manifest.json"])
        manifest_path = folder / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        assert manifest["delivery_date"] == folder.name
        assert set(manifest["files"]) == set(HEADERS)
        for name, entry in manifest["files"].items():
            data = (folder / name).read_bytes()
            with (folder / name).open(encoding="utf-8", newline="") as f:
                records = sum(1 for _ in csv.reader(f)) - 1
            assert entry == {"rows": records, "sha256": hashlib.sha256(data).hexdigest()}
            assert (folder / name).stat().st_mtime_ns <= manifest_path.stat().st_mtime_ns


def test_multiline_field_counts_as_one_record(run):
    landing, _ = run
    teams_file = landing / START.isoformat() / "teams.csv"
    physical_lines = teams_file.read_bytes().count(b"\n") - 1
    manifest = json.loads((landing / START.isoformat() / "manifest.json").read_text())
    assert manifest["files"]["teams.csv"]["rows"] < physical_lines


def test_exact_headers_and_utf8(run):
    landing, _ = run
    for folder in landing.iterdir():
        for name, header in HEADERS.items():
            with (folder / name).open(encoding="utf-8", newline="") as f:
                assert next(csv.reader(f)) == header


def test_value_formats(deliveries, run):
    _, summary = run
    bad_ids = set(summary.bad_usage_ids)
    empty_user_ids = 0
    for day, files in deliveries.items():
        for name, rows in files.items():
            for row in rows:
                if name == "usage.csv" and row["usage_id"] in bad_ids:
                    continue
                if name == "users.csv" and row["autodesk_id"] == "":
                    empty_user_ids += 1
                    continue
                for column, pattern in FORMATS[name].items():
                    assert re.fullmatch(pattern, row[column]), (day, name, column, row[column])
                for column in ("usage_date", "purchase_date", "start_date", "end_date"):
                    if column in row:
                        date.fromisoformat(row[column])
    assert empty_user_ids == summary.rejected_records.get("users.csv", 0)


def test_references_resolve_within_each_delivery(deliveries, run):
    _, summary = run
    usage = good_usage(deliveries, summary)
    for day, files in deliveries.items():
        teams = {r["team_id"] for r in files["teams.csv"]}
        users = {r["autodesk_id"] for r in files["users.csv"]}
        products = {r["product_line_code"] for r in files["products.csv"]}
        packs = {r["subscription_id"] for r in files["token_packs.csv"]}
        for r in files["teams.csv"]:
            assert r["merged_into_team_id"] in teams | {""}
        for r in files["team_members.csv"]:
            assert r["team_id"] in teams and r["autodesk_id"] in users
        for r in files["token_packs.csv"]:
            assert r["team_id"] in teams
        for r in files["token_events.csv"]:
            assert r["team_id"] in teams and r["subscription_id"] in packs
            assert r["related_team_id"] in teams | {""}
        for r in usage[day]:
            assert r["team_id"] in teams and r["autodesk_id"] in users, r
            assert r["product_line_code"] in products


def test_deterministic_for_a_seed(run, tmp_path):
    landing, _ = run
    generate_landing(tmp_path / "same", START, END, TEAMS, SEED, SCALE)
    generate_landing(tmp_path / "other", START, END, TEAMS, SEED + 1, SCALE)
    first = {p.relative_to(landing): p.read_bytes() for p in landing.rglob("*") if p.is_file()}
    same = tmp_path / "same"
    other = tmp_path / "other"
    assert {p.relative_to(same): p.read_bytes() for p in same.rglob("*") if p.is_file()} == first
    assert {p.relative_to(other): p.read_bytes() for p in other.rglob("*") if p.is_file()} != first


def test_usage_charges_are_realistic(deliveries, run):
    _, summary = run
    usage = good_usage(deliveries, summary)
    last = list(deliveries)[-1]
    rates = {r["product_line_code"]: r for r in deliveries[last]["products.csv"]}
    per_day: Counter[date] = Counter()
    for rows in usage.values():
        ids = [r["usage_id"] for r in rows]
        assert len(ids) == len(set(ids))
        for r in rows:
            product = rates[r["product_line_code"]]
            assert int(r["tokens"]) in (0, int(product["tokens_per_day"]))
            assert r["charge_ts"][:10] == r["usage_date"]
            assert "07:00:00" <= r["charge_ts"][11:19] < "19:00:00"
            cloud = product["usage_category"] == "CLOUD_SERVICE"
            assert (r["version"] == "cloud") == cloud
            per_day[date.fromisoformat(r["usage_date"])] += 1
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    assert min(weekday) > 5 * max(weekend)
    zero = sum(r["tokens"] == "0" for rows in usage.values() for r in rows)
    total = sum(len(rows) for rows in usage.values())
    assert 0.005 < zero / total < 0.1


def test_late_and_corrected_rows(deliveries, run):
    _, summary = run
    usage = good_usage(deliveries, summary)
    late = [(d, r) for d, rows in usage.items() for r in rows if r["usage_date"] < d.isoformat()]
    assert late and all(1 <= (d - date.fromisoformat(r["usage_date"])).days <= 5 for d, r in late)
    seen: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for day, rows in usage.items():
        for r in rows:
            seen[r["usage_id"]].append((day, r["tokens"]))
    resent = {k: v for k, v in seen.items() if len(v) > 1}
    assert len(resent) == summary.corrected_rows > 0
    assert all(len(v) == 2 and v[0][1] != v[1][1] for v in resent.values())
    final = {k: int(v[-1][1]) for k, v in seen.items()}
    assert len(final) == summary.usage_rows
    assert sum(final.values()) == summary.usage_tokens


def test_token_moves_and_adjustments(deliveries):
    events = [e for files in deliveries.values() for e in files["token_events.csv"]]
    for e in events:
        sign = SIGNS.get(e["event_type"])
        if sign:
            assert int(e["tokens"]) * sign > 0
    outs = [e for e in events if e["event_type"] == "move_out"]
    ins = {(e["event_ts"], e["subscription_id"], e["team_id"]): e for e in events
           if e["event_type"] == "move_in"}  # fmt: skip
    assert outs and len(outs) == len(ins)
    for out in outs:
        match = ins[(out["event_ts"], out["subscription_id"], out["related_team_id"])]
        assert match["related_team_id"] == out["team_id"] != match["team_id"]
        assert int(match["tokens"]) == -int(out["tokens"])
    assert any(e["event_type"] == "adjustment" for e in events)
    assert len({e["event_id"] for e in events}) == len(events)


def test_purchases_and_packs(deliveries):
    def year_later(d: date) -> date:
        last_day = calendar.monthrange(d.year + 1, d.month)[1]
        return date(d.year + 1, d.month, min(d.day, last_day)) - timedelta(days=1)

    last = deliveries[max(deliveries)]
    packs = {p["subscription_id"]: p for p in last["token_packs.csv"]}
    for p in packs.values():
        assert p["start_date"] >= p["purchase_date"]
        assert date.fromisoformat(p["end_date"]) == year_later(date.fromisoformat(p["start_date"]))
    for day, files in deliveries.items():
        for p in files["token_packs.csv"]:
            assert p["purchase_date"] <= day.isoformat()
        bought = {
            (e["subscription_id"], int(e["tokens"]))
            for e in files["token_events.csv"]
            if e["event_type"] == "purchase"
        }
        due = {
            (p["subscription_id"], int(p["tokens_purchased"]))
            for p in packs.values()
            if p["purchase_date"] == day.isoformat()
        }
        assert bought == due
    ends = Counter((p["team_id"], p["end_date"]) for p in packs.values())
    assert max(ends.values()) >= 2


def test_merge(deliveries, run):
    _, summary = run
    merged, survivor, when = summary.merged_team_id, summary.survivor_team_id, summary.merge_date
    assert merged and survivor and START < when <= END
    for day, files in deliveries.items():
        row = next(t for t in files["teams.csv"] if t["team_id"] == merged)
        expected = ("merged", survivor) if day >= when else ("active", "")
        assert (row["status"], row["merged_into_team_id"]) == expected

    merge_events = [
        e
        for files in deliveries.values()
        for e in files["token_events.csv"]
        if e["event_type"].startswith("merge")
    ]
    assert all(e["event_ts"].startswith(when.isoformat()) for e in merge_events)
    assert all(e in deliveries[when]["token_events.csv"] for e in merge_events)
    outs = [e for e in merge_events if e["event_type"] == "merge_out"]
    ins = [e for e in merge_events if e["event_type"] == "merge_in"]
    assert outs and len(outs) == len(ins)
    assert all((e["team_id"], e["related_team_id"]) == (merged, survivor) for e in outs)
    assert all((e["team_id"], e["related_team_id"]) == (survivor, merged) for e in ins)
    assert {e["subscription_id"] for e in outs} == {e["subscription_id"] for e in ins}

    # The merged team's balance moves in full: purchases minus its (final) usage.
    final: dict[str, dict[str, str]] = {}
    for rows in good_usage(deliveries, summary).values():
        final.update({r["usage_id"]: r for r in rows})
    used = sum(int(r["tokens"]) for r in final.values() if r["team_id"] == merged)
    purchased = sum(
        int(p["tokens_purchased"])
        for p in deliveries[END]["token_packs.csv"]
        if p["team_id"] == merged
    )
    assert -sum(int(e["tokens"]) for e in outs) == purchased - used
    assert sum(int(e["tokens"]) for e in merge_events) == 0

    after = [r for r in final.values() if r["usage_date"] >= when.isoformat()]
    assert all(r["team_id"] != merged for r in after)
    former = {m["autodesk_id"] for m in deliveries[START]["team_members.csv"]
              if m["team_id"] == merged}  # fmt: skip
    assert any(r["team_id"] == survivor and r["autodesk_id"] in former for r in after)


def test_teams_users_and_roles(deliveries):
    last = deliveries[END]
    teams = last["teams.csv"]
    assert {t["include_pii"] for t in teams} == {"true", "false"}
    aliases = [t["team_alias"] for t in teams]
    for needle in (",", '"', "/", "..", "\n"):
        assert any(needle in a for a in aliases), needle
    assert any(a.startswith("=") for a in aliases)
    assert any(any(ord(c) > 0xFFFF for c in a) for a in aliases)
    members = last["team_members.csv"]
    active = {t["team_id"] for t in teams if t["status"] == "active"}
    admins = {m["team_id"] for m in members if m["role"] == "admin"}
    assert active <= admins
    per_user = Counter(m["autodesk_id"] for m in members)
    assert max(per_user.values()) >= 2
    sizes = Counter(m["team_id"] for m in deliveries[START]["team_members.csv"])
    assert max(sizes.values()) >= 3 * min(sizes.values())
    names = [u["first_name"] + u["last_name"] for u in last["users.csv"]]
    assert any(any(ord(c) > 127 for c in n) for n in names)
    # Some teams join after the first delivery; snapshots never lose an entity.
    assert len(deliveries[START]["teams.csv"]) < len(teams)
    days = sorted(deliveries)
    for earlier, later in zip(days, days[1:], strict=False):
        for name, key in (("teams.csv", "team_id"), ("users.csv", "autodesk_id"),
                          ("token_packs.csv", "subscription_id")):  # fmt: skip
            before = {r[key] for r in deliveries[earlier][name]}
            assert before <= {r[key] for r in deliveries[later][name]}


def test_bad_rows_are_few_and_varied(deliveries, run):
    _, summary = run
    bad_ids = set(summary.bad_usage_ids)
    assert bad_ids
    kinds = set()
    known_teams = {t["team_id"] for t in deliveries[END]["teams.csv"]}
    products = {p["product_line_code"] for p in deliveries[END]["products.csv"]}
    for files in deliveries.values():
        rows = files["usage.csv"]
        bad = [r for r in rows if r["usage_id"] in bad_ids]
        assert len(bad) < 0.01 * len(rows) or not bad
        empty = [u for u in files["users.csv"] if not u["autodesk_id"]]
        assert len(empty) < 0.01 * len(files["users.csv"]) or not empty
        copies = Counter(r["usage_id"] for r in bad)
        for r in bad:
            if copies[r["usage_id"]] == 2:
                kinds.add("duplicate")
            elif r["tokens"].startswith("-"):
                kinds.add("negative")
            elif not re.fullmatch(DATE, r["usage_date"]):
                kinds.add("date")
            elif not re.fullmatch(TEAM_ID, r["team_id"]):
                kinds.add("team_pattern")
            elif r["team_id"] not in known_teams:
                kinds.add("team_unknown")
            elif r["product_line_code"] not in products:
                kinds.add("product")
    assert kinds == {"duplicate", "negative", "date", "team_pattern", "team_unknown", "product"}
    assert summary.rejected_records["usage.csv"] == sum(
        1 for files in deliveries.values() for r in files["usage.csv"] if r["usage_id"] in bad_ids
    )


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate_landing(tmp_path, END, START)
    with pytest.raises(ValueError):
        generate_landing(tmp_path, START, END, teams=0)
