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

from datetime import UTC, date, datetime

import dagster as dg

from orchestration.assets.ingest import WRITER_POOL
from orchestration.checks import advisories, report_suites
from orchestration.checks.dagster_checks import (
    STAGED_ASSETS,
    asset_check_result,
    raw_check_results,
    raw_check_specs,
    raw_outcomes,
    staged_check_results,
    staged_check_specs,
)
from orchestration.checks.raw_suites import failed_deliveries
from orchestration.checks.staging_suites import check_staged_layer
from orchestration.resources import LandingResource, WarehouseResource
from orchestration.warehouse import reading

INGESTED_ASSET = dg.AssetKey(["raw", "usage"])
REPORT_CHECKS = {
    # check name -> asset it is attached to
    "report_balances_non_negative": dg.AssetKey(["reports", "rpt_subscriptions"]),
    "report_summary_one_row_per_team": dg.AssetKey(["reports", "rpt_summary"]),
    "report_time_ranges_complete": dg.AssetKey(["reports", "rpt_time_ranges"]),
    "report_reconciliation": dg.AssetKey(["reports", "rpt_by_product"]),
}


def _ingest_metadata(context: dg.AssetCheckExecutionContext) -> dict:
    """Metadata of this run's own materialization of ``raw/usage`` ({} when it did not ingest).

    A run going on next to this one may have ingested other deliveries since, so
    the latest materialization in the instance is never used.
    """
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    for record in reversed(records):
        materialization = record.event_log_entry.asset_materialization
        if materialization is not None and materialization.asset_key == INGESTED_ASSET:
            return materialization.metadata
    return {}


def _ingested_deliveries(context: dg.AssetCheckExecutionContext) -> list[date]:
    """Delivery dates that this run's ingest loaded ([] when the run did not ingest)."""
    value = _ingest_metadata(context).get("ingested_deliveries")
    return [date.fromisoformat(d) for d in (value.value if value else [])]


def _run_as_of(context: dg.AssetCheckExecutionContext) -> date | None:
    """The as-of date of this run's ingest (None when unknown)."""
    value = _ingest_metadata(context).get("as_of")
    return date.fromisoformat(value.value) if value else None


GATE_STATE = """
create table if not exists raw.gate_failures (
    delivery_date date primary key,  -- a delivery that failed a blocking raw check
    manifest_sha256 varchar not null  -- ... in this version; a re-delivery clears it
)
"""


def _judged_deliveries(con, ingested: list[date], as_of: date | None) -> list[date]:
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


def _record_failures(con, judged: list[date], failed: list[date]) -> None:
    """Remember which judged deliveries failed a blocking raw check (with their manifest)."""
    con.execute("delete from raw.gate_failures where delivery_date in (select unnest(?))", [judged])
    if failed:
        con.execute(
            "insert into raw.gate_failures select delivery_date, manifest_sha256"
            " from raw.deliveries where delivery_date in (select unnest(?))",
            [failed],
        )


@dg.multi_asset_check(specs=raw_check_specs(), name="raw_quality", pool=WRITER_POOL)
def raw_quality(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """Contract expectations and the reject-rate gate on the newly ingested deliveries."""
    with warehouse.writer() as con:
        judged = _judged_deliveries(con, _ingested_deliveries(context), _run_as_of(context))
        outcomes = raw_outcomes(con, judged)
        _record_failures(con, judged, failed_deliveries(outcomes))
    context.log.info(f"judged deliveries: {[d.isoformat() for d in judged]}")
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
        outcome = advisories.check_future_dated(con, _ingested_deliveries(context))
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
