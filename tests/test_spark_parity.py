"""The project on Spark builds the same tables, and writes the same workbooks, as on DuckDB.

A small generated landing is refreshed twice with the CLI (`flex-usage refresh`, the whole
Dagster job with its checks): on the default DuckDB target, and with the dbt target
``spark`` (a local Spark session in dbt's subprocess, raw tables copied to Parquet). Every
report, mart and staging table of both builds is then compared after sorting: exact for
integers, text, dates and timestamps, 1e-9 for floats; the exports' reader must return
the same rows in the same order from both; and the two refreshes' workbooks must be equal.

The Parquet export and the DuckDB catalog over the Spark tables are also checked
without Spark (no Java needed).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.exports.reader import DuckDBReportSource
from orchestration.exports.sheets import NIGHTLY_REPORTS, ON_DEMAND_REPORTS
from orchestration.settings import ENV_DBT_TARGET
from orchestration.spark import (
    ENV_SPARK_RAW_DIR,
    ENV_SPARK_WAREHOUSE_DIR,
    SparkCatalogError,
    SparkLayout,
    export_raw_to_parquet,
    write_spark_catalog,
)
from tests.pipeline_support import exports_snapshot, refresh_args, run_cli
from tools.generate import generate_landing

# Landing from January to April; D lies before its end, so deliveries and facts after D
# exist and must be ignored. With this seed the landing has a team merge, two active
# teams that hide personal data and a team that runs out of tokens (unallocated usage).
LANDING_START, LANDING_END = date(2026, 1, 1), date(2026, 4, 10)
AS_OF = date(2026, 3, 27)
TEAMS, SEED = 4, 1
REFRESH_TIMEOUT_SECONDS = 900
# The local Spark session tuned for small data (docs/SPARK.md): a quarter less CPU.
SMALL_DATA_SPARK = {
    "FLEX_SPARK_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "FLEX_SPARK_ADAPTIVE": "false",
}

REPORTS = (
    "rpt_summary",
    "rpt_time_ranges",
    "rpt_tokens_by_day",
    "rpt_by_product",
    "rpt_token_distribution",
    "rpt_users_by_version",
    "rpt_product_users",
    "rpt_by_user",
    "rpt_user_weekly_days",
    "rpt_user_versions",
    "rpt_subscriptions",
    "rpt_users",
    "rpt_usage_history",
    "rpt_usage",
    "rpt_balances",
    "rpt_token_events",
    "rpt_tokens_by_month",
)
MARTS = (
    "dim_team",
    "dim_user",
    "dim_product",
    "dim_pack",
    "fct_usage",
    "fct_usage_allocation",
    "fct_daily_usage",
    "fct_token_ledger",
    "fct_team_pack_balance",
    "int_time_ranges",
    "int_forecast_packs",
    "int_balance_forecast",
)

STAGING = (
    "stg_teams",
    "stg_users",
    "stg_team_members",
    "stg_products",
    "stg_token_packs",
    "stg_token_events",
    "stg_usage",
)

needs_java = pytest.mark.usefixtures("spark_available")
spark = pytest.mark.spark


# --------------------------------------------------------------------------- builds


@dataclass(frozen=True)
class Refresh:
    """One CLI refresh of the parity landing: its warehouse, workbooks and printed summary."""

    warehouse: Path
    exports: Path
    stdout: str


@pytest.fixture(scope="module")
def refreshes(
    tmp_path_factory: pytest.TempPathFactory, spark_available: None
) -> dict[str, Refresh]:
    """The parity landing refreshed as of D on each dbt target."""
    root = tmp_path_factory.mktemp("spark_parity")
    landing = root / "landing"
    generate_landing(landing, LANDING_START, LANDING_END, teams=TEAMS, seed=SEED)
    done = {}
    for target in ("duckdb", "spark"):
        base = root / target
        args = refresh_args(landing, base / "wh.duckdb", base / "exports", AS_OF.isoformat())
        env = {ENV_DBT_TARGET: target, **SMALL_DATA_SPARK}
        run = run_cli(*args, env=env, timeout=REFRESH_TIMEOUT_SECONDS)
        assert run.returncode == 0, (
            f"{target} refresh failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"
        )
        done[target] = Refresh(base / "wh.duckdb", base / "exports", run.stdout)
    return done


@pytest.fixture(scope="module")
def builds(refreshes: dict[str, Refresh]) -> tuple[Path, Path]:
    """(DuckDB warehouse, DuckDB catalog over the Spark build) of the same landing and D."""
    spark = refreshes["spark"].warehouse
    return refreshes["duckdb"].warehouse, SparkLayout.of(spark).catalog_file


# --------------------------------------------------------------------------- comparison


def _sort_key(row: tuple) -> tuple:
    """Total order over rows with nulls; floats rounded so tiny engine noise cannot reorder."""
    return tuple(
        (value is None, round(value, 6) if isinstance(value, float) else value) for value in row
    )


def _table(con: duckdb.DuckDBPyConnection, name: str) -> tuple[list[str], list[tuple]]:
    """The table's rows, sorted; built_at (when the writing build started) differs by run."""
    columns = con.execute(f'select * from main."{name}" limit 0').description
    select = ", ".join(f'"{c[0]}"' for c in columns if c[0] != "built_at")
    cursor = con.execute(f'select {select} from main."{name}"')
    columns = [column[0] for column in cursor.description]
    return columns, sorted(cursor.fetchall(), key=_sort_key)


