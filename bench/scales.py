"""Benchmark scales: how many teams and which delivery dates the generator writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

END = date(2026, 11, 27)
THIRTEEN_MONTHS_START = date(2025, 10, 27)


@dataclass(frozen=True)
class Scale:
    """One benchmark size: ``teams`` teams, one delivery per day from ``start`` to ``end``."""

    name: str
    teams: int
    start: date
    end: date = END

    @property
    def full_as_of(self) -> date:
        """As-of date of the full refresh: the day before the last delivery."""
        return self.end - timedelta(days=1)


SCALES = {
    "tiny": Scale("tiny", 3, END - timedelta(days=20)),
    "small": Scale("small", 20, THIRTEEN_MONTHS_START),
    "medium": Scale("medium", 200, THIRTEEN_MONTHS_START),
    "large": Scale("large", 2000, THIRTEEN_MONTHS_START),
}
