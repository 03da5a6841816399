"""A refresh's progress for the CLI: Dagster run events and dbt's output become stage lines.

``RunProgress`` is attached to the in-process runs as an extra Dagster logger (it
sees every event and log message as it happens) and, unless verbose, takes the
place of ``sys.stdout`` while dbt streams its per-node lines there (dagster-dbt
echoes them): it counts them for the stage line and progress bar, and drops them
(or, verbose, passes them on).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator

import dagster as dg

from orchestration.console import Console, number, plural
from orchestration.pipeline import STAGE_NAMES

# Every step of a refresh that is not a stage of STAGE_NAMES runs checks.
CHECKS_STAGE = "checks"
# Steps whose warnings are Dagster's or dagster-dbt's notes to developers, not the operator's.
QUIET_WARNING_STEPS = {"warehouse_models"}
# Dagster's note on a step left out after a failure upstream: the failure is the news.
SKIPPED_STEP_NOTE = "Dependencies for step"

# dbt's statuses other than OK (model built) and PASS (test passed), in words.
DBT_TROUBLE = {
    "WARN": ("test warned", "tests warned"),
    "FAIL": ("test failed", "tests failed"),
    "ERROR": ("error", "errors"),
    "SKIP": ("skipped", "skipped"),
    "NO-OP": ("no-op", "no-op"),
}

_COUNTED = re.compile(r"^\[(\d+)/(\d+)\] ")
_DBT_NODE = re.compile(r"^\s*\d+ of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP|NO-OP)\b")


class RunProgress:
    """Prints one line per stage (counts and seconds) and the progress of the long ones."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.warnings: list[str] = []
        self._started: dict[str, float] = {}
        self._metadata: dict[str, dict] = {}
        self._workbooks: set[str] = set()  # paths named by the exports step's teams
        self._checks: Counter = Counter()
        self._check_seconds = 0.0
        self._dbt: Counter = Counter()
        self._dbt_total = 0

    # Dagster side ---------------------------------------------------------------------

    def logger_def(self) -> dg.LoggerDefinition:
        """A Dagster logger feeding this object (added to the jobs the CLI runs)."""
        progress = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                progress.on_record(record)

        @dg.logger(None, description="The CLI's stage lines and progress bars.")
        def flex_progress(_init_context: dg.InitLoggerContext) -> logging.Logger:
            log = logging.Logger("flex_progress", level=logging.DEBUG)
            log.addHandler(_Handler())
            return log

        return flex_progress

    def on_record(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None)
        if not meta or not meta.get("step_key"):
            return
        step, event = meta["step_key"], meta.get("dagster_event")
        stage = STAGE_NAMES.get(step, CHECKS_STAGE)
        if event is None:
            self._on_message(step, stage, record.levelno, meta.get("orig_message", ""))
        elif event.event_type == dg.DagsterEventType.STEP_START:
            self._started[step] = time.monotonic()
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            metadata = {k: v.value for k, v in materialization.metadata.items()}
            self._metadata.setdefault(stage, {}).update(metadata)
            if "workbook_path" in metadata:  # one materialization per team
                self._workbooks.add(metadata["workbook_path"])
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            self._on_check(event.event_specific_data)
        elif event.is_step_success or event.is_step_failure:
            seconds = time.monotonic() - self._started.pop(step, time.monotonic())
            failed = event.step_failure_data if event.is_step_failure else None
            if failed and failed.user_failure_data:  # what the step did before it failed
                metadata = {k: v.value for k, v in failed.user_failure_data.metadata.items()}
                self._metadata.setdefault(stage, {}).update(metadata)
            if stage == CHECKS_STAGE:
                self._check_seconds += seconds
            else:
                self.console.stage(
                    stage, ("FAILED: " if failed else "") + self._detail(stage), seconds
                )

    def _on_message(self, step: str, stage: str, level: int, text: str) -> None:
        counted = _COUNTED.match(text)
        if counted:
            self.console.progress(stage, int(counted[1]), int(counted[2]))
        elif (
            level >= logging.WARNING
            and step not in QUIET_WARNING_STEPS
            and not text.startswith(SKIPPED_STEP_NOTE)
        ):
            self.warnings.append(f"{stage}: {text}")

    def _on_check(self, evaluation: dg.AssetCheckEvaluation) -> None:
        if evaluation.passed:
            self._checks["passed"] += 1
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            self._checks["warned"] += 1
        else:
            self._checks["failed"] += 1

    def end_of_job(self) -> None:
        """The checks line, once the job's checks have all run."""
        if self._checks:
            detail = (
                f"{number(self._checks['passed'])} passed, {number(self._checks['warned'])} "
                f"warned, {number(self._checks['failed'])} failed"
            )
            self.console.stage(CHECKS_STAGE, detail, self._check_seconds)
            self._checks.clear()
            self._check_seconds = 0.0

    def _detail(self, stage: str) -> str:
        meta = self._metadata.get(stage, {})
        if stage == "ingest":
            return (
                f"{plural(meta.get('deliveries_ingested', 0), 'delivery', 'deliveries')} "
                f"ingested ({number(meta.get('deliveries_unchanged', 0))} unchanged), "
                f"{number(meta.get('rows_loaded_this_run', 0))} rows loaded, "
                f"{number(meta.get('rows_rejected_this_run', 0))} quarantined"
            )
        if stage == "user hashes":
            return plural(meta.get("users", 0), "user")
        if stage == "dbt build":
            counts = self._dbt
            parts = [
                plural(counts["OK"], "model") + " built",
                plural(counts["PASS"], "test") + " passed",
                *(
                    plural(counts[status], *words)
                    for status, words in DBT_TROUBLE.items()
                    if counts[status]
                ),
            ]
            return ", ".join(parts)
        if stage == "release":
            return f"reports as of {meta.get('as_of', '?')} released to the exports"
        if stage == "exports":
            written = self._workbooks | set(meta.get("workbook_paths", []))
            return f"{plural(len(written), 'workbook')} written"
        return ""

    # dbt side -------------------------------------------------------------------------

    def dbt_line(self, line: str) -> None:
        node = _DBT_NODE.match(line)
        if node and "hook:" not in line:
            self._dbt_total = int(node[1])
            self._dbt[node[2]] += 1
            self.console.progress("dbt build", sum(self._dbt.values()), self._dbt_total)

    @contextlib.contextmanager
    def capturing_dbt_output(self, echo: bool = False) -> Iterator[None]:
        """``sys.stdout`` counts dbt's node lines; it drops what is printed there unless
        ``echo`` (--verbose), then it passes it on."""
        target = sys.stdout if echo else None

        def on_line(line: str) -> None:
            self.dbt_line(line)
            if target is not None:
                target.write(line + "\n")

        with contextlib.redirect_stdout(_LineSink(on_line)):
            yield


class _LineSink(io.TextIOBase):
    """A text stream that hands each complete line to ``on_line``."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        super().__init__()
        self._on_line = on_line
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            self._on_line(line)
        return len(text)

    def isatty(self) -> bool:
        return False
