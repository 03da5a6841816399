"""The warnings as Dagster asset checks: unallocated tokens, facts dated after
their delivery, freshness.

The raw layer's blocking checks (contract rules, reject-rate gate) are judged
and reported by the ingest step, which also records the deliveries they hold
back; every check here only reads.

Rules over the dbt models (staged keys, accepted values, references, report
identities and row shapes) are dbt tests, asset checks of ``warehouse_models``.

A failed blocking check (raw or dbt) fails the refresh run, and the exports only
run after a successful refresh, so no file is written from data that failed.
"""

from datetime import UTC, date, datetime

import dagster as dg

from orchestration.checks import advisories
from orchestration.checks.dagster_checks import asset_check_result
from orchestration.resources import LandingResource, WarehouseResource
from orchestration.warehouse import reading

INGESTED_ASSET = dg.AssetKey(["raw", "usage"])


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
    unallocated_tokens,
    facts_dated_after_delivery,
    delivery_freshness,
]
