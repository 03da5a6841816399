"""What the launchers (schedule, sensors, CLI) hand a run: its config, tags, team range."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg

from orchestration.defs.config import AS_OF_TAG
from orchestration.defs.partitions import TEAMS_NAME
from orchestration.ingest import deliveries as dlv


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


def as_of_tags(as_of: date) -> dict[str, str]:
    """The run's report date, read by every step (see :mod:`orchestration.defs.config`)."""
    return {AS_OF_TAG: as_of.isoformat()}


def delivery_run_request(landing: Path, as_of: date, run_key: str | None) -> dg.RunRequest | None:
    """A refresh_job run up to ``as_of``; None when there is no complete delivery.

    The run loads whatever is pending on or before ``as_of`` (new or re-delivered
    deliveries, read from the warehouse by the ingest asset itself); with nothing
    pending it rebuilds and re-checks the reports as of that date.
    """
    if not dlv.discover(landing, as_of):
        return None
    return dg.RunRequest(
        run_key=run_key, run_config=refresh_run_config(as_of), tags=as_of_tags(as_of)
    )


def ordered_teams(instance: dg.DagsterInstance, teams: list[str]) -> list[str]:
    """``teams`` in the dynamic partition order (a range is contiguous in that order)."""
    wanted = set(teams)
    return [k for k in instance.get_dynamic_partitions(TEAMS_NAME) if k in wanted]
