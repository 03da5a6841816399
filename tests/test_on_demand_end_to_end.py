"""On-demand exports end to end: a real refresh, then every active team's exports.

Each team gets csv and xlsx exports of all three types through `flex-usage export`;
every file is read back and checked against expectations computed from the landing
files alone: team isolation, privacy of `include_pii = false` teams, formula safety.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from orchestration.cli import main
from tests.pipeline_support import HASH_KEY, refresh_args, small_landing, stray_files

pytestmark = pytest.mark.slow

FIRST, LAST = date(2026, 1, 5), date(2026, 1, 18)
TYPES = {"subscriptions": "Subscriptions", "users": "Users", "usage": "Usage"}
RISKY = ("=", "+", "-", "@", "\t", "\r")
MASK = "*****"
PII_COLUMNS = slice(1, 5)  # Autodesk ID, Email, First name, Last name (Users and Usage)


def _hashed(autodesk_id: str) -> str:
    return hmac.new(HASH_KEY.encode(), autodesk_id.encode(), hashlib.sha256).hexdigest()


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass
class Landing:
    """What the deliveries say: newest snapshots, increments with the latest row per key."""

    teams: dict[str, dict]
    users: dict[str, dict]
    members: dict[str, set[str]]
    products: dict[str, str]
    packs: dict[str, dict]
    events: dict[str, dict]
    usage: dict[str, dict]

    @classmethod
    def load(cls, folder: Path) -> Landing:
        days = sorted(p for p in folder.iterdir() if (p / "manifest.json").is_file())
        events, usage = {}, {}
        for day in days:
            events |= {row["event_id"]: row for row in _read(day / "token_events.csv")}
            usage |= {row["usage_id"]: row for row in _read(day / "usage.csv")}
        newest = days[-1]
        members: dict[str, set[str]] = {}
        for row in _read(newest / "team_members.csv"):
            members.setdefault(row["team_id"], set()).add(row["autodesk_id"])
        return cls(
            teams={row["team_id"]: row for row in _read(newest / "teams.csv")},
            users={row["autodesk_id"]: row for row in _read(newest / "users.csv")},
            members=members,
            products={
                row["product_line_code"]: row["product_name"]
                for row in _read(newest / "products.csv")
            },
            packs={row["subscription_id"]: row for row in _read(newest / "token_packs.csv")},
            events=events,
            usage=usage,
        )

    def active(self) -> list[str]:
        return sorted(t for t, row in self.teams.items() if row["status"] == "active")

    def usage_of(self, team: str) -> list[dict]:
        return [
            row
            for row in self.usage.values()
            if row["team_id"] == team and FIRST.isoformat() <= row["usage_date"] <= LAST.isoformat()
        ]

    def users_of(self, team: str) -> set[str]:
        """Members of the team and users with usage charged to it."""
        charged = {row["autodesk_id"] for row in self.usage.values() if row["team_id"] == team}
        return self.members.get(team, set()) | charged

    def packs_of(self, team: str) -> set[str]:
        """Packs whose tokens the team has held (purchase, moves, merges, adjustments)."""
        return {row["subscription_id"] for row in self.events.values() if row["team_id"] == team}


@dataclass
class Export:
    """One team's on-demand exports, read back: csv cells and xlsx cells per type."""

    csv: dict[str, list[list[str]]]
    xlsx: dict[str, list[list]]  # openpyxl cells

    def texts(self) -> list[str]:
        """Every cell of both formats as text."""
        cells = [c for rows in self.csv.values() for row in rows for c in row]
        return cells + [_text(c.value) for rows in self.xlsx.values() for row in rows for c in row]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    return unescape(value) if isinstance(value, str) else str(value)


def _export(team: str, fmt: str, warehouse: Path, exports: Path) -> list[Path]:
    args = ["export", "--team", team, "--types", ",".join(TYPES), "--format", fmt]
    args += ["--from", FIRST.isoformat(), "--to", LAST.isoformat()]
    args += ["--warehouse", str(warehouse), "--exports", str(exports)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(args) == 0, err.getvalue()
    return [Path(line) for line in out.getvalue().splitlines()]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Landing, dict[str, Export], Path]:
    """One refresh of 4 generated teams (one merged, one without PII), then the exports."""
    base = tmp_path_factory.mktemp("e2e")
    landing = small_landing(base / "landing", end=LAST, teams=4)
    warehouse, exports = base / "wh.duckdb", base / "exports"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEX_PII_HASH_KEY", HASH_KEY)
        mp.setenv("FLEX_WAREHOUSE", "unused-by-tests.duckdb")
        assert main(refresh_args(landing, warehouse, exports)) == 0
        facts = Landing.load(landing)
        done = {}
        for team in facts.active():
            csv_paths = _export(team, "csv", warehouse, exports)
            (book,) = _export(team, "xlsx", warehouse, exports)
            assert [p.name for p in csv_paths] == [f"{kind}.csv" for kind in TYPES]
            assert csv_paths[0].parent != book.parent  # same second: distinct folders
            tables = {}
            for path in csv_paths:
                with open(path, encoding="utf-8", newline="") as handle:
                    tables[path.stem] = list(csv.reader(handle))
            workbook = load_workbook(book)
            assert workbook.sheetnames == list(TYPES.values())
            cells = {kind: [list(r) for r in workbook[s].iter_rows()] for kind, s in TYPES.items()}
            done[team] = Export(tables, cells)
    return facts, done, exports


