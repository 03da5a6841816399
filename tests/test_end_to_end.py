"""End to end: the product's nightly workbooks against the independent reference.

For every stage of every hand-made scenario (and for one generated landing), run
``orchestration.pipeline.refresh`` and compare every sheet, header and cell of every
written workbook with ``reference.nightly_workbooks``; then scan every cell for another
team's identifiers (isolation) and, for teams with include_pii = false, for the real
identity of their users (privacy). Formula-looking text must be stored as protected text.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import reference as ref
from handmade import example, late_rows, merge_moves, privacy

KEY = "end-to-end secret 🔑"
SCENARIOS = {
    "example": example.stages,
    "merge_moves": merge_moves.stages,
    "privacy": privacy.stages,
    "late_rows": late_rows.stages,
}
RISKY_START = ("=", "+", "-", "@", "\t", "\r")
# The nightly workbook's sheets, in the export contract's order.
NIGHTLY_SHEETS = [
    "Summary",
    "Balances",
    "Token events",
    "Tokens by month",
    "Time ranges",
    "Tokens by day",
    "By product",
    "Token distribution",
    "Users by version",
    "Product users",
    "By user",
    "User weekly days",
    "User versions",
    "Subscriptions",
    "Users",
    "Usage",
    "About",
]
RELATED_TEAM = ("Token events", "Related team")
TOKEN_SPLIT = re.compile(r"[\s;,]+")


# --------------------------------------------------------------------------- reading


def _cell(cell) -> object:
    """The cell's value as the reference models it; asserts formula safety on the way."""
    value = cell.value
    where = f"{cell.parent.title}!{cell.coordinate}"
    assert cell.data_type != "f", f"{where} is a formula: {value!r}"
    if isinstance(value, datetime):
        assert value.time() == datetime.min.time(), f"{where} has a time: {value!r}"
        assert cell.number_format.lower() == "yyyy-mm-dd", f"{where}: {cell.number_format}"
        return value.date()
    if not isinstance(value, str):
        return value
    if value.startswith("'") and value[1:].startswith(RISKY_START):
        return value[1:]
    if value.startswith(RISKY_START):
        assert cell.quotePrefix, f"{where} starts like a formula without protection: {value!r}"
    return value if value != "" else None


def _trim(items: list, empty: object = None) -> list:
    """Drop trailing empty cells of a row, or trailing empty rows of a sheet."""
    end = len(items)
    while end and items[end - 1] == empty:
        end -= 1
    return items[:end]


def read_workbook(path: Path) -> dict[str, list[list]]:
    book = openpyxl.load_workbook(path)
    sheets = {}
    for ws in book.worksheets:
        rows = [_trim([_cell(c) for c in row]) for row in ws.iter_rows()]
        sheets[ws.title] = _trim(rows, empty=[])
    return sheets


# --------------------------------------------------------------------------- comparing


def _same(expected: object, actual: object) -> bool:
    if isinstance(expected, float):
        ok = isinstance(actual, int | float) and not isinstance(actual, bool)
        return ok and math.isclose(actual, expected, rel_tol=0, abs_tol=1e-9)
    if isinstance(expected, int):
        return type(actual) in (int, float) and actual == expected
    if isinstance(expected, date):
        return type(actual) is date and actual == expected
    return actual == expected


def assert_same_workbook(expected: dict[str, list[list]], actual: dict[str, list[list]], label):
    """Every sheet and column the reference models, cell by cell, in the reference's order.

    The sheet list is the contract's; columns the reference does not model (yet) are
    left out of the comparison.
    """
    assert list(actual) == NIGHTLY_SHEETS, f"{label}: sheet names/order"
    for name, exp_rows in expected.items():
        header = actual[name][0] if actual[name] else []
        missing = [h for h in exp_rows[0] if h not in header]
        assert not missing, f"{label} {name}: header lacks {missing}"
        picked = [header.index(h) for h in exp_rows[0]]
        assert picked == sorted(picked), f"{label} {name}: header order"
        act_rows = [[r[i] if i < len(r) else None for i in picked] for r in actual[name]]
        diffs = []
        rows = zip(exp_rows, act_rows, actual[name], strict=False)
        for i, (exp, act, row) in enumerate(rows, start=1):
            if len(row) > len(header):
                diffs.append(f"row {i}: {len(row)} cells, the header {len(header)}: {row!r}")
            elif not all(_same(e, a) for e, a in zip(exp, act, strict=True)):
                diffs.append(f"row {i}: expected {exp!r}\n{' ' * (len(str(i)) + 6)}got {act!r}")
        assert len(act_rows) == len(exp_rows), (
            f"{label} {name}: {len(act_rows) - 1} rows, expected {len(exp_rows) - 1}; "
            + "; ".join(diffs[:3])
        )
        assert not diffs, f"{label} {name}:\n" + "\n".join(diffs[:8])


# --------------------------------------------------------------------------- scanning


