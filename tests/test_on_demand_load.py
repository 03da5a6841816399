"""Load test of the on-demand path: 50 exports requested at once while a refresh runs.

The refresh (a separate process) loads a re-delivery that changes the numbers. Every
export either succeeds with a file equal to the exports of the checked reports from
before or after that refresh, or is refused with the documented message; nothing partial
is left behind, nothing deadlocks, and every request ends within a bounded wait.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path

import pytest
from landing_builder import base_files, write_delivery
from openpyxl import load_workbook

from orchestration.cli import main
from orchestration.exports import on_demand
from orchestration.exports.errors import ExportError
from orchestration.exports.on_demand import export_on_demand
from orchestration.exports.reader import DuckDBReportSource
from orchestration.warehouse import (
    UncheckedReportsError,
    release_path,
    released_as_of,
    withdraw_release,
)
from tests.pipeline_support import CLI, HASH_KEY, refresh_args, stray_files

pytestmark = pytest.mark.slow

DAY = "2026-03-02"
TEAMS = ("acme-design", "northwind_01")
TYPES = ["subscriptions", "users", "usage"]
REQUESTS = 50
AFTER = 5  # the last requests wait for the refresh to end
REFUSED = "no checked reports in "


def _content(paths: list[Path]) -> dict[str, list[list]]:
    """Every cell of an export (csv files or one workbook), by file stem or sheet."""
    content = {}
    for path in paths:
        if path.suffix == ".csv":
            with open(path, encoding="utf-8", newline="") as handle:
                content[path.stem] = list(csv.reader(handle))
        else:
            book = load_workbook(path, read_only=True)
            for sheet in book.worksheets:
                content[sheet.title] = [list(row) for row in sheet.iter_rows(values_only=True)]
            book.close()
    return content


def _export(warehouse: Path, exports: Path, team: str, fmt: str) -> tuple[str, object]:
    """One request as the CLI makes it: ("ok", content) or ("refused", message)."""
    try:
        as_of = released_as_of(warehouse)
        paths = export_on_demand(
            warehouse, team, TYPES, fmt, None, None, as_of, exports, now=datetime.now(UTC),
            confirm=lambda: released_as_of(warehouse, as_of),
        )  # fmt: skip
    except (UncheckedReportsError, ExportError) as err:
        return "refused", str(err)
    return "ok", _content(paths)


def _baselines(warehouse: Path, exports: Path) -> dict[tuple[str, str], object]:
    out = {}
    for team in TEAMS:
        for fmt in ("csv", "xlsx"):
            status, content = _export(warehouse, exports, team, fmt)
            assert status == "ok", content
            out[(team, fmt)] = content
    return out


def test_fifty_exports_during_a_refresh_succeed_or_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEX_PII_HASH_KEY", HASH_KEY)
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    exports, baseline_dir = tmp_path / "exports", tmp_path / "baseline"
    write_delivery(landing, DAY, base_files())
    env = {**os.environ, "FLEX_WAREHOUSE": str(warehouse)}
    clock = time.monotonic()
    first = subprocess.run(
        [*CLI, *refresh_args(landing, warehouse, exports, DAY)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    # the requests span about 1.25 times a refresh: before, during and after the next one
    # (the refresh may run slower than the first: the last AFTER requests wait for its end)
    spread = (time.monotonic() - clock) / (0.8 * REQUESTS)
    before = _baselines(warehouse, baseline_dir / "before")
    _refused_when_withdrawn_after_the_check(warehouse, tmp_path / "race", monkeypatch)

    changed = base_files()
    changed["usage.csv"][1]["tokens"] = "9"  # northwind_01's Revit charge: 10 -> 9
    write_delivery(landing, DAY, changed)  # a re-delivery: the refresh replaces the rows
    refresh = subprocess.Popen(
        [*CLI, *refresh_args(landing, warehouse, exports, DAY)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip

    def request(i: int) -> tuple[str, str, str, object]:
        time.sleep(i * spread)
        if i >= REQUESTS - AFTER:  # however long this refresh takes, some requests follow it
            finished.result(timeout=240)
        team, fmt = TEAMS[i % 2], ("csv", "xlsx")[i // 2 % 2]
        status, outcome = _export(warehouse, exports, team, fmt)
        return team, fmt, status, outcome

    with ThreadPoolExecutor(max_workers=REQUESTS + 1) as pool:
        finished = pool.submit(refresh.communicate, timeout=240)  # (stdout, stderr)
        futures = [pool.submit(request, i) for i in range(REQUESTS)]
        try:
            _, pending = wait([finished, *futures], timeout=300)
        finally:
            if refresh.poll() is None:
                os.killpg(refresh.pid, 9)
    assert not pending, f"{len(pending)} exports still waiting: deadlock or unbounded wait"
    assert refresh.returncode == 0, finished.result()[1][-2000:]
    after = _baselines(warehouse, baseline_dir / "after")
    assert before != after  # the refresh changed what the exports show

    results = [f.result() for f in futures]
    outcomes = {"ok-before": 0, "ok-after": 0, "refused": 0}
    for team, fmt, status, outcome in results:
        if status == "refused":
            assert outcome.startswith(REFUSED) and "a refresh is running" in outcome, outcome
            outcomes["refused"] += 1
        elif outcome == before[(team, fmt)]:
            outcomes["ok-before"] += 1
        else:
            assert outcome == after[(team, fmt)], (team, fmt, "export matches no checked reports")
            outcomes["ok-after"] += 1
    assert sum(outcomes.values()) == REQUESTS
    assert outcomes["ok-after"] > 0, outcomes  # requests kept coming after the re-release
    assert stray_files(exports) == []
    published = [p for p in exports.glob("*/on-demand/*") if p.is_dir()]
    assert len(published) == outcomes["ok-before"] + outcomes["ok-after"]
    for folder in published:
        names = sorted(p.name for p in folder.iterdir())
        assert names == ["subscriptions.csv", "usage.csv", "users.csv"] or (
            len(names) == 1 and names[0].endswith(".xlsx")
        ), names


def _refused_when_withdrawn_after_the_check(warehouse: Path, exports: Path, monkeypatch) -> None:
    """A refresh that withdraws the release between the CLI's check and its reader lock
    (the export then waits for the refresh's writer): the export is refused, not written
    from the rebuilt, unchecked reports."""
    marker = release_path(warehouse)
    released = marker.read_bytes()

    class WithdrawnMeanwhile(DuckDBReportSource):
        def __init__(self, path: Path) -> None:
            withdraw_release(warehouse)
            super().__init__(path)

    monkeypatch.setattr(on_demand, "DuckDBReportSource", WithdrawnMeanwhile)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        args = ["export", "--team", TEAMS[0], "--types", "usage", "--format", "csv"]
        status = main([*args, "--warehouse", str(warehouse), "--exports", str(exports)])
    assert status == 1 and REFUSED in err.getvalue(), err.getvalue()
    assert not exports.exists() or not any(exports.rglob("*.csv"))
    monkeypatch.undo()
    marker.write_bytes(released)


@pytest.fixture(autouse=True)
def _no_dagster_home(monkeypatch):
    """The refresh runs on a throw-away Dagster instance, as in CI."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
