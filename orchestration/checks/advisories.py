"""Non-blocking warnings: unallocated usage tokens, stale deliveries, facts dated ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import great_expectations.expectations as gxe
import pandas as pd

from orchestration.checks.gx_engine import FrameSuite, expectation_meta, validate
from orchestration.checks.outcome import CheckOutcome
from orchestration.checks.raw_suites import FACT_DATES
from orchestration.checks.warehouse_io import date_list, frame

UNALLOCATED = "unallocated_tokens"
FRESHNESS = "delivery_freshness"
FUTURE_DATED = "facts_dated_after_delivery"
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


def check_future_dated(con: duckdb.DuckDBPyConnection, delivery_dates) -> CheckOutcome:
    """Warn about usage or token events dated after the delivery that brought them.

    The landing contract does not make such a row bad: it simply counts from
    its own date on (reports as of D only use facts dated on or before D).
    """
    selects = [
        f"select '{table}' as fact, count(*) as rows_ahead from raw.{table} t"
        f" where t.delivery_date in (select unnest(?::date[])) and {sql} > t.delivery_date"
        for table, (_, sql) in FACT_DATES.items()
    ]
    deliveries = date_list(delivery_dates)
    counts = frame(con, " union all ".join(selects), [deliveries] * len(selects))
    suite = FrameSuite(
        FUTURE_DATED,
        counts,
        [
            gxe.ExpectColumnValuesToBeBetween(
                column="rows_ahead",
                max_value=0,
                meta=expectation_meta("raw facts", "dated after their delivery"),
            )
        ],
        ("fact",),
    )
    ahead = counts[counts["rows_ahead"] > 0]
    return CheckOutcome.from_failures(
        FUTURE_DATED,
        validate(suite),
        ok_message="no usage or token event is dated after its delivery",
        fail_message="rows dated after their delivery: "
        + ", ".join(f"{r.fact} {int(r.rows_ahead)}" for r in ahead.itertuples()),
        blocking=False,
        stats={r.fact: int(r.rows_ahead) for r in counts.itertuples()},
    )
