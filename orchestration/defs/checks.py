"""Great Expectations suites wired as Dagster asset checks.

* raw layer (blocking): contract rules and the reject-rate gate, judged on the
  deliveries the run ingested (and on earlier ones that failed and were not
  re-delivered);
* staged tables (blocking): keys, accepted values, minimums, references;
* reports (blocking): non-negative balances, one Summary row per active team,
  the five time ranges, the reconciliation identities;
* warnings: unallocated tokens, facts dated after their delivery, freshness.

A failed blocking check fails the refresh run, and the exports only run after
a successful refresh, so no file is written from data that failed.
"""

from datetime import UTC, datetime

import dagster as dg

from orchestration.checks import advisories, report_suites
from orchestration.checks.gate_state import held_deliveries
from orchestration.checks.staging_suites import check_staged_layer
from orchestration.defs.check_results import (
    GATE_ASSET,
    RAW_OUTCOMES,
    STAGED_ASSETS,
    asset_check_result,
    outcome_from_record,
    raw_check_results,
    raw_check_specs,
    raw_outcomes,
    staged_check_results,
    staged_check_specs,
)
from orchestration.defs.config import tagged_as_of
from orchestration.defs.resources import LandingResource, RejectGateResource, WarehouseResource
from orchestration.defs.run_events import ingested_deliveries, run_metadata
from orchestration.warehouse import reading

REPORT_CHECKS = {
    # check name -> asset it is attached to
    "report_balances_non_negative": dg.AssetKey(["reports", "rpt_subscriptions"]),
    "report_summary_one_row_per_team": dg.AssetKey(["reports", "rpt_summary"]),
    "report_time_ranges_complete": dg.AssetKey(["reports", "rpt_time_ranges"]),
    "report_reconciliation": dg.AssetKey(["reports", "rpt_by_product"]),
}


@dg.multi_asset_check(specs=raw_check_specs(), name="raw_quality")
def raw_quality(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    reject_gate: RejectGateResource,
):
    """Contract expectations and the reject-rate gate on the newly ingested deliveries,
    as judged by this run's ``raw/gate_failures`` (read-only; in a run without that
    step, the held deliveries are judged here, read-only too)."""
    recorded = run_metadata(context, GATE_ASSET).get(RAW_OUTCOMES)
    if recorded is not None:
        outcomes = [outcome_from_record(r) for r in recorded.value]
    else:
        with reading(warehouse.file) as con:
            outcomes = raw_outcomes(
                con, held_deliveries(con, tagged_as_of(context)), reject_gate.limit
            )
    yield from raw_check_results(outcomes)


@dg.multi_asset_check(specs=staged_check_specs(), name="staged_quality")
def staged_quality(warehouse: WarehouseResource):
    """Keys, accepted values, minimums and references of the staged tables just built
    (on Spark, staging is materialized as tables so that its catalog exposes them)."""
    with reading(warehouse.reports_file) as con:
        outcomes = check_staged_layer(con)
    yield from staged_check_results(outcomes)


@dg.multi_asset_check(
    specs=[
        # After the staged checks: reports over staged data that failed are never released.
        dg.AssetCheckSpec(name, asset=key, blocking=True, additional_deps=STAGED_ASSETS)
        for name, key in REPORT_CHECKS.items()
    ],
    name="report_quality",
)
def report_quality(warehouse: WarehouseResource):
    """Balances, Summary rows, time ranges and reconciliation of the reports just built."""
    with reading(warehouse.reports_file) as con:
        as_of = con.execute("select max(as_of_date) from main.rpt_summary").fetchall()[0][0]
        for outcome in report_suites.check_reports(con, as_of):
            yield asset_check_result(outcome, REPORT_CHECKS[outcome.name])


@dg.asset_check(asset=dg.AssetKey(["marts", "fct_usage"]), name="unallocated_tokens")
def unallocated_tokens(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Warning: usage that no pack could cover (counted in usage figures, not in packs)."""
    with reading(warehouse.reports_file) as con:
        return asset_check_result(advisories.check_unallocated_tokens(con), ["marts", "fct_usage"])


@dg.asset_check(asset=dg.AssetKey(["raw", "usage"]), name="facts_dated_after_delivery")
def facts_dated_after_delivery(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """Warning: usage or token events of the new deliveries dated after their delivery."""
    with reading(warehouse.file) as con:
        outcome = advisories.check_future_dated(con, ingested_deliveries(context))
        return asset_check_result(outcome, ["raw", "usage"])


@dg.asset_check(asset=dg.AssetKey(["raw", "deliveries"]), name="delivery_freshness")
def delivery_freshness(
    warehouse: WarehouseResource, landing: LandingResource
) -> dg.AssetCheckResult:
    """Warning: no new complete delivery for more than 36 hours (since its manifest landed)."""
    arrivals = advisories.delivery_arrivals(landing.folder)
    with reading(warehouse.file) as con:
        outcome = advisories.check_freshness(con, datetime.now(UTC), arrivals)
        return asset_check_result(outcome, ["raw", "deliveries"])


QUALITY_CHECKS = [
    raw_quality,
    staged_quality,
    report_quality,
    unallocated_tokens,
    facts_dated_after_delivery,
    delivery_freshness,
]
