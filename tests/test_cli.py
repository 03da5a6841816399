"""`flex-usage` end to end: idempotence, clear failures, locking, deliveries arriving mid-run."""

import csv
import io
import os
import re
import shutil
import stat
import subprocess
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration import warehouse as wh
from orchestration.cli import main
from orchestration.ingest import batch
from tests.pipeline_support import (
    CLI,
    HASH_KEY,
    refresh_args,
    small_landing,
    stray_files,
    warehouse_snapshot,
)

pytestmark = pytest.mark.slow

LAST_DAY = "2026-01-25"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("FLEX_PII_HASH_KEY", HASH_KEY)
    monkeypatch.setenv("FLEX_WAREHOUSE", "unused-by-tests.duckdb")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One landing folder refreshed once: (landing, warehouse, exports), stdout, stderr."""
    base = tmp_path_factory.mktemp("built")
    landing = small_landing(base / "landing")
    warehouse, exports = base / "wh.duckdb", base / "exports"
    (base / "dagster_home").mkdir()
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(out), redirect_stderr(err):
        mp.setenv("FLEX_PII_HASH_KEY", HASH_KEY)
        mp.setenv("DAGSTER_HOME", str(base / "dagster_home"))  # keeps the run's events
        mp.delenv("FLEX_SMTP_URL", raising=False)  # e-mails go to the outbox
        assert main(refresh_args(landing, warehouse, exports)) == 0
    return (landing, warehouse, exports), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def built(first_run):
    return first_run[0]


def _copy_of(built, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of the built landing, warehouse (with its release) and exports."""
    landing, warehouse, exports = (tmp_path / n for n in ("landing", "wh.duckdb", "exports"))
    shutil.copytree(built[0], landing)
    shutil.copy(built[1], warehouse)
    shutil.copy(wh.release_path(built[1]), wh.release_path(warehouse))
    shutil.copytree(built[2], exports)
    return landing, warehouse, exports


def _file_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.xlsx"))}


