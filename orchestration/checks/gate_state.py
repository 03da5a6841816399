"""The release gate's memory: deliveries that failed a blocking raw check.

``raw.gate_failures`` holds each such delivery with the manifest it failed in. A
delivery accepted once never blocks again; a failed one keeps blocking the reports
that use it (as of its date or later) until upstream re-delivers it, or it passes
when judged again. Written only by the ``raw/gate_failures`` asset; checks read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb

from orchestration.checks.outcome import CheckOutcome
from orchestration.checks.raw_suites import check_raw_layer
from orchestration.checks.reject_gate import check_reject_rate

GATE_STATE = """
create table if not exists raw.gate_failures (
    delivery_date date primary key,  -- a delivery that failed a blocking raw check
    manifest_sha256 varchar not null  -- ... in this version; a re-delivery clears it
)
"""


def raw_outcomes(
    con: duckdb.DuckDBPyConnection,
    delivery_dates: Sequence[date],
    threshold: float | None = None,
) -> list[CheckOutcome]:
    """Every raw contract suite, then the reject-rate gate, judged on ``delivery_dates``."""
    gate = check_reject_rate(con, delivery_dates, threshold)
    return [*check_raw_layer(con, delivery_dates), gate]


def held_deliveries(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[date]:
    """Deliveries that failed in their current manifest, dated on or before ``as_of``.

    Read-only: an absent table holds nothing.
    """
    [(exists,)] = con.execute(
        "select count(*) from information_schema.tables"
        " where table_schema = 'raw' and table_name = 'gate_failures'"
    ).fetchall()
    if not exists:
        return []
    rows = con.execute(
        "select g.delivery_date from raw.gate_failures g"
        " join raw.deliveries d on d.delivery_date = g.delivery_date"
        " and d.manifest_sha256 = g.manifest_sha256"
        " where ?::date is null or g.delivery_date <= ?::date",
        [as_of, as_of],
    ).fetchall()
    return [row[0] for row in rows]


def judged_deliveries(
    con: duckdb.DuckDBPyConnection, ingested: list[date], as_of: date | None
) -> list[date]:
    """This run's deliveries, plus earlier ones that failed a raw check and were not
    re-delivered (only those the reports as of ``as_of`` use)."""
    return sorted(set(ingested) | set(held_deliveries(con, as_of)))


def record_failures(con: duckdb.DuckDBPyConnection, judged: list[date], failed: list[date]) -> None:
    """Remember which judged deliveries failed a blocking raw check (with their manifest)."""
    con.execute(GATE_STATE)
    con.execute("delete from raw.gate_failures where delivery_date in (select unnest(?))", [judged])
    if failed:
        con.execute(
            "insert into raw.gate_failures select delivery_date, manifest_sha256"
            " from raw.deliveries where delivery_date in (select unnest(?))",
            [failed],
        )
