"""Sensors: a refresh for each new complete delivery, the exports after a refresh."""

import dagster as dg

from orchestration.defs.jobs import exports_job, refresh_job
from orchestration.defs.partitions import TEAMS_NAME
from orchestration.defs.resources import LandingResource, WarehouseResource
from orchestration.defs.runs import (
    as_of_tags,
    delivery_run_request,
    exports_run_config,
    ordered_teams,
    partition_range_tags,
)
from orchestration.ingest import deliveries as dlv
from orchestration.locks import WarehouseBusyError
from orchestration.warehouse import (
    UncheckedReportsError,
    active_teams,
    loaded_manifests,
    released_as_of,
)


@dg.sensor(
    job=refresh_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def new_delivery_sensor(
    context: dg.SensorEvaluationContext,
    landing: LandingResource,
    warehouse: WarehouseResource,
):
    """Start a refresh when a complete delivery appears that the warehouse has not loaded
    as delivered (new, or re-delivered since).

    What is pending is read from the warehouse itself, so deliveries a CLI refresh
    (`make run`) already loaded start nothing. The cursor holds the deliveries of the
    last request, so one pending delivery is requested once, not on every tick while
    its run is queued or running.
    """
    complete = dlv.discover(landing.folder, None)
    if not complete:
        return dg.SkipReason(f"no complete delivery in {landing.folder}")
    # A delivery dated after today (UTC) is suspect: warned about by a refresh, never run for.
    complete = [d for d in complete if d.delivery_date <= dlv.utc_today()]
    if not complete:
        return dg.SkipReason("every complete delivery is dated after today (UTC)")
    try:
        loaded = loaded_manifests(warehouse.file, busy_is_empty=False)
    except WarehouseBusyError:
        return dg.SkipReason("the warehouse is being written; looking again next tick")
    pending = {
        f"{d.delivery_date}:{d.manifest_sha256}"
        for d in complete
        if loaded.get(d.delivery_date) != d.manifest_sha256
    }
    if not pending:
        return dg.SkipReason("every complete delivery is loaded")
    requested = set(context.cursor.split(",")) if context.cursor else set()
    if pending <= requested:
        return dg.SkipReason("no new complete delivery since the last request")
    newest = max(d.delivery_date for d in complete)
    context.update_cursor(",".join(sorted(pending)))
    request = delivery_run_request(landing.folder, newest, run_key=None)
    return request or dg.SkipReason("no complete delivery")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[refresh_job],
    request_job=exports_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def exports_after_refresh(context: dg.RunStatusSensorContext, warehouse: WarehouseResource):
    """After a successful refresh (all blocking checks passed), write every active team's
    workbook in one run, as of the date the refresh released."""
    try:
        as_of = released_as_of(warehouse.file)
    except UncheckedReportsError as err:
        return dg.SkipReason(str(err))
    teams = active_teams(warehouse.reports_file, as_of)
    if not teams:
        return dg.SkipReason(f"no active team in the reports as of {as_of}")
    context.instance.add_dynamic_partitions(TEAMS_NAME, teams)
    return dg.RunRequest(
        run_key=f"exports-{context.dagster_run.run_id}",
        run_config=exports_run_config(as_of),
        tags={
            **partition_range_tags(ordered_teams(context.instance, teams)),
            **as_of_tags(as_of),
        },
    )
