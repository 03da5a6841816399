"""`flex-usage status`, `quarantine`, `--help`, the console's progress output, and the
refresh lock taken before Dagster loads (all without running the pipeline)."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import date

import duckdb
import pytest
from landing_builder import base_files, write_delivery

from orchestration import warehouse as wh
from orchestration.cli import HANDLERS, USAGE_DAYS_DEFAULT, USAGE_DAYS_MAX, _parser, main
from orchestration.console import Console
from orchestration.exports import on_demand
from orchestration.ingest import loader
from orchestration.ingest.deliveries import discover
from orchestration.locks import refresh_lock, writer_lock
from orchestration.settings import (
    ENV_DBT_TARGET,
    ENV_EXPORTS,
    ENV_LANDING,
    ENV_PII_KEY,
    ENV_REJECT_THRESHOLD,
    ENV_WAREHOUSE,
)
from tests.pipeline_support import CLI, HASH_KEY
from tools.generate.__main__ import main as generate_main

DAY = "2026-03-02"
BAD_USAGE = [
    # line 5: tokens not a whole number
    {
        "usage_id": "BAD-TOKENS",
        "team_id": "acme-design",
        "autodesk_id": "U1",
        "product_line_code": "ACD",
        "version": "2026",
        "usage_date": "2026-03-02",
        "charge_ts": "2026-03-02T08:00:00Z",
        "tokens": "seven",
    },
    # line 6: a team no snapshot knows
    {
        "usage_id": "BAD-TEAM",
        "team_id": "nobody-team",
        "autodesk_id": "U1",
        "product_line_code": "ACD",
        "version": "2026",
        "usage_date": "2026-03-02",
        "charge_ts": "2026-03-02T09:00:00Z",
        "tokens": "7",
    },
]


@pytest.fixture
def ingested(tmp_path):
    """A warehouse holding one hand-made delivery with two bad usage rows (lines 5, 6)."""
    files = base_files()
    files["usage.csv"] = files["usage.csv"] + BAD_USAGE
    landing = tmp_path / "landing"
    write_delivery(landing, DAY, files)
    (landing / "2026-03-03").mkdir()  # still being written: no manifest
    warehouse = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        loader.ensure_raw_schema(con)
        (delivery,) = discover(landing)
        loader.ingest(con, delivery)
    finally:
        con.close()
    return landing, warehouse


def test_quarantine_lists_the_bad_rows_with_line_reason_and_raw_values(ingested, capsys):
    _, warehouse = ingested
    assert main(["quarantine", "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2 quarantined rows"
    entries = {line.split(": ", 1)[0]: line for line in out[1:] if not line.startswith(" ")}
    assert set(entries) == {f"{DAY} usage.csv:5", f"{DAY} usage.csv:6"}
    assert (
        "usage.tokens" in entries[f"{DAY} usage.csv:5"]
        and "'seven'" in entries[f"{DAY} usage.csv:5"]
    )
    assert "usage.team_id" in entries[f"{DAY} usage.csv:6"]
    assert "'nobody-team'" in entries[f"{DAY} usage.csv:6"]
    raw_lines = [line for line in out if line.startswith("    raw: ")]
    assert any("BAD-TOKENS" in line for line in raw_lines)
    assert any("BAD-TEAM" in line for line in raw_lines)

    assert main(["quarantine", "--warehouse", str(warehouse), "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2 quarantined rows; showing 1, newest delivery first (--limit)"
    assert out[1].startswith(f"{DAY} usage.csv:5: ")
    args = ["--warehouse", str(warehouse), "--delivery", "2026-03-01"]
    assert main(["quarantine", *args]) == 0
    assert capsys.readouterr().out.splitlines() == ["0 quarantined rows (delivery 2026-03-01)"]
    assert main(["quarantine", "--warehouse", str(warehouse), "--file", "users.csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["0 quarantined rows (users.csv)"]


def test_quarantine_while_a_refresh_writes_waits_bounded_then_says_so(ingested, capsys):
    _, warehouse = ingested
    with writer_lock(warehouse):
        assert main(["quarantine", "--warehouse", str(warehouse), "--wait", "0.5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "being written by a refresh" in err


def test_status_names_newest_delivery_release_and_quarantine(ingested, capsys):
    landing, warehouse = ingested
    args = ["status", "--landing", str(landing), "--warehouse", str(warehouse)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"1 complete delivery, newest {DAY}; 1 folder without a manifest yet" in out
    assert "refresh:    none running" in out
    assert "release:    none: exports are refused" in out
    assert f"1 delivery loaded, newest {DAY}; 2 rows in quarantine" in out

    wh.release(warehouse, date.fromisoformat(DAY), "run-1")
    with refresh_lock(warehouse), writer_lock(warehouse):  # a refresh in its dbt build
        assert main([*args, "--wait", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "refresh:    running now" in out
    assert f"release:    reports as of {DAY}" in out
    assert "being written by a refresh" in out


def test_status_shows_the_warnings_and_failures_of_the_last_refresh(ingested, capsys):
    from orchestration.inspection import RefreshRecord, record_path, record_refresh

    landing, warehouse = ingested
    record = RefreshRecord(
        "FAILED",
        DAY,
        "2026-03-03T02:10:00+00:00",
        12.5,
        "refresh as of … FAILED",
        warnings=["check delivery_freshness on raw/deliveries warned: 40 hours"],
        failures=["exports: team acme-design: /x/exports: read-only file system"],
    )
    record_refresh(warehouse, record)
    assert json.loads(record_path(warehouse).read_text())["outcome"] == "FAILED"
    assert main(["status", "--landing", str(landing), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "warnings of the last refresh (1):\n  - check delivery_freshness" in out
    assert "failures of the last refresh (1):\n  - exports: team acme-design: /x/exports" in out


def test_help_documents_every_option_with_default_and_environment(capsys):
    parser = _parser()
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    for command in HANDLERS:
        assert f"flex-usage {command}" in top, command
    for variable in (
        ENV_LANDING,
        ENV_WAREHOUSE,
        ENV_EXPORTS,
        ENV_PII_KEY,
        ENV_REJECT_THRESHOLD,
        ENV_DBT_TARGET,
    ):
        assert variable in top
    subparsers = next(a for a in parser._actions if a.choices and "refresh" in a.choices)
    for command, sub in subparsers.choices.items():
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "example:" in text and f"flex-usage {command}" in text.split("example:")[1]
        for action in sub._actions:
            if action.dest == "help":
                continue
            assert action.help, (command, action.dest)
            flag = action.option_strings[0]
            assert flag in text
            if action.required:
                assert "required" in action.help, (command, flag)
            elif not isinstance(action.default, bool):  # a switch is off unless given
                assert "default:" in action.help, (command, flag)
        for flag, variable in (
            ("--landing", ENV_LANDING),
            ("--warehouse", ENV_WAREHOUSE),
            ("--exports", ENV_EXPORTS),
        ):
            if flag in text:
                assert f"env {variable}" in " ".join(text.split()), (command, flag)
    # the limits the help states are the ones the export enforces
    assert (USAGE_DAYS_DEFAULT, USAGE_DAYS_MAX) == (
        on_demand.DEFAULT_USAGE_DAYS,
        on_demand.MAX_USAGE_DAYS,
    )
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert f"at most {USAGE_DAYS_MAX} days" in " ".join(capsys.readouterr().out.split())


def test_second_refresh_is_refused_before_dagster_loads(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    args = ["refresh", "--landing", str(tmp_path), "--warehouse", str(warehouse)]
    with refresh_lock(warehouse):
        done = subprocess.run(
            [CLI[0], "-X", "importtime", *CLI[1:], *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", ENV_PII_KEY: HASH_KEY},
        )
    imported = [line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line]
    message = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert done.returncode == 1
    assert message[0].startswith("error: another refresh of") and "is running" in message[0]
    assert "orchestration" in imported  # -X importtime listed the imports
    assert not [name for name in imported if name.split(".")[0] == "dagster"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_periodic_lines_elsewhere():
    clock = iter([0.0, 1.0, 2.5, 3.0, 5.5, 6.0])
    plain = io.StringIO()
    console = Console(plain, interval=2.0, clock=lambda: next(clock))
    for done in range(1, 7):  # at t = 0, 1, 2.5, 3, 5.5, 6
        console.progress("ingest", done * 1000, 6000)
    assert plain.getvalue().splitlines() == [
        "ingest       3,000 of 6,000 …",  # first line 2 s after the start (t = 2.5)
        "ingest       5,000 of 6,000 …",  # then every 2 s (t = 5.5)
    ]
    terminal = _Terminal()
    bar = Console(terminal)
    bar.progress("dbt build", 15, 30)
    bar.stage("dbt build", "30 models built", 1234.56)
    assert terminal.getvalue() == (
        f"\rdbt build    [{'#' * 15}{'.' * 15}] 15/30"
        "\r\033[K"
        "dbt build    30 models built (1,234.6 s)\n"
    )
    quiet = io.StringIO()
    Console(quiet, bars=False).progress("ingest", 1, 2)
    assert quiet.getvalue() == ""


def test_a_file_system_error_is_one_plain_line_naming_the_path(tmp_path, capsys):
    blocked = tmp_path / "landing"
    blocked.write_text("a file where the landing folder should be")
    args = ["--start", "2026-01-05", "--end", "2026-01-06", "--teams", "1"]
    assert generate_main(["--landing", str(blocked / "deeper"), *args]) == 1
    assert capsys.readouterr().err == (
        f"error: {blocked}: a file is in the way where a folder should be\n"
    )


def test_dbt_node_lines_are_counted_and_dropped_or_passed_on_with_verbose(capsys):
    from orchestration.progress import RunProgress

    dbt_lines = [
        "Running with dbt=1.11",
        "1 of 4 START sql table model main.a ... [RUN]",
        "1 of 4 OK created sql table model main.a ... [OK in 0.1s]",
        "1 of 1 OK hook: flex_usage.on-run-start.0 ... [OK in 0.0s]",
        "2 of 4 PASS not_null_a_id ... [PASS in 0.1s]",
        "3 of 4 FAIL 2 unique_a_id ... [FAIL 2 in 0.1s]",
        "4 of 4 SKIP relationships_b ... [SKIP]",
    ]
    quiet = RunProgress(Console(io.StringIO(), bars=False))
    with quiet.capturing_dbt_output():
        print("\n".join(dbt_lines))
    assert capsys.readouterr().out == ""
    assert quiet._detail("dbt build") == "1 model built, 1 test passed, 1 test failed, 1 skipped"
    verbose = RunProgress(Console(io.StringIO(), bars=False))
    with verbose.capturing_dbt_output(echo=True):
        print("\n".join(dbt_lines))
    assert capsys.readouterr().out == "\n".join(dbt_lines) + "\n"
    assert verbose._detail("dbt build") == quiet._detail("dbt build")
