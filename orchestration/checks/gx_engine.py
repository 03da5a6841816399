"""Great Expectations plumbing: one in-memory context, pandas frames in, failures out.

Suites are built in code per call and validated against a whole-dataframe
batch; nothing is stored on disk and no analytics are sent. A table too large
for one frame is validated frame by frame and the failures merged.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations import Expectation

from orchestration.checks.outcome import SAMPLE_SIZE, FailedExpectation, plain

# Keys of an expectation's ``meta`` that describe it for people.
META_TARGET = "target"
META_RULE = "rule"


@cache
def _batch_definition() -> BatchDefinition:
    """The process-wide ephemeral context's whole-dataframe batch definition."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas("warehouse").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


@dataclass(frozen=True)
class FrameSuite:
    """Expectations to run on one frame; ``index_columns`` identify offending rows."""

    name: str
    frame: pd.DataFrame
    expectations: Sequence[Expectation]
    index_columns: Sequence[str] = ()


def expectation_meta(target: str, rule: str) -> dict[str, str]:
    """``meta`` for an expectation: what it checks and the rule in words."""
    return {META_TARGET: target, META_RULE: rule}


def validate(suite: FrameSuite) -> list[FailedExpectation]:
    """Run ``suite`` and return its failed expectations, in suite order."""
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": suite.frame})
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": SAMPLE_SIZE,
    }
    if suite.index_columns:
        result_format["unexpected_index_column_names"] = list(suite.index_columns)
    validation = batch.validate(
        gx.ExpectationSuite(name=suite.name, expectations=list(suite.expectations)),
        result_format=result_format,
    )
    failed = [_failure(r, suite.index_columns) for r in validation.results if not r.success]
    return _in_suite_order(failed, suite)


def validate_batches(
    suites: Iterable[FrameSuite], on_failure: Callable[[FrameSuite], None] | None = None
) -> list[FailedExpectation]:
    """Run suites of the same expectations on successive frames, one frame at a time.

    Each expectation's failures are merged across frames (counts added, the
    first samples kept), in suite order: the failures of one frame of all the
    rows, as long as no rule compares rows of different frames.
    ``on_failure`` is called with each suite that has failures.
    """
    merged: dict[tuple[str, str], FailedExpectation] = {}
    suite = None
    for suite in suites:
        failures = validate(suite)
        if failures and on_failure is not None:
            on_failure(suite)
        for failure in failures:
            key = (failure.target, failure.rule)
            merged[key] = merged[key].merged(failure) if key in merged else failure
    return [] if suite is None else _in_suite_order(list(merged.values()), suite)


def failing_groups(suite: FrameSuite, column: str) -> list[Hashable]:
    """The values of ``column`` whose rows, validated apart from the others, fail ``suite``."""
    groups = suite.frame.groupby(column, observed=True, sort=True)
    return [value for value, rows in groups if validate(replace(suite, frame=rows))]


def _in_suite_order(failed: list[FailedExpectation], suite: FrameSuite) -> list[FailedExpectation]:
    metas = [_meta(e) for e in suite.expectations]
    order = {(meta[META_TARGET], meta[META_RULE]): i for i, meta in enumerate(metas)}
    return sorted(failed, key=lambda f: order.get((f.target, f.rule), len(order)))


def _meta(expectation: Expectation) -> dict[str, Any]:
    """The ``meta`` every suite's expectation is built with (see :func:`expectation_meta`)."""
    assert expectation.meta is not None
    return expectation.meta


def _failure(result: Any, index_columns: Sequence[str]) -> FailedExpectation:
    config = result.expectation_config
    meta = config.meta or {}
    kwargs = config.kwargs
    column = (
        kwargs.get("column")
        or kwargs.get("column_list")
        or [
            kwargs.get("column_A"),
            kwargs.get("column_B"),
        ]
    )
    details = result.result or {}
    return FailedExpectation(
        expectation=config.type,
        target=meta.get(META_TARGET, config.type),
        column=column if isinstance(column, str) else ",".join(c for c in column if c),
        rule=meta.get(META_RULE, config.type),
        unexpected_count=details.get("unexpected_count"),
        sample=tuple(plain(details.get("partial_unexpected_list", []))),
        rows=tuple(
            _index_first(row, index_columns)
            for row in plain(details.get("partial_unexpected_index_list", []))
            if isinstance(row, dict)
        ),
        error=_error_message(result.exception_info or {}),
    )


def _index_first(row: dict[str, Any], index_columns: Sequence[str]) -> dict[str, Any]:
    """Identifying columns first, then the checked values."""
    first = {c: row[c] for c in index_columns if c in row}
    return first | {k: v for k, v in row.items() if k not in first}


def _error_message(info: dict[str, Any]) -> str | None:
    """The exception GX caught while computing the expectation, if any."""
    if info.get("raised_exception"):
        return info.get("exception_message")
    for nested in info.values():
        if isinstance(nested, dict) and nested.get("raised_exception"):
            return nested.get("exception_message")
    return None
