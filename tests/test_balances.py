"""Balances, Token events, Tokens by month and the Subscriptions flows against the reference.

The forecast of ``reference.forecast`` (fractions, day by day) is first checked on hand-made
packs whose answers are worked out by hand; then every new report model built by dbt on a
generated landing must equal the reference's figures, team by team.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest
import reference as ref
from dbt_support import MODELS_AND_SEEDS, failures, query, run_dbt

from orchestration import privacy
from orchestration.ingest import deliveries, loader
from tools.generate import generate_landing

D = date(2026, 11, 27)


def day(n: int) -> date:
    return D + timedelta(days=n)


def pack(start: int, end: int, size: int = 100) -> dict:
    return {"start_date": day(start), "end_date": day(end), "tokens_purchased": size}


# Hand-worked cases (day n is D + n): packs, balances at the end of D, burn, expected outcome.
CASES = {
    # 10 a day, nothing to draw from: short on day 1, all 3650 to buy.
    "no packs": ({}, {}, Fraction(10), ref.Forecast(day(1), Fraction(0), Fraction(3650))),
    # b = 0: nothing drawn, the pack ending on day 100 expires whole; the one ending after
    # D + 365 never expires, the one ending on D has already expired.
    "b = 0": (
        {"A": pack(-10, 100), "B": pack(-10, 400), "X": pack(-300, 0)},
        {"A": 50, "B": 10, "X": 7},
        Fraction(0),
        ref.Forecast(None, Fraction(50), Fraction(0)),
    ),
    # 1 a day: A (30, ends day 10) gives 10 and expires with 20; B covers days 11..365.
    "mid-horizon expiry": (
        {"A": pack(-10, 10), "B": pack(-10, 500, 1000)},
        {"A": 30, "B": 1000},
        Fraction(1),
        ref.Forecast(None, Fraction(20), Fraction(0)),
    ),
    # 2 a day: F is first in the order but starts on day 20; C (10) lasts 5 days, so day 6
    # is short although F covers days 20..69. Drawn 110 of 730.
    "future start": (
        {"F": pack(20, 200), "C": pack(-10, 500)},
        {"F": 100, "C": 10},
        Fraction(2),
        ref.Forecast(day(6), Fraction(0), Fraction(620)),
    ),
    # 4/9 a day from G (5, smaller) then H (10), both ending on day 60: G is empty after
    # 11 1/4 days, H after day 33 3/4; day 34 is short. Drawn 15 of 365 * 4/9.
    "same end date": (
        {"G": pack(-10, 60, 50), "H": pack(-10, 60, 80)},
        {"G": 5, "H": 10},
        Fraction(4, 9),
        ref.Forecast(day(34), Fraction(0), Fraction(1460, 9) - 15),
    ),
    # 10 a day from 5 tokens: short on day 1; a negative balance counts as 0.
    "run-out on day 1": (
        {"P": pack(-10, 500), "N": pack(-10, 500)},
        {"P": 5, "N": -40},
        Fraction(10),
        ref.Forecast(day(1), Fraction(0), Fraction(3645)),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_reference_forecast_on_hand_worked_packs(case):
    packs, balances, burn, expected = CASES[case]
    assert ref.forecast(D, burn, packs, balances) == expected


def test_round_half_up():
    assert ref.round_half_up(Fraction(1, 2)) == 1
    assert ref.round_half_up(Fraction(49, 90)) == 1
    assert ref.round_half_up(Fraction(44, 90)) == 0
    assert ref.round_half_up(Fraction(1, 200), 2) == Decimal("0.01")
    assert ref.round_half_up(Fraction(1, 201), 2) == Decimal("0.00")


# --------------------------------------------------------------------------- generated landing

START, END, AS_OF = date(2026, 1, 19), date(2026, 2, 28), date(2026, 2, 25)
TEAMS, SEED = 4, 11


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[ref.State, Path]:
    """A generated landing ingested and built as of AS_OF; (reference state, warehouse)."""
    root = tmp_path_factory.mktemp("balances")
    landing, warehouse = root / "landing", root / "wh.duckdb"
    generate_landing(landing, START, END, teams=TEAMS, seed=SEED)
    with duckdb.connect(str(warehouse)) as con:
        loader.ensure_raw_schema(con)
        for delivery in deliveries.discover(landing):
            loader.ingest(con, delivery)
        privacy.refresh_user_hashes(con, "balances key")
    built = run_dbt(
        warehouse, AS_OF, "build", [*MODELS_AND_SEEDS, "--select", "+path:models/reports"]
    )
    assert built.success, failures(built)
    return ref.load_state(landing, AS_OF), warehouse


def _active_teams(state: ref.State) -> list[str]:
    return sorted(t for t, team in state.teams.items() if team["status"] == "active")


def test_balances_equal_the_reference(generated):
    state, warehouse = generated
    rows = {r.pop("team_id"): r for r in query(warehouse, "select * from main.rpt_balances")}
    assert sorted(rows) == _active_teams(state)
    for team_id, row in rows.items():
        assert row.pop("as_of_date") == AS_OF
        assert row.pop("team") == state.teams[team_id]["team_alias"]
        assert row == ref.balances_row(state, team_id), team_id
    # The landing must exercise the forecast, not only its empty cases.
    assert any(r["run_out_date"] for r in rows.values())
    assert any(r["tokens_to_buy_next_12_months"] for r in rows.values())


def test_token_events_equal_the_reference(generated):
    state, warehouse = generated
    rows = query(
        warehouse,
        "select * from main.rpt_token_events"
        " order by team_id, event_date, entry_order, event_ts, event_id, subscription_id",
    )
    for team_id in _active_teams(state):
        actual = [
            (r["event_date"], r["event"], r["tokens"], r["subscription_id"], r["related_team"],
             r["event_id"])
            for r in rows if r["team_id"] == team_id
        ]  # fmt: skip
        assert actual == ref.token_event_rows(state, team_id), team_id
    assert {r["event"] for r in rows} >= {"purchase", "move_in"}


def test_tokens_by_month_equal_the_reference(generated):
    state, warehouse = generated
    rows = query(warehouse, "select * from main.rpt_tokens_by_month order by team_id, month")
    for team_id in _active_teams(state):
        actual = [
            (r["month"], r["complete"], r["tokens_used"], r["products_used"], r["total_users"])
            for r in rows
            if r["team_id"] == team_id
        ]
        assert actual == ref.tokens_by_month_rows(state, team_id), team_id
        assert len(actual) == 13  # AS_OF is mid-month


def test_subscription_flows_equal_the_reference(generated):
    state, warehouse = generated
    rows = query(warehouse, "select * from main.rpt_subscriptions")
    for team_id in _active_teams(state):
        actual = {
            r["subscription_id"]: (r["tokens_received"], r["tokens_sent"], r["adjustments"])
            for r in rows
            if r["team_id"] == team_id
        }
        assert actual == ref.subscription_flows(state, team_id), team_id
    assert any(r["tokens_sent"] for r in rows)
