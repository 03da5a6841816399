"""Runs that die (SIGKILL) at any stage and are re-run end with exactly the undisturbed result."""

import pytest

from tests.pipeline_support import (
    exports_snapshot,
    refresh_args,
    run_cli,
    small_landing,
    stray_files,
    warehouse_snapshot,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    return small_landing(tmp_path_factory.mktemp("landing"))


@pytest.fixture(scope="module")
def undisturbed(landing, tmp_path_factory):
    base = tmp_path_factory.mktemp("undisturbed")
    warehouse, exports = base / "wh.duckdb", base / "exports"
    done = run_cli(*refresh_args(landing, warehouse, exports))
    assert done.returncode == 0, done.stderr
    return warehouse_snapshot(warehouse), exports_snapshot(exports)


@pytest.mark.parametrize("point", ["ingest.before_commit", "dbt.mid_build", "export.before_rename"])
def test_killed_run_then_rerun_equals_undisturbed(point, landing, undisturbed, tmp_path):
    warehouse, exports = tmp_path / "wh.duckdb", tmp_path / "exports"
    killed = run_cli(*refresh_args(landing, warehouse, exports), env={"FLEX_FAULT_KILL_AT": point})
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-2000:])
    if point == "export.before_rename":
        assert not list(exports.rglob("*.xlsx")), "a killed export must not leave a workbook"

    rerun = run_cli(*refresh_args(landing, warehouse, exports))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    expected_tables, expected_books = undisturbed
    assert warehouse_snapshot(warehouse) == expected_tables
    assert exports_snapshot(exports) == expected_books
    assert stray_files(exports) == []