def _same_value(expected: object, actual: object) -> bool:
    if isinstance(expected, float) and isinstance(actual, float):
        return math.isclose(expected, actual, rel_tol=1e-12, abs_tol=1e-9)
    return type(expected) is type(actual) and expected == actual


def _row_differences(expected: list[tuple], actual: list[tuple]) -> list[str]:
    """Readable mismatches of two row lists of equal length (at most five)."""
    found = []
    for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
        if len(left) != len(right) or not all(map(_same_value, left, right)):
            found.append(f"row {index}: duckdb {left!r} != spark {right!r}")
            if len(found) == 5:
                break
    return found


def _assert_same_table(warehouse: Path, catalog: Path, name: str) -> None:
    with (
        duckdb.connect(str(warehouse), read_only=True) as duck,
        duckdb.connect(str(catalog), read_only=True) as spark,
    ):
        duck_columns, duck_rows = _table(duck, name)
        spark_columns, spark_rows = _table(spark, name)
    assert spark_columns == duck_columns
    assert len(spark_rows) == len(duck_rows), f"{name}: row counts differ"
    assert _row_differences(duck_rows, spark_rows) == []


# --------------------------------------------------------------------------- parity


@spark
@needs_java
def test_the_landing_reaches_every_report(builds: tuple[Path, Path]) -> None:
    """Guards the comparisons below against passing on empty or unremarkable tables."""
    warehouse, _ = builds
    with duckdb.connect(str(warehouse), read_only=True) as con:
        empty = [
            name
            for name in REPORTS + MARTS
            if con.execute(f"select count(*) from main.{name}").fetchone()[0] == 0
        ]
        teams = con.execute(
            "select count(*) filter (where status = 'merged'), "
            "count(*) filter (where status = 'active' and not include_pii) from main.dim_team"
        ).fetchone()
        unallocated = con.execute(
            "select count(*) from main.fct_usage where unallocated_tokens > 0"
        ).fetchone()[0]
        masked = con.execute(
            "select count(*) from main.rpt_users where autodesk_id = '*****'"
        ).fetchone()[0]
    assert empty == []
    assert teams == (1, 2)
    assert unallocated > 0
    assert masked > 0


@spark
@needs_java
def test_spark_builds_every_table_model(builds: tuple[Path, Path]) -> None:
    warehouse, catalog = builds
    with (
        duckdb.connect(str(warehouse), read_only=True) as duck,
        duckdb.connect(str(catalog), read_only=True) as spark,
    ):
        listing = "select table_name from information_schema.tables where table_schema = 'main'"
        duck_tables = {
            n for (n,) in duck.execute(f"{listing} and table_type = 'BASE TABLE'").fetchall()
        }
        spark_tables = {n for (n,) in spark.execute(listing).fetchall()}
        duck_views = {n for (n,) in duck.execute(f"{listing} and table_type = 'VIEW'").fetchall()}
    duck_staging_views = {n for n in duck_views if n.startswith("stg_")}
    # read only on demand (exports, analysts, reconciliation tests), or names joined onto a
    # narrow table on read: not copied nightly
    report_views = {"rpt_usage_history", "fct_usage_allocation", "rpt_user_weekly_days"}
    assert set(REPORTS + MARTS) - report_views <= duck_tables
    assert report_views <= duck_views
    assert set(STAGING) == duck_staging_views
    # staging and report views are tables on Spark (its catalog exposes only tables)
    assert spark_tables == duck_tables | duck_staging_views | report_views


@spark
@needs_java
@pytest.mark.parametrize("name", REPORTS + MARTS + STAGING)
def test_spark_table_equals_duckdb_table(builds: tuple[Path, Path], name: str) -> None:
    warehouse, catalog = builds
    _assert_same_table(warehouse, catalog, name)


@spark
@needs_java
def test_exports_read_the_spark_build_like_the_duckdb_build(builds: tuple[Path, Path]) -> None:
    """Same rows in the same export order, for every report of every active team."""
    warehouse, catalog = builds
    reports = NIGHTLY_REPORTS + tuple(ON_DEMAND_REPORTS.values())
    with DuckDBReportSource(warehouse) as duck, DuckDBReportSource(catalog) as spark:
        teams = duck.active_teams(AS_OF)
        assert len(teams) >= 2
        assert spark.active_teams(AS_OF) == teams
        for report in reports:
            for team in teams:
                expected = [row for batch in duck.batches(report, team, AS_OF) for row in batch]
                actual = [row for batch in spark.batches(report, team, AS_OF) for row in batch]
                assert len(actual) == len(expected), (report.model, team)
                assert _row_differences(expected, actual) == [], (report.model, team)


