"""The five report time ranges, written independently of the dbt model (for floors and peer)."""

from __future__ import annotations

from datetime import date, timedelta


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def time_ranges(as_of: date) -> list[tuple[str, date, date, int]]:
    """(label, first day, last day, months): Past 30 days, then 3/6/9/12 full months."""
    completed = (as_of.year, as_of.month)
    if (as_of + timedelta(days=1)).day != 1:  # month of D not complete: L is the month before
        completed = (as_of.year - (as_of.month == 1), (as_of.month - 2) % 12 + 1)
    last = _month_end(*completed)
    ranges = [("Past 30 days", as_of - timedelta(days=29), as_of, 1)]
    for months in (3, 6, 9, 12):
        index = completed[0] * 12 + completed[1] - 1 - (months - 1)
        ranges.append((f"Past {months} months", date(index // 12, index % 12 + 1, 1), last, months))
    return ranges