def test_every_active_team_exported_cleanly(run) -> None:
    facts, done, exports = run
    assert sorted(done) == facts.active() and len(done) >= 3
    assert any(row["status"] == "merged" for row in facts.teams.values())
    assert any(facts.teams[t]["include_pii"] == "false" for t in done)
    assert stray_files(exports) == []
    for export in done.values():  # both formats hold the same rows, headers included
        for kind in TYPES:
            assert len(export.csv[kind]) == len(export.xlsx[kind]) > 1
            assert export.csv[kind][0] == [_text(c.value) for c in export.xlsx[kind][0]]


SUBSCRIPTION_HEADERS = [
    "Subscription ID",
    "Contract number",
    "Offering",
    "Term",
    "Tokens purchased",
    "Start date",
    "End date",
    "Status",
    "Tokens received",
    "Tokens sent",
    "Adjustments",
    "Tokens used",
    "Tokens remaining",
    "Tokens expired",
    "Reseller name",
    "Reseller email",
]


def test_subscriptions_show_where_the_tokens_went(run) -> None:
    """The new columns, in both formats: received - sent + adjustments accounts for every
    token of an active or expired pack (used + remaining + expired)."""
    facts, done, _ = run
    checked = 0
    for team, export in done.items():
        rows = export.csv["subscriptions"]
        assert rows[0] == SUBSCRIPTION_HEADERS, team
        cells = export.xlsx["subscriptions"]
        for row, xlsx_row in zip(rows[1:], cells[1:], strict=True):
            record = dict(zip(SUBSCRIPTION_HEADERS, row, strict=True))
            figures = [int(record[h]) for h in SUBSCRIPTION_HEADERS[8:14]]
            received, sent, adjustments, used, remaining, expired = figures
            assert [c.value for c in xlsx_row[8:14]] == figures, (team, record)
            assert all(c.number_format == "#,##0" for c in xlsx_row[8:14]), team
            if record["Status"] in ("Active", "Expired"):
                assert received - sent + adjustments == used + remaining + expired, (team, row)
                checked += 1
            if record["Status"] != "Expired":
                assert expired == 0, (team, row)
    assert checked, "the landing should hold active or expired packs"


def test_team_isolation(run) -> None:
    facts, done, _ = run
    for team, export in done.items():
        own_users = facts.users_of(team)
        own_packs = facts.packs_of(team)
        own_text = {facts.teams[team]["team_alias"]} | {
            facts.packs[p]["contract_number"] for p in own_packs
        }
        own_text |= {v for a in own_users for v in (a, facts.users[a]["email"], _hashed(a))}
        foreign = {t for t in facts.teams if t != team}
        foreign |= {row["team_alias"] for row in facts.teams.values()}
        foreign |= {row["usage_id"] for row in facts.usage.values() if row["team_id"] != team}
        for pack in set(facts.packs) - own_packs:
            foreign |= {pack, facts.packs[pack]["contract_number"]}
        strangers = set(facts.users) - own_users
        assert strangers, "the landing must have users outside the team"
        foreign |= {v for a in strangers for v in (a, facts.users[a]["email"], _hashed(a))}
        foreign -= own_text
        texts = export.texts()
        leaked = foreign & set(texts)
        assert not leaked, (team, sorted(leaked)[:5])
        emails = {facts.users[a]["email"] for a in strangers} - own_text
        assert not [t for t in texts for e in emails if e in t], team

        # whole rows: exactly the team's packs, members and charges
        assert {row[0] for row in export.csv["subscriptions"][1:]} == own_packs, team
        members = {_hashed(a) for a in facts.members[team]}
        assert {row[0] for row in export.csv["users"][1:]} == members, team
        charges = Counter(
            (_hashed(u["autodesk_id"]), facts.products[u["product_line_code"]], u["version"])
            + (u["usage_date"], u["tokens"])
            for u in facts.usage_of(team)
        )
        assert charges, team
        for rows in (
            export.csv["usage"],
            [[_text(c.value) for c in r] for r in export.xlsx["usage"]],
        ):
            assert Counter((r[0], r[7], r[8], r[10], r[11]) for r in rows[1:]) == charges, team


def test_privacy_of_teams_without_pii(run) -> None:
    facts, done, _ = run
    hidden = [t for t in done if facts.teams[t]["include_pii"] == "false"]
    assert hidden
    for team in hidden:
        export = done[team]
        people = [facts.users[a] for a in facts.users_of(team)]
        exact = {p[k] for p in people for k in ("autodesk_id", "email", "first_name", "last_name")}
        exact -= {""}
        within = {p["autodesk_id"] for p in people} | {p["email"] for p in people}
        within |= {f"{p['first_name']} {p['last_name']}" for p in people if all(p.values())}
        texts = export.texts()
        assert not exact & set(texts), (team, sorted(exact & set(texts))[:5])
        assert not [t for t in texts for secret in within if secret in t], team
        for kind in ("users", "usage"):
            for row in export.csv[kind][1:]:
                assert row[PII_COLUMNS] == [MASK] * 4, (team, kind, row)


def test_formula_safety(run) -> None:
    _, done, _ = run
    risky_seen = 0
    for team, export in done.items():
        for kind in TYPES:
            for csv_row, cells in zip(export.csv[kind], export.xlsx[kind], strict=True):
                for text, cell in zip(csv_row, cells, strict=True):
                    assert cell.data_type != "f", (team, kind, cell.coordinate)
                    value = cell.value
                    if isinstance(value, str) and value.startswith(RISKY):
                        risky_seen += 1
                        assert cell.quotePrefix, (team, kind, cell.coordinate)
                        assert text == "'" + unescape(value), (team, kind, text)
                    elif text.startswith(RISKY):  # only a number may start so in csv
                        assert isinstance(value, int | float), (team, kind, text)
    assert risky_seen, "the landing should hold formula-like text (a team alias)"
