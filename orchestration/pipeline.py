"""`refresh`: run the same Dagster jobs the schedule runs, in this process.

The runs are recorded in the shared instance (see :mod:`orchestration.instance`), so
the UI lists them and the new-delivery sensor sees what they loaded.

1. refresh_job over the complete deliveries dated on or before the as-of date
   (ingest of the new or re-delivered ones, user hashes, dbt build + tests);
2. exports_job over every active team (the nightly workbooks, their e-mail to the admins,
   the index, retention), only when 1 succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import dagster as dg

from orchestration import privacy
from orchestration import warehouse as wh
from orchestration.defs.definitions import build_definitions
from orchestration.defs.partitions import TEAMS_NAME
from orchestration.defs.resources import build_resources
from orchestration.defs.runs import (
    as_of_tags,
    exports_run_config,
    ordered_teams,
    partition_range_tags,
    refresh_run_config,
)
from orchestration.ingest import deliveries as dlv
from orchestration.instance import cli_run_tags, fail_abandoned_cli_runs, open_instance
from orchestration.locks import refresh_lock
from orchestration.settings import Settings

if TYPE_CHECKING:
    from orchestration.progress import RunProgress


class RefreshError(RuntimeError):
    """A refresh could not complete; the message names the delivery, file or check.

    ``failures`` has one line per failure (what, where, why in plain words);
    ``summary`` holds what the refresh did before it stopped, when it got that far.
    """

    def __init__(
        self,
        message: str,
        summary: RefreshResult | None = None,
        failures: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.summary = summary
        self.failures = failures or [message]


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
    # One line per warning check that failed: check, asset and message.
    warnings: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    delivery_counts: dict[str, int] = field(default_factory=dict)
    delivery_problems: dict[str, str] = field(default_factory=dict)


# Dagster's console log: INFO shows one line per delivery, dbt node and step (--verbose).
CONSOLE_LEVEL = "INFO"
# Step key -> the stage it belongs to, in stage lines and failure lines.
STAGE_NAMES = {
    "raw_deliveries": "ingest",
    "raw__user_hashes": "user hashes",
    "warehouse_models": "dbt build",
    "reports__release": "release",
    "exports__team_workbook": "exports",
}
TRACEBACK_HINT = "(traceback: rerun with --verbose, or see the run in the Dagster UI)"

Metadata = Mapping[str, dg.MetadataValue]
T = TypeVar("T")


def _require_hash_key_if_needed(settings: Settings, as_of: date) -> None:
    """Refuse to start when the newest team snapshot hides PII and no key is set."""
    if settings.pii_hash_key:
        return
    complete = dlv.discover(settings.landing_dir, as_of)
    if complete and privacy.delivery_hides_pii(max(complete, key=lambda d: d.delivery_date).path):
        privacy.hash_key(settings.pii_hash_key, required=True)


def _failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failure of the run: the stage, then what, where and why.

    A step that failed with ``dg.Failure`` gives its ``failures`` metadata (a list of
    lines) or its description; any other exception gives its type and message.
    """
    lines = []
    for event in result.all_events:
        if not (event.is_step_failure and event.step_failure_data):
            continue
        step = event.step_key
        assert step is not None  # a step failure names its step
        stage = STAGE_NAMES.get(step, step)
        data = event.step_failure_data
        if data.error and data.error.cls_name == "DagsterAssetCheckFailedError":
            continue  # blocking checks failed: each is named below, with its message
        user = data.user_failure_data
        if user is not None and "failures" in user.metadata:
            lines += [f"{stage}: {line}" for line in _value(user.metadata, "failures", list)]
        elif user is not None and user.description:
            described = [line.strip() for line in user.description.splitlines() if line.strip()]
            if len(described) > 1 and described[0].endswith(":"):
                described = described[1:]  # a heading over the lines that name each failure
            lines += [f"{stage}: {line}" for line in described]
        else:
            text = " ".join(data.error.message.split()) if data.error else "unknown error"
            lines.append(f"{stage}: {text} {TRACEBACK_HINT}")
    named = " ".join(lines)
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            if f" {evaluation.check_name} (" in named:  # a dbt test its step already named
                continue
            lines.append(f"check {_check_text(evaluation, 'failed')}")
    return lines or [f"the run {result.run_id} failed {TRACEBACK_HINT}"]


def _check_text(evaluation: dg.AssetCheckEvaluation, outcome: str) -> str:
    detail = " ".join((evaluation.description or "").split())
    where = evaluation.asset_key.to_user_string()
    return f"{evaluation.check_name} on {where} {outcome}" + (f": {detail}" if detail else "")


def _collect(result: dg.ExecuteInProcessResult, summary: RefreshResult) -> None:
    summary.run_ids.append(result.run_id)
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        if mat.asset_key == dg.AssetKey(["raw", "usage"]):
            meta = mat.metadata
            summary.rows_loaded = _value(meta, "rows_loaded_this_run", int)
            summary.rows_rejected = _value(meta, "rows_rejected_this_run", int)
            summary.deliveries_ingested = list(_value(meta, "ingested_deliveries", list))
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            summary.checks_passed += 1
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            summary.checks_warned += 1
            summary.warnings.append(f"check {_check_text(evaluation, 'warned')}")
        else:
            summary.checks_failed += 1


