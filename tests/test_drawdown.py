"""The dbt drawdown against a sequential reference of the reporting rules.

One warehouse holds every scenario (each on its own teams, so they cannot
interact) and one `dbt build` of staging, intermediate and marts runs on it,
data tests, singular ledger tests and unit tests included. The raw layer adds
noise staging must remove: superseded and post-D re-deliveries, rows dated
after D, and older and newer snapshots.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from dbt_support import create_raw_warehouse, failures, query, run_dbt

AS_OF = date(2026, 9, 30)
OLD_SNAPSHOT = AS_OF - timedelta(days=10)
FUTURE_SNAPSHOT = AS_OF + timedelta(days=3)


@dataclass(frozen=True)
class Pack:
    subscription_id: str
    team_id: str
    tokens_purchased: int
    start_date: date
    end_date: date


@dataclass(frozen=True)
class Event:
    event_id: str
    event_ts: datetime
    team_id: str
    subscription_id: str
    event_type: str
    tokens: int


@dataclass(frozen=True)
class Charge:
    usage_id: str
    team_id: str
    charge_ts: datetime
    tokens: int

    @property
    def usage_date(self) -> date:
        return self.charge_ts.date()


@dataclass
class Ledger:
    """The rules applied literally, one event or charge at a time."""

    packs: dict[str, Pack]
    balances: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    draws: dict[tuple[str, str], int] = field(default_factory=dict)
    unallocated: dict[str, int] = field(default_factory=dict)
    charge_teams: dict[str, str] = field(default_factory=dict)

    def apply_event(self, event: Event) -> None:
        self.balances[(event.team_id, event.subscription_id)] += event.tokens

    def charge(self, charge: Charge, held: set[str]) -> None:
        self.charge_teams[charge.usage_id] = charge.team_id
        remaining = charge.tokens
        order = sorted(
            held,
            key=lambda s: (self.packs[s].end_date, self.packs[s].tokens_purchased, s),
        )
        for sid in order:
            pack = self.packs[sid]
            balance = self.balances[(charge.team_id, sid)]
            if remaining == 0 or not pack.start_date <= charge.usage_date <= pack.end_date:
                continue
            if balance > 0:
                drawn = min(remaining, balance)
                self.balances[(charge.team_id, sid)] -= drawn
                self.draws[(charge.usage_id, sid)] = drawn
                remaining -= drawn
        self.unallocated[charge.usage_id] = remaining


def reference(packs: dict[str, Pack], events: list[Event], charges: list[Charge]) -> Ledger:
    """Replay events and charges in time order; events first at the same instant."""
    held: dict[str, set[str]] = defaultdict(set)
    for event in events:
        held[event.team_id].add(event.subscription_id)
    ledger = Ledger(packs)
    timeline = [(e.event_ts, 0, e.event_id, e) for e in events]
    timeline += [(c.charge_ts, 1, c.usage_id, c) for c in charges]
    for _, kind, _, item in sorted(timeline, key=lambda row: row[:3]):
        if kind == 0:
            ledger.apply_event(item)
        else:
            ledger.charge(item, held[item.team_id])
    return ledger


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def handmade() -> tuple[list[Pack], list[Event], list[Charge]]:
    """Small scenarios, each on its own team prefix (see the test names below)."""
    d = date.fromisoformat
    packs = [
        # split, expiry with balance left, 0-token and unallocated charges
        Pack("S1", "A1", 100, d("2026-01-01"), d("2026-01-31")),
        Pack("L1", "A1", 50, d("2026-01-01"), d("2026-12-31")),
        # same end date: smaller pack first, then subscription_id; a pack not started yet
        Pack("B-big", "B1", 500, d("2026-02-01"), d("2026-07-31")),
        Pack("B-y", "B1", 20, d("2026-02-01"), d("2026-07-31")),
        Pack("B-x", "B1", 20, d("2026-02-01"), d("2026-07-31")),
        Pack("B-late", "B1", 10, d("2026-10-01"), d("2026-10-31")),
        # move at the same instant as a charge, late charge, merge
        Pack("M", "C1", 200, d("2026-03-01"), d("2026-12-31")),
        Pack("N", "C3", 20, d("2026-03-01"), d("2027-02-28")),
    ]
    events = [
        Event("a1", ts("2026-01-01 00:00:00"), "A1", "S1", "purchase", 100),
        Event("a2", ts("2026-01-01 00:00:00"), "A1", "L1", "purchase", 50),
        Event("a3", ts("2026-01-25 08:00:00"), "A1", "S1", "adjustment", 30),
        Event("b1", ts("2026-02-01 00:00:00"), "B1", "B-big", "purchase", 500),
        Event("b2", ts("2026-02-01 00:00:00"), "B1", "B-y", "purchase", 20),
        Event("b3", ts("2026-02-01 00:00:00"), "B1", "B-x", "purchase", 20),
        Event("b4", ts("2026-02-01 00:00:00"), "B1", "B-late", "purchase", 10),
        Event("b5", ts("2026-02-20 00:00:00"), "B1", "B-x", "adjustment", -5),
        Event("c1", ts("2026-03-01 00:00:00"), "C1", "M", "purchase", 200),
        Event("c2", ts("2026-03-10 12:00:00"), "C1", "M", "move_out", -40),
        Event("c3", ts("2026-03-10 12:00:00"), "C2", "M", "move_in", 40),
        Event("c4", ts("2026-03-01 00:00:00"), "C3", "N", "purchase", 20),
        Event("c5", ts("2026-03-15 00:00:00"), "C3", "N", "merge_out", -12),
        Event("c6", ts("2026-03-15 00:00:00"), "C2", "N", "merge_in", 12),
    ]
    charges = [
        Charge("A-U1", "A1", ts("2026-01-10 10:00:00"), 90),
        Charge("A-U2", "A1", ts("2026-01-20 10:00:00"), 25),
        Charge("A-U3", "A1", ts("2026-01-21 10:00:00"), 0),
        Charge("A-U4", "A1", ts("2026-02-03 10:00:00"), 40),
        Charge("A-U5", "A1", ts("2026-02-04 10:00:00"), 7),
        Charge("B-U1", "B1", ts("2026-02-10 10:00:00"), 12),
        Charge("B-U2", "B1", ts("2026-02-21 10:00:00"), 40),
        Charge("C-W0", "C1", ts("2026-03-04 09:00:00"), 60),
        Charge("C-W1", "C1", ts("2026-03-05 10:00:00"), 50),
        Charge("C-W2", "C1", ts("2026-03-12 10:00:00"), 70),
        Charge("C-V0", "C2", ts("2026-03-10 11:00:00"), 5),
        Charge("C-V1", "C2", ts("2026-03-10 12:00:00"), 30),
        Charge("C-V2", "C2", ts("2026-03-11 10:00:00"), 15),
        Charge("C-V3", "C2", ts("2026-03-16 10:00:00"), 25),
        Charge("C-X1", "C3", ts("2026-03-14 10:00:00"), 8),
    ]
    return packs, events, charges


# Draws worked out by hand for the handmade scenarios (the reference must agree).
HANDMADE_DRAWS = {
    ("A-U1", "S1"): 90,
    ("A-U2", "S1"): 10,
    ("A-U2", "L1"): 15,
    ("A-U4", "L1"): 35,
    ("B-U1", "B-x"): 12,
    ("B-U2", "B-x"): 3,
    ("B-U2", "B-y"): 20,
    ("B-U2", "B-big"): 17,
    ("C-W0", "M"): 60,
    ("C-W1", "M"): 50,
    ("C-W2", "M"): 50,
    ("C-V1", "M"): 30,
    ("C-V2", "M"): 10,
    ("C-X1", "N"): 8,
    ("C-V3", "N"): 12,
}
HANDMADE_UNALLOCATED = {"A-U4": 5, "A-U5": 7, "C-W2": 20, "C-V0": 5, "C-V2": 5, "C-V3": 13}


def random_scenario(seed: int) -> tuple[list[Pack], list[Event], list[Charge]]:
    """Teams with overlapping packs, moves, merges, adjustments; past and after D.

    Outflows never exceed the balance at their instant (the upstream ledger's
    invariant), which the generator enforces by replaying the reference.
    """
    rng = random.Random(seed)
    teams = [f"R{i}" for i in range(4)]
    packs: dict[str, Pack] = {}
    events: list[Event] = []
    for n in range(12):
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 240))
        end = start + timedelta(days=rng.choice([20, 45, 90, 120, 364]))
        size = rng.choice([100, 200, 300, 500, 800])
        pack = Pack(f"RP{n}", rng.choice(teams), size, start, end)
        packs[pack.subscription_id] = pack
        purchase_ts = datetime.combine(start, datetime.min.time()) + timedelta(hours=9)
        events.append(
            Event(f"RE{n}", purchase_ts, pack.team_id, pack.subscription_id, "purchase", size)
        )
    held: dict[str, set[str]] = defaultdict(set)
    for event in events:
        held[event.team_id].add(event.subscription_id)
    first = datetime(2026, 1, 1)
    instants = sorted(
        first + timedelta(minutes=rng.randrange(0, 283 * 24 * 60)) for _ in range(260)
    )
    ledger = Ledger(packs)
    pending = sorted(events, key=lambda e: e.event_ts)
    charges: list[Charge] = []
    for i, instant in enumerate(instants):
        while pending and pending[0].event_ts <= instant:
            ledger.apply_event(pending.pop(0))
        team = rng.choice(teams)
        roll = rng.random()
        if roll < 0.8 or not held[team]:
            charge = Charge(f"RU{i:03d}", team, instant, rng.choice([0, 3, 8, 15, 25, 40]))
            ledger.charge(charge, held[team])
            charges.append(charge)
            continue
        sid = rng.choice(sorted(held[team]))
        balance = ledger.balances[(team, sid)]
        if roll < 0.88:
            event = Event(
                f"RA{i:03d}",
                instant,
                team,
                sid,
                "adjustment",
                rng.choice([5, 10, -min(balance, 7)]),
            )
            if event.tokens:
                ledger.apply_event(event)
                events.append(event)
            continue
        if balance <= 0:
            continue
        other = rng.choice([t for t in teams if t != team])
        merge = roll > 0.96
        amount = balance if merge else rng.randint(1, balance)
        kinds = ("merge_out", "merge_in") if merge else ("move_out", "move_in")
        pair = [
            Event(f"RO{i:03d}", instant, team, sid, kinds[0], -amount),
            Event(f"RI{i:03d}", instant, other, sid, kinds[1], amount),
        ]
        for event in pair:
            ledger.apply_event(event)
            events.append(event)
        held[other].add(sid)
    return list(packs.values()), events, charges


def raw_rows(
    packs: list[Pack], events: list[Event], charges: list[Charge], rng: random.Random
) -> dict[str, list[dict]]:
    """The raw layer for the given truth, plus rows staging must discard."""
    teams = sorted(
        {p.team_id for p in packs} | {e.team_id for e in events} | {c.team_id for c in charges}
    )
    rows: dict[str, list[dict]] = defaultdict(list)
    for snapshot in (OLD_SNAPSHOT, AS_OF, FUTURE_SNAPSHOT):
        current = snapshot == AS_OF
        for team in teams:
            rows["teams"].append(
                {
                    "team_id": team,
                    "team_alias": team,
                    "include_pii": True,
                    "status": "active" if current else "merged",
                    "delivery_date": snapshot,
                }
            )
        rows["users"].append(
            {
                "autodesk_id": "u1",
                "email": "ann@example.com",
                "first_name": "Ann",
                "delivery_date": snapshot,
            }
        )
        rows["products"].append(
            {
                "product_line_code": "ACD",
                "product_name": "AutoCAD",
                "tokens_per_day": 7,
                "usage_category": "DESKTOP_PRODUCT",
                "delivery_date": snapshot,
            }
        )
        for pack in packs:
            # Only the snapshot of D has the real end dates.
            shift = timedelta(days=0 if current else 40)
            rows["token_packs"].append(
                {
                    "subscription_id": pack.subscription_id,
                    "contract_number": f"C-{pack.subscription_id}",
                    "offering_name": "Flex",
                    "term": "Annual",
                    "team_id": pack.team_id,
                    "tokens_purchased": pack.tokens_purchased,
                    "purchase_date": pack.start_date,
                    "start_date": pack.start_date,
                    "end_date": pack.end_date + shift,
                    "delivery_date": snapshot,
                }
            )
    for event in events:
        delivered = max(event.event_ts.date(), OLD_SNAPSHOT)
        rows["token_events"].append(
            {
                "event_id": event.event_id,
                "event_ts": event.event_ts,
                "team_id": event.team_id,
                "subscription_id": event.subscription_id,
                "event_type": event.event_type,
                "tokens": event.tokens,
                "delivery_date": delivered,
            }
        )
    for charge in charges:
        row = {
            "usage_id": charge.usage_id,
            "team_id": charge.team_id,
            "autodesk_id": "u1",
            "product_line_code": "ACD",
            "version": "2026",
            "usage_date": charge.usage_date,
            "charge_ts": charge.charge_ts,
            "tokens": charge.tokens,
        }
        day = max(charge.usage_date, OLD_SNAPSHOT)
        late = rng.random() < 0.2 and day < AS_OF
        delivered = day + timedelta(days=rng.randint(1, (AS_OF - day).days)) if late else day
        if rng.random() < 0.2 and day < AS_OF:
            # A first version superseded by the final one, and a version after D.
            rows["usage"].append({**row, "tokens": charge.tokens + 9, "delivery_date": day})
            rows["usage"].append(
                {**row, "tokens": charge.tokens + 4, "delivery_date": FUTURE_SNAPSHOT}
            )
            delivered = max(delivered, day + timedelta(days=1))
        rows["usage"].append({**row, "delivery_date": delivered})
    return rows


def truth(packs, events, charges):
    """Rows dated on or before D: what staging must keep."""
    kept_events = [e for e in events if e.event_ts.date() <= AS_OF]
    kept_charges = [c for c in charges if c.usage_date <= AS_OF]
    return {p.subscription_id: p for p in packs}, kept_events, kept_charges


def expected_balances(packs: dict[str, Pack], events: list[Event], ledger: Ledger) -> dict:
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for event in events:
        key = (event.team_id, event.subscription_id)
        sums[key][0] += event.tokens
        if event.event_ts.date() <= packs[event.subscription_id].end_date:
            sums[key][1] += event.tokens
    for (usage_id, sid), drawn in ledger.draws.items():
        sums[(ledger.charge_teams[usage_id], sid)][2] += drawn
    result = {}
    for (team, sid), (tokens_in, in_to_end, drawn) in sums.items():
        pack = packs[sid]
        status = (
            "Not started"
            if pack.start_date > AS_OF
            else "Expired"
            if pack.end_date < AS_OF
            else "Active"
        )
        result[(team, sid)] = {
            "status": status,
            "tokens_in": tokens_in,
            "tokens_drawn": drawn,
            "balance": tokens_in - drawn,
            "expired_tokens": max(in_to_end - drawn, 0) if status == "Expired" else 0,
            "remaining_tokens": max(tokens_in - drawn, 0) if status == "Active" else 0,
        }
    return result


RANDOM_SEED = 20260930


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """One warehouse with every scenario, built once; yields (warehouse, scenarios)."""
    scenarios = {"handmade": handmade(), "random": random_scenario(RANDOM_SEED)}
    rng = random.Random(RANDOM_SEED)
    rows: dict[str, list[dict]] = defaultdict(list)
    for packs, events, charges in scenarios.values():
        for table, table_rows in raw_rows(packs, events, charges, rng).items():
            rows[table].extend(table_rows)
    # Shared snapshot rows (user, product) appear once per scenario: keep one.
    for table, key in (("users", "autodesk_id"), ("products", "product_line_code")):
        rows[table] = list({(r[key], r["delivery_date"]): r for r in rows[table]}.values())
    warehouse = tmp_path_factory.mktemp("drawdown") / "warehouse.duckdb"
    create_raw_warehouse(warehouse, rows)
    result = run_dbt(
        warehouse,
        AS_OF,
        "build",
        ["--select", "staging", "intermediate", "marts", "--indirect-selection", "cautious"],
    )
    assert result.success, failures(result)
    return warehouse, {name: truth(*scenario) for name, scenario in scenarios.items()}


def dbt_draws(warehouse: Path) -> dict[tuple[str, str], int]:
    rows = query(
        warehouse, "select usage_id, subscription_id, tokens_drawn from main.fct_usage_allocation"
    )
    return {(r["usage_id"], r["subscription_id"]): r["tokens_drawn"] for r in rows}


def test_reference_matches_hand_worked_handmade_draws():
    ledger = reference(*truth(*handmade()))
    assert ledger.draws == HANDMADE_DRAWS
    assert {k: v for k, v in ledger.unallocated.items() if v} == HANDMADE_UNALLOCATED


@pytest.mark.parametrize("scenario", ["handmade", "random"])
def test_allocations_match_reference(built, scenario):
    warehouse, scenarios = built
    packs, events, charges = scenarios[scenario]
    ledger = reference(packs, events, charges)
    ids = {c.usage_id for c in charges}
    actual = {key: v for key, v in dbt_draws(warehouse).items() if key[0] in ids}
    assert actual == ledger.draws
    if scenario == "random":
        # The scenario must exercise what it is there for.
        split = {u for u, _ in ledger.draws if sum(1 for v, _ in ledger.draws if v == u) > 1}
        held = defaultdict(set)
        for event in events:
            held[event.team_id].add(event.subscription_id)
        assert len(ledger.draws) > 100 and len(split) > 5
        assert sum(ledger.unallocated.values()) > 0
        assert {"move_in", "merge_in", "adjustment"} <= {e.event_type for e in events}
        # More packs per team than var drawdown_min_depth: the unrolling must grow.
        assert max(len(sids) for sids in held.values()) > 4


@pytest.mark.parametrize("scenario", ["handmade", "random"])
def test_usage_split_into_allocated_and_unallocated(built, scenario):
    warehouse, scenarios = built
    packs, events, charges = scenarios[scenario]
    ledger = reference(packs, events, charges)
    rows = query(
        warehouse,
        "select usage_id, tokens, allocated_tokens, unallocated_tokens from main.fct_usage",
    )
    actual = {r["usage_id"]: r for r in rows if r["usage_id"] in ledger.unallocated}
    assert set(actual) == {c.usage_id for c in charges}
    for charge in charges:
        row = actual[charge.usage_id]
        assert row["tokens"] == charge.tokens
        assert row["unallocated_tokens"] == ledger.unallocated[charge.usage_id]
        assert row["allocated_tokens"] == charge.tokens - ledger.unallocated[charge.usage_id]


@pytest.mark.parametrize("scenario", ["handmade", "random"])
def test_team_pack_balances(built, scenario):
    warehouse, scenarios = built
    packs, events, charges = scenarios[scenario]
    expected = expected_balances(packs, events, reference(packs, events, charges))
    rows = query(warehouse, "select * from main.fct_team_pack_balance")
    actual = {
        (r.pop("team_id"), r.pop("subscription_id")): r
        for r in rows
        if r["subscription_id"] in packs
    }
    assert actual == expected


def _overdrawing_outflow(day: date) -> dict[str, list[dict]]:
    """A pack of 10 tokens on 2026-05-01; on ``day`` a move-out of 15, then a 3-token charge."""
    return {
        "token_packs": [
            {
                "subscription_id": "P",
                "team_id": "T",
                "tokens_purchased": 10,
                "start_date": date(2026, 5, 1),
                "end_date": AS_OF,
                "delivery_date": snapshot,
            }
            for snapshot in sorted({date(2026, 5, 1), day})
        ],
        "token_events": [
            {
                "event_id": "in",
                "event_ts": ts("2026-05-01 00:00:00"),
                "team_id": "T",
                "subscription_id": "P",
                "event_type": "purchase",
                "tokens": 10,
                "delivery_date": date(2026, 5, 1),
            },
            {
                "event_id": "out",
                "event_ts": datetime.combine(day, datetime.min.time()) + timedelta(hours=1),
                "team_id": "T",
                "subscription_id": "P",
                "event_type": "move_out",
                "tokens": -15,
                "delivery_date": day,
            },
        ],
        "usage": [
            {
                "usage_id": "U",
                "team_id": "T",
                "usage_date": day,
                "charge_ts": datetime.combine(day, datetime.min.time()) + timedelta(hours=2),
                "tokens": 3,
                "delivery_date": day,
            },
        ],
    }


def _audit_statuses(warehouse: Path, as_of: date) -> dict[str, str]:
    result = run_dbt(
        warehouse,
        as_of,
        "build",
        ["--select", "+assert_ledger_balance_never_negative", "--indirect-selection", "empty"],
    )
    return {item.node.name: str(item.status) for item in result.result}


def test_negative_balance_before_a_charge_is_reported(tmp_path):
    """The closed form's assumption is guarded: an overdrawing outflow fails the build."""
    day = date(2026, 5, 1)
    warehouse = tmp_path / "negative.duckdb"
    create_raw_warehouse(warehouse, _overdrawing_outflow(day))
    statuses = _audit_statuses(warehouse, day)
    assert statuses.pop("assert_ledger_balance_never_negative") == "fail"
    assert set(statuses.values()) == {"success"}


