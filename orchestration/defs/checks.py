"""Great Expectations checks as Dagster asset checks: the raw layer (blocking) and
the warnings (unallocated tokens, facts dated after their delivery, freshness).

The raw layer's blocking checks (contract rules, reject-rate gate) are judged by
the ``raw/gate_failures`` asset, which records the deliveries they hold back; the
``raw_quality`` check reports that judgement. Every check here only reads.

Rules over the dbt models (staged keys, accepted values, references, report
identities and row shapes) are dbt tests, asset checks of ``warehouse_models``.

A failed blocking check (raw or dbt) fails the refresh run, and the exports only
run after a successful refresh, so no file is written from data that failed.
"""

from datetime import UTC, datetime

import dagster as dg

from orchestration.checks import advisories
from orchestration.checks.gate_state import held_deliveries, raw_outcomes
from orchestration.defs.check_results import (
    GATE_ASSET,
    RAW_OUTCOMES,
    asset_check_result,
    outcome_from_record,
    raw_check_results,
    raw_check_specs,
)
from orchestration.defs.config import tagged_as_of
from orchestration.defs.resources import LandingResource, RejectGateResource, WarehouseResource
from orchestration.defs.run_events import ingested_deliveries, run_metadata
from orchestration.warehouse import reading


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
    unallocated_tokens,
    facts_dated_after_delivery,
    delivery_freshness,
]
