"""The raw gate's state: deliveries held back by a failed blocking raw check.

``raw.gate_failures`` lists each delivery that failed a contract suite or the
reject-rate gate, with the manifest it failed in. The ingest step judges its
deliveries (plus the held ones) and records the result here, under the writer
lock it already holds; checks only read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb

from orchestration.checks.outcome import CheckOutcome
from orchestration.checks.raw_suites import check_raw_layer, failed_deliveries
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


def judged_deliveries(
    con: duckdb.DuckDBPyConnection, ingested: Sequence[date], as_of: date | None
) -> list[date]:
    """This run's deliveries, plus earlier ones that failed a raw check and were not re-delivered.

    A delivery accepted once never blocks again; a failed one keeps blocking the
    exports until upstream re-delivers it (or it passes when judged again), but
    only the reports that use it: those as of its date or later (``as_of``).
    """
    con.execute(GATE_STATE)
    held = con.execute(
        "select g.delivery_date from raw.gate_failures g"
        " join raw.deliveries d on d.delivery_date = g.delivery_date"
        " and d.manifest_sha256 = g.manifest_sha256"
        " where ?::date is null or g.delivery_date <= ?::date",
        [as_of, as_of],
    ).fetchall()
    return sorted(set(ingested) | {row[0] for row in held})


def record_failures(
    con: duckdb.DuckDBPyConnection, judged: Sequence[date], failed: Sequence[date]
) -> None:
    """Remember which judged deliveries failed a blocking raw check (with their manifest)."""
    con.execute(GATE_STATE)
    con.execute(
        "delete from raw.gate_failures where delivery_date in (select unnest(?))", [list(judged)]
    )
    if failed:
        con.execute(
            "insert into raw.gate_failures select delivery_date, manifest_sha256"
            " from raw.deliveries where delivery_date in (select unnest(?))",
            [list(failed)],
        )


def judge_deliveries(
    con: duckdb.DuckDBPyConnection, ingested: Sequence[date], as_of: date | None
) -> tuple[list[date], list[CheckOutcome]]:
    """Judge ``ingested`` and the held deliveries, record the failures; (judged, outcomes).

    ``con`` must be a writer connection.
    """
    judged = judged_deliveries(con, ingested, as_of)
    outcomes = raw_outcomes(con, judged)
    record_failures(con, judged, failed_deliveries(outcomes))
    return judged, outcomes