def _texts(sheets: dict[str, list[list]], skip: tuple[str, str] | None = None) -> list[str]:
    """Every cell's text, but for the ``skip`` (sheet, header) column."""
    texts = []
    for name, rows in sheets.items():
        left_out = rows[0].index(skip[1]) if skip and name == skip[0] and rows else None
        texts += [
            str(v) for row in rows for i, v in enumerate(row) if v is not None and i != left_out
        ]
    return texts


def _column(sheets: dict[str, list[list]], sheet: str, header: str) -> set:
    rows = sheets.get(sheet) or [[header]]
    index = rows[0].index(header)
    return {row[index] for row in rows[1:] if index < len(row) and row[index] is not None}


class _Texts:
    """Cell texts, indexed to answer :meth:`found` without scanning every cell per value."""

    def __init__(self, texts: list[str]) -> None:
        self.words = set(texts) | {word for text in texts for word in TOKEN_SPLIT.split(text)}
        # No looked-for value holds a NUL, so a substring of this is a substring of a cell.
        self.joined = "\0".join(texts)

    def found(self, value: str) -> bool:
        """Whole cell, whole token, or (for longer values) any substring of a cell."""
        return value in self.words or (len(value) >= 6 and value in self.joined)


def _forbidden(state: ref.State, team_id: str, key: str) -> tuple[set[str], set[str]]:
    """(isolation, privacy) values that must not appear in ``team_id``'s workbook."""
    people: dict[str, set[str]] = {}
    for m in state.members:
        people.setdefault(m["team_id"], set()).add(m["autodesk_id"])
    for u in state.usage:
        people.setdefault(u["team_id"], set()).add(u["autodesk_id"])
    own = people.get(team_id, set())
    held = ref.drawdown(state, team_id).held
    isolation = {t for t in state.teams if t != team_id}
    for other, ids in people.items():
        if other == team_id:
            continue
        for a in ids - own:
            user = state.users[a]
            isolation |= {a, ref.hashed_id(a, key), user["email"] or a}
    isolation |= {u["usage_id"] for u in state.usage if u["team_id"] != team_id}
    isolation |= set(state.packs) - held
    privacy = set()
    if not state.teams[team_id]["include_pii"]:
        for a in own:
            user = state.users[a]
            full = " ".join(p for p in (user["first_name"], user["last_name"]) if p)
            privacy |= {v for v in (a, user["email"], user["first_name"], user["last_name"], full)
                        if v}  # fmt: skip
    return isolation, privacy


def assert_isolated_and_private(state, team_id, expected, actual, key, label):
    """No other team's and (include_pii = false) no real user identity in any sheet.

    Another team's id may only show as the ``Related team`` of this team's own token event.
    """
    related = {e["related_team_id"] for e in state.events if e["team_id"] == team_id}
    shown = _column(actual, *RELATED_TEAM)
    assert shown <= related, f"{label}: related teams {sorted(shown - related)} not this team's"
    expected_texts = _Texts(_texts(expected))
    actual_texts = _Texts(_texts(actual, skip=RELATED_TEAM))
    isolation, privacy = _forbidden(state, team_id, key)
    for kind, values in (("isolation", isolation), ("privacy", privacy)):
        # A value that the (PII-free, team-only) reference shows is a coincidence, not a leak.
        leaks = sorted(v for v in values if not expected_texts.found(v) and actual_texts.found(v))
        assert not leaks, f"{label}: {kind} leak of {leaks[:5]}"


# --------------------------------------------------------------------------- running


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEX_PII_HASH_KEY", KEY)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for name in ("FLEX_LANDING_DIR", "FLEX_WAREHOUSE", "FLEX_EXPORTS_DIR", "FLEX_DBT_TARGET"):
        monkeypatch.delenv(name, raising=False)
    landing, exports = tmp_path / "landing", tmp_path / "exports"
    landing.mkdir()
    (tmp_path / "warehouse").mkdir()
    return landing, tmp_path / "warehouse" / "flex.duckdb", exports


def check_as_of(landing: Path, as_of: date, warehouse: Path, exports: Path, label: str) -> None:
    from orchestration.pipeline import refresh

    result = refresh(landing, as_of, warehouse, exports)
    expected_books = ref.nightly_workbooks(landing, as_of, KEY)
    state = ref.load_state(landing, as_of)
    written = sorted(exports.glob(f"*/{as_of.isoformat()}/*.xlsx"))
    expected_paths = [
        exports / t / as_of.isoformat() / f"flex_usage_{t}_{as_of.isoformat()}.xlsx"
        for t in sorted(expected_books)
    ]
    assert written == expected_paths, f"{label}: workbooks written"
    assert sorted(Path(p).resolve() for p in result.workbooks) == [
        p.resolve() for p in expected_paths
    ]
    for team_id, expected in expected_books.items():
        path = exports / team_id / as_of.isoformat() / f"flex_usage_{team_id}_{as_of}.xlsx"
        actual = read_workbook(path)
        assert_same_workbook(expected, actual, f"{label} {team_id}")
        assert_isolated_and_private(state, team_id, expected, actual, KEY, f"{label} {team_id}")


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_handmade_scenario(scenario, env):
    landing, warehouse, exports = env
    for as_of in SCENARIOS[scenario](landing):
        check_as_of(landing, as_of, warehouse, exports, f"{scenario} as of {as_of}")