def _written_workbooks(result: dg.ExecuteInProcessResult) -> list[Path]:
    """The workbooks the exports run wrote (each team's materialization names its own)."""
    paths: set[Path] = set()
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        if "workbook_path" in meta:
            paths.add(Path(_value(meta, "workbook_path", str)))
    for event in result.all_events:  # a failed step still names the workbooks it published
        failure = event.step_failure_data if event.is_step_failure else None
        if failure and failure.user_failure_data:
            meta = failure.user_failure_data.metadata
            if "workbook_paths" in meta:
                paths |= {Path(p) for p in _value(meta, "workbook_paths", list)}
    return sorted(paths)


def _job(defs: dg.Definitions, name: str, progress: RunProgress | None) -> dg.JobDefinition:
    job = defs.resolve_job_def(name)
    if progress is None:
        return job
    return job.with_logger_defs({**job.loggers, "flex_progress": progress.logger_def()})


def _loggers(console_level: str, progress: RunProgress | None) -> dict:
    loggers = {"console": {"config": {"log_level": console_level}}}
    return {"loggers": {**loggers, **({"flex_progress": {}} if progress else {})}}


def _collect_delivery(result: dg.ExecuteInProcessResult, summary: RefreshResult) -> None:
    """Delivery outcomes by status and the teams not delivered, with the reason (from
    each team's materialization of ``exports/admin_delivery``)."""
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        meta = materialization.metadata
        if "delivery_status" in meta:
            status = _value(meta, "delivery_status", str)
            summary.delivery_counts[status] = summary.delivery_counts.get(status, 0) + 1
            if "delivery_problem" in meta:
                team = materialization.partition
                assert team is not None  # each team's outcome is its partition's metadata
                summary.delivery_problems[team] = _value(meta, "delivery_problem", str)


def _value(meta: Metadata, key: str, kind: type[T]) -> T:
    """The value under ``key``, of the type its step records (int, text or path, JSON list)."""
    value = meta[key].value
    assert isinstance(value, kind), key
    return value


def refresh(
    landing_dir: Path,
    as_of: date | None = None,
    warehouse: Path | None = None,
    exports_dir: Path | None = None,
    write_exports: bool = True,
    full_refresh: bool = False,
    *,
    console_level: str = CONSOLE_LEVEL,
    progress: RunProgress | None = None,
    today: date | None = None,
) -> RefreshResult:
    """Ingest, build and export as of ``as_of``.

    The default as-of date is the newest complete delivery dated on or before
    ``today`` (default: today's UTC date); deliveries dated after ``today`` are
    reported in ``warnings``. ``console_level`` is the level of Dagster's console log
    (``CRITICAL`` silences it); ``progress`` receives every event of the runs as they
    happen.
    """
    today = today or dlv.utc_today()
    env = Settings.from_env()
    settings = replace(
        env,
        landing_dir=Path(landing_dir).resolve(),
        warehouse=Path(warehouse or env.warehouse).resolve(),
        exports_dir=Path(exports_dir or env.exports_dir).resolve(),
    )
    if not settings.landing_dir.is_dir():
        raise RefreshError(f"landing folder not found: {settings.landing_dir}")
    everything = dlv.discover(settings.landing_dir)
    warnings = dlv.future_dated(everything, today)
    as_of = as_of or dlv.default_as_of(everything, today)
    if as_of is None or not dlv.discover(settings.landing_dir, as_of):
        raise NothingToRefresh(
            "nothing to refresh: no complete delivery (folder YYYY-MM-DD with manifest.json) "
            f"in {settings.landing_dir} dated on or before {as_of or today}"
            + "; folders without a manifest are still being written"
            + "".join(f"\nwarning: {w}" for w in warnings)
        )
    _require_hash_key_if_needed(settings, as_of)

    resources = build_resources(settings)
    defs = build_definitions(resources)
    summary = RefreshResult(as_of, settings.warehouse, settings.exports_dir, warnings=warnings)
    with refresh_lock(settings.warehouse), open_instance() as instance:
        fail_abandoned_cli_runs(instance)
        result = _job(defs, "refresh_job", progress).execute_in_process(
            run_config={
                **refresh_run_config(as_of, full_refresh),
                **_loggers(console_level, progress),
            },
            instance=instance,
            tags={**as_of_tags(as_of), **cli_run_tags()},
            raise_on_error=False,
        )
        if progress:
            progress.end_of_job()
        _collect(result, summary)
        if not result.success:
            failures = _failures(result)
            raise RefreshError("\n".join(failures), summary, failures)
        if write_exports:
            teams = wh.active_teams(resources["warehouse"].reports_file, as_of)
            if teams:
                instance.add_dynamic_partitions(TEAMS_NAME, teams)
                exports = _job(defs, "exports_job", progress).execute_in_process(
                    run_config={**exports_run_config(as_of), **_loggers(console_level, progress)},
                    instance=instance,
                    tags={
                        **partition_range_tags(ordered_teams(instance, teams)),
                        **as_of_tags(as_of),
                        **cli_run_tags(),
                    },
                    raise_on_error=False,
                )
                summary.run_ids.append(exports.run_id)
                summary.workbooks = _written_workbooks(exports)
                _collect_delivery(exports, summary)
                if not exports.success:
                    failures = _failures(exports)
                    raise RefreshError("\n".join(failures), summary, failures)
    return summary
