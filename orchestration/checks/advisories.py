"""Non-blocking warnings: unallocated usage tokens and stale deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import great_expectations.expectations as gxe
import pandas as pd

from orchestration.checks.gx_engine import FrameSuite, expectation_meta, validate
from orchestration.checks.outcome import CheckOutcome
from orchestration.checks.warehouse_io import frame

UNALLOCATED = "unallocated_tokens"
FRESHNESS = "delivery_freshness"
MAX_DELIVERY_AGE = timedelta(hours=36)


def check_unallocated_tokens(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Warn when usage drew tokens no pack could cover (``fct_usage.unallocated_tokens``)."""
    teams = frame(
        con,
        "select team_id, sum(unallocated_tokens)::bigint as unallocated_tokens"
        " from main.fct_usage group by team_id order by team_id",
    )
    suite = FrameSuite(
        UNALLOCATED,
        teams,
        [
            gxe.ExpectColumnValuesToBeBetween(
                column="unallocated_tokens",
                max_value=0,
                meta=expectation_meta(
                    "fct_usage.unallocated_tokens", "teams with unallocated usage"
                ),
            )
        ],
        ("team_id",),
    )
    affected = teams[teams["unallocated_tokens"] > 0]
    total = int(affected["unallocated_tokens"].sum())
    return CheckOutcome.from_failures(
        UNALLOCATED,
        validate(suite),
        ok_message="every usage token was drawn from a pack",
        fail_message=f"{total} usage tokens unallocated in {len(affected)} teams",
        blocking=False,
        stats={"unallocated_tokens": total, "teams": affected["team_id"].tolist()},
    )


def check_freshness(
    con: duckdb.DuckDBPyConnection, now: datetime, max_age: timedelta = MAX_DELIVERY_AGE
) -> CheckOutcome:
    """Warn when the newest complete delivery is older than ``max_age`` at ``now``.

    A delivery's age runs from the start (00:00 UTC) of its delivery date; a
    naive ``now`` is taken as UTC.
    """
    current = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    newest = frame(con, "select max(delivery_date) as newest_delivery from raw.deliveries")
    newest_date = newest["newest_delivery"].iloc[0]
    stale = pd.isna(newest_date)
    hours = float("nan") if stale else (current - pd.Timestamp(newest_date)) / timedelta(hours=1)
    ages = pd.DataFrame({"newest_delivery": [newest_date], "age_hours": [hours]})
    limit = max_age / timedelta(hours=1)
    suite = FrameSuite(
        FRESHNESS,
        ages,
        [
            gxe.ExpectColumnValuesToNotBeNull(
                column="newest_delivery",
                meta=expectation_meta("raw.deliveries", "no complete delivery ingested"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="age_hours",
                max_value=limit,
                meta=expectation_meta(
                    "raw.deliveries", f"newest delivery older than {limit:g} hours"
                ),
            ),
        ],
        ("newest_delivery",),
    )
    return CheckOutcome.from_failures(
        FRESHNESS,
        validate(suite),
        ok_message=f"newest delivery {_iso(newest_date)} is {hours:.1f} hours old",
        blocking=False,
        stats={
            "newest_delivery": _iso(newest_date),
            "age_hours": None if stale else hours,
            "now": current.isoformat(),
        },
    )


def _iso(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