@pytest.mark.slow
def test_generated_landing(env):
    from tools.generate import generate_landing

    landing, warehouse, exports = env
    start, end = date(2026, 1, 19), date(2026, 2, 28)
    generate_landing(landing, start, end, teams=4, seed=11)
    check_as_of(landing, end, warehouse, exports, "generated")


# --------------------------------------------------------------------------- harness checks


def _write_xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    """A minimal correct writer, used only to check this harness itself.

    Sheets the reference does not model get a header row only.
    """
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name in NIGHTLY_SHEETS:
        rows = sheets.get(name) or [[RELATED_TEAM[1]] if name == RELATED_TEAM[0] else ["Topic"]]
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(RISKY_START):
                    cell.data_type = "s"
                    cell.quotePrefix = True
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
    book.save(path)


@pytest.fixture(scope="module")
def privacy_books(tmp_path_factory):
    landing = tmp_path_factory.mktemp("privacy")
    as_of = list(privacy.stages(landing))[-1]
    return ref.load_state(landing, as_of), ref.nightly_workbooks(landing, as_of, KEY)


def test_harness_accepts_a_faithful_workbook(privacy_books, tmp_path):
    state, books = privacy_books
    for team_id, expected in books.items():
        path = tmp_path / f"{team_id}.xlsx"
        _write_xlsx(path, expected)
        actual = read_workbook(path)
        assert_same_workbook(expected, actual, team_id)
        assert_isolated_and_private(state, team_id, expected, actual, KEY, team_id)


def test_harness_rejects_a_changed_cell(privacy_books, tmp_path):
    _state, books = privacy_books
    expected = books["vault"]
    changed = {name: [list(r) for r in rows] for name, rows in expected.items()}
    changed["By product"][1][4] += 1e-6
    _write_xlsx(tmp_path / "v.xlsx", changed)
    with pytest.raises(AssertionError, match="By product"):
        assert_same_workbook(expected, read_workbook(tmp_path / "v.xlsx"), "vault")
    for column, as_text in ((10, date.isoformat), (11, str)):  # Day used, Tokens used
        changed = {name: [list(r) for r in rows] for name, rows in expected.items()}
        changed["Usage"][1][column] = as_text(changed["Usage"][1][column])
        _write_xlsx(tmp_path / "w.xlsx", changed)
        with pytest.raises(AssertionError, match="Usage"):
            assert_same_workbook(expected, read_workbook(tmp_path / "w.xlsx"), "vault")


@pytest.mark.parametrize(
    "leak",
    [
        privacy.ZOE,  # vault member's real id (include_pii = false)
        "zoe@both.example",
        '-Zoë O\'Brien, "Jr"',
        "tabby@open.example",  # an open-team user
        "PO-1",  # open-team's pack
        "UO-05",  # open-team's usage row
    ],
)
def test_harness_detects_leaks(privacy_books, tmp_path, leak):
    state, books = privacy_books
    expected = books["vault"]
    leaked = {name: [list(r) for r in rows] for name, rows in expected.items()}
    leaked["Users"][1][5] = f"note {leak}"
    _write_xlsx(tmp_path / "v.xlsx", leaked)
    with pytest.raises(AssertionError, match="leak"):
        assert_isolated_and_private(
            state, "vault", expected, read_workbook(tmp_path / "v.xlsx"), KEY, "vault"
        )


def test_harness_detects_a_foreign_related_team(privacy_books, tmp_path):
    state, books = privacy_books
    expected = books["vault"]
    other = next(team for team in state.teams if team != "vault")
    leaked = {name: [list(r) for r in rows] for name, rows in expected.items()}
    leaked[RELATED_TEAM[0]] = [[RELATED_TEAM[1]], [other]]
    _write_xlsx(tmp_path / "v.xlsx", leaked)
    with pytest.raises(AssertionError, match=f"related teams \\['{other}'\\] not this team's"):
        assert_isolated_and_private(
            state, "vault", expected, read_workbook(tmp_path / "v.xlsx"), KEY, "vault"
        )


def test_harness_detects_unprotected_formulas(tmp_path):
    book = openpyxl.Workbook()
    book.active["A1"] = "=1+1"
    book.active["A2"] = "-Zoë"
    book.save(tmp_path / "f.xlsx")
    with pytest.raises(AssertionError, match="formula"):
        read_workbook(tmp_path / "f.xlsx")
    del book.active["A1"]
    book.active["A1"] = "'=1+1"
    book.save(tmp_path / "g.xlsx")
    with pytest.raises(AssertionError, match="without protection"):
        read_workbook(tmp_path / "g.xlsx")
