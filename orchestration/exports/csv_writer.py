"""csv writer for on-demand exports: UTF-8, header row, formula-safe text."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TextIO

from .safety import csv_text
from .sheets import Report


def write_csv(handle: TextIO, report: Report, batches: Iterable[Sequence[tuple]]) -> None:
    """Write the report's header and rows to ``handle`` (opened with ``newline=''``)."""
    writer = csv.writer(handle)
    writer.writerow(report.headers)
    for batch in batches:
        writer.writerows([_csv_value(value) for value in row] for row in batch)


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