def test_negative_balance_in_an_incremental_build_is_reported(tmp_path):
    """The audits check what an incremental build replayed, not only full builds."""
    day = date(2026, 5, 3)
    warehouse = tmp_path / "negative_later.duckdb"
    create_raw_warehouse(warehouse, _overdrawing_outflow(day))
    assert set(_audit_statuses(warehouse, date(2026, 5, 2)).values()) <= {"success", "pass"}
    statuses = _audit_statuses(warehouse, day)
    assert query(warehouse, "select max(built_seq) as seq from main.int_drawdown_entries") == [
        {"seq": 2}
    ]
    assert statuses.pop("assert_ledger_balance_never_negative") == "fail"
    assert set(statuses.values()) == {"success"}


def test_a_team_left_without_charges_or_packs_loses_its_entries(tmp_path):
    """Moving the as-of date back before a team's first event and charge empties its timeline."""
    warehouse = tmp_path / "back_in_time.duckdb"
    packs = [
        {
            "subscription_id": sid,
            "team_id": team,
            "tokens_purchased": 10,
            "start_date": date(2026, 5, 1),
            "end_date": AS_OF,
            "delivery_date": day,
        }
        for sid, team in (("P", "EARLY"), ("Q", "LATE"))
        for day in (date(2026, 5, 1), date(2026, 5, 3))
    ]
    events = [
        {
            "event_id": f"buy-{team}",
            "event_ts": ts(f"{day} 08:00:00"),
            "team_id": team,
            "subscription_id": sid,
            "event_type": "purchase",
            "tokens": 10,
            "delivery_date": date.fromisoformat(day),
        }
        for sid, team, day in (("P", "EARLY", "2026-05-01"), ("Q", "LATE", "2026-05-03"))
    ]
    usage = [
        {
            "usage_id": f"U-{team}",
            "team_id": team,
            "usage_date": date.fromisoformat(day),
            "charge_ts": ts(f"{day} 12:00:00"),
            "tokens": 4,
            "delivery_date": date.fromisoformat(day),
        }
        for team, day in (("EARLY", "2026-05-01"), ("LATE", "2026-05-03"))
    ]
    create_raw_warehouse(warehouse, {"token_packs": packs, "token_events": events, "usage": usage})
    entries = "select team_id, entry_kind, item_id from main.int_drawdown_entries order by 1, 2, 3"
    select = ["--select", "+int_drawdown_entries"]
    assert run_dbt(warehouse, date(2026, 5, 3), "run", select).success
    assert {r["team_id"] for r in query(warehouse, entries)} == {"EARLY", "LATE"}
    assert run_dbt(warehouse, date(2026, 5, 2), "run", select).success
    assert query(warehouse, entries) == [
        {"team_id": "EARLY", "entry_kind": "draw", "item_id": "U-EARLY"},
        {"team_id": "EARLY", "entry_kind": "event", "item_id": "buy-EARLY"},
    ]


