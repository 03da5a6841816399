"""What earlier steps of the same run recorded (never the latest event in the instance:
a run going on next to this one may have written others since)."""

from __future__ import annotations

from datetime import date

import dagster as dg

from orchestration.defs.config import Context

INGESTED_ASSET = dg.AssetKey(["raw", "usage"])


def run_metadata(context: Context, asset_key: dg.AssetKey) -> dict:
    """Metadata of this run's own materialization of ``asset_key`` ({} when there is none)."""
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    for record in reversed(records):
        materialization = record.event_log_entry.asset_materialization
        if materialization is not None and materialization.asset_key == asset_key:
            return materialization.metadata
    return {}


def ingested_deliveries(context: Context) -> list[date]:
    """Delivery dates that this run's ingest loaded ([] when the run did not ingest)."""
    value = run_metadata(context, INGESTED_ASSET).get("ingested_deliveries")
    return [date.fromisoformat(d) for d in (value.value if value else [])]
