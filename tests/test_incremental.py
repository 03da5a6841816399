"""Incremental builds (usage history, drawdown) give exactly what a full rebuild gives."""

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from dbt_support import MODELS_AND_SEEDS, PROJECT_DIR

from orchestration.defs.assets import warehouse as warehouse_assets
from orchestration.ingest import batch, loader
from orchestration.ingest import deliveries as dlv
from orchestration.pipeline import refresh
from orchestration.privacy import refresh_user_hashes
from tests.pipeline_support import (
    HASH_KEY,
    dbt_log,
    dbt_parse_messages,
    dbt_threads,
    small_landing,
    warehouse_snapshot,
)

pytestmark = pytest.mark.slow


def _built_tables(warehouse) -> dict:
    """Every built table, without the incremental models' own bookkeeping.

    int_audited_charges and int_pack_balance_periods hold the charges (and the packs'
    stretch) the latest build computed: all of them after a full build, the replayed
    ones otherwise, so they differ by design.
    """
    tables = warehouse_snapshot(warehouse)
    tables.pop("main.stg_usage_history")
    tables.pop("main.int_audited_charges")
    tables.pop("main.int_pack_balance_periods")
    return {name: rows for name, rows in tables.items() if name.startswith("main.")}


def _build_sequences(warehouse) -> set[int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            r[0] for r in con.execute("select distinct built_seq from stg_usage_history").fetchall()
        }
    finally:
        con.close()


# the tables whose grain tests group only rows written since they last passed: the
# incremental tables, and the view of the drawdown's draws (its entries' built_at)
NARROWED_GRAINS = (
    "stg_usage_history",
    "fct_usage",
    "fct_daily_usage",
    "int_drawdown_entries",
    "int_usage_allocation",
)


