"""What the CLI prints: stage lines, progress bars or periodic lines, numbers.

A progress bar is redrawn in place when the output is a terminal; otherwise (a log
file, a pipe, cron) a plain line is written at most every ``interval`` seconds, so a
short stage prints nothing but its stage line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 30
NAME_WIDTH = 13


def number(value: int) -> str:
    """``1,234,567``: thousands separators."""
    return f"{value:,}"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 delivery``, ``2 deliveries``, with thousands separators."""
    return f"{number(count)} {word if count == 1 else (words or word + 's')}"


class Console:
    """Writes stage lines and progress to ``stream`` (the real stdout of the CLI)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        bars: bool = True,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.tty = bars and stream.isatty()
        self.bars = bars
        self.interval = interval
        self._bar_open = False
        self._started: dict[str, float] = {}
        self._printed: dict[str, float] = {}

    def line(self, text: str) -> None:
        """A full line (a progress bar being drawn is cleared first)."""
        if self._bar_open:
            self.stream.write("\r\033[K")
            self._bar_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def stage(self, name: str, detail: str, seconds: float) -> None:
        """``ingest      21 deliveries, … (4.2 s)``."""
        self._started.pop(name, None)
        self._printed.pop(name, None)
        self.line(f"{name:<{NAME_WIDTH}}{detail} ({seconds:,.1f} s)")

    def progress(self, name: str, done: int, total: int) -> None:
        """``done`` of ``total`` items of stage ``name``."""
        if not self.bars or total <= 0:
            return
        now = self.clock()
        started = self._started.setdefault(name, now)
        if self.tty:
            filled = BAR_WIDTH * min(done, total) // total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r{name:<{NAME_WIDTH}}[{bar}] {number(done)}/{number(total)}")
            self.stream.flush()
            self._bar_open = True
        elif now - self._printed.get(name, started) >= self.interval:
            self._printed[name] = now
            self.line(f"{name:<{NAME_WIDTH}}{number(done)} of {number(total)} …")
