"""Export assets: one nightly workbook per active team, partitioned by team."""

from datetime import date

import dagster as dg

from orchestration.exports.workbook import write_all_workbooks
from orchestration.resources import (
    ExportsResource,
    LandingResource,
    RefreshConfig,
    WarehouseResource,
)
from orchestration.warehouse import active_teams

TEAMS = dg.DynamicPartitionsDefinition(name="teams")


@dg.asset(
    key=["exports", "team_workbook"],
    partitions_def=TEAMS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[["reports", "rpt_summary"]],
    group_name="exports",
    kinds={"excel"},
    description="flex_usage_<team_id>_<as_of>.xlsx: the 13-sheet report workbook of a team.",
)
def team_workbook(
    context: dg.AssetExecutionContext,
    config: RefreshConfig,
    landing: LandingResource,
    warehouse: WarehouseResource,
    exports: ExportsResource,
):
    """Write the workbooks of the selected teams for the as-of date (parallel workers)."""
    as_of: date = config.as_of_date(landing.folder)
    active = set(active_teams(warehouse.reports_file, as_of))
    teams = sorted(k for k in context.partition_keys if k in active)
    skipped = sorted(set(context.partition_keys) - active)
    if skipped:
        context.log.info(f"not active as of {as_of} (no workbook): {', '.join(skipped)}")
    paths = write_all_workbooks(warehouse.reports_file, as_of, exports.folder, team_ids=teams)
    context.log.info(f"wrote {len(paths)} workbooks as of {as_of} under {exports.folder}")
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of.isoformat(),
            "workbooks": dg.MetadataValue.int(len(paths)),
            "exports_dir": dg.MetadataValue.path(str(exports.folder)),
        }
    )