def _grain_passes(warehouse) -> set:
    """The distinct times the narrowed grain tests last passed; each asserted no earlier
    than any row of their tables was written."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        passes = dict(con.execute("select test_key, passed_at from checks.test_passes").fetchall())
        assert {key.split(":")[0] for key in passes} == set(NARROWED_GRAINS)
        for table in NARROWED_GRAINS:
            (written,) = con.execute(f"select max(built_at) from {table}").fetchone()
            assert written <= min(passes.values()), table
        return set(passes.values())
    finally:
        con.close()


NEW_DAY = "2026-01-02"


def _resend(folder: Path, edit, name: str = "usage.csv") -> None:
    """Re-send the delivery in ``folder`` with the rows of one file passed through ``edit``."""
    reader = csv.DictReader(io.StringIO((folder / name).read_text(encoding="utf-8")))
    rows = edit(list(reader))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = out.getvalue().encode("utf-8")
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def _move_first_charge_to_new_day(rows: list[dict]) -> list[dict]:
    return [{**rows[0], "usage_date": NEW_DAY, "charge_ts": f"{NEW_DAY}T10:00:00Z"}, *rows[1:]]


def _drop_new_day(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["usage_date"] != NEW_DAY]


def _daily_dates(warehouse: Path) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            str(r[0])
            for r in con.execute("select distinct usage_date from fct_daily_usage").fetchall()
        }
    finally:
        con.close()


def test_incremental_refreshes_equal_full_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEX_PII_HASH_KEY", HASH_KEY)
    monkeypatch.setenv("FLEX_WAREHOUSE", str(tmp_path / "unused.duckdb"))
    # every build from scratch counts as large: it runs on one dbt thread, the others on two,
    # and the tables below stay equal either way
    monkeypatch.setattr(warehouse_assets, "ONE_THREAD_FROM_USAGE_ROWS", 1)
    landing = small_landing(tmp_path / "landing")
    warehouse, exports = tmp_path / "wh.duckdb", tmp_path / "exports"
    first = refresh(landing, date(2026, 1, 12), warehouse, exports, write_exports=False)
    assert dbt_threads(first.run_ids[0]) == {"1"}
    (last_pass,) = _grain_passes(warehouse)
    # the build's dbt.log is kept at info by default; DBT_LOG_LEVEL_FILE=debug (set for the
    # builds below) gives every statement, and the parse messages the steps check
    assert {event["level"] for event in dbt_log(first.run_ids[0])} == {"info"}
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")

    # forward (new deliveries with late and corrected rows) with an old delivery re-sent that
    # moves a charge to a day no delivery has (only that re-sent delivery holds its old day);
    # the same delivery re-sent again without that charge (the day empties); back in time
    resent = landing / "2026-01-06"
    steps = [
        (date(2026, 1, 22), _move_first_charge_to_new_day, True),
        (date(2026, 1, 22), _drop_new_day, False),
        (date(2026, 1, 16), None, False),
    ]
    for step, (as_of, edit, new_day_expected) in enumerate(steps, start=1):
        if edit:
            _resend(resent, edit)
        result = refresh(landing, as_of, warehouse, exports, write_exports=False)
        # a new report date and a re-sent delivery keep the previous build's dbt parse
        assert any("skipping parsing" in m for m in dbt_parse_messages(result.run_ids[0]))
        assert dbt_threads(result.run_ids[0]) == {"2"}
        assert (NEW_DAY in _daily_dates(warehouse)) is new_day_expected
        assert _build_sequences(warehouse) > {1}, "this refresh was incremental"
        # every build's grain tests passed, and each recorded it
        (passed,) = _grain_passes(warehouse)
        assert passed > last_pass
        last_pass = passed
        # one path for every full rebuild: dbt's parse state is per warehouse path. The
        # last one goes through the pipeline's full_refresh; the others are plain dbt runs
        # (the copy already holds this refresh's raw tables and user hashes).
        full = tmp_path / "full.duckdb"
        shutil.copy(warehouse, full)
        if step == len(steps):
            rebuilt = refresh(landing, as_of, full, exports, write_exports=False, full_refresh=True)
            assert dbt_threads(rebuilt.run_ids[0]) == {"1"}
        else:
            _dbt_run(full, as_of, "--full-refresh")
        assert _build_sequences(full) == {1}, "--full-refresh rebuilt from scratch"
        assert _built_tables(warehouse) == _built_tables(full), as_of


def _dbt_run(warehouse: Path, as_of: date, *args: str) -> None:
    """dbt builds the models (and the seed) without their tests, `dbt build <args>`, on
    ``warehouse`` in a process of its own, which closes the file."""
    env = {
        **os.environ,
        "FLEX_WAREHOUSE": str(warehouse),
        "FLEX_DBT_TARGET": "duckdb",
        "FLEX_AS_OF_DATE": as_of.isoformat(),
    }
    target = warehouse.parent / f"{warehouse.stem}_dbt_target"
    command = [str(Path(sys.executable).with_name("dbt")), "build", *MODELS_AND_SEEDS]
    command += ["--target-path", str(target)]
    subprocess.run([*command, *args], cwd=PROJECT_DIR, env=env, check=True, capture_output=True)


def _load_and_build(landing: Path, as_of: date, warehouse: Path, *args: str) -> None:
    """What a refresh does up to its models, without Dagster and without the tests: ingest
    the pending deliveries dated on or before ``as_of``, hash the users, then `_dbt_run`.
    (The test above holds these builds equal to the pipeline's full rebuilds.)"""
    con = duckdb.connect(str(warehouse))
    try:
        loader.ensure_raw_schema(con)
        todo = loader.pending(con, dlv.discover(landing, as_of))
        for delivery, outcome in batch.ingest_pending(con, todo):
            assert not isinstance(outcome, dlv.InvalidDeliveryError), (delivery, outcome)
        refresh_user_hashes(con, HASH_KEY)
    finally:
        con.close()
    _dbt_run(warehouse, as_of, *args)


def test_every_charge_is_compared_after_the_usage_history_is_rebuilt(tmp_path):
    """The drawdown and fct_usage compare every charge, and drop those gone, when the usage
    history they read was rebuilt from scratch since their own build (its build sequence went
    back): here the history alone is rebuilt as of an earlier D, then the rest incrementally.
    """
    landing, warehouse = small_landing(tmp_path / "landing"), tmp_path / "wh.duckdb"
    _load_and_build(landing, date(2026, 1, 12), warehouse)
    _load_and_build(landing, date(2026, 1, 22), warehouse)
    assert _build_sequences(warehouse) == {1, 2}

    as_of = date(2026, 1, 16)  # charges of 01-17 to 01-22 must leave every table
    _dbt_run(warehouse, as_of, "--full-refresh", "--select", "stg_usage_history")
    _dbt_run(warehouse, as_of, "--exclude", "stg_usage_history")
    assert _build_sequences(warehouse) == {1}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        drawdown_builds = con.execute("select max(built_seq) from int_drawdown_entries")
        assert drawdown_builds.fetchone() == (3,), "the drawdown was built incrementally"
    finally:
        con.close()

    full = tmp_path / "full.duckdb"
    shutil.copy(warehouse, full)
    _dbt_run(full, as_of, "--full-refresh")
    assert _build_sequences(full) == {1}
    assert _built_tables(warehouse) == _built_tables(full)


# --------------------------------------------------------------------------- month ranges


# the models that keep their month-range rows, with the condition on their rows of the
# month ranges (int_team_month_usage: the complete months)
MONTH_RANGE_ROWS = {
    "int_user_weekly_days": "range_order > 1",
    "int_user_range_days": "range_order > 1",
    "int_range_usage": "range_order > 1",
    "int_team_month_usage": "month <= month_ranges_end",
}
# those models and everything they read
RANGE_MODELS = tuple(f"+{table}" for table in MONTH_RANGE_ROWS)


def _range_days(warehouse: Path) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """The models of MONTH_RANGE_ROWS, each with the same figures computed here from their
    inputs: (table rows, expected rows) by table.

    Per reported team, range and user: the distinct usage dates per product and
    Monday-starting week, and over all products; per product and version, the tokens and the
    daily rows. Per reported team and month from the first of 'Past 12 months' to D: the
    tokens, distinct products and distinct users. The inputs (daily usage, reported teams,
    ranges) are those of the same warehouse, whose incremental builds the test above checks.
    """
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {
            name: con.execute(f"select {columns} from {name}").fetchall()
            for name, columns in (
                ("int_user_weekly_days", "team_id, range_order, autodesk_id, "
                 "product_line_code, week_starting, days_used"),
                ("int_user_range_days", "team_id, range_order, autodesk_id, days_used"),
                ("int_range_usage", "team_id, range_order, autodesk_id, product_line_code, "
                 "version, tokens, days_used"),
                ("int_team_month_usage", "team_id, month, tokens_used, products_used, "
                 "total_users"),
            )
        }  # fmt: skip
        ranges = con.execute("select range_order, start_date, end_date from int_time_ranges")
        ranges = ranges.fetchall()
        teams = {t for (t,) in con.execute("select team_id from int_report_teams").fetchall()}
        daily = con.execute(
            "select team_id, autodesk_id, product_line_code, version, usage_date, tokens "
            "from fct_daily_usage"
        ).fetchall()
    finally:
        con.close()
    weekly: dict[tuple, set] = {}
    user_dates: dict[tuple, set] = {}
    usage: dict[tuple, list[int]] = {}
    months: dict[tuple, list] = {}
    first_month = min(start for _, start, _ in ranges)
    as_of = max(end for _, _, end in ranges)
    for team, user, product, version, day, tokens in daily:
        if team in teams and first_month <= day <= as_of:
            month = months.setdefault((team, day.replace(day=1)), [0, set(), set()])
            month[0] += tokens
            month[1].add(product)
            month[2].add(user)
        for order, start, end in ranges:
            if team in teams and start <= day <= end:
                week = day - timedelta(days=day.weekday())
                weekly.setdefault((team, order, user, product, week), set()).add(day)
                user_dates.setdefault((team, order, user), set()).add(day)
                used = usage.setdefault((team, order, user, product, version), [0, 0])
                used[0] += tokens
                used[1] += 1
    expected = {
        "int_user_weekly_days": [(*key, len(days)) for key, days in weekly.items()],
        "int_user_range_days": [(*key, len(days)) for key, days in user_dates.items()],
        "int_range_usage": [(*key, *figures) for key, figures in usage.items()],
        "int_team_month_usage": [
            (*key, tokens, len(products), len(users))
            for key, (tokens, products, users) in months.items()
        ],
    }
    return {name: (sorted(rows), sorted(expected[name])) for name, rows in tables.items()}


def _month_row_builds(warehouse: Path) -> tuple[set[int], int]:
    """(usage-history builds the month-range rows of the tables were computed at, the
    newest build)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        months = con.execute(
            " union ".join(
                f"select built_usage_seq from {table} where {rows}"
                for table, rows in MONTH_RANGE_ROWS.items()
            )
        ).fetchall()
        [(newest,)] = con.execute("select max(built_seq) from stg_usage_history").fetchall()
        return {seq for (seq,) in months}, newest
    finally:
        con.close()


def _merge_first_team(rows: list[dict]) -> list[dict]:
    merged = {**rows[0], "status": "merged", "merged_into_team_id": rows[1]["team_id"]}
    return [merged, *rows[1:]]


def _move_december_charge(rows: list[dict]) -> list[dict]:
    return [{**rows[0], "usage_date": "2025-12-10", "charge_ts": "2025-12-10T10:00:00Z"}, *rows[1:]]


def test_month_ranges_are_kept_only_while_they_hold(tmp_path):
    """The models of MONTH_RANGE_ROWS keep their month-range rows between builds while their
    last day, and every charge on or before it, stay the same; they redo them otherwise."""
    landing = small_landing(tmp_path / "landing", start=date(2025, 12, 8), end=date(2026, 1, 31))
    warehouse = tmp_path / "wh.duckdb"
    newest, december = landing / "2026-01-19", landing / "2025-12-15"
    teams_sent = (newest / "teams.csv").read_bytes()

    def build(as_of: date) -> tuple[set[int], int]:
        _load_and_build(landing, as_of, warehouse, "--select", *RANGE_MODELS)
        for name, (table, expected) in _range_days(warehouse).items():
            assert table == expected, (name, as_of)
        return _month_row_builds(warehouse)

    months, first = build(date(2026, 1, 12))
    assert months == {first}
    # new January deliveries, the newest merging a team: the other teams' December figures
    # are kept and their 'Past 30 days' redone; the merged team's rows go
    _resend(newest, _merge_first_team, "teams.csv")
    assert build(date(2026, 1, 19)) == ({first}, first + 1)
    # the team active again (re-sent snapshot): only its month ranges are computed
    (newest / "teams.csv").write_bytes(teams_sent)
    _resend(newest, lambda rows: rows, "teams.csv")
    months, now = build(date(2026, 1, 19))
    assert months == {first, now}, "only the team reported again was computed"
    # a December charge moved to another December day: every month range is redone
    _resend(december, _move_december_charge)
    months, now = build(date(2026, 1, 19))
    assert months == {now}
    # the month ends: the month ranges move
    months, now = build(date(2026, 1, 31))
    assert months == {now}
