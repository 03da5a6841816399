"""The reference implementation checked against figures computed by hand.

Scenario (a) (tests/handmade/example.py) has acme-design's S-1001 (1000 tokens, 2025-04-15
to 2026-04-14) and northwind_01 (include_pii = false) receiving S-1002 and 100 tokens of
S-1001 on 2026-03-02.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import reference as ref
from handmade import example, late_rows, merge_moves, privacy

KEY = "reference-test-key"


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    for _as_of in example.stages(root):
        pass
    return root


def sheet(books, team, name):
    header, *rows = books[team][name]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_hmac_matches_rfc4231_vector():
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert ref.hashed_id("what do ya want for nothing?", "Jefe") == expected


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # Mid-month: L is the month before.
        (date(2026, 11, 27), [("2026-10-29", "2026-11-27"), ("2026-08-01", "2026-10-31")]),
        # Last day of the month: L is the month of D.
        (date(2026, 11, 30), [("2026-11-01", "2026-11-30"), ("2026-09-01", "2026-11-30")]),
        # Leap-year February, month end and mid-month.
        (date(2028, 2, 29), [("2028-01-31", "2028-02-29"), ("2027-12-01", "2028-02-29")]),
        (date(2028, 2, 28), [("2028-01-30", "2028-02-28"), ("2027-11-01", "2028-01-31")]),
    ],
)
def test_time_ranges(as_of, expected):
    ranges = ref.time_ranges(as_of)
    got = [(first.isoformat(), last.isoformat()) for _label, first, last, _m in ranges[:2]]
    assert got == expected
    assert [r[0] for r in ranges] == [
        "Past 30 days", "Past 3 months", "Past 6 months", "Past 9 months", "Past 12 months",
    ]  # fmt: skip
    assert [r[3] for r in ranges] == [1, 3, 6, 9, 12]
    assert ranges[4][2] == ranges[1][2]


def test_drawdown_order_split_and_unallocated():
    def pk(end, purchased):
        return {"start_date": date(2027, 1, 1), "end_date": end, "tokens_purchased": purchased}

    packs = {"X": pk(date(2027, 6, 30), 200), "Y": pk(date(2027, 6, 30), 100)}
    packs["Z"] = pk(date(2027, 12, 31), 5)
    t = datetime(2027, 3, 1, 12, 0)

    def ev(i, sub, tokens):
        return {"event_id": i, "event_ts": t, "team_id": "T", "subscription_id": sub,
                "tokens": tokens}  # fmt: skip

    def ch(i, tokens):
        return {"usage_id": i, "team_id": "T", "usage_date": t.date(), "charge_ts": t,
                "tokens": tokens}  # fmt: skip

    state = ref.State(as_of=date(2027, 3, 1), packs=packs)
    # Events at the charge's instant apply first; U-1 sorts before U-2 (same charge_ts).
    state.events = [ev("E1", "X", 200), ev("E2", "Y", 100), ev("E3", "Z", 5)]
    state.usage = [ch("U-2", 60), ch("U-1", 150)]
    ledger = ref.drawdown(state, "T")
    # U-1: Y (same end date as X, fewer tokens purchased) gives 100, X gives 50.
    # U-2: X gives its remaining 150 -> 60; Z untouched (later end date).
    assert ledger.allocated == {"U-1": 150, "U-2": 60}
    assert ledger.drawn == {"Y": 100, "X": 110}
    assert ledger.balance == {"X": 90, "Y": 0, "Z": 5}
    state.usage = [ch("U-1", 300)]
    ledger = ref.drawdown(state, "T")
    # 100 (Y) + 200 (X) + 5 (Z) = 305 >= 300: fully allocated, Z keeps 5.
    assert ledger.allocated == {"U-1": 300} and ledger.balance["Z"] == 5
    state.usage = [ch("U-1", 310)]
    assert ref.drawdown(state, "T").allocated == {"U-1": 305}


def test_example_delivery_day(landing):
    books = ref.nightly_workbooks(landing, date(2026, 3, 2), KEY)
    assert sorted(books) == ["acme-design", "northwind_01"]
    # acme: +1000 (E-1001) -100 (E-9002); draws 7 + 10 + 7 + 7 = 31 from S-1001.
    assert books["acme-design"]["Summary"][1] == [
        "acme-design", "Acme Design, Inc.", date(2026, 3, 2), 31, 869, 0, -100, -100,
    ]  # fmt: skip
    # northwind: U-499870 (02-27) precedes any event: unallocated. U-500002 draws 10 from
    # S-1001 (earlier end date than S-1002). Remaining 90 + 500; added 500 + 100.
    assert books["northwind_01"]["Summary"][1] == [
        "northwind_01", "Northwind Architects", date(2026, 3, 2), 10, 590, 600, 0, 600,
    ]  # fmt: skip
    subs = sheet(books, "northwind_01", "Subscriptions")
    got = [
        (s["Subscription ID"], s["Status"], s["Tokens used"], s["Tokens remaining"]) for s in subs
    ]
    assert got == [("S-1001", "Active", 10, 90), ("S-1002", "Active", 0, 500)]
    assert subs[0]["Reseller name"] == "Example Reseller" and subs[1]["Reseller name"] is None

    ranges = sheet(books, "northwind_01", "Time ranges")
    # Past 30 days 2026-02-01..03-02: 10 + 10 + 0 over 2 products and 2 users.
    assert (ranges[0]["Start date"], ranges[0]["Total tokens used"]) == (date(2026, 2, 1), 20)
    assert (ranges[0]["Products used"], ranges[0]["Total users"]) == (2, 2)
    # Past 3 months 2025-12-01..2026-02-28: only the late row.
    assert [ranges[1][k] for k in ("End date", "Total tokens used", "Total users")] == [
        date(2026, 2, 28), 10, 1,
    ]  # fmt: skip
    acme_ranges = sheet(books, "acme-design", "Time ranges")
    # 3 months: none; 6 months (from 2025-09-01): 10 + 7; 12 (from 2025-03-01): + 7.
    assert [r["Total tokens used"] for r in acme_ranges] == [7, 0, 17, 17, 24]
    assert [r["Products used"] for r in acme_ranges] == [1, 0, 2, 2, 2]

    tokens_by_day = books["acme-design"]["Tokens by day"][1:]
    assert len(tokens_by_day) == 365 and tokens_by_day[0][0] == date(2025, 3, 3)
    assert sum(t for _d, t in tokens_by_day) == 31

    sade = ref.hashed_id("KD5T7Y4G1QMZ", KEY)
    jia = ref.hashed_id("HV3N9C6W2PLB", KEY)
    by_user = [
        u for u in sheet(books, "northwind_01", "By user") if u["Time range"] == "Past 30 days"
    ]
    assert [u["User"] for u in by_user] == sorted([sade, jia])
    row = next(u for u in by_user if u["User"] == sade)
    assert (row["Products used"], row["Number of products"], row["Total tokens used"]) == (
        "AutoCAD; Revit", 2, 10,
    )  # fmt: skip
    assert (row["Days used"], row["Days in range"]) == (2, 30)
    weeks = [
        (w["Product"], w["Week starting"])
        for w in sheet(books, "northwind_01", "User weekly days")
        if w["Time range"] == "Past 30 days" and w["User"] == sade
    ]
    # 2026-02-27 is a Friday (week of Monday 02-23); 2026-03-02 is a Monday.
    assert weeks == [("AutoCAD", date(2026, 3, 2)), ("Revit", date(2026, 2, 23))]
    bands = [
        (b["Product"], b["Band"], b["Users"])
        for b in sheet(books, "northwind_01", "Token distribution")
        if b["Time range"] == "Past 30 days" and b["Users"]
    ]
    assert bands == [("AutoCAD", "0-100", 1), ("Revit", "0-100", 2)]
    assert len(sheet(books, "northwind_01", "Token distribution")) == 5 * (2 + 1 + 1 + 1 + 1)

    users = sheet(books, "northwind_01", "Users")
    assert {u["Autodesk ID"] for u in users} == {"*****"}
    assert [u["hashed_autodesk_id"] for u in users] == sorted([sade, jia])
    usage = sheet(books, "northwind_01", "Usage")
    assert [(u["Day used"], u["Product"], u["Tokens used"], u["Team"]) for u in usage] == [
        (date(2026, 2, 27), "Revit", 10, "Northwind Architects"),
        (date(2026, 3, 2), "Revit", 10, "Northwind Architects"),
        (date(2026, 3, 2), "AutoCAD", 0, "Northwind Architects"),
    ]
    acme_users = sheet(books, "acme-design", "Users")
    assert acme_users == [{
        "hashed_autodesk_id": ref.hashed_id("QZ8K2M1R7TXA", KEY), "Autodesk ID": "QZ8K2M1R7TXA",
        "Email": "maria.lopez@acme.example", "First name": "María", "Last name": "López",
        "Role": "admin", "Products used": "AutoCAD; Revit", "Last used": date(2026, 3, 2),
    }]  # fmt: skip


def test_example_after_expiry(landing):
    books = ref.nightly_workbooks(landing, date(2026, 4, 20), KEY)
    # S-1001 ended 2026-04-14. acme drew 31 + 10 (U-510001 on its last day); U-510002
    # (04-16) finds no active pack: unallocated, yet counted in the usage figures.
    assert books["acme-design"]["Summary"][1][3:] == [0, 0, 0, 0, 0]
    subs = sheet(books, "acme-design", "Subscriptions")
    assert [(s["Status"], s["Tokens used"], s["Tokens remaining"], s["Tokens expired"])
            for s in subs] == [("Expired", 41, 0, 1000 - 100 - 41)]  # fmt: skip
    ranges = sheet(books, "acme-design", "Time ranges")
    # Past 30 days 2026-03-22..04-20: 10 + 7; Past 3 months 2026-01-01..03-31: 7.
    assert [r["Total tokens used"] for r in ranges[:2]] == [17, 7]
    assert sum(t for _d, t in books["acme-design"]["Tokens by day"][1:]) == 41
    # northwind: U-510003 draws from S-1002; S-1001 expired with 100 - 10 left.
    assert books["northwind_01"]["Summary"][1][3:5] == [10, 490]
    subs = sheet(books, "northwind_01", "Subscriptions")
    assert [(s["Status"], s["Tokens used"], s["Tokens expired"]) for s in subs] == [
        ("Expired", 10, 90), ("Active", 10, 0),
    ]  # fmt: skip


def test_incomplete_and_later_deliveries_are_ignored(landing):
    before = ref.nightly_workbooks(landing, date(2026, 3, 1), KEY)
    # Only the 2025 deliveries count: northwind has no packs and no usage yet.
    assert before["northwind_01"]["Subscriptions"] == [ref.HEADERS["Subscriptions"]]
    assert before["acme-design"]["Summary"][1][3:5] == [24, 976]


def _stages(module, tmp_path) -> dict[date, ref.State]:
    """Run a scenario, keeping the state the reference sees at each stage."""
    return {d: ref.load_state(tmp_path, d) for d in module.stages(tmp_path)}


def test_merge_and_moves(tmp_path):
    states = _stages(merge_moves, tmp_path)
    march = states[date(2027, 3, 15)]
    books = {t: ref.team_workbook(march, t, KEY) for t in ("alpha", "gamma_3")}
    # alpha: U-02 takes 10 from P-A2 (same end date as P-A1, fewer tokens); U-03 (95) takes
    # P-A2's last 90 and 5 of P-A1; U-01 and U-08 took 7 each from P-A1: 19 + 100 used;
    # P-A1 keeps 200 - 19 - 50 (moved to gamma).
    assert books["alpha"]["Summary"][1][3:] == [119, 131, 0, -50, -50]
    gamma = ref.drawdown(march, "gamma_3")
    # U-06 at the move's instant draws the 50 moved tokens first (earlier end date);
    # U-07 (45) gets the last 10 of P-A1 and the last 20 of P-G1: 15 unallocated.
    assert gamma.allocated == {"U-05": 30, "U-06": 40, "U-07": 30}
    assert books["gamma_3"]["Summary"][1][3:] == [100, 0, 50, 0, 50]

    june = states[date(2027, 6, 30)]
    assert [t for t, team in sorted(june.teams.items()) if team["status"] == "active"] == [
        "alpha", "gamma_3",
    ]  # fmt: skip
    alpha = ref.team_workbook(june, "alpha", KEY)
    # P-A1 also gave U-10 (6), U-12 (6), U-11 (7); P-A3 starts tomorrow; P-B1 merged in.
    assert alpha["Summary"][1][3:] == [138, 112 + 138, 400, 0, 400]
    assert [r[0] + ":" + r[7] for r in alpha["Subscriptions"][1:]] == [
        "P-A1:Active", "P-A2:Active", "P-B1:Active", "P-A3:Not started",
    ]  # fmt: skip

    august = states[date(2027, 8, 15)]
    alpha = ref.team_workbook(august, "alpha", KEY)
    assert [[r[7], *r[11:14]] for r in alpha["Subscriptions"][1:]] == [
        ["Expired", 38, 0, 112], ["Expired", 100, 0, 0], ["Active", 17, 121, 0],
        ["Active", 0, 385, 0],
    ]  # fmt: skip
    assert alpha["Summary"][1][3:] == [17, 506, 5, -20, -15]
    # Past 3 months 2027-05-01..07-31: U-10, U-11, U-12, U-13 (beta's U-09 stays beta's).
    assert alpha["Time ranges"][2][4:] == [6 + 7 + 6 + 10, 3, 3]
    users = [(r[3], r[6], r[7]) for r in alpha["Users"][1:]]
    assert users == [
        ("Ada", "AutoCAD; Maya; Revit", date(2027, 8, 12)),
        ("Alan", "AutoCAD; Revit", date(2027, 7, 1)),
        ("Grace", "Maya", date(2027, 5, 20)),
    ]
    # gamma's +3 of 2027-08-08 is one day before the seven-day window.
    assert ref.team_workbook(august, "gamma_3", KEY)["Summary"][1][5:] == [0, 0, 0]


def test_privacy_and_text(tmp_path):
    state = _stages(privacy, tmp_path)[date(2028, 2, 29)]
    vault = ref.team_workbook(state, "vault", KEY)
    hashed = sorted(ref.hashed_id(a, KEY) for a in (privacy.EVIL, privacy.ZOE, privacy.PLUS))
    assert [r[:5] for r in vault["Users"][1:]] == [[h] + ["*****"] * 4 for h in hashed]
    assert {r[2] for r in vault["By user"][1:]} <= set(hashed)
    assert vault["Usage"][1][5] == privacy.TEAMS[0][1]
    # Past 30 days 2028-01-31..02-29: UV-03, UV-04, UV-05.
    assert vault["Time ranges"][1][1:5] == [date(2028, 1, 31), date(2028, 2, 29), 1, 20]
    opened = ref.team_workbook(state, "open-team", KEY)
    # Code points: tab < '-' < 'S' < 'Ü'; a missing first name leaves no stray space.
    assert [r[1] for r in opened["Users"][1:]] == [
        privacy.TABBY, privacy.ZOE, privacy.SOLO, privacy.EMOJI,
    ]  # fmt: skip
    names = {r[2] for r in opened["By user"][1:]}
    assert {"Solo", '-Zoë O\'Brien, "Jr"', "Ünïcode 😀 Line\nBreak"} <= names
    # Past 3 months 2027-12-01..2028-02-29, per user: AutoCAD Zoë 100, Emoji 101 + 900,
    # Solo 500 + 501, Tabby 1000; 3ds Max Tabby 5001, Emoji 4899; @Cloud Render Zoë 0.
    bands = {}
    for label, product, _band, users in opened["Token distribution"][1:]:
        if label == "Past 3 months":
            bands.setdefault(product, []).append(users)
    assert bands == {
        "3ds Max": [0, 0, 0, 1, 1],
        "@Cloud Render": [1, 0, 0, 0, 0],
        "AutoCAD": [1, 0, 1, 2, 0],
    }


def test_late_corrected_and_redelivered_rows(tmp_path):
    states = _stages(late_rows, tmp_path)
    first = ref.team_workbook(states[date(2026, 10, 1)], "delta", KEY)
    # delta's purchase is not known yet: UD-01 is unallocated but still used.
    assert first["Summary"][1][3:] == [0, 0, 0, 0, 0] and first["Tokens by day"][-1][1] == 7
    october = states[date(2026, 10, 31)]
    # UD-04 (late, 10-28) is charged before UD-02 (corrected to 50) and UD-03: 7 + 20 + 50
    # leaves 23 of 100 for UD-03. UD-05 moved to epsilon. The 10-31 folder is incomplete.
    assert ref.drawdown(october, "delta").allocated == {
        "UD-01": 7, "UD-04": 20, "UD-02": 50, "UD-03": 23,
    }  # fmt: skip
    usage = ref.team_workbook(october, "delta", KEY)["Usage"][1:]
    assert [(r[10], r[8], r[11]) for r in usage] == [
        (date(2026, 10, 28), "2027", 20), (date(2026, 10, 29), "2026", 50),
        (date(2026, 10, 29), "2027", 30),
    ]  # fmt: skip
    november = states[date(2026, 11, 13)]
    # Re-delivered 10-30: UD-04 gone, UD-02 55, late UD-07 10, +9 on 10-30 after UD-03.
    assert ref.drawdown(november, "delta").allocated == {
        "UD-01": 7, "UD-07": 10, "UD-02": 55, "UD-03": 28, "UD-06": 9, "UD-08": 0,
    }  # fmt: skip
    book = ref.team_workbook(november, "delta", KEY)
    assert book["Summary"][1][1] == "Delta (renamed)"
    assert book["Summary"][1][3:5] == [109, 0]
    back = ref.team_workbook(states[date(2026, 10, 30)], "delta", KEY)
    assert back["Summary"][1][3:] == [100, 9, 9, 0, 9]


@pytest.mark.parametrize("module", [example, merge_moves, privacy, late_rows])
def test_scenario_increments_are_not_dated_after_their_delivery(module, tmp_path):
    for _as_of in module.stages(tmp_path):
        pass
    for manifest in tmp_path.glob("*/manifest.json"):
        folder = manifest.parent
        for name, column in (("usage.csv", "usage_date"), ("token_events.csv", "event_ts")):
            for row in ref._read_csv(folder / name):
                assert row[column][:10] <= folder.name, (folder.name, row)
