"""Great Expectations suites wired as Dagster asset checks.

* raw layer (blocking): contract rules and the reject-rate gate, judged on the
  deliveries the run ingested;
* reports (blocking): non-negative balances, one Summary row per active team,
  the five time ranges, the reconciliation identities;
* warnings: unallocated tokens, facts dated after their delivery, freshness.

A failed blocking check fails the refresh run, and the exports only run after
a successful refresh, so no file is written from data that failed.
"""

from datetime import UTC, date, datetime

import dagster as dg

from orchestration.assets.ingest import WRITER_POOL
from orchestration.checks import advisories, report_suites
from orchestration.checks.dagster_checks import (
    asset_check_result,
    raw_check_results,
    raw_check_specs,
)
from orchestration.checks.reject_gate import reject_rates
from orchestration.resources import WarehouseResource
from orchestration.settings import Settings
from orchestration.warehouse import connect

INGESTED_ASSET = dg.AssetKey(["raw", "usage"])
REPORT_CHECKS = {
    # check name -> asset it is attached to
    "report_balances_non_negative": dg.AssetKey(["reports", "rpt_subscriptions"]),
    "report_summary_one_row_per_team": dg.AssetKey(["reports", "rpt_summary"]),
    "report_time_ranges_complete": dg.AssetKey(["reports", "rpt_time_ranges"]),
    "report_reconciliation": dg.AssetKey(["reports", "rpt_by_product"]),
}


def _ingested_deliveries(context: dg.AssetCheckExecutionContext) -> list[date]:
    """Delivery dates loaded by the latest ingest (this run's, when the run ingested)."""
    event = context.instance.get_latest_materialization_event(INGESTED_ASSET)
    if event is None or event.asset_materialization is None:
        return []
    value = event.asset_materialization.metadata.get("ingested_deliveries")
    return [date.fromisoformat(d) for d in (value.value if value else [])]


GATE_STATE = """
create table if not exists raw.gate_failures (
    delivery_date date primary key,  -- a delivery that failed the reject-rate gate
    manifest_sha256 varchar not null  -- ... in this version; a re-delivery clears it
)
"""


def _judged_deliveries(con, ingested: list[date]) -> list[date]:
    """This run's deliveries, plus earlier ones that failed the gate and were not re-delivered.

    A delivery accepted once never blocks again; a rejected one keeps blocking the
    exports until upstream re-delivers it.
    """
    con.execute(GATE_STATE)
    held = con.execute(
        "select g.delivery_date from raw.gate_failures g"
        " join raw.deliveries d on d.delivery_date = g.delivery_date"
        " and d.manifest_sha256 = g.manifest_sha256"
    ).fetchall()
    return sorted(set(ingested) | {row[0] for row in held})


def _record_gate(con, judged: list[date]) -> None:
    """Remember which judged deliveries fail the gate (with their manifest version)."""
    limit = Settings.from_env().reject_threshold
    failing = sorted(
        {r.delivery_date for r in reject_rates(con, judged).itertuples() if r.reject_rate > limit}
    )
    con.execute("delete from raw.gate_failures where delivery_date in (select unnest(?))", [judged])
    if failing:
        con.execute(
            "insert into raw.gate_failures select delivery_date, manifest_sha256"
            " from raw.deliveries where delivery_date in (select unnest(?))",
            [failing],
        )


@dg.multi_asset_check(specs=raw_check_specs(), name="raw_quality", pool=WRITER_POOL)
def raw_quality(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """Contract expectations and the reject-rate gate on the newly ingested deliveries."""
    with warehouse.writer() as con:
        judged = _judged_deliveries(con, _ingested_deliveries(context))
        results = raw_check_results(con, judged)
        _record_gate(con, judged)
    context.log.info(f"judged deliveries: {[d.isoformat() for d in judged]}")
    yield from results


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=key, blocking=True) for name, key in REPORT_CHECKS.items()
    ],
    name="report_quality",
)
def report_quality(warehouse: WarehouseResource):
    """Balances, Summary rows, time ranges and reconciliation of the reports just built."""
    con = connect(warehouse.reports_file, read_only=True)
    try:
        as_of = con.execute("select max(as_of_date) from main.rpt_summary").fetchall()[0][0]
        for outcome in report_suites.check_reports(con, as_of):
            yield asset_check_result(outcome, REPORT_CHECKS[outcome.name])
    finally:
        con.close()


@dg.asset_check(asset=dg.AssetKey(["marts", "fct_usage"]), name="unallocated_tokens")
def unallocated_tokens(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Warning: usage that no pack could cover (counted in usage figures, not in packs)."""
    con = connect(warehouse.reports_file, read_only=True)
    try:
        return asset_check_result(advisories.check_unallocated_tokens(con), ["marts", "fct_usage"])
    finally:
        con.close()


@dg.asset_check(asset=dg.AssetKey(["raw", "usage"]), name="facts_dated_after_delivery")
def facts_dated_after_delivery(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """Warning: usage or token events of the new deliveries dated after their delivery."""
    con = connect(warehouse.file, read_only=True)
    try:
        outcome = advisories.check_future_dated(con, _ingested_deliveries(context))
        return asset_check_result(outcome, ["raw", "usage"])
    finally:
        con.close()


@dg.asset_check(asset=dg.AssetKey(["raw", "deliveries"]), name="delivery_freshness")
def delivery_freshness(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Warning: no new complete delivery for more than 36 hours."""
    con = connect(warehouse.file, read_only=True)
    try:
        outcome = advisories.check_freshness(con, datetime.now(UTC))
        return asset_check_result(outcome, ["raw", "deliveries"])
    finally:
        con.close()


QUALITY_CHECKS = [
    raw_quality,
    report_quality,
    unallocated_tokens,
    facts_dated_after_delivery,
    delivery_freshness,
]