def _three_teams_two_packs() -> dict[str, list[dict]]:
    """Teams A, B, C: packs <team>1 (ends first: rank 1), <team>2 of 10 tokens; a 3-token charge."""
    day = date(2026, 5, 2)
    ends = {"1": date(2026, 8, 31), "2": AS_OF}
    teams = ("A", "B", "C")
    return {
        "token_packs": [
            {
                "subscription_id": f"{team}{n}",
                "team_id": team,
                "tokens_purchased": 10,
                "start_date": date(2026, 5, 1),
                "end_date": end,
                "delivery_date": day,
            }
            for team in teams
            for n, end in ends.items()
        ],
        "token_events": [
            {
                "event_id": f"buy-{team}{n}",
                "event_ts": ts("2026-05-01 08:00:00"),
                "team_id": team,
                "subscription_id": f"{team}{n}",
                "event_type": "purchase",
                "tokens": 10,
                "delivery_date": day,
            }
            for team in teams
            for n in ends
        ],
        "usage": [
            {
                "usage_id": f"U-{team}",
                "team_id": team,
                "usage_date": day,
                "charge_ts": ts("2026-05-02 12:00:00"),
                "tokens": 3,
                "delivery_date": day,
            }
            for team in teams
        ],
    }


def test_audits_report_tampered_draws(tmp_path):
    """The audits re-derive each pack's balance: a tampered drawdown fails the right test.

    A's charge is moved to its second pack while the first one is open (greedy order),
    B's draw is raised past the pack's balance (overdrawn), C's pack 1 is made to end
    before the charge (a draw from an inactive pack).
    """
    warehouse = tmp_path / "tampered.duckdb"
    create_raw_warehouse(warehouse, _three_teams_two_packs())
    day = date(2026, 5, 2)
    assert run_dbt(warehouse, day, "run", ["--select", "+int_drawdown_entries"]).success
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update main.int_drawdown_entries set subscription_id = 'A2' "
            "where item_id = 'U-A' and entry_kind = 'draw'"
        )
        con.execute(
            "update main.int_drawdown_entries set tokens = 15 "
            "where item_id = 'U-B' and entry_kind = 'draw'"
        )
        con.execute("update main.int_team_pack_ledger set end_date = date '2026-05-01' "
                    "where subscription_id = 'C1'")  # fmt: skip
    result = run_dbt(
        warehouse,
        day,
        "build",
        ["--select", "int_audited_charges+", "int_pack_balance_periods+", "--store-failures"],
    )
    statuses = {item.node.name: str(item.status) for item in result.result}
    assert statuses.pop("assert_drawdown_follows_pack_order") == "fail"
    assert statuses.pop("assert_ledger_bucket_not_overdrawn") == "fail"
    assert set(statuses.values()) == {"success", "pass"}
    audit = "main_dbt_test__audit"
    assert query(
        warehouse,
        f"select usage_id, subscription_id from {audit}.assert_drawdown_follows_pack_order",
    ) == [{"usage_id": "U-A", "subscription_id": "A1"}]
    assert query(
        warehouse,
        f"select team_id, subscription_id, problem from {audit}.assert_ledger_bucket_not_overdrawn "
        "order by team_id",
    ) == [
        {"team_id": "B", "subscription_id": "B1", "problem": "overdrawn"},
        {"team_id": "C", "subscription_id": "C1", "problem": "not an active pack of the team"},
    ]
