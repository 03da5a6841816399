"""Jobs, the nightly schedule and the sensors that start them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from orchestration.assets.exports import TEAMS
from orchestration.assets.ingest import DELIVERIES
from orchestration.ingest import deliveries as dlv
from orchestration.locks import WarehouseBusyError
from orchestration.settings import Settings
from orchestration.warehouse import (
    UncheckedReportsError,
    active_teams,
    loaded_manifests,
    released_as_of,
    reports_file,
)

EXPORT_ASSETS = dg.AssetSelection.groups("exports")
refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=dg.AssetSelection.all() - EXPORT_ASSETS,
    description="Ingest pending deliveries, hash users, build and test every dbt model.",
)
exports_job = dg.define_asset_job(
    "exports_job",
    selection=EXPORT_ASSETS,
    description=(
        "Write the nightly workbook of the selected teams, e-mail them to their admins, "
        "write the index and remove expired export folders."
    ),
)


def refresh_run_config(as_of: date, full_refresh: bool = False) -> dict:
    """Run config giving every refresh asset the same as-of date."""
    config = {"as_of": as_of.isoformat()}
    return {
        "ops": {
            "raw_deliveries": {"config": config},
            "warehouse_models": {"config": {**config, "full_refresh": full_refresh}},
            "reports__release": {"config": config},
        }
    }


def exports_run_config(as_of: date) -> dict:
    """Run config giving every export asset the same as-of date."""
    ops = ["team_workbook", "admin_delivery", "index", "retention"]
    return {"ops": {f"exports__{op}": {"config": {"as_of": as_of.isoformat()}} for op in ops}}


def partition_range_tags(keys: list[str]) -> dict[str, str]:
    """Tags that make one run cover a range of partitions (single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }


def delivery_run_request(
    instance: dg.DagsterInstance,
    landing: Path,
    warehouse: Path,
    as_of: date,
    run_key: str | None,
) -> dg.RunRequest | None:
    """A refresh_job run up to ``as_of``; None when there is no complete delivery.

    The run's partition range spans the deliveries that are new or re-delivered
    (or, with none, just the newest one), so a nightly run records one partition,
    not the whole history. Unchanged deliveries inside the range are skipped by
    the ingest asset itself.
    """
    complete = dlv.discover(landing, as_of)
    if not complete:
        return None
    found = [d.delivery_date.isoformat() for d in complete]
    known = set(instance.get_dynamic_partitions(DELIVERIES.name))
    new = [k for k in found if k not in known]
    if new:
        instance.add_dynamic_partitions(DELIVERIES.name, new)
    loaded = loaded_manifests(warehouse)
    pending = {
        d.delivery_date.isoformat()
        for d in complete
        if loaded.get(d.delivery_date) != d.manifest_sha256
    } or {max(found)}
    ordered = [k for k in instance.get_dynamic_partitions(DELIVERIES.name) if k in pending]
    return dg.RunRequest(
        run_key=run_key,
        run_config=refresh_run_config(as_of),
        tags={**partition_range_tags(ordered), "flex/as_of": as_of.isoformat()},
    )


@dg.schedule(
    job=refresh_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def nightly_refresh(context: dg.ScheduleEvaluationContext):
    """02:00 UTC: refresh as of yesterday."""
    run_day = (context.scheduled_execution_time or datetime.now(UTC)).date()
    as_of = run_day - timedelta(days=1)
    settings = Settings.from_env()
    request = delivery_run_request(
        context.instance,
        settings.landing_dir,
        settings.warehouse,
        as_of,
        run_key=f"nightly-{as_of}",
    )
    return request or dg.SkipReason(f"no complete delivery on or before {as_of}")


@dg.sensor(
    job=refresh_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def new_delivery_sensor(context: dg.SensorEvaluationContext):
    """Start a refresh when a complete delivery appears that the warehouse has not loaded
    as delivered (new, or re-delivered since).

    What is pending is read from the warehouse itself, so deliveries a CLI refresh
    (`make run`) already loaded start nothing. The cursor holds the deliveries of the
    last request, so one pending delivery is requested once, not on every tick while
    its run is queued or running.
    """
    settings = Settings.from_env()
    complete = dlv.discover(settings.landing_dir, None)
    if not complete:
        return dg.SkipReason(f"no complete delivery in {settings.landing_dir}")
    # A delivery dated after today (UTC) is suspect: warned about by a refresh, never run for.
    complete = [d for d in complete if d.delivery_date <= dlv.utc_today()]
    if not complete:
        return dg.SkipReason("every complete delivery is dated after today (UTC)")
    try:
        loaded = loaded_manifests(settings.warehouse, busy_is_empty=False)
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
    request = delivery_run_request(
        context.instance, settings.landing_dir, settings.warehouse, newest, run_key=None
    )
    return request or dg.SkipReason("no complete delivery")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[refresh_job],
    request_job=exports_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def exports_after_refresh(context: dg.RunStatusSensorContext):
    """After a successful refresh (all blocking checks passed), write every active team's
    workbook in one run, as of the date the refresh released."""
    settings = Settings.from_env()
    try:
        as_of = released_as_of(settings.warehouse)
    except UncheckedReportsError as err:
        return dg.SkipReason(str(err))
    teams = active_teams(reports_file(settings.warehouse, settings.dbt_target), as_of)
    if not teams:
        return dg.SkipReason(f"no active team in the reports as of {as_of}")
    context.instance.add_dynamic_partitions(TEAMS.name, teams)
    return dg.RunRequest(
        run_key=f"exports-{context.dagster_run.run_id}",
        run_config=exports_run_config(as_of),
        tags={
            **partition_range_tags(ordered_teams(context.instance, teams)),
            "flex/as_of": as_of.isoformat(),
        },
    )


def ordered_teams(instance: dg.DagsterInstance, teams: list[str]) -> list[str]:
    """``teams`` in the dynamic partition order (a range is contiguous in that order)."""
    wanted = set(teams)
    return [k for k in instance.get_dynamic_partitions(TEAMS.name) if k in wanted]
