"""Dagster adapters: check specs and ``AssetCheckResult``s built from check outcomes.

The checks library (``orchestration.checks``) imports no Dagster; this module turns
its outcomes into Dagster's. Blocking checks report ``ERROR`` severity (and their
specs are ``blocking``, so downstream exports do not run); warnings report ``WARN``.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from orchestration.checks.outcome import CheckOutcome, FailedExpectation
from orchestration.checks.raw_suites import raw_check_name
from orchestration.checks.reject_gate import REJECT_GATE
from orchestration.ingest.contract import ENTITIES

QUARANTINE_ASSET = dg.AssetKey(["raw", "quarantine"])
# The asset that judges the raw layer and records the failures (see defs/assets/gate.py).
GATE_ASSET = dg.AssetKey(["raw", "gate_failures"])
RAW_OUTCOMES = "raw_outcomes"  # its metadata: the judgement, read by the raw checks


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
            additional_deps=[GATE_ASSET],
        )
        for e in ENTITIES
    ]
    specs.append(
        dg.AssetCheckSpec(
            REJECT_GATE,
            asset=QUARANTINE_ASSET,
            blocking=True,
            description="per ingested delivery and file: rejected share <= FLEX_REJECT_THRESHOLD",
            additional_deps=[GATE_ASSET],
        )
    )
    return specs


def outcome_record(outcome: CheckOutcome) -> dict:
    """``outcome`` as JSON-ready metadata (see :func:`outcome_from_record`)."""
    return {
        "name": outcome.name,
        "passed": outcome.passed,
        "message": outcome.message,
        "blocking": outcome.blocking,
        "failures": [f.as_dict() for f in outcome.failures],
        "stats": dict(outcome.stats),
    }


def outcome_from_record(record: dict) -> CheckOutcome:
    """The outcome :func:`outcome_record` recorded."""
    failures = tuple(
        FailedExpectation(**{**f, "sample": tuple(f["sample"]), "rows": tuple(f["rows"])})
        for f in record["failures"]
    )
    return CheckOutcome(
        record["name"],
        record["passed"],
        record["message"],
        record["blocking"],
        failures,
        record["stats"],
    )


def raw_check_results(outcomes: Sequence[CheckOutcome]) -> list[dg.AssetCheckResult]:
    """Results of :func:`~orchestration.checks.gate_state.raw_outcomes`, on their specs' assets."""
    assets = {spec.name: spec.asset_key for spec in raw_check_specs()}
    return [asset_check_result(outcome, assets[outcome.name]) for outcome in outcomes]
