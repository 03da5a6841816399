"""`refresh`: run the same Dagster jobs the schedule runs, in this process.

1. refresh_job over the complete deliveries dated on or before the as-of date
   (ingest of the new or re-delivered ones, user hashes, dbt build + tests);
2. exports_job over every active team (the nightly workbooks, their e-mail to the admins,
   the index, retention), only when 1 succeeded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from orchestration import privacy
from orchestration import warehouse as wh
from orchestration.definitions import build_definitions
from orchestration.ingest import deliveries as dlv
from orchestration.jobs import (
    delivery_run_request,
    exports_run_config,
    ordered_teams,
    partition_range_tags,
    refresh_run_config,
)
from orchestration.locks import refresh_lock
from orchestration.settings import Settings


class RefreshError(RuntimeError):
    """A refresh could not complete; the message names the delivery, file or check.

    ``summary`` holds what the refresh did before it stopped, when it got that far.
    """

    def __init__(self, message: str, summary: RefreshResult | None = None) -> None:
        super().__init__(message)
        self.summary = summary


class NothingToRefresh(RuntimeError):
    """No complete delivery yet: not a failure, the refresh has nothing to do."""


@dataclass
class RefreshResult:
    """What a refresh did, for the CLI summary and for tests."""

    as_of: date
    warehouse: Path
    exports_dir: Path
    deliveries_ingested: list[str] = field(default_factory=list)
    rows_loaded: int = 0
    rows_rejected: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    checks_warned: int = 0
    workbooks: list[Path] = field(default_factory=list)
    delivery_counts: dict[str, int] = field(default_factory=dict)
    delivery_problems: dict[str, str] = field(default_factory=dict)


@contextmanager
def _instance() -> Iterator[dg.DagsterInstance]:
    """The persistent instance under DAGSTER_HOME, else a throw-away one, entered.

    Entering the instance installs its definitions-state storage for the block, so
    loading the definitions never sees a storage left behind by another, already
    collected instance of this process (Dagster keeps it in a context variable).
    """
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    with instance or dg.DagsterInstance.ephemeral() as entered:
        yield entered


# Progress lines (one per delivery, per dbt node, per step) without Dagster's debug chatter.
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _require_hash_key_if_needed(landing: Path, as_of: date) -> None:
    """Refuse to start when the newest team snapshot hides PII and no key is set."""
    if os.environ.get(privacy.ENV_PII_KEY):
        return
    complete = dlv.discover(landing, as_of)
    if complete and privacy.delivery_hides_pii(max(complete, key=lambda d: d.delivery_date).path):
        privacy.hash_key(required=True)


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    lines = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            error = event.step_failure_data.error
            text = error.message.strip() if error else "unknown error"
            lines.append(f"step {event.step_key} failed: {text}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            detail = f": {evaluation.description}" if evaluation.description else ""
            lines.append(
                f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} "
                f"failed{detail}"
            )
    return "\n".join(lines) or "the refresh run failed"


def _collect(result: dg.ExecuteInProcessResult, summary: RefreshResult) -> None:
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat.asset_key == dg.AssetKey(["raw", "usage"]):
            meta = mat.metadata
            summary.rows_loaded = meta["rows_loaded_this_run"].value
            summary.rows_rejected = meta["rows_rejected_this_run"].value
            summary.deliveries_ingested = list(meta["ingested_deliveries"].value)
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            summary.checks_passed += 1
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            summary.checks_warned += 1
        else:
            summary.checks_failed += 1


def _written_workbooks(result: dg.ExecuteInProcessResult) -> list[Path]:
    """The workbooks the exports run wrote (from its materialization metadata).

    A run over several team partitions records one materialization per team, each
    with the run's metadata, so the paths are deduplicated.
    """
    paths: set[Path] = set()
    for event in result.get_asset_materialization_events():
        meta = event.event_specific_data.materialization.metadata
        if "workbook_paths" in meta:
            paths |= {Path(p) for p in meta["workbook_paths"].value}
    return sorted(paths)


def _collect_delivery(result: dg.ExecuteInProcessResult, summary: RefreshResult) -> None:
    """Delivery outcomes by status and the teams not delivered, with the reason."""
    for event in result.get_asset_materialization_events():
        meta = event.event_specific_data.materialization.metadata
        if "delivery_counts" in meta:  # one event per team partition, same metadata
            summary.delivery_counts = dict(meta["delivery_counts"].value)
            summary.delivery_problems = dict(meta["delivery_problems"].value)


def refresh(
    landing_dir: Path,
    as_of: date | None = None,
    warehouse: Path | None = None,
    exports_dir: Path | None = None,
    write_exports: bool = True,
    full_refresh: bool = False,
) -> RefreshResult:
    """Ingest, build and export as of ``as_of`` (default: the newest complete delivery)."""
    env = Settings.from_env()
    settings = Settings(
        landing_dir=Path(landing_dir).resolve(),
        warehouse=Path(warehouse or env.warehouse).resolve(),
        exports_dir=Path(exports_dir or env.exports_dir).resolve(),
        reject_threshold=env.reject_threshold,
        dbt_target=env.dbt_target,
    )
    if not settings.landing_dir.is_dir():
        raise RefreshError(f"landing folder not found: {settings.landing_dir}")
    complete = dlv.discover(settings.landing_dir, as_of)
    if not complete:
        raise NothingToRefresh(
            "nothing to refresh: no complete delivery (folder YYYY-MM-DD with manifest.json) "
            f"in {settings.landing_dir}"
            + (f" dated on or before {as_of}" if as_of else "")
            + "; folders without a manifest are still being written"
        )
    as_of = as_of or max(d.delivery_date for d in complete)
    _require_hash_key_if_needed(settings.landing_dir, as_of)

    defs = build_definitions(settings)
    summary = RefreshResult(as_of, settings.warehouse, settings.exports_dir)
    with refresh_lock(settings.warehouse), _instance() as instance:
        request = delivery_run_request(
            instance, settings.landing_dir, settings.warehouse, as_of, run_key=None
        )
        result = defs.resolve_job_def("refresh_job").execute_in_process(
            run_config={**refresh_run_config(as_of, full_refresh), **CONSOLE_INFO},
            instance=instance,
            tags=request.tags,
            raise_on_error=False,
        )
        _collect(result, summary)
        if not result.success:
            raise RefreshError(_failure_message(result), summary)
        if write_exports:
            teams = wh.active_teams(wh.reports_file(settings.warehouse, settings.dbt_target), as_of)
            if teams:
                instance.add_dynamic_partitions("teams", teams)
                exports = defs.resolve_job_def("exports_job").execute_in_process(
                    run_config={**exports_run_config(as_of), **CONSOLE_INFO},
                    instance=instance,
                    tags=partition_range_tags(ordered_teams(instance, teams)),
                    raise_on_error=False,
                )
                if not exports.success:
                    raise RefreshError(_failure_message(exports), summary)
                summary.workbooks = _written_workbooks(exports)
                _collect_delivery(exports, summary)
    return summary