@spark
@needs_java
def test_spark_refresh_writes_the_duckdb_refresh_workbooks(refreshes: dict[str, Refresh]) -> None:
    """The whole Dagster refresh on Spark: its checks pass and its workbooks are DuckDB's."""
    for refresh in refreshes.values():
        # dbt tests and GX checks ran as asset checks on this target, and none failed
        checks = re.search(r"checks (\d+) passed, \d+ warned, (\d+) failed", refresh.stdout)
        assert checks and int(checks[1]) > 100 and checks[2] == "0", refresh.stdout[-2000:]
    books = {target: exports_snapshot(r.exports) for target, r in refreshes.items()}
    assert books["duckdb"], "workbooks were written"
    assert books["spark"] == books["duckdb"]


# --------------------------------------------------------------------------- without Spark


def test_export_raw_to_parquet_copies_every_raw_table(tmp_path: Path) -> None:
    warehouse, out = tmp_path / "wh.duckdb", tmp_path / "parquet"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.usage (usage_id varchar, charge_ts timestamp, tokens bigint)")
        con.execute(
            "insert into raw.usage values ('u1', '2026-02-01 10:00:00', 7), ('u2', null, 0)"
        )
        con.execute("create table raw.quarantine (line bigint)")
        con.execute("create view raw.not_a_table as select 1 as x")
        con.execute("create table main.rpt_summary (x int)")

    assert export_raw_to_parquet(warehouse, out) == {"quarantine": 0, "usage": 2}
    assert export_raw_to_parquet(warehouse, out) == {"quarantine": 0, "usage": 2}  # replaces

    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "quarantine",
        "quarantine/part-0.parquet",
        "usage",
        "usage/part-0.parquet",
    ]
    with duckdb.connect() as con:
        rows = con.execute(
            f"select * from read_parquet('{out / 'usage' / '*.parquet'}') order by usage_id"
        ).fetchall()
        empty = con.execute(f"describe select * from '{out / 'quarantine' / 'part-0.parquet'}'")
        assert [(name, kind) for name, kind, *_ in empty.fetchall()] == [("line", "BIGINT")]
    assert rows == [("u1", datetime(2026, 2, 1, 10), 7), ("u2", None, 0)]


def test_spark_catalog_exposes_tables_with_naive_utc_timestamps(tmp_path: Path) -> None:
    """Spark's UTC-adjusted timestamps come back as the naive UTC values DuckDB stores."""
    table_dir = tmp_path / "spark" / "flex.db" / "rpt_usage"
    table_dir.mkdir(parents=True)
    (tmp_path / "spark" / "flex.db" / "_temporary").mkdir()
    (table_dir / "_SUCCESS").touch()
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'u1' as usage_id, timestamptz '2026-02-01 23:30:00+00' as charge_ts, "
            f"date '2026-02-01' as day_used) to '{table_dir / 'part-00000.parquet'}'"
        )

    catalog = tmp_path / "catalog.duckdb"
    assert write_spark_catalog(tmp_path / "spark", catalog) == ["rpt_usage"]
    with duckdb.connect(str(catalog), read_only=True) as con:
        rows = con.execute("select * from main.rpt_usage").fetchall()
        types = [kind for _, kind, *_ in con.execute("describe main.rpt_usage").fetchall()]
    assert rows == [("u1", datetime(2026, 2, 1, 23, 30), date(2026, 2, 1))]
    assert types == ["VARCHAR", "TIMESTAMP", "DATE"]


def test_spark_catalog_refuses_an_unbuilt_warehouse(tmp_path: Path) -> None:
    with pytest.raises(SparkCatalogError, match="run dbt first"):
        write_spark_catalog(tmp_path / "spark", tmp_path / "catalog.duckdb")
    assert not (tmp_path / "catalog.duckdb").exists()


def test_spark_layout_defaults_next_to_the_duckdb_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/tmp")
    monkeypatch.delenv(ENV_SPARK_WAREHOUSE_DIR, raising=False)
    monkeypatch.delenv(ENV_SPARK_RAW_DIR, raising=False)
    layout = SparkLayout.from_env(Path("wh/flex_usage.duckdb"))
    assert layout == SparkLayout(Path("/tmp/wh/spark"), Path("/tmp/wh/spark/raw_parquet"))
    assert layout.catalog_file == Path("/tmp/wh/spark/reports_catalog.duckdb")
    assert layout.dbt_env() == {
        ENV_DBT_TARGET: "spark",
        ENV_SPARK_WAREHOUSE_DIR: "/tmp/wh/spark",
        ENV_SPARK_RAW_DIR: "/tmp/wh/spark/raw_parquet",
    }


def test_spark_layout_from_env_is_made_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/tmp")
    monkeypatch.setenv(ENV_SPARK_WAREHOUSE_DIR, "sw")
    monkeypatch.setenv(ENV_SPARK_RAW_DIR, "/data/raw")
    layout = SparkLayout.from_env(Path("/elsewhere/flex_usage.duckdb"))
    assert layout == SparkLayout(Path("/tmp/sw"), Path("/data/raw"))
    assert SparkLayout(Path("a"), Path("b")).dbt_env()[ENV_SPARK_RAW_DIR] == "/tmp/b"
