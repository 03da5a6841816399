"""Ingest assets: landing deliveries -> typed raw tables, quarantine, and the user hashes.

The raw assets are not partitioned: one run loads every complete delivery dated on
or before its as-of date that the warehouse has not loaded as delivered (new, or
re-delivered since), whether that is one delivery or a year of them. What each
delivery brought is in ``raw.deliveries`` and in the run's log. (Partitioned by
delivery, a 397-delivery backfill recorded 9 x 397 materializations and as many
planned events: about 45 s of Dagster's SQLite bookkeeping at any data size.)
"""

import dagster as dg

from orchestration.defs.config import RefreshConfig, newest_report_date, run_as_of
from orchestration.defs.pools import WRITER_POOL
from orchestration.defs.resources import LandingResource, PrivacyResource, WarehouseResource
from orchestration.ingest import batch, loader
from orchestration.ingest import deliveries as dlv
from orchestration.ingest.contract import BY_FILE, ENTITIES
from orchestration.privacy import MissingHashKeyError, refresh_user_hashes
from orchestration.warehouse import withdraw_release

RAW_ENTITIES = tuple(entity.name for entity in ENTITIES)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["raw", name],
            description=f"Validated rows of {name}.csv, one set per delivery.",
            group_name="raw",
            kinds={"duckdb"},
        )
        for name in RAW_ENTITIES
    ]
    + [
        dg.AssetSpec(
            ["raw", "deliveries"],
            description="One row per loaded delivery: manifest sha256, load time, file counts.",
            group_name="raw",
            kinds={"duckdb"},
        ),
        dg.AssetSpec(
            ["raw", "quarantine"],
            description="Rejected rows: delivery, file, line, raw values and reason.",
            group_name="raw",
            kinds={"duckdb"},
        ),
        dg.AssetSpec(
            ["raw", "snapshot_files"],
            description="The content each loaded delivery's snapshot files carried (keys).",
            group_name="raw",
            kinds={"duckdb"},
        ),
    ],
    pool=WRITER_POOL,
    can_subset=False,
)
def raw_deliveries(
    context: dg.AssetExecutionContext,
    config: RefreshConfig,
    landing: LandingResource,
    warehouse: WarehouseResource,
):
    """Load every new or re-delivered complete delivery dated on or before the as-of date."""
    as_of = run_as_of(context, config.as_of, lambda: newest_report_date(landing.folder))
    for warning in dlv.future_dated(dlv.discover(landing.folder), dlv.utc_today()):
        context.log.warning(warning)
    found = dlv.discover(landing.folder, as_of)
    failures: list[str] = []
    totals = {"deliveries": 0, "rows_loaded": 0, "rows_rejected": 0}
    per_entity = {name: {"loaded": 0, "rejected": 0} for name in RAW_ENTITIES}
    ingested: list[str] = []
    extra_columns: dict[str, list[str]] = {}
    with warehouse.writer() as con:
        withdraw_release(warehouse.file)  # released again once this run's checks all pass
        loader.ensure_raw_schema(con)
        todo = loader.pending(con, found)
        for i, (delivery, report) in enumerate(batch.ingest_pending(con, todo), start=1):
            if isinstance(report, dlv.InvalidDeliveryError):
                context.log.error(str(report))
                failures.append(str(report))
                continue
            totals["deliveries"] += 1
            totals["rows_loaded"] += report.rows_loaded
            totals["rows_rejected"] += report.rows_rejected
            for file_name, file_report in report.files.items():
                entity = per_entity[BY_FILE[file_name].name]
                entity["loaded"] += file_report.loaded
                entity["rejected"] += file_report.rejected
            ingested.append(delivery.delivery_date.isoformat())
            for where, columns in report.extra_columns.items():
                context.log.warning(f"{where}: unknown column(s) ignored: {', '.join(columns)}")
            extra_columns |= report.extra_columns
            context.log.info(
                f"[{i}/{len(todo)}] delivery {delivery.delivery_date}: "
                f"{report.rows_loaded} rows loaded, {report.rows_rejected} quarantined"
            )
        counts = loader.table_counts(con)
    skipped = len(found) - len(todo)
    for name in (*RAW_ENTITIES, "deliveries", "quarantine", "snapshot_files"):
        file_rows = per_entity.get(name)
        yield dg.MaterializeResult(
            asset_key=["raw", name],
            metadata={
                "dagster/row_count": dg.MetadataValue.int(counts.get(name, 0)),
                **(
                    {
                        "file_rows_loaded_this_run": dg.MetadataValue.int(file_rows["loaded"]),
                        "file_rows_rejected_this_run": dg.MetadataValue.int(file_rows["rejected"]),
                    }
                    if file_rows
                    else {}
                ),
                "deliveries_ingested": dg.MetadataValue.int(totals["deliveries"]),
                "deliveries_unchanged": dg.MetadataValue.int(skipped),
                "rows_loaded_this_run": dg.MetadataValue.int(totals["rows_loaded"]),
                "rows_rejected_this_run": dg.MetadataValue.int(totals["rows_rejected"]),
                "ingested_deliveries": dg.MetadataValue.json(ingested),
                "as_of": dg.MetadataValue.text(as_of.isoformat()),
                "extra_columns": dg.MetadataValue.json(extra_columns),
            },
        )
    if failures:
        raise dg.Failure(
            description="invalid deliveries were refused (nothing of them was loaded):\n"
            + "\n".join(failures),
        )


@dg.asset(
    key=["raw", "user_hashes"],
    deps=[["raw", "users"], ["raw", "teams"]],
    group_name="raw",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    description="hashed_autodesk_id per user (HMAC-SHA256 keyed with FLEX_PII_HASH_KEY).",
)
def user_hashes(warehouse: WarehouseResource, privacy: PrivacyResource) -> dg.MaterializeResult:
    """Rebuild the hash of every known user; the key itself never reaches the warehouse."""
    with warehouse.writer() as con:
        try:
            n = refresh_user_hashes(con, privacy.hash_key)
        except MissingHashKeyError as err:
            raise dg.Failure(description=str(err)) from err
    return dg.MaterializeResult(metadata={"users": dg.MetadataValue.int(n)})
