"""Data-quality suites of the report models (``main.rpt_*``) for one as-of date.

Balances never negative, exactly one Summary row per active team, the five
time ranges per team, and the reconciliation identity per team and range:
By product total = Time ranges total = By user total.
"""

from __future__ import annotations

from datetime import date

import duckdb
import great_expectations.expectations as gxe

from orchestration.checks.gx_engine import FrameSuite, expectation_meta, validate
from orchestration.checks.outcome import CheckOutcome
from orchestration.checks.warehouse_io import frame

BALANCES = "report_balances_non_negative"
SUMMARY_ROWS = "report_summary_one_row_per_team"
TIME_RANGES = "report_time_ranges_complete"
RECONCILIATION = "report_reconciliation"
RANGE_ORDERS = ",".join(str(n) for n in range(1, 6))

_ACTIVE_TEAMS = "select team_id from main.dim_team where status = 'active'"


def check_balances(con: duckdb.DuckDBPyConnection, as_of: date) -> CheckOutcome:
    """Summary tokens_remaining and Subscriptions remaining / expired are never negative."""
    summary = frame(
        con,
        "select team_id, tokens_remaining::bigint as tokens_remaining"
        " from main.rpt_summary where as_of_date = ?",
        [as_of],
    )
    packs = frame(
        con,
        "select team_id, subscription_id, tokens_remaining::bigint as tokens_remaining,"
        " tokens_expired::bigint as tokens_expired"
        " from main.rpt_subscriptions where as_of_date = ?",
        [as_of],
    )

    def non_negative(model: str, column: str) -> gxe.ExpectColumnValuesToBeBetween:
        return gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=0, meta=expectation_meta(f"{model}.{column}", "negative")
        )

    failures = validate(
        FrameSuite(
            "summary_balances",
            summary,
            [non_negative("rpt_summary", "tokens_remaining")],
            ("team_id",),
        )
    ) + validate(
        FrameSuite(
            "subscription_balances",
            packs,
            [
                non_negative("rpt_subscriptions", "tokens_remaining"),
                non_negative("rpt_subscriptions", "tokens_expired"),
            ],
            ("team_id", "subscription_id"),
        )
    )
    return CheckOutcome.from_failures(
        BALANCES,
        failures,
        ok_message=f"{len(summary)} summaries and {len(packs)} subscriptions non-negative",
    )


def check_summary_rows(con: duckdb.DuckDBPyConnection, as_of: date) -> CheckOutcome:
    """Every active team has exactly one Summary row for ``as_of``; other teams none."""
    counts = frame(
        con,
        f"""
        with active as ({_ACTIVE_TEAMS}),
        summary as (
            select team_id, count(*) as n from main.rpt_summary
            where as_of_date = ? group by team_id
        )
        select coalesce(a.team_id, s.team_id) as team_id,
            coalesce(s.n, 0) as summary_rows,
            case when a.team_id is null then 0 else 1 end as expected_rows
        from active a full join summary s on s.team_id = a.team_id
        order by team_id
        """,
        [as_of],
    )
    suite = FrameSuite(
        SUMMARY_ROWS,
        counts,
        [
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="summary_rows",
                column_B="expected_rows",
                meta=expectation_meta(
                    "rpt_summary", "teams without exactly one row per active team"
                ),
            )
        ],
        ("team_id",),
    )
    return CheckOutcome.from_failures(
        SUMMARY_ROWS, validate(suite), ok_message=f"one row for each of {len(counts)} teams"
    )


def check_time_ranges(con: duckdb.DuckDBPyConnection, as_of: date) -> CheckOutcome:
    """Every active team has the five ranges (range_order 1..5, once each); other teams none."""
    ranges = frame(
        con,
        f"""
        with active as ({_ACTIVE_TEAMS}),
        ranges as (
            select team_id, string_agg(range_order::varchar, ',' order by range_order) as orders
            from main.rpt_time_ranges where as_of_date = ? group by team_id
        )
        select coalesce(a.team_id, r.team_id) as team_id,
            coalesce(r.orders, '') as range_orders,
            case when a.team_id is null then '' else '{RANGE_ORDERS}' end as expected_orders
        from active a full join ranges r on r.team_id = a.team_id
        order by team_id
        """,
        [as_of],
    )
    suite = FrameSuite(
        TIME_RANGES,
        ranges,
        [
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="range_orders",
                column_B="expected_orders",
                meta=expectation_meta("rpt_time_ranges", "teams without exactly the 5 ranges"),
            )
        ],
        ("team_id",),
    )
    return CheckOutcome.from_failures(
        TIME_RANGES, validate(suite), ok_message=f"5 ranges for each of {len(ranges)} teams"
    )


def check_reconciliation(con: duckdb.DuckDBPyConnection, as_of: date) -> CheckOutcome:
    """Per team and range: By product total = Time ranges total = By user total."""
    totals = frame(
        con,
        """
        with tr as (
            select team_id, range_order, sum(total_tokens_used) as total
            from main.rpt_time_ranges where as_of_date = $1 group by all
        ),
        bp as (
            select team_id, range_order, sum(total_tokens_used) as total
            from main.rpt_by_product where as_of_date = $1 group by all
        ),
        bu as (
            select team_id, range_order, sum(total_tokens_used) as total
            from main.rpt_by_user where as_of_date = $1 group by all
        ),
        keys as (
            select team_id, range_order from tr
            union select team_id, range_order from bp
            union select team_id, range_order from bu
        )
        select k.team_id, k.range_order,
            coalesce(tr.total, 0)::bigint as time_ranges_total,
            coalesce(bp.total, 0)::bigint as by_product_total,
            coalesce(bu.total, 0)::bigint as by_user_total
        from keys k
        left join tr using (team_id, range_order)
        left join bp using (team_id, range_order)
        left join bu using (team_id, range_order)
        order by k.team_id, k.range_order
        """,
        [as_of],
    )
    suite = FrameSuite(
        RECONCILIATION,
        totals,
        [
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="by_product_total",
                column_B="time_ranges_total",
                meta=expectation_meta("rpt_by_product", "total differs from Time ranges"),
            ),
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="by_user_total",
                column_B="time_ranges_total",
                meta=expectation_meta("rpt_by_user", "total differs from Time ranges"),
            ),
        ],
        ("team_id", "range_order"),
    )
    return CheckOutcome.from_failures(
        RECONCILIATION,
        validate(suite),
        ok_message=f"{len(totals)} team ranges reconcile",
    )


def check_reports(con: duckdb.DuckDBPyConnection, as_of: date) -> list[CheckOutcome]:
    """All report checks for ``as_of``."""
    return [
        check_balances(con, as_of),
        check_summary_rows(con, as_of),
        check_time_ranges(con, as_of),
        check_reconciliation(con, as_of),
    ]
