"""The Dagster refresh on the Spark target writes the same workbooks as on DuckDB."""

import re
from datetime import date

import pytest

from tests.pipeline_support import exports_snapshot, refresh_args, run_cli, small_landing

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("spark_available")]


def test_spark_refresh_exports_equal_duckdb_refresh(tmp_path):
    landing = small_landing(tmp_path / "landing", end=date(2026, 1, 18), teams=2)
    books = {}
    for target in ("duckdb", "spark"):
        base = tmp_path / target
        done = run_cli(
            *refresh_args(landing, base / "wh.duckdb", base / "exports"),
            env={"FLEX_DBT_TARGET": target},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        # dbt tests and GX checks ran as asset checks on this target, and none failed
        checks = re.search(r"checks (\d+) passed, \d+ warned, (\d+) failed", done.stdout)
        assert checks and int(checks[1]) > 100 and checks[2] == "0", done.stdout[-2000:]
        books[target] = exports_snapshot(base / "exports")
    assert books["duckdb"], "workbooks were written"
    assert books["spark"] == books["duckdb"]
    assert (tmp_path / "spark" / "spark" / "reports_catalog.duckdb").exists()
