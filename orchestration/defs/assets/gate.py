"""The release gate's state: the raw checks' judgement of the deliveries, recorded.

``raw/gate_failures`` runs right after the ingest: it validates the deliveries the run
ingested, plus those still held by an earlier failure, with the contract suites and the
reject-rate gate (the checks library), and records the deliveries that failed in
``raw.gate_failures``. The blocking check ``raw_quality`` then reports that judgement
without writing anything. It depends on ``raw/deliveries`` only (the ingest step writes
every raw table at once): an asset downstream of the checked raw tables would wait
for the very checks that read its result.
"""

import dagster as dg

from orchestration.checks.gate_state import judged_deliveries, raw_outcomes, record_failures
from orchestration.checks.raw_suites import failed_deliveries
from orchestration.defs.check_results import GATE_ASSET, RAW_OUTCOMES, outcome_record
from orchestration.defs.config import tagged_as_of
from orchestration.defs.pools import WRITER_POOL
from orchestration.defs.resources import RejectGateResource, WarehouseResource
from orchestration.defs.run_events import ingested_deliveries


@dg.asset(
    key=GATE_ASSET,
    deps=[["raw", "deliveries"]],
    group_name="raw",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    description="Deliveries that failed a blocking raw check, with the manifest they failed in.",
)
def gate_failures(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    reject_gate: RejectGateResource,
) -> dg.MaterializeResult:
    """Judge this run's deliveries (and the held ones) and record those that failed."""
    limit = reject_gate.limit
    with warehouse.writer() as con:
        judged = judged_deliveries(con, ingested_deliveries(context), tagged_as_of(context))
        outcomes = raw_outcomes(con, judged, limit)
        failed = failed_deliveries(outcomes)
        record_failures(con, judged, failed)
    context.log.info(f"judged deliveries: {[d.isoformat() for d in judged]}")
    return dg.MaterializeResult(
        metadata={
            "judged_deliveries": dg.MetadataValue.json([d.isoformat() for d in judged]),
            "failed_deliveries": dg.MetadataValue.json([d.isoformat() for d in failed]),
            RAW_OUTCOMES: dg.MetadataValue.json([outcome_record(o) for o in outcomes]),
        }
    )
