"""Non-blocking warnings: unallocated usage tokens, stale deliveries, facts dated ahead."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import duckdb
import great_expectations.expectations as gxe
import pandas as pd

from orchestration.checks.gx_engine import FrameSuite, expectation_meta, validate
from orchestration.checks.outcome import CheckOutcome
from orchestration.checks.raw_suites import FACT_DATES
from orchestration.checks.warehouse_io import date_list, frame
from orchestration.ingest.deliveries import MANIFEST, discover

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


def delivery_arrivals(landing: Path) -> dict[date, datetime]:
    """When each complete delivery in ``landing`` arrived: its manifest's mtime (naive UTC).

    Upstream writes ``manifest.json`` last, so its mtime is when the delivery became complete.
    """
    arrivals = {}
    for delivery in discover(landing):
        with contextlib.suppress(FileNotFoundError):  # removed since: arrival unknown
            mtime = (delivery.path / MANIFEST).stat().st_mtime
            arrivals[delivery.delivery_date] = datetime.fromtimestamp(mtime, UTC).replace(
                tzinfo=None
            )
    return arrivals


def check_freshness(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    arrivals: Mapping[date, datetime] | None = None,
    max_age: timedelta = MAX_DELIVERY_AGE,
) -> CheckOutcome:
    """Warn when no new complete delivery arrived for more than ``max_age`` before ``now``.

    The newest delivery is the latest dated one, ingested (``raw.deliveries``)
    or in ``arrivals`` (complete in the landing folder: delivery date -> arrival
    time, naive UTC). Its age runs from its arrival, or, when that is unknown,
    from the end of its delivery date (D + 1 00:00 UTC: delivery D is an extract
    as of the end of day D). A naive ``now`` is taken as UTC.
    """
    current = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    arrived_at = dict(arrivals or {})
    ((ingested,),) = con.execute("select max(delivery_date) from raw.deliveries").fetchall()
    newest = max([*arrived_at, *([ingested] if ingested else [])], default=None)
    if newest is None:
        arrival, source, hours = None, None, float("nan")
    else:
        source = "manifest" if newest in arrived_at else "end of delivery date"
        day_end = datetime.combine(newest + timedelta(days=1), time.min)
        arrival = arrived_at.get(newest, day_end)
        hours = (current - arrival) / timedelta(hours=1)
    ages = pd.DataFrame({"newest_delivery": [newest], "age_hours": [hours]})
    limit = max_age / timedelta(hours=1)
    suite = FrameSuite(
        FRESHNESS,
        ages,
        [
            gxe.ExpectColumnValuesToNotBeNull(
                column="newest_delivery",
                meta=expectation_meta("raw.deliveries", "no complete delivery"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="age_hours",
                max_value=limit,
                meta=expectation_meta(
                    "raw.deliveries", f"no new complete delivery for more than {limit:g} hours"
                ),
            ),
        ],
        ("newest_delivery",),
    )
    return CheckOutcome.from_failures(
        FRESHNESS,
        validate(suite),
        ok_message=f"newest delivery {_iso(newest)} arrived {hours:.1f} hours ago",
        blocking=False,
        stats={
            "newest_delivery": _iso(newest),
            "arrived_at": None if arrival is None else arrival.isoformat(),
            "arrival_from": source,
            "age_hours": None if newest is None else hours,
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
