"""The exports job e-mails each active team's workbook to its admins through a real SMTP
server: content, privacy, the index, permissions, a refused admin retried, a run killed
between sending and logging, the operator's resend. (Corrections: tests/test_delivery.py.)"""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.definitions import build_definitions
from orchestration.defs.resources import build_resources
from orchestration.defs.runs import exports_run_config, partition_range_tags
from orchestration.exports.files import workbook_path
from orchestration.pipeline import refresh
from orchestration.settings import Settings
from tests.landing_builder import base_files, write_delivery
from tests.pipeline_support import HASH_KEY
from tests.smtp_server import Handler, smtp_server

pytestmark = pytest.mark.slow

D = "2026-03-02"
ACME, NORTHWIND = "acme-design", "northwind_01"
SENDER = "flex@reports.example"
# Every user's identity in the landing; none may appear in a message's text, HTML or
# headers, except the To header of a team that shows personal data.
IDENTITIES = ["a@x.example", "b@x.example", "c@x.example", "d@x.example"]
IDENTITIES += ["Ana Li", "Bo Ng", "Cy Oz", "Di Ko"]


def landing_files() -> dict:
    """The hand-made delivery with a second admin for northwind (which hides PII)."""
    files = base_files()
    files["users.csv"].append(
        {"autodesk_id": "U4", "email": "d@x.example", "first_name": "Di", "last_name": "Ko"}
    )
    files["team_members.csv"].append({"team_id": NORTHWIND, "autodesk_id": "U4", "role": "admin"})
    return files


@pytest.fixture
def setup(tmp_path, monkeypatch):
    handler = Handler(refuse={"a@x.example"})
    with smtp_server(handler) as port:
        env = {
            "FLEX_PII_HASH_KEY": HASH_KEY,
            "FLEX_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "FLEX_MAIL_FROM": SENDER,
            "FLEX_WAREHOUSE": str(tmp_path / "wh.duckdb"),
            "FLEX_EXPORTS_DIR": str(tmp_path / "exports"),
            "FLEX_DBT_TARGET": "duckdb",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        write_delivery(tmp_path / "landing", D, landing_files())
        previous = os.umask(0o022)
        try:
            yield tmp_path, handler, env
        finally:
            os.umask(previous)


def _refresh_without_exports(tmp_path: Path) -> None:
    refresh(
        tmp_path / "landing",
        date.fromisoformat(D),
        tmp_path / "wh.duckdb",
        tmp_path / "exports",
        write_exports=False,
    )


def _balances(warehouse: Path, team: str) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute("select * from main.rpt_balances where team_id = ?", [team])
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def _visible_text(message) -> str:
    parts = [f"{k}: {v}" for k, v in message.items() if k != "To"]
    parts += [message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()]
    return "\n".join(parts)


def _by_team(handler: Handler) -> dict[str, list]:
    teams: dict[str, list] = {}
    for received in handler.received:
        team = ACME if "Acme Design" in received.message["Subject"] else NORTHWIND
        teams.setdefault(team, []).append(received)
    return teams


def _exports_job(
    config_extra: dict | None = None, teams: tuple[str, ...] = (ACME, NORTHWIND)
) -> dg.ExecuteInProcessResult:
    defs = build_definitions(build_resources(Settings.from_env()))
    run_config = exports_run_config(date.fromisoformat(D))
    if config_extra:
        run_config["ops"]["exports__admin_delivery"]["config"] = {
            **run_config["ops"]["exports__admin_delivery"]["config"],
            **config_extra,
        }
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("teams", [ACME, NORTHWIND])
        return defs.resolve_job_def("exports_job").execute_in_process(
            run_config=run_config,
            instance=instance,
            tags=partition_range_tags(list(teams)),
            raise_on_error=False,
        )


def _delivery(run: dg.ExecuteInProcessResult) -> tuple[dict, dict]:
    """Outcome counts and problems by team, from each team's delivery materialization."""
    counts: dict[str, int] = {}
    problems: dict[str, str] = {}
    for team in (ACME, NORTHWIND):
        meta = _team_metadata(run, team)["exports/admin_delivery"]
        counts[meta["delivery_status"]] = counts.get(meta["delivery_status"], 0) + 1
        if "delivery_problem" in meta:
            problems[team] = meta["delivery_problem"]
    return counts, problems


def _team_metadata(run: dg.ExecuteInProcessResult, team: str) -> dict[str, dict]:
    """Asset -> metadata values of the run's materializations of ``team``'s partition."""
    found: dict[str, dict] = {}
    for event in run.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.partition == team:
            found[materialization.asset_key.to_user_string()] = {
                key: value.value for key, value in materialization.metadata.items()
            }
    return found


def exports_job_in_new_process(env: dict) -> subprocess.CompletedProcess:
    """The exports job in its own process group (a crash point kills it, not pytest)."""
    code = "from tests.test_delivery_end_to_end import _exports_job; _exports_job()"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
    )


