"""Ingest assets: landing deliveries -> typed raw tables, quarantine, and the user hashes.

The ingest step also judges its deliveries (and the ones held back) with the raw
contract suites and the reject-rate gate, records the failures in
``raw.gate_failures`` and reports them as its own blocking asset checks.

The raw tables are partitioned by delivery date (dynamic partitions, one per
delivery folder). A backfill of many deliveries runs as a single run: the
asset receives every partition key of the range and loads the pending ones.
"""

from datetime import date

import dagster as dg

from orchestration import privacy
from orchestration.checks.dagster_checks import raw_check_results, raw_check_specs
from orchestration.checks.gate_state import judge_deliveries
from orchestration.ingest import deliveries as dlv
from orchestration.ingest import loader
from orchestration.ingest.contract import BY_FILE, ENTITIES
from orchestration.resources import LandingResource, RefreshConfig, WarehouseResource
from orchestration.warehouse import withdraw_release

DELIVERIES = dg.DynamicPartitionsDefinition(name="deliveries")
RAW_ENTITIES = tuple(entity.name for entity in ENTITIES)
WRITER_POOL = "duckdb_writer"


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
    ],
    check_specs=raw_check_specs(),
    partitions_def=DELIVERIES,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WRITER_POOL,
    can_subset=False,
)
def raw_deliveries(
    context: dg.AssetExecutionContext,
    config: RefreshConfig,
    landing: LandingResource,
    warehouse: WarehouseResource,
):
    """Load every new or re-delivered delivery of the selected partitions, then judge them."""
    as_of = config.as_of_date(landing.folder)
    for warning in dlv.future_dated(dlv.discover(landing.folder), dlv.utc_today()):
        context.log.warning(warning)
    wanted = {date.fromisoformat(key) for key in context.partition_keys}
    found = [d for d in dlv.discover(landing.folder, as_of) if d.delivery_date in wanted]
    failures: list[str] = []
    totals = {"deliveries": 0, "rows_loaded": 0, "rows_rejected": 0}
    per_entity = {name: {"loaded": 0, "rejected": 0} for name in RAW_ENTITIES}
    ingested: list[str] = []
    extra_columns: dict[str, list[str]] = {}
    with warehouse.writer() as con:
        withdraw_release(warehouse.file)  # released again once this run's checks all pass
        loader.ensure_raw_schema(con)
        todo = loader.pending(con, found)
        for i, delivery in enumerate(todo, start=1):
            try:
                report = loader.ingest(con, delivery)
            except dlv.InvalidDeliveryError as err:
                context.log.error(str(err))
                failures.append(str(err))
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
        # Judged only when every delivery was valid (a refused one fails the step below).
        loaded = [date.fromisoformat(d) for d in ingested]
        judged, outcomes = ([], []) if failures else judge_deliveries(con, loaded, as_of)
    skipped = len(found) - len(todo)
    for name in (*RAW_ENTITIES, "deliveries", "quarantine"):
        entity = per_entity.get(name)
        yield dg.MaterializeResult(
            asset_key=["raw", name],
            metadata={
                "dagster/row_count": dg.MetadataValue.int(counts.get(name, 0)),
                **(
                    {
                        "file_rows_loaded_this_run": dg.MetadataValue.int(entity["loaded"]),
                        "file_rows_rejected_this_run": dg.MetadataValue.int(entity["rejected"]),
                    }
                    if entity
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
    context.log.info(f"judged deliveries: {[d.isoformat() for d in judged]}")
    yield from raw_check_results(outcomes)


@dg.asset(
    key=["raw", "user_hashes"],
    deps=[["raw", "users"], ["raw", "teams"]],
    group_name="raw",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    description="hashed_autodesk_id per user (HMAC-SHA256 keyed with FLEX_PII_HASH_KEY).",
)
def user_hashes(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Rebuild the hash of every known user; the key itself never reaches the warehouse."""
    with warehouse.writer() as con:
        try:
            n = privacy.refresh_user_hashes(con)
        except privacy.MissingHashKeyError as err:
            raise dg.Failure(description=str(err)) from err
    return dg.MaterializeResult(metadata={"users": dg.MetadataValue.int(n)})
