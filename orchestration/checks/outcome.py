"""Check outcomes: what a suite found, in a form Dagster metadata and logs can carry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

SAMPLE_SIZE = 5
_MESSAGE_DETAILS = 3


@dataclass(frozen=True)
class FailedExpectation:
    """One expectation that failed.

    ``target`` names what was checked (``usage.tokens``, ``rpt_summary``,
    ``reject_rate``); ``rule`` names the problem in words; ``sample`` holds a
    few unexpected values and ``rows`` a few offending rows, identifying
    columns first (delivery and line, file, or team and range), all JSON-ready.
    ``error`` is set when the expectation could not be evaluated.
    """

    expectation: str
    target: str
    column: str | None
    rule: str
    unexpected_count: int | None
    sample: tuple[Any, ...] = ()
    rows: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None

    def describe(self) -> str:
        """One line: target, how many rows break the rule, a sample."""
        if self.error is not None:
            return f"{self.target}: could not be checked ({self.error})"
        count = "" if self.unexpected_count is None else f"{self.unexpected_count} x "
        text = f"{self.target}: {count}{self.rule}"
        examples = [_row_text(r) for r in self.rows] or [_short(v) for v in self.sample]
        if examples:
            text += " (e.g. " + "; ".join(examples[:3]) + ")"
        return text

    def merged(self, later: FailedExpectation) -> FailedExpectation:
        """This failure and ``later``, the same expectation on further rows, as one.

        Counts add up (unknown if either is); samples and rows keep their first
        ``SAMPLE_SIZE``, this failure's first; the first error wins.
        """
        first, then = self.unexpected_count, later.unexpected_count
        return replace(
            self,
            unexpected_count=None if first is None or then is None else first + then,
            sample=(self.sample + later.sample)[:SAMPLE_SIZE],
            rows=(self.rows + later.rows)[:SAMPLE_SIZE],
            error=self.error or later.error,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "target": self.target,
            "column": self.column,
            "rule": self.rule,
            "unexpected_count": self.unexpected_count,
            "sample": list(self.sample),
            "rows": [dict(r) for r in self.rows],
            "error": self.error,
        }


@dataclass(frozen=True)
class CheckOutcome:
    """Result of one named check: passed or not, why, and whether failing blocks exports."""

    name: str
    passed: bool
    message: str
    blocking: bool = True
    failures: tuple[FailedExpectation, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_failures(
        cls,
        name: str,
        failures: Iterable[FailedExpectation],
        *,
        ok_message: str,
        fail_message: str | None = None,
        blocking: bool = True,
        stats: Mapping[str, Any] | None = None,
    ) -> CheckOutcome:
        """Passed when ``failures`` is empty; else a message naming the first problems.

        ``fail_message``, when given, leads the failure message before the details.
        """
        failed = tuple(failures)
        if not failed:
            message = f"{name}: {ok_message}"
        else:
            details = "; ".join(f.describe() for f in failed[:_MESSAGE_DETAILS])
            more = len(failed) - _MESSAGE_DETAILS
            lead = f"{fail_message}: " if fail_message else ""
            message = f"{name} failed: {lead}{details}" + (f" (+{more} more)" if more > 0 else "")
        return cls(name, not failed, message, blocking, failed, dict(stats or {}))


def plain(value: Any) -> Any:
    """Convert numpy / pandas / date values to JSON-ready Python values (missing -> None).

    DuckDB DATE columns reach pandas as midnight timestamps, so a midnight
    timestamp is shown as its date.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if pd.isna(value):
        return None
    if isinstance(value, np.datetime64):
        return plain(value.astype("datetime64[us]").item())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _short(value: Any, limit: int = 60) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _row_text(row: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={_short(v)}" for k, v in row.items())
