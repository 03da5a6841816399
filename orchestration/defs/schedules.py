"""The nightly schedule: 02:00 UTC, a refresh as of yesterday."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from orchestration.defs.jobs import refresh_job
from orchestration.defs.resources import LandingResource
from orchestration.defs.runs import delivery_run_request


@dg.schedule(
    job=refresh_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def nightly_refresh(
    context: dg.ScheduleEvaluationContext,
    landing: LandingResource,
):
    """02:00 UTC: refresh as of yesterday."""
    run_day = (context.scheduled_execution_time or datetime.now(UTC)).date()
    as_of = run_day - timedelta(days=1)
    request = delivery_run_request(landing.folder, as_of, run_key=f"nightly-{as_of}")
    return request or dg.SkipReason(f"no complete delivery on or before {as_of}")
