"""Dagster adapters: check specs and ``AssetCheckResult``s built from check outcomes.

The only module of the checks package that imports Dagster. Blocking checks
report ``ERROR`` severity (and their specs are ``blocking``, so downstream
exports do not run); warnings report ``WARN``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg
import duckdb

from orchestration.checks.outcome import CheckOutcome
from orchestration.checks.raw_suites import check_raw_layer, raw_check_name
from orchestration.checks.reject_gate import REJECT_GATE, check_reject_rate
from orchestration.checks.staging_suites import staged_check_name, staged_table
from orchestration.ingest.contract import ENTITIES

QUARANTINE_ASSET = dg.AssetKey(["raw", "quarantine"])
# The dbt staging models checked, keyed like the dbt assets (``staging/stg_usage``).
STAGED_ASSETS = [dg.AssetKey(["staging", staged_table(e.name)]) for e in ENTITIES]


def raw_asset_key(entity: str) -> dg.AssetKey:
    """Asset key of a raw entity table, e.g. ``raw/usage``."""
    return dg.AssetKey(["raw", entity])


def asset_check_result(
    outcome: CheckOutcome, asset_key: dg.AssetKey | Sequence[str] | str
) -> dg.AssetCheckResult:
    """The Dagster result of ``outcome`` for the check of ``asset_key`` named like the outcome."""
    return dg.AssetCheckResult(
        passed=outcome.passed,
        asset_key=asset_key,
        check_name=outcome.name,
        severity=dg.AssetCheckSeverity.ERROR if outcome.blocking else dg.AssetCheckSeverity.WARN,
        description=outcome.message,
        metadata={
            "message": dg.MetadataValue.text(outcome.message),
            "failed_expectations": dg.MetadataValue.int(len(outcome.failures)),
            "failures": dg.MetadataValue.json([f.as_dict() for f in outcome.failures]),
            "stats": dg.MetadataValue.json(dict(outcome.stats)),
        },
    )


def raw_check_specs() -> list[dg.AssetCheckSpec]:
    """Blocking specs: one quality check per raw entity table, and the reject-rate gate."""
    specs = [
        dg.AssetCheckSpec(
            raw_check_name(e.name),
            asset=raw_asset_key(e.name),
            blocking=True,
            description=f"{e.file_name} rows of the ingested deliveries follow the contract",
        )
        for e in ENTITIES
    ]
    specs.append(
        dg.AssetCheckSpec(
            REJECT_GATE,
            asset=QUARANTINE_ASSET,
            blocking=True,
            description="per ingested delivery and file: rejected share <= FLEX_REJECT_THRESHOLD",
        )
    )
    return specs


def raw_outcomes(
    con: duckdb.DuckDBPyConnection,
    delivery_dates: Sequence[date],
    threshold: float | None = None,
) -> list[CheckOutcome]:
    """The outcome of every spec of :func:`raw_check_specs`, judged on ``delivery_dates``."""
    gate = check_reject_rate(con, delivery_dates, threshold)
    return [*check_raw_layer(con, delivery_dates), gate]


def raw_check_results(outcomes: Sequence[CheckOutcome]) -> list[dg.AssetCheckResult]:
    """Results of :func:`raw_outcomes`, each on the asset of its spec."""
    assets = {spec.name: spec.asset_key for spec in raw_check_specs()}
    return [asset_check_result(outcome, assets[outcome.name]) for outcome in outcomes]


def staged_check_specs() -> list[dg.AssetCheckSpec]:
    """Blocking specs: one quality check per staged table."""
    return [
        dg.AssetCheckSpec(
            staged_check_name(entity.name),
            asset=asset,
            blocking=True,
            description=f"one row per key, accepted values and references of {asset.path[-1]}",
        )
        for entity, asset in zip(ENTITIES, STAGED_ASSETS, strict=True)
    ]


def staged_check_results(outcomes: Sequence[CheckOutcome]) -> list[dg.AssetCheckResult]:
    """Results of :func:`~orchestration.checks.staging_suites.check_staged_layer`."""
    return [
        asset_check_result(outcome, asset)
        for outcome, asset in zip(outcomes, STAGED_ASSETS, strict=True)
    ]