def test_delivery_end_to_end(setup):
    tmp_path, handler, env = setup
    exports, warehouse = tmp_path / "exports", tmp_path / "wh.duckdb"
    _refresh_without_exports(tmp_path)

    # 1. acme's only admin is refused (logged as failed); northwind's message is accepted
    #    and the process is killed before the log records it.
    killed = exports_job_in_new_process({**env, "FLEX_FAULT_KILL_AT": "delivery.after_send"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    (nw_message,) = handler.received
    assert sorted(nw_message.rcpt_tos) == ["b@x.example", "d@x.example"]
    message = nw_message.message
    assert message["To"] == "undisclosed-recipients:;"  # northwind hides personal data
    balances = _balances(warehouse, NORTHWIND)
    alerts = f": {balances['alerts']}" if balances["alerts"] else ""
    assert message["Subject"] == f"Flex token usage: Northwind, {D}{alerts}"
    book = workbook_path(exports, NORTHWIND, date.fromisoformat(D))
    (part,) = list(message.iter_attachments())
    assert (part.get_filename(), part.get_content()) == (book.name, book.read_bytes())
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"Tokens available: {balances['tokens_available']:,}\n" in text
    assert f"Tokens total: {balances['tokens_total']:,}\n" in text
    burn = Decimal(balances["daily_burn_rate"]).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert f"Daily burn rate: {burn}\n" in text
    share = balances["available_share"]
    percent = None if share is None else Decimal(repr(share * 100))
    shown = "none" if percent is None else f"{percent.quantize(Decimal('0.1'), ROUND_HALF_UP)}%"
    assert f"Available share: {shown}\n" in text
    assert not [who for who in IDENTITIES if who in _visible_text(message)]

    # 2. The next run sends nothing twice: acme fails again, northwind's unlogged message
    #    is reported unconfirmed with its Message-ID; the non-blocking check fails.
    run = _exports_job()
    assert run.success
    counts, problems = _delivery(run)
    assert counts == {"failed": 1, "unconfirmed": 1}
    assert "recipients refused: a@x.example (550" in problems[ACME]
    assert message["Message-ID"] in problems[NORTHWIND]
    (check,) = [e for e in run.get_asset_check_evaluations() if e.check_name == "all_delivered"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert ACME in check.description and NORTHWIND in check.description
    assert len(handler.received) == 1

    # Files admins can open; the index lists both teams with their outcome.
    assert stat.S_IMODE(book.stat().st_mode) == 0o644
    assert stat.S_IMODE(book.parent.stat().st_mode) == 0o755
    with open(exports / "index" / f"{D}.csv", newline="", encoding="utf-8") as handle:
        index = {row["Team ID"]: row for row in csv.DictReader(handle)}
    assert sorted(index) == [ACME, NORTHWIND]
    assert index[ACME]["Delivery"].startswith("failed: recipients refused: a@x.example (550")
    assert index[NORTHWIND]["Delivery"].startswith("unconfirmed: the run stopped between")
    assert message["Message-ID"] in index[NORTHWIND]["Delivery"]
    assert index[NORTHWIND]["Workbook"] == book.relative_to(exports).as_posix()
    assert index[NORTHWIND]["Tokens available"] == str(balances["tokens_available"])
    assert index[NORTHWIND]["Alerts"] == balances["alerts"]
    assert stat.S_IMODE((exports / "index" / f"{D}.html").stat().st_mode) == 0o644

    # 3. acme's admin accepted again, and the operator (northwind's message is not in the
    #    server's log, say) asks for the resend: both go, once each.
    handler.refuse.clear()
    run = _exports_job({"resend_unconfirmed": [NORTHWIND]})
    assert _delivery(run) == ({"sent": 2}, {})
    (check,) = [e for e in run.get_asset_check_evaluations() if e.check_name == "all_delivered"]
    assert check.passed
    teams = _by_team(handler)
    (acme,) = teams[ACME]
    assert acme.rcpt_tos == ["a@x.example"] and acme.message["To"] == "a@x.example"
    assert acme.message["Subject"].startswith(f"Flex token usage: Acme Design, Inc., {D}")
    assert not [who for who in IDENTITIES if who in _visible_text(acme.message)]
    assert [r.message["Message-ID"] for r in teams[NORTHWIND]] == [message["Message-ID"]] * 2
    assert "(corrected)" not in teams[NORTHWIND][1].message["Subject"]

    # 4. A rerun sends nothing; retention removes an old day and an old on-demand export.
    old_day = exports / ACME / "2026-01-25"  # 36 days before D
    old_day.mkdir()
    (old_day / f"flex_usage_{ACME}_2026-01-25.xlsx").write_bytes(b"old")
    old_export = exports / ACME / "on-demand" / "20200101T000000Z"
    old_export.mkdir(parents=True)
    (old_export / "usage.csv").write_text("old")
    run = _exports_job()
    assert _delivery(run) == ({"already sent": 2}, {})
    (retention,) = [
        e.event_specific_data.materialization.metadata
        for e in run.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key == dg.AssetKey(["exports", "retention"])
    ]
    assert sorted(retention["removed"].value) == sorted([str(old_day), str(old_export)])
    assert not old_day.exists() and not old_export.exists() and book.exists()

    # 5. A team's materializations carry its own figures only: the same whether the run
    #    covers one team or all of them (bookkeeping grows linearly with the teams).
    together = _team_metadata(run, ACME)
    assert sorted(together) == ["exports/admin_delivery", "exports/team_workbook"]
    assert together["exports/team_workbook"]["workbook_path"] == str(
        workbook_path(exports, ACME, date.fromisoformat(D))
    )
    assert NORTHWIND not in json.dumps(together)
    assert _team_metadata(_exports_job(teams=(ACME,)), ACME) == together
    assert len(handler.received) == 3
    with duckdb.connect(str(warehouse), read_only=True) as con:
        outcomes = con.execute(
            "select team_id, outcome from delivery.log where channel = 'smtp' order by started_at"
        ).fetchall()
    assert outcomes == [
        (ACME, "failed"),
        (NORTHWIND, "unconfirmed"),
        (ACME, "failed"),
        (ACME, "sent"),
        (NORTHWIND, "sent"),
    ]
