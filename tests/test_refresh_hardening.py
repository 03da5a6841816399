"""Refresh hardening: out-of-bound tokens never reach the build, future-dated deliveries."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from landing_builder import base_files, write_delivery

from orchestration.ingest.deliveries import default_as_of, discover, future_dated
from orchestration.pipeline import NothingToRefresh, refresh
from tests.pipeline_support import HASH_KEY

INT64_MAX = "9223372036854775807"


def test_default_as_of_never_moves_past_today(tmp_path):
    for day in ("2026-03-01", "2026-03-02", "2099-01-01"):
        write_delivery(tmp_path, day, base_files())
    found = discover(tmp_path)
    assert default_as_of(found, date(2026, 3, 5)) == date(2026, 3, 2)
    assert default_as_of(found, date(2026, 3, 1)) == date(2026, 3, 1)
    assert default_as_of(found, date(2026, 2, 28)) is None
    assert default_as_of(found, date(2099, 1, 1)) == date(2099, 1, 1)
    assert future_dated(found, date(2026, 3, 5)) == [
        "delivery 2099-01-01: dated after today (2026-03-05 UTC); the default report date "
        "ignores it (give --as-of to report on it)"
    ]
    assert future_dated(found, date(2099, 1, 1)) == []


def test_only_future_deliveries_leave_nothing_to_refresh_by_default(tmp_path):
    write_delivery(tmp_path, "2099-01-01", base_files())
    with pytest.raises(NothingToRefresh, match="dated on or before 2026-03-05") as news:
        refresh(tmp_path, warehouse=tmp_path / "wh.duckdb", today=date(2026, 3, 5))
    assert "warning: delivery 2099-01-01: dated after today" in str(news.value)


@pytest.mark.slow  # a whole refresh (dbt build, checks, exports)
def test_refresh_quarantines_an_int64_token_and_ignores_a_future_delivery(tmp_path, monkeypatch):
    """The row that used to overflow the build is a bad row; the build and checks pass
    with token values at the contract's bounds; the 2099 folder is only warned about."""
    monkeypatch.setenv("FLEX_PII_HASH_KEY", HASH_KEY)
    monkeypatch.setenv("FLEX_REJECT_THRESHOLD", "1")  # let the one bad row through the gate
    landing = tmp_path / "landing"
    files = base_files()
    files["usage.csv"][0]["tokens"] = INT64_MAX
    files["usage.csv"][1]["tokens"] = "1000000"
    files["token_packs.csv"][1]["tokens_purchased"] = "1000000000"
    files["token_events.csv"][0]["tokens"] = "1000000000"
    write_delivery(landing, "2026-03-02", files)
    write_delivery(landing, "2099-01-01", base_files())
    warehouse = tmp_path / "wh.duckdb"
    result = refresh(
        landing, warehouse=warehouse, exports_dir=tmp_path / "exports",
        write_exports=False, today=date(2026, 3, 5),
    )  # fmt: skip
    assert result.as_of == date(2026, 3, 2)
    assert result.deliveries_ingested == ["2026-03-02"]
    assert result.rows_rejected == 1 and result.checks_failed == 0
    # the future delivery is warned about (warning checks are listed beside it)
    assert [w for w in result.warnings if not w.startswith("check ")] == future_dated(
        discover(landing), date(2026, 3, 5)
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (reason,) = con.execute("select reason from raw.quarantine").fetchall()[0]
        assert reason == f"usage.tokens: must be <= 1000000, got '{INT64_MAX}'"
        used = con.execute(
            "select team_id, tokens_used from main.rpt_summary order by team_id"
        ).fetchall()
    # northwind_01 drew its 1,000,000-token charge from S2 (1e9) and S1 (100 moved in)
    assert dict(used)["northwind_01"] == 1_000_000
