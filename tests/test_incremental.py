"""Incremental builds (usage history, drawdown) give exactly what a full rebuild gives."""

import shutil
from datetime import date

import duckdb
import pytest

from orchestration.pipeline import refresh
from tests.pipeline_support import HASH_KEY, small_landing, warehouse_snapshot

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


def test_incremental_refreshes_equal_full_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEX_PII_HASH_KEY", HASH_KEY)
    monkeypatch.setenv("FLEX_WAREHOUSE", str(tmp_path / "unused.duckdb"))
    landing = small_landing(tmp_path / "landing")
    warehouse, exports = tmp_path / "wh.duckdb", tmp_path / "exports"
    refresh(landing, date(2026, 1, 12), warehouse, exports, write_exports=False)

    # forward (new deliveries with late and corrected rows), then back in time
    for as_of in (date(2026, 1, 22), date(2026, 1, 16)):
        refresh(landing, as_of, warehouse, exports, write_exports=False)
        assert _build_sequences(warehouse) > {1}, "this refresh was incremental"
        full = tmp_path / f"full-{as_of}.duckdb"
        shutil.copy(warehouse, full)
        refresh(landing, as_of, full, exports, write_exports=False, full_refresh=True)
        assert _build_sequences(full) == {1}, "--full-refresh rebuilt from scratch"
        assert _built_tables(warehouse) == _built_tables(full), as_of
