"""Incremental builds (usage history, drawdown) give exactly what a full rebuild gives."""

import csv
import hashlib
import io
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.pipeline import refresh
from tests.pipeline_support import (
    HASH_KEY,
    dbt_parse_messages,
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


NEW_DAY = "2026-01-02"


def _resend_usage(folder: Path, edit) -> None:
    """Re-send the delivery in ``folder`` with its usage rows passed through ``edit``."""
    reader = csv.DictReader(io.StringIO((folder / "usage.csv").read_text(encoding="utf-8")))
    rows = edit(list(reader))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = out.getvalue().encode("utf-8")
    (folder / "usage.csv").write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["usage.csv"] = {"rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}
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
    landing = small_landing(tmp_path / "landing")
    warehouse, exports = tmp_path / "wh.duckdb", tmp_path / "exports"
    refresh(landing, date(2026, 1, 12), warehouse, exports, write_exports=False)

    # forward (new deliveries with late and corrected rows) with an old delivery re-sent that
    # moves a charge to a day no delivery has (only that re-sent delivery holds its old day);
    # the same delivery re-sent again without that charge (the day empties); back in time
    resent = landing / "2026-01-06"
    steps = [
        (date(2026, 1, 22), _move_first_charge_to_new_day, True),
        (date(2026, 1, 22), _drop_new_day, False),
        (date(2026, 1, 16), None, False),
    ]
    for as_of, edit, new_day_expected in steps:
        if edit:
            _resend_usage(resent, edit)
        result = refresh(landing, as_of, warehouse, exports, write_exports=False)
        # a new report date and a re-sent delivery keep the previous build's dbt parse
        assert any("skipping parsing" in m for m in dbt_parse_messages(result.run_ids[0]))
        assert (NEW_DAY in _daily_dates(warehouse)) is new_day_expected
        assert _build_sequences(warehouse) > {1}, "this refresh was incremental"
        # one path for every full rebuild: dbt's parse state is per warehouse path
        full = tmp_path / "full.duckdb"
        shutil.copy(warehouse, full)
        refresh(landing, as_of, full, exports, write_exports=False, full_refresh=True)
        assert _build_sequences(full) == {1}, "--full-refresh rebuilt from scratch"
        assert _built_tables(warehouse) == _built_tables(full), as_of
