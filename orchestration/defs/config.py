"""Run configuration of the refresh and export assets, and the run's one report date.

The report date (as-of) of a run is decided once: the run config's ``as_of`` when the
launcher gave one, else the run's ``flex/as_of`` tag, else the first step that needs it
works it out and records it as that tag. Every later step of the run reads the tag, so
a delivery landing (or a release changing) mid-run cannot give two steps two dates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import Field

from orchestration.ingest.deliveries import default_as_of, discover, utc_today

AS_OF_TAG = "flex/as_of"

Context = dg.AssetExecutionContext | dg.AssetCheckExecutionContext | dg.OpExecutionContext


class RefreshConfig(dg.Config):
    """Run configuration shared by the refresh assets."""

    as_of: str = Field(
        default="",
        description="Report date YYYY-MM-DD; empty = the newest complete "
        "delivery dated on or before today (UTC), decided once for the run.",
    )
    full_refresh: bool = Field(
        default=False, description="Rebuild incremental dbt models from scratch."
    )


class ExportsConfig(dg.Config):
    """The report date to export; empty = the date of the checked reports."""

    as_of: str = ""


def newest_report_date(landing: Path) -> date:
    """The newest complete delivery dated on or before today (UTC)."""
    today = utc_today()
    as_of = default_as_of(discover(landing, None), today)
    if as_of is None:
        raise dg.Failure(
            f"no complete delivery dated on or before {today} in {landing}: nothing to report on"
        )
    return as_of


def tagged_as_of(context: Context) -> date | None:
    """The run's recorded report date (read from the instance, not the step's copy)."""
    run = context.instance.get_run_by_id(context.run.run_id)
    value = run.tags.get(AS_OF_TAG) if run else None
    return date.fromisoformat(value) if value else None


def run_as_of(context: Context, given: str, resolve: Callable[[], date]) -> date:
    """The run's report date: ``given`` (run config), else the run's tag, else ``resolve()``.

    Whatever decided it, the date is recorded as the run's tag for the steps after this one.
    """
    tagged = tagged_as_of(context)
    as_of = date.fromisoformat(given) if given else tagged or resolve()
    if tagged is None:
        context.instance.add_run_tags(context.run.run_id, {AS_OF_TAG: as_of.isoformat()})
    return as_of