def _delivered(warehouse: Path) -> list[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select delivery_date from raw.deliveries order by 1").fetchall()
        return [r[0].isoformat() for r in rows]
    finally:
        con.close()


def test_refresh_without_new_deliveries_changes_nothing(built, capsys):
    landing, warehouse, exports = built
    tables, files = warehouse_snapshot(warehouse), _file_bytes(exports)
    assert files, "the first refresh wrote workbooks"
    capsys.readouterr()
    assert main(refresh_args(landing, warehouse, exports)) == 0
    out = capsys.readouterr().out
    assert "0 deliveries ingested" in out
    assert f"\ndelivery:  {len(files)} already sent\n" in out  # every workbook's team has admins
    assert warehouse_snapshot(warehouse) == tables
    assert _file_bytes(exports) == files


def test_materializations_report_row_counts(built, monkeypatch):
    import dagster as dg

    _, warehouse, _ = built
    monkeypatch.setenv("DAGSTER_HOME", str(warehouse.parent / "dagster_home"))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {("raw", "usage"): "raw.usage", ("marts", "fct_usage"): "fct_usage"}
        tables[("reports", "rpt_summary")] = "rpt_summary"
        expected = {
            key: con.execute(f"select count(*) from {table}").fetchone()[0]
            for key, table in tables.items()
        }
        rejected = con.execute(
            "select count(*) from raw.quarantine where file = 'usage.csv'"
        ).fetchone()[0]
    finally:
        con.close()
    with dg.DagsterInstance.get() as instance:
        for key, rows in expected.items():
            event = instance.get_latest_materialization_event(dg.AssetKey(list(key)))
            meta = event.asset_materialization.metadata
            assert meta["dagster/row_count"].value == rows > 0, key
        # A view gets no count (counting it would run its whole query).
        for key in (["staging", "stg_usage"], ["reports", "rpt_usage_history"]):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            assert "dagster/row_count" not in event.asset_materialization.metadata, key
        usage = instance.get_latest_materialization_event(dg.AssetKey(["raw", "usage"]))
        meta = usage.asset_materialization.metadata
        assert meta["file_rows_rejected_this_run"].value == rejected
        assert meta["file_rows_loaded_this_run"].value == expected[("raw", "usage")]


def test_refresh_with_only_incomplete_deliveries_has_nothing_to_do(tmp_path, capsys):
    landing = tmp_path / "landing"
    (landing / "2026-01-05").mkdir(parents=True)
    (landing / "2026-01-05" / "usage.csv").write_text("still being written")
    warehouse = tmp_path / "wh.duckdb"
    assert main(refresh_args(landing, warehouse, tmp_path / "exports")) == 0
    assert "nothing to refresh" in capsys.readouterr().out
    assert not warehouse.exists() and not (tmp_path / "exports").exists()
    assert main(refresh_args(tmp_path / "missing", warehouse, tmp_path / "exports")) == 1
    assert "landing folder not found" in capsys.readouterr().err


def test_refresh_refuses_to_start_without_hash_key(built, tmp_path, monkeypatch, capsys):
    landing, _, _ = built
    monkeypatch.delenv("FLEX_PII_HASH_KEY")
    warehouse = tmp_path / "wh.duckdb"
    assert main(refresh_args(landing, warehouse, tmp_path / "exports")) == 1
    assert "FLEX_PII_HASH_KEY" in capsys.readouterr().err
    assert not warehouse.exists()


def test_second_refresh_while_one_runs_stops_with_clear_message(built, tmp_path, capsys):
    landing, warehouse, exports = _copy_of(built, tmp_path)
    before = warehouse_snapshot(warehouse)
    first = subprocess.Popen(
        [*CLI, *refresh_args(landing, warehouse, exports), "--full-refresh"],
        env={**os.environ, "FLEX_PII_HASH_KEY": HASH_KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while wh.release_path(warehouse).exists():  # withdrawn once its run starts
            assert first.poll() is None, first.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert main(refresh_args(landing, warehouse, exports)) == 1
        assert "another refresh" in capsys.readouterr().err
    finally:
        assert first.wait(300) == 0, first.stderr.read()
    assert warehouse_snapshot(warehouse) == before, "the first refresh was not disturbed"
    assert wh.released_as_of(warehouse).isoformat() == LAST_DAY


def test_invalid_delivery_loads_nothing_and_names_the_file(built, tmp_path, capsys):
    landing = tmp_path / "landing"
    shutil.copytree(built[0], landing)
    with open(landing / LAST_DAY / "usage.csv", "ab") as handle:  # truncated / altered upstream
        handle.write(b"X")
    warehouse = tmp_path / "wh.duckdb"
    assert main(refresh_args(landing, warehouse, tmp_path / "exports")) == 1
    err = capsys.readouterr().err
    assert f"delivery {LAST_DAY}" in err and "usage.csv" in err
    delivered = _delivered(warehouse)
    assert LAST_DAY not in delivered and len(delivered) == 20
    assert not (tmp_path / "exports").exists(), "no export from a failed refresh"


def _records(landing: Path) -> int:
    """CSV records (not header lines) in every delivery of ``landing``, counted here."""
    total = 0
    for path in landing.glob("*/*.csv"):
        with open(path, newline="", encoding="utf-8") as handle:
            total += sum(1 for _ in csv.reader(handle)) - 1
    return total


def _active_teams(landing: Path, day: str) -> list[str]:
    with open(landing / day / "teams.csv", newline="", encoding="utf-8") as handle:
        return sorted(r["team_id"] for r in csv.DictReader(handle) if r["status"] == "active")


def test_refresh_prints_a_line_per_stage_and_fits_a_screen(first_run):
    (landing, warehouse, _), out, err = first_run
    progress = [line for line in out.splitlines() if line.endswith(" …")]  # every 10 s
    lines = [line for line in out.splitlines() if not line.endswith(" …")]
    assert len(lines) <= 10, out
    assert all(
        re.fullmatch(r"(ingest|dbt build|exports) +[0-9,]+ of [0-9,]+ …", line) for line in progress
    ), progress
    # Dagster's and dbt's logs only with --verbose (Dagster may print its one-time
    # telemetry notice on a new DAGSTER_HOME)
    assert " - dagster - " not in err and "dbt" not in err, err
    stages = ["ingest", "user hashes", "dbt build", "release", "checks", "exports"]
    for stage in stages:  # each once, with its seconds
        (line,) = [line for line in lines if line.startswith(f"{stage}  ")]  # noqa: RUF015
        assert re.search(r" \([0-9,]+\.[0-9] s\)$", line), line
    assert not any(" START " in line or " PASS " in line for line in lines)
    deliveries = len([p for p in landing.iterdir() if (p / "manifest.json").exists()])
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        quarantined = con.execute("select count(*) from raw.quarantine").fetchone()[0]
    finally:
        con.close()
    loaded = _records(landing) - quarantined
    assert loaded >= 1_000, "the thousands separator is exercised"
    summary = next(line for line in lines if line.startswith("refresh as of"))
    assert summary.startswith(f"refresh as of {LAST_DAY} done in ")
    assert f": {deliveries} deliveries ingested, {loaded:,} rows loaded, " in summary
    assert f"{quarantined:,} rows quarantined" in summary
    teams = _active_teams(landing, LAST_DAY)
    assert summary.endswith(f"; {len(teams)} workbooks written")
    assert f"{deliveries} deliveries ingested (0 unchanged), {loaded:,} rows loaded" in out
    assert "warning" not in out


def test_unwritable_exports_folder_fails_clearly_and_names_the_warnings(built, tmp_path, capsys):
    landing, warehouse, exports = _copy_of(built, tmp_path)
    stale = time.time() - 3 * 86400  # the newest delivery arrived three days ago
    os.utime(landing / LAST_DAY / "manifest.json", (stale, stale))
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the exports folder should be")
    assert main(refresh_args(landing, warehouse, blocked)) == 1
    out, err = capsys.readouterr()
    teams = _active_teams(landing, LAST_DAY)
    assert err.splitlines() == [
        f"error: exports: team {team}: {blocked}: a file is in the way where a folder should be"
        for team in teams
    ]
    assert f"refresh as of {LAST_DAY} FAILED" in out and "; 0 workbooks written" in out
    warning = next(line for line in out.splitlines() if line.startswith("warning: "))
    assert warning.startswith("warning: check delivery_freshness on ") and "warned: " in warning
    assert LAST_DAY in warning
    assert blocked.read_text().startswith("a file")
    assert "refresh as of" in main_status(landing, warehouse, capsys)


def main_status(landing: Path, warehouse: Path, capsys) -> str:
    assert main(["status", "--landing", str(landing), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "failures of the last refresh" in out and "warnings of the last refresh" in out
    return out


def test_full_disk_names_team_path_and_reason_and_counts_published(
    built, tmp_path, monkeypatch, capsys
):
    landing, warehouse, _ = _copy_of(built, tmp_path)
    exports = tmp_path / "fresh-exports"
    teams = _active_teams(landing, LAST_DAY)
    victim = teams[-1]
    monkeypatch.setenv("FLEX_FAULT_OSERROR_AT", f"export.write:ENOSPC:{victim}")
    assert main(refresh_args(landing, warehouse, exports)) == 1
    out, err = capsys.readouterr()
    path = exports / victim / LAST_DAY / f"flex_usage_{victim}_{LAST_DAY}.xlsx"
    assert err.splitlines() == [f"error: exports: team {victim}: {path}: no space left on the disk"]
    published = sorted(exports.rglob("*.xlsx"))
    assert len(published) == len(teams) - 1 and not path.exists()
    assert f"; {len(published)} workbook{'s' if len(published) != 1 else ''} written" in out
    assert "Traceback" not in out + err
    assert stray_files(exports) == []


def test_failed_dbt_build_names_each_model_its_file_and_the_reason(
    built, tmp_path, monkeypatch, capsys
):
    landing, warehouse, exports = _copy_of(built, tmp_path)
    monkeypatch.setenv("FLEX_DUCKDB_MEMORY_LIMIT", "1MB")  # far too little for the models
    assert main(refresh_args(landing, warehouse, exports)) == 1
    out, err = capsys.readouterr()
    lines = err.splitlines()
    pattern = (
        r"error: dbt build: (model|test|seed) \w+ \((models|seeds)/[\w/]+\.(sql|yml|csv)\): "
        r"Out of Memory Error: .+"
    )
    assert lines and all(re.fullmatch(pattern, line) for line in lines), err
    # Which nodes run out of memory depends on dbt's two threads and DuckDB's buffers (the
    # seed, a model, or only tests): the pattern above admits each kind, named with its file.
    assert len(lines) == len(set(lines)), "each failure once (dbt tests are also checks)"
    assert "Traceback" not in out + err and "dbt build    FAILED: " in out
    assert not wh.release_path(warehouse).exists()


def test_read_only_exports_folder_names_the_path(built, tmp_path, monkeypatch):
    from orchestration.exports.errors import WorkbooksFailedError
    from orchestration.exports.workbook import write_all_workbooks

    landing, warehouse, _ = built
    exports = tmp_path / "exports"
    monkeypatch.setenv("FLEX_FAULT_OSERROR_AT", "export.write:EROFS")
    with pytest.raises(WorkbooksFailedError) as raised:
        write_all_workbooks(warehouse, date.fromisoformat(LAST_DAY), exports, workers=2)
    teams = _active_teams(landing, LAST_DAY)
    assert raised.value.written == []
    assert raised.value.failures == [
        f"team {t}: {exports / t / LAST_DAY / f'flex_usage_{t}_{LAST_DAY}.xlsx'}: "
        "read-only file system"
        for t in teams
    ]
    assert not list(exports.rglob("*.xlsx"))


def test_on_demand_export_of_merged_or_mistyped_team_says_what_to_do(built, capsys):
    landing, warehouse, exports = built
    with open(landing / LAST_DAY / "teams.csv", newline="", encoding="utf-8") as handle:
        merged = next(r for r in csv.DictReader(handle) if r["status"] == "merged")
    common = ["--warehouse", str(warehouse), "--exports", str(exports), "--types", "usage"]
    assert main(["export", "--team", merged["team_id"], *common]) == 1
    err = capsys.readouterr().err
    assert f"team {merged['team_id']} was merged into {merged['merged_into_team_id']}" in err
    active = _active_teams(landing, LAST_DAY)[0]
    typo = active.lower()[:-1]
    assert main(["export", "--team", typo, *common]) == 1
    err = capsys.readouterr().err
    assert f"unknown team {typo}: not an active team as of {LAST_DAY}" in err
    assert f"closest active ids: {active}" in err


def test_delivery_appearing_during_a_run_waits_for_the_next(built, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    shutil.copytree(built[0], landing)
    shutil.rmtree(landing / LAST_DAY)
    warehouse, exports = tmp_path / "wh.duckdb", tmp_path / "exports"
    real_ingest = batch.ingest_pending

    def ingest_then_deliver(con, deliveries):
        if not (landing / LAST_DAY).exists():
            shutil.copytree(built[0] / LAST_DAY, landing / LAST_DAY)
        return real_ingest(con, deliveries)

    monkeypatch.setattr(batch, "ingest_pending", ingest_then_deliver)
    assert main(refresh_args(landing, warehouse, exports)) == 0
    assert LAST_DAY not in _delivered(warehouse)
    assert main(refresh_args(landing, warehouse, exports)) == 0
    assert LAST_DAY in _delivered(warehouse)
    assert stray_files(exports) == []


def test_on_demand_export_and_refused_request(built, capsys):
    _, warehouse, exports = built
    team = sorted(p.name for p in exports.iterdir() if p.is_dir())[0]
    common = ["--team", team, "--warehouse", str(warehouse), "--exports", str(exports)]
    assert main(["export", *common, "--types", "usage,users", "--format", "csv"]) == 0
    written = [Path(line) for line in capsys.readouterr().out.split()]
    assert sorted(p.name for p in written) == ["usage.csv", "users.csv"]
    assert all(p.exists() for p in written)

    before = sorted(exports.rglob("*"))
    too_long = ["--from", "2025-01-01", "--to", LAST_DAY]
    assert main(["export", *common, "--types", "usage", "--format", "xlsx", *too_long]) == 1
    assert "365" in capsys.readouterr().err
    assert sorted(exports.rglob("*")) == before


def test_on_demand_export_through_dagster_job(built, tmp_path):
    import dagster as dg

    from orchestration.defs.definitions import build_definitions
    from orchestration.defs.resources import build_resources
    from orchestration.settings import Settings

    landing, warehouse, exports = built
    out = tmp_path / "exports"
    settings = Settings(landing, warehouse, out, 0.01, "duckdb")
    job = build_definitions(build_resources(settings)).resolve_job_def("on_demand_export_job")
    team = sorted(p.name for p in exports.iterdir() if p.is_dir())[0]

    def run(**config):
        op_config = {"team_id": team, "types": ["subscriptions", "usage"], **config}
        return job.execute_in_process(
            run_config={"ops": {"on_demand_export": {"config": op_config}}},
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )

    assert run(format="csv").success
    written = sorted(p.name for p in out.rglob("*.csv"))
    assert written == ["subscriptions.csv", "usage.csv"]

    refused = run(format="xlsx", start="2026-01-20", end="2026-01-10")
    assert not refused.success
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == written


def test_failing_blocking_check_stops_exports_and_keeps_delivered_files(
    built, tmp_path, monkeypatch, capsys
):
    from tests.landing_builder import write_delivery

    landing, warehouse, exports = _copy_of(built, tmp_path)
    delivered = {p: p.read_bytes() for p in exports.rglob("*.xlsx")}
    every_file = {p for p in exports.rglob("*") if p.is_file()}
    folder = landing / LAST_DAY
    files = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    bad_row = b"U-BAD-1,nobody-team,X,ACD,2026,2026-01-25,2026-01-25T09:00:00Z,7\r\n"
    header = files["usage.csv"].split(b"\n", 1)[0].decode().strip()
    assert header.startswith("usage_id,team_id,autodesk_id,product_line_code"), header
    good_usage = files["usage.csv"]
    files["usage.csv"] = good_usage.rstrip(b"\r\n") + b"\r\n" + bad_row
    write_delivery(landing, LAST_DAY, files)  # re-delivered with a new manifest

    monkeypatch.setenv("FLEX_REJECT_THRESHOLD", "0")
    assert main(refresh_args(landing, warehouse, exports)) == 1
    out, err = capsys.readouterr()
    # the message names the check, the delivery and the file; the summary still prints
    gate_line = next(line for line in err.splitlines() if "check reject_rate_gate" in line)
    assert LAST_DAY in gate_line and "usage.csv" in gate_line, err
    assert "FAILED" in out and "1 delivery ingested" in out and "1 rows quarantined" in out
    assert {p: p.read_bytes() for p in exports.rglob("*.xlsx")} == delivered
    assert stray_files(exports) == []

    # the reports of the failed run were never released: on-demand exports refuse too
    team = sorted(p.name for p in exports.iterdir() if p.is_dir())[0]
    export = ["export", "--team", team, "--types", "users", "--format", "csv"]
    assert main([*export, "--warehouse", str(warehouse), "--exports", str(exports)]) == 1
    assert "no checked reports" in capsys.readouterr().err
    assert {p for p in exports.rglob("*") if p.is_file()} == every_file

    # not re-delivered: it keeps blocking, though the next run ingests nothing new
    assert main(refresh_args(landing, warehouse, exports)) == 1
    assert "reject_rate_gate" in capsys.readouterr().err
    # fixed upstream and re-delivered: the gate passes and the exports are written
    write_delivery(landing, LAST_DAY, {**files, "usage.csv": good_usage})
    assert main(refresh_args(landing, warehouse, exports)) == 0
    assert {p: p.read_bytes() for p in exports.rglob("*.xlsx")} == delivered


def test_failing_staged_check_withholds_the_release_and_every_export(built, tmp_path, capsys):
    """A staged rule (a dbt test) broken by data the raw suites no longer judge blocks the run."""
    landing, warehouse, exports = _copy_of(built, tmp_path)
    delivered = {p: p.read_bytes() for p in exports.rglob("*") if p.is_file()}
    with duckdb.connect(str(warehouse)) as con:
        user, email = con.execute(
            "select autodesk_id, email from raw.users_contents order by autodesk_id limit 1"
        ).fetchone()
        con.execute("update raw.users_contents set email = null where autodesk_id = ?", [user])
    assert main(refresh_args(landing, warehouse, exports, as_of="2026-01-24")) == 1
    err = capsys.readouterr().err
    assert "columns_not_null_stg_users" in err, err
    assert "nulls in email (1 row)" in err, err
    assert not wh.release_path(warehouse).exists(), "reports of a failed build are not released"
    assert {p: p.read_bytes() for p in exports.rglob("*") if p.is_file()} == delivered
    team = sorted(p.name for p in exports.iterdir() if p.is_dir())[0]
    export = ["export", "--team", team, "--types", "usage", "--format", "csv"]
    assert main([*export, "--warehouse", str(warehouse), "--exports", str(exports)]) == 1
    assert "no checked reports" in capsys.readouterr().err

    with duckdb.connect(str(warehouse)) as con:
        con.execute("update raw.users_contents set email = ? where autodesk_id = ?", [email, user])
    assert main(refresh_args(landing, warehouse, exports, as_of="2026-01-24")) == 0
    assert wh.released_as_of(warehouse).isoformat() == "2026-01-24"


def test_refresh_leaves_an_outbox_an_index_and_readable_files(built):
    """Without FLEX_SMTP_URL each e-mail is an .eml file: one per active team with an admin."""
    from email import policy
    from email.parser import BytesParser

    from orchestration.exports.files import process_umask

    _, warehouse, exports = built
    con = duckdb.connect(str(warehouse), read_only=True)
    try:  # from the raw newest snapshot, not the models
        newest = "(select max(delivery_date) from raw.deliveries)"
        active = {
            r[0]
            for r in con.execute(
                "select team_id from raw.teams "
                f"where delivery_date = {newest} and status = 'active'"
            ).fetchall()
        }
        with_admin = {
            r[0]
            for r in con.execute(
                "select m.team_id from raw.team_members m join raw.users u "
                f"on u.autodesk_id = m.autodesk_id and u.delivery_date = {newest} "
                f"where m.delivery_date = {newest} and m.role = 'admin'"
            ).fetchall()
        }
    finally:
        con.close()
    outbox = exports / "outbox" / LAST_DAY
    assert sorted(p.name for p in outbox.iterdir()) == sorted(
        f"{team}.eml" for team in active & with_admin
    )
    for eml in outbox.iterdir():
        message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        team = eml.stem
        book = exports / team / LAST_DAY / f"flex_usage_{team}_{LAST_DAY}.xlsx"
        (part,) = list(message.iter_attachments())
        assert part.get_content() == book.read_bytes()
        assert message["Subject"].startswith("Flex token usage: ")
    index = (exports / "index" / f"{LAST_DAY}.csv").read_text(encoding="utf-8").splitlines()
    assert sorted(line.split(",", 1)[0] for line in index[1:]) == sorted(active)
    mask = process_umask()
    for book in exports.glob(f"*/{LAST_DAY}/*.xlsx"):
        assert stat.S_IMODE(book.stat().st_mode) == 0o666 & ~mask
        assert stat.S_IMODE(book.parent.stat().st_mode) == 0o777 & ~mask
