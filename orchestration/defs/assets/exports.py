"""Export assets: one nightly workbook per active team, partitioned by team."""

from datetime import date

import dagster as dg

from orchestration.assets.warehouse import REPORT_MODELS, reports_release
from orchestration.exports.errors import WorkbooksFailedError
from orchestration.exports.workbook import write_all_workbooks
from orchestration.resources import ExportsResource, WarehouseResource
from orchestration.warehouse import UncheckedReportsError, active_teams, released_as_of

TEAMS = dg.DynamicPartitionsDefinition(name="teams")


class ExportsConfig(dg.Config):
    """The report date to export; empty = the date of the checked reports."""

    as_of: str = ""


@dg.asset(
    key=["exports", "team_workbook"],
    partitions_def=TEAMS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[reports_release, *REPORT_MODELS],
    group_name="exports",
    kinds={"excel"},
    description="flex_usage_<team_id>_<as_of>.xlsx: the 13-sheet report workbook of a team.",
)
def team_workbook(
    context: dg.AssetExecutionContext,
    config: ExportsConfig,
    warehouse: WarehouseResource,
    exports: ExportsResource,
):
    """Write the workbooks of the selected teams for the as-of date (parallel workers).

    Only reports released by a refresh whose blocking checks all passed are exported.
    """
    try:
        as_of = released_as_of(
            warehouse.file, date.fromisoformat(config.as_of) if config.as_of else None
        )
    except UncheckedReportsError as err:
        raise dg.Failure(description=f"no workbook written: {err}") from err
    active = set(active_teams(warehouse.reports_file, as_of))
    teams = sorted(k for k in context.partition_keys if k in active)
    skipped = sorted(set(context.partition_keys) - active)
    if skipped:
        context.log.warning(f"not active as of {as_of} (no workbook): {', '.join(skipped)}")

    def progress(done: int, total: int) -> None:
        context.log.info(f"[{done}/{total}] workbooks written")

    try:
        paths = write_all_workbooks(
            warehouse.reports_file, as_of, exports.folder, team_ids=teams, on_progress=progress
        )
    except WorkbooksFailedError as err:
        raise dg.Failure(
            description=f"{len(err.written)} of {len(teams)} workbooks written; failed: {err}",
            metadata={
                "failures": dg.MetadataValue.json(err.failures),
                "teams_not_attempted": dg.MetadataValue.int(err.not_attempted),
                "workbook_paths": dg.MetadataValue.json([str(p) for p in err.written]),
            },
        ) from err
    context.log.info(f"wrote {len(paths)} workbooks as of {as_of} under {exports.folder}")
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of.isoformat(),
            "workbooks": dg.MetadataValue.int(len(paths)),
            "workbook_paths": dg.MetadataValue.json([str(p) for p in paths]),
            "teams_not_active": dg.MetadataValue.json(skipped),
            "exports_dir": dg.MetadataValue.path(str(exports.folder)),
        }
    )
