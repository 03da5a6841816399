"""Helpers for tests that run the whole pipeline: small landings, CLI runs, snapshots."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
from openpyxl import load_workbook

from tools.generate import generate_landing

HASH_KEY = "test-hash-key"
CLI = [sys.executable, "-m", "orchestration.cli"]


def small_landing(folder: Path, start=date(2026, 1, 5), end=date(2026, 1, 25), teams=3) -> Path:
    """A few weeks of generated deliveries for a handful of teams."""
    generate_landing(folder, start, end, teams=teams, seed=11)
    return folder


def set_pipeline_env(monkeypatch, landing: Path, warehouse: Path, exports: Path, **extra) -> None:
    """Point the FLEX_* settings (and any ``extra`` variables) at a test's folders."""
    for name, value in {
        **extra,
        "FLEX_LANDING_DIR": landing,
        "FLEX_WAREHOUSE": warehouse,
        "FLEX_EXPORTS_DIR": exports,
        "FLEX_PII_HASH_KEY": HASH_KEY,
    }.items():
        monkeypatch.setenv(name, str(value))


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout=600):
    """Run `flex-usage` in a new process group (so crash points can kill it whole)."""
    full_env = {**os.environ, "FLEX_PII_HASH_KEY": HASH_KEY, **(env or {})}
    return subprocess.run(
        [*CLI, *args],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def refresh_args(landing: Path, warehouse: Path, exports: Path, as_of: str | None = None):
    args = ["refresh", "--landing", str(landing), "--warehouse", str(warehouse)]
    args += ["--exports", str(exports)]
    return args + (["--as-of", as_of] if as_of else [])


def warehouse_snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table of the raw and main schemas as sorted rows.

    Bookkeeping that records when or in which build a row was written (load
    times, the incremental model's build watermark and sequence) is left out.
    """
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'main') and table_type = 'BASE TABLE' "
            "order by 1, 2"
        ).fetchall()
        snapshot = {}
        for schema, table in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if c != "ingested_at" and not c.startswith("built_")
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f'select {select} from "{schema}"."{table}"').fetchall()
            snapshot[f"{schema}.{table}"] = sorted(rows, key=repr)
        return snapshot
    finally:
        con.close()


def exports_snapshot(exports: Path) -> dict[str, dict[str, list[tuple]]]:
    """Cell values of every workbook under ``exports`` (relative path -> sheet -> rows)."""
    books = {}
    for path in sorted(exports.rglob("*.xlsx")):
        workbook = load_workbook(path, read_only=True)
        books[str(path.relative_to(exports))] = {
            ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)]
            for ws in workbook.worksheets
        }
        workbook.close()
    return books


def stray_files(exports: Path) -> list[Path]:
    """Temporary or partial files left in the exports folder."""
    return [p for p in exports.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def dbt_log(run_id: str) -> list[dict]:
    """The events of the dbt.log kept from the warehouse build of run ``run_id``."""
    from orchestration.defs.project import dbt_project

    project = dbt_project()
    [target] = project.project_dir.joinpath(project.target_path).glob(
        f"warehouse_models-{run_id[:7]}-*"
    )
    lines = (target / "dbt.log").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["info"] for line in lines if line.startswith("{")]


def dbt_parse_messages(run_id: str) -> list[str]:
    """What dbt said about parsing in the warehouse build of run ``run_id``."""
    messages = (event["msg"] for event in dbt_log(run_id))
    return [m for m in messages if "partial pars" in m.lower() or "skipping parsing" in m]


def dbt_threads(run_id: str) -> set[str]:
    """The threads dbt said it ran on in the warehouse build of run ``run_id``."""
    return {e["msg"].split()[1] for e in dbt_log(run_id) if e["msg"].startswith("Concurrency:")}
