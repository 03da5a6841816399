"""The per-as-of index (csv + HTML) and the retention of export folders."""

from __future__ import annotations

import csv
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from orchestration.delivery import log
from orchestration.delivery.content import TeamMail
from orchestration.delivery.index import index_rows, write_index
from orchestration.delivery.retention import RetentionPolicy, clean_exports
from orchestration.exports.files import workbook_path

D = date(2026, 3, 2)


def mail(team_id: str, team: str, recipients=("a@x.example",), alerts=(), available=5):
    figures = (("Tokens available", f"{available:,}"),)
    return TeamMail(team_id, team, True, tuple(recipients), figures, available, tuple(alerts))


def attempt(team: str, outcome: str, reason=None, corrected=False, minute=0) -> log.Attempt:
    at = datetime(2026, 3, 3, 2, minute)
    return log.Attempt(
        f"{team}-{minute}",
        team,
        D,
        "smtp",
        "0" * 64,
        "a@x.example",
        "s",
        "<m>",
        corrected,
        at,
        at if outcome == log.SENT else None,
        outcome,
        reason,
    )


def test_index_lists_every_team_formula_safe_and_escaped(tmp_path: Path):
    exports = tmp_path / "exports"
    book = workbook_path(exports, "t-evil", D)
    book.parent.mkdir(parents=True)
    book.write_bytes(b"xlsx")
    mails = {
        "t-evil": mail(
            "t-evil", '=HYPERLINK("http://x")<script>&', alerts=["low balance"], available=1234567
        ),
        "t-none": mail("t-none", "@Team", recipients=()),
        "t-fail": mail("t-fail", "-Fails"),
        "t-fixed": mail("t-fixed", "+Fixed"),
    }
    attempts = [
        attempt("t-evil", log.SENT),
        attempt("t-fail", log.FAILED, "recipients refused: a@x.example (550 no)"),
        attempt("t-fixed", log.SENT, minute=1),
        attempt("t-fixed", log.SENT, corrected=True, minute=5),
    ]
    paths = write_index(exports, D, index_rows(mails, exports, D, attempts))
    assert paths == [exports / "index" / f"{D}.csv", exports / "index" / f"{D}.html"]
    assert sorted(p.name for p in (exports / "index").iterdir()) == [f"{D}.csv", f"{D}.html"]
    with open(paths[0], newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["Team ID", "Team", "Workbook", "Tokens available", "Alerts", "Delivery"],
        [
            "t-evil",
            '\'=HYPERLINK("http://x")<script>&',
            f"t-evil/{D}/flex_usage_t-evil_{D}.xlsx",
            "1234567",
            "low balance",
            "sent 2026-03-03 02:00 UTC",
        ],
        ["t-fail", "'-Fails", "", "5", "", "failed: recipients refused: a@x.example (550 no)"],
        ["t-fixed", "'+Fixed", "", "5", "", "sent (corrected) 2026-03-03 02:05 UTC"],
        ["t-none", "'@Team", "", "5", "", "no admin e-mail"],
    ]
    page = paths[1].read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;&amp;" in page
    assert f'<a href="../t-evil/{D}/flex_usage_t-evil_{D}.xlsx">' in page
    assert "<td>1,234,567</td>" in page


def _folder(path: Path, *files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in files:
        (path / name).write_bytes(b"x")
    return path


def _nightly(exports: Path, team: str, day: date) -> Path:
    return _folder(exports / team / day.isoformat(), f"flex_usage_{team}_{day}.xlsx")


def test_retention_removes_old_folders_only(tmp_path: Path):
    exports = tmp_path / "exports"
    now = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    policy = RetentionPolicy(nightly_days=35, on_demand_days=14)
    keep = [
        _nightly(exports, "a", D),
        _nightly(exports, "a", D - timedelta(days=34)),  # the oldest day kept
        _nightly(exports, "merged", D - timedelta(days=200)),  # its newest workbook
        _folder(exports / "outbox" / (D - timedelta(days=34)).isoformat(), "a.eml"),
        _folder(exports / "index") / f"{D - timedelta(days=34)}.csv",
        _folder(exports / "a" / "on-demand" / "20260217T020001Z", "usage.csv"),  # < 14 days
        _folder(exports / "a" / "notes-2020-01-01", "keep.txt"),  # not a shape it manages
        _folder(exports / "a" / "on-demand" / "someday", "x.csv"),
    ]
    (exports / "index" / f"{D - timedelta(days=34)}.csv").write_text("x")
    gone = [
        _nightly(exports, "a", D - timedelta(days=35)),
        _nightly(exports, "merged", D - timedelta(days=300)),
        _folder(exports / "a" / (D - timedelta(days=90)).isoformat()),  # empty old folder
        _folder(exports / "outbox" / (D - timedelta(days=35)).isoformat(), "a.eml"),
        _folder(exports / "a" / "on-demand" / "20260217T020000Z", "usage.csv"),  # 14 days
        _folder(exports / "a" / "on-demand" / "20251201T000000Z-02", "book.xlsx"),
    ]
    old_index = exports / "index" / f"{D - timedelta(days=35)}.html"
    old_index.write_text("x")
    gone.append(old_index)
    removed = clean_exports(exports, D, now, policy)
    assert sorted(removed) == sorted(gone)
    assert all(p.exists() for p in keep)
    assert not any(p.exists() for p in gone)


def test_retention_never_follows_or_removes_symbolic_links(tmp_path: Path):
    exports = tmp_path / "exports"
    outside = _folder(tmp_path / "outside" / "2020-01-01", "flex_usage_x_2020-01-01.xlsx", "f")
    _nightly(exports, "a", D)
    old = _nightly(exports, "a", date(2020, 1, 1))
    (old / "link-out").symlink_to(outside)  # inside a folder that goes
    (exports / "a" / "2020-01-02").symlink_to(outside)  # a dated link
    (exports / "linked-team").symlink_to(tmp_path / "outside")  # a team folder link
    (exports / "index").mkdir()
    (exports / "index" / "2020-01-01.csv").symlink_to(outside / "f")
    removed = clean_exports(exports, D, datetime(2026, 3, 3, tzinfo=UTC), RetentionPolicy())
    assert removed == [old]
    assert sorted(p.name for p in outside.iterdir()) == ["f", "flex_usage_x_2020-01-01.xlsx"]
    assert (exports / "a" / "2020-01-02").is_symlink()
    assert (exports / "index" / "2020-01-01.csv").is_symlink()
    assert os.path.islink(exports / "linked-team")


def test_retention_settings_from_the_environment():
    assert RetentionPolicy.from_env({}) == RetentionPolicy(35, 14)
    env = {"FLEX_EXPORTS_KEEP_DAYS": "7", "FLEX_ON_DEMAND_KEEP_DAYS": "2"}
    assert RetentionPolicy.from_env(env) == RetentionPolicy(7, 2)
    for bad in ("0", "-3", "two"):
        with pytest.raises(ValueError, match="FLEX_EXPORTS_KEEP_DAYS"):
            RetentionPolicy.from_env({"FLEX_EXPORTS_KEEP_DAYS": bad})
