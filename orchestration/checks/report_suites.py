"""Data-quality suites of the report models (``main.rpt_*``) for one as-of date.

Balances never negative, exactly one Summary row per active team, the five
time ranges per team, and the reconciliation identities: per team and range
By product total = Time ranges total = By user total; per team the Summary
against Subscriptions, Tokens by day against Past 30 days, and net = added +
removed.
"""

from __future__ import annotations

from datetime import date

import duckdb
import great_expectations.expectations as gxe
import pandas as pd

from orchestration.checks.gx_engine import FrameSuite, expectation_meta, validate
from orchestration.checks.outcome import CheckOutcome
from orchestration.checks.warehouse_io import frame

BALANCES = "report_balances_non_negative"
SUMMARY_ROWS = "report_summary_one_row_per_team"
TIME_RANGES = "report_time_ranges_complete"
RECONCILIATION = "report_reconciliation"
RANGE_ORDERS = ",".join(str(n) for n in range(1, 6))
PAST_30_DAYS = "Past 30 days"  # the time range that Tokens by day must add up to
# (target, column, column it must equal, rule) per team and range, then per team.
RANGE_IDENTITIES = [
    ("rpt_by_product", "by_product_total", "time_ranges_total", "total differs from Time ranges"),
    ("rpt_by_user", "by_user_total", "time_ranges_total", "total differs from Time ranges"),
]
TEAM_IDENTITIES = [
    (
        "rpt_summary.tokens_used",
        "summary_tokens_used",
        "active_packs_tokens_used",
        "differs from Subscriptions tokens used of Active packs",
    ),
    (
        "rpt_summary.tokens_remaining",
        "summary_tokens_remaining",
        "packs_tokens_remaining",
        "differs from Subscriptions tokens remaining",
    ),
    (
        "rpt_tokens_by_day",
        "tokens_by_day_last_30",
        "past_30_days_total",
        "D-29..D total differs from Time ranges Past 30 days",
    ),
    (
        "rpt_summary.tokens_net",
        "tokens_net",
        "tokens_added_plus_removed",
        "differs from tokens added + tokens removed",
    ),
]

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
    """The identities between report models, for ``as_of``.

    Per team and range: By product total = Time ranges total = By user total.
    Per team: Summary tokens used = Subscriptions tokens used of the packs with
    status Active; Summary tokens remaining = Subscriptions tokens remaining;
    Tokens by day summed over D-29..D = the Past 30 days total of Time ranges;
    Summary net = added + removed.
    """
    ranges = _range_totals(con, as_of)
    teams = _team_totals(con, as_of)
    failures = validate(
        FrameSuite(
            RECONCILIATION, ranges, _equalities(RANGE_IDENTITIES), ("team_id", "range_order")
        )
    ) + validate(
        FrameSuite(f"{RECONCILIATION}_teams", teams, _equalities(TEAM_IDENTITIES), ("team_id",))
    )
    return CheckOutcome.from_failures(
        RECONCILIATION,
        failures,
        ok_message=f"{len(ranges)} team ranges and {len(teams)} teams reconcile",
    )


def _equalities(
    identities: list[tuple[str, str, str, str]],
) -> list[gxe.ExpectColumnPairValuesToBeEqual]:
    """One pair-equality expectation per (target, column, expected column, rule)."""
    return [
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A=column, column_B=expected, meta=expectation_meta(target, rule)
        )
        for target, column, expected, rule in identities
    ]


def _range_totals(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Per team and range: the Time ranges, By product and By user totals."""
    return frame(
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


def _team_totals(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Per team: Summary figures and the same figures from the other models (0 if absent)."""
    return frame(
        con,
        f"""
        with summary as (
            select team_id, tokens_used, tokens_remaining, tokens_net,
                tokens_added + tokens_removed as added_plus_removed
            from main.rpt_summary where as_of_date = $1
        ),
        packs as (
            select team_id,
                sum(case when status = 'Active' then tokens_used else 0 end) as active_used,
                sum(tokens_remaining) as remaining
            from main.rpt_subscriptions where as_of_date = $1 group by team_id
        ),
        by_day as (
            select team_id, sum(tokens_used) as tokens from main.rpt_tokens_by_day
            where as_of_date = $1 and usage_date between $1 - 29 and $1 group by team_id
        ),
        past_30 as (
            select team_id, sum(total_tokens_used) as tokens from main.rpt_time_ranges
            where as_of_date = $1 and time_range = '{PAST_30_DAYS}' group by team_id
        ),
        teams as (
            select team_id from summary union select team_id from packs
            union select team_id from by_day union select team_id from past_30
        )
        select t.team_id,
            coalesce(s.tokens_used, 0)::bigint as summary_tokens_used,
            coalesce(p.active_used, 0)::bigint as active_packs_tokens_used,
            coalesce(s.tokens_remaining, 0)::bigint as summary_tokens_remaining,
            coalesce(p.remaining, 0)::bigint as packs_tokens_remaining,
            coalesce(d.tokens, 0)::bigint as tokens_by_day_last_30,
            coalesce(r.tokens, 0)::bigint as past_30_days_total,
            coalesce(s.tokens_net, 0)::bigint as tokens_net,
            coalesce(s.added_plus_removed, 0)::bigint as tokens_added_plus_removed
        from teams t
        left join summary s using (team_id)
        left join packs p using (team_id)
        left join by_day d using (team_id)
        left join past_30 r using (team_id)
        order by t.team_id
        """,
        [as_of],
    )


def check_reports(con: duckdb.DuckDBPyConnection, as_of: date) -> list[CheckOutcome]:
    """All report checks for ``as_of``."""
    return [
        check_balances(con, as_of),
        check_summary_rows(con, as_of),
        check_time_ranges(con, as_of),
        check_reconciliation(con, as_of),
    ]
