"""Export assets: one nightly workbook per active team, partitioned by team."""

import dagster as dg

from orchestration.defs.assets.warehouse import REPORT_MODELS, reports_release
from orchestration.defs.config import ExportsConfig, run_as_of
from orchestration.defs.partitions import TEAMS
from orchestration.defs.resources import ExportsResource, WarehouseResource
from orchestration.exports.errors import WorkbooksFailedError
from orchestration.exports.files import workbook_path
from orchestration.exports.workbook import write_all_workbooks
from orchestration.warehouse import UncheckedReportsError, active_teams, released_as_of


def released_run_as_of(
    context: dg.AssetExecutionContext,
    config: ExportsConfig,
    warehouse: WarehouseResource,
    refused: str,
):
    """The run's report date (config, run tag, else the release), which must be released.

    ``refused`` leads the failure's message (what the step did not do).
    """
    try:
        as_of = run_as_of(context, config.as_of, lambda: released_as_of(warehouse.file))
        return released_as_of(warehouse.file, as_of)
    except UncheckedReportsError as err:
        raise dg.Failure(description=f"{refused}: {err}") from err


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
) -> None:
    """Write the workbooks of the selected teams for the as-of date (parallel workers).

    Only reports released by a refresh whose blocking checks all passed are exported.
    Each team's materialization names its own workbook only (metadata stays the same
    size whatever the number of teams in the run).
    """
    as_of = released_run_as_of(context, config, warehouse, "no workbook written")
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
    context.add_asset_metadata(
        {"as_of": as_of.isoformat(), "exports_dir": dg.MetadataValue.path(str(exports.folder))}
    )
    written = set(paths)
    for team in context.partition_keys:
        path = workbook_path(exports.folder, team, as_of) if team in active else None
        context.add_asset_metadata(
            {"active": team in active}
            | ({"workbook_path": dg.MetadataValue.path(str(path))} if path in written else {}),
            partition_key=team,
        )
