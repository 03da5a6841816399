"""The reject-rate gate: a delivery file with too many quarantined rows blocks exports.

Per delivery ingested in the run and per file, the rate is
``rejected / (loaded + rejected)``, where loaded rows are counted in the raw
entity table and rejected rows in ``raw.quarantine``. A rate equal to the
threshold passes. Deliveries accepted by earlier runs are not judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import great_expectations.expectations as gxe
import pandas as pd

from orchestration.checks.gx_engine import FrameSuite, expectation_meta, validate
from orchestration.checks.outcome import CheckOutcome
from orchestration.checks.raw_suites import FAILED_DELIVERIES
from orchestration.checks.warehouse_io import date_list, frame
from orchestration.ingest.contract import ENTITIES
from orchestration.settings import Settings

REJECT_GATE = "reject_rate_gate"


def reject_rates(con: duckdb.DuckDBPyConnection, delivery_dates: Sequence[date]) -> pd.DataFrame:
    """Frame of delivery_date, file, loaded, rejected, reject_rate for the given deliveries."""
    loaded = " union all ".join(
        f"select delivery_date, '{e.file_name}' as file, count(*) as n from raw.{e.name}"
        " where delivery_date in (select unnest($1::date[])) group by delivery_date"
        for e in ENTITIES
    )
    return frame(
        con,
        f"""
        with loaded as ({loaded}),
        rejected as (
            select delivery_date, file, count(*) as n from raw.quarantine
            where delivery_date in (select unnest($1::date[])) group by all
        )
        select
            coalesce(l.delivery_date, r.delivery_date) as delivery_date,
            coalesce(l.file, r.file) as file,
            coalesce(l.n, 0) as loaded,
            coalesce(r.n, 0) as rejected,
            coalesce(r.n, 0) / (coalesce(l.n, 0) + coalesce(r.n, 0)) as reject_rate
        from loaded l full join rejected r using (delivery_date, file)
        order by delivery_date, file
        """,
        [date_list(delivery_dates)],
    )


def check_reject_rate(
    con: duckdb.DuckDBPyConnection,
    delivery_dates: Sequence[date],
    threshold: float | None = None,
) -> CheckOutcome:
    """Fail when any file of ``delivery_dates`` has a reject rate above ``threshold``.

    ``threshold`` defaults to ``FLEX_REJECT_THRESHOLD`` (0.01); ``stats["failed_deliveries"]``
    lists the deliveries with such a file.
    """
    limit = Settings.from_env().reject_threshold if threshold is None else threshold
    if not 0 <= limit <= 1:
        raise ValueError(f"reject threshold must be between 0 and 1, got {limit}")
    rates = reject_rates(con, delivery_dates)
    suite = FrameSuite(
        REJECT_GATE,
        rates,
        [
            gxe.ExpectColumnValuesToBeBetween(
                column="reject_rate",
                min_value=0,
                max_value=limit,
                meta=expectation_meta("reject_rate", f"file above the {limit:.2%} reject limit"),
            )
        ],
        index_columns=("delivery_date", "file", "loaded", "rejected"),
    )
    worst = rates.sort_values("reject_rate", ascending=False).head(1)
    failed = sorted({r.delivery_date for r in rates.itertuples() if r.reject_rate > limit})
    return CheckOutcome.from_failures(
        REJECT_GATE,
        validate(suite),
        ok_message=f"every file of {len(date_list(delivery_dates))} deliveries within "
        f"{limit:.2%} rejects",
        stats={
            "threshold": limit,
            "files": rates.astype({"delivery_date": str}).to_dict("records"),
            "worst_file": worst.astype({"delivery_date": str}).to_dict("records"),
            FAILED_DELIVERIES: [pd.Timestamp(d).date().isoformat() for d in failed],
        },
    )
