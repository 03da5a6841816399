"""Set-based ingest (``batch.ingest_pending``) gives exactly the per-file path's result.

Both paths load the same landing into their own warehouse: the per-file path
(``loader.ingest``, one delivery at a time) and the set-based path (small batches,
so several batches and a batch boundary are crossed). Every raw table, the
quarantine and the delivery log must hold the same rows (0 rows differ), and both
paths must refuse the same deliveries with the same message. Landings: every
bad-row case of the validation tests in a delivery of its own (also checked
against the case's hand-written quarantine), the hand-made end-to-end scenarios
stage by stage (re-deliveries included), and random landings of fuzzed
deliveries (valid, CSV mutated, or a broken manifest) side by side.

Snapshot files already loaded (same content key) are not read again by the
set-based path, yet every delivery keeps its own rows, rejects and counts.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import ingest_cases_support as validation
import ingest_fuzz_support as fuzz
from handmade import example, late_rows, merge_moves, privacy
from hypothesis import given, settings
from hypothesis import strategies as st
from landing_builder import base_files, render, write_delivery

from orchestration.ingest import batch, loader
from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.deliveries import InvalidDeliveryError, discover

SNAPSHOTS = [e for e in ENTITIES if e.snapshot]
CONTENTS = [f"{e.name}_contents" for e in SNAPSHOTS]
TABLES = [e.name for e in ENTITIES] + CONTENTS + ["quarantine", "snapshot_files"]
INCREMENTS = [e.file_name for e in ENTITIES if not e.snapshot]
FIRST = date(2026, 3, 2)
LANDINGS = settings(fuzz.FUZZ, max_examples=max(fuzz.FUZZ.max_examples // 2, 1))


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    loader.ensure_raw_schema(con)
    return con


def _per_file(con, landing: Path) -> dict[date, str]:
    """Load the pending deliveries one by one; the refusal message of each refused one."""
    refused = {}
    for delivery in loader.pending(con, discover(landing)):
        try:
            loader.ingest(con, delivery)
        except InvalidDeliveryError as err:
            refused[delivery.delivery_date] = str(err)
    return refused


def _set_based(con, landing: Path, size: int = 3) -> dict[date, str]:
    """Load the pending deliveries in batches of ``size``; the refusal message of each."""
    pending = loader.pending(con, discover(landing))
    outcomes = list(batch.ingest_pending(con, pending, size))
    assert [d for d, _ in outcomes] == pending
    return {d.delivery_date: str(r) for d, r in outcomes if isinstance(r, InvalidDeliveryError)}


def _rows(con) -> dict[str, list[tuple]]:
    tables = {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in TABLES}
    tables["deliveries"] = con.execute(
        "SELECT * EXCLUDE (ingested_at) FROM raw.deliveries ORDER BY ALL"
    ).fetchall()
    return tables


def assert_same_load(landing: Path, exact, fast) -> None:
    """Load ``landing``'s pending deliveries both ways; equal outcomes and tables."""
    assert _set_based(fast, landing) == _per_file(exact, landing)
    assert _rows(fast) == _rows(exact)


def test_every_bad_row_case_loads_the_same_in_one_batch(tmp_path):
    days = {}
    for i, (mutate, expected) in enumerate(validation.CASES.values()):
        files = base_files()
        mutate(files)
        day = FIRST + timedelta(days=i)
        write_delivery(tmp_path, day.isoformat(), files)
        days[day] = sorted(expected)
    exact, fast = _warehouse(), _warehouse()
    assert _set_based(fast, tmp_path, size=len(days)) == _per_file(exact, tmp_path) == {}
    assert _rows(fast) == _rows(exact)
    for day, expected in days.items():
        got = fast.execute(
            "SELECT file, line, reason FROM raw.quarantine WHERE delivery_date = ? ORDER BY ALL",
            [day],
        ).fetchall()
        assert got == expected, day


def test_hand_made_scenarios_load_the_same_stage_by_stage(tmp_path):
    for scenario in (example, late_rows, merge_moves, privacy):
        landing = tmp_path / scenario.__name__
        exact, fast = _warehouse(), _warehouse()
        stages = 0
        for _ in scenario.stages(landing):
            assert_same_load(landing, exact, fast)
            stages += 1
        assert stages and _rows(fast)["deliveries"], scenario.__name__


def test_a_malformed_file_among_readable_ones_is_staged_exactly(tmp_path):
    bad = base_files()
    written = {name: render(name, rows) for name, rows in bad.items()}
    for i in range(5):
        files = dict(written)
        if i == 2:  # invalid UTF-8 and a short record: DuckDB cannot read this usage.csv
            files["usage.csv"] = written["usage.csv"] + b"u-x,acme-design,U1,ACD,\xff\n"
        if i == 3:  # a blank line: the reader's record positions would shift the lines
            files["users.csv"] = written["users.csv"].replace(b"\n", b"\n\n", 2)
        write_delivery(tmp_path, (FIRST + timedelta(days=i)).isoformat(), files)
    exact, fast = _warehouse(), _warehouse()
    assert_same_load(tmp_path, exact, fast)
    (rejected,) = fast.execute(
        "SELECT count(*) FROM raw.quarantine WHERE delivery_date = ? AND file = 'usage.csv'",
        [FIRST + timedelta(days=2)],
    ).fetchone()
    assert rejected == 1


@st.composite
def fuzzed_delivery(draw) -> tuple[dict[str, bytes], bytes | None]:
    """A delivery's files (valid, or mutated CSV) and, sometimes, a random manifest."""
    _, files = draw(fuzz.valid_delivery())
    files = dict(files)
    for name, kind, where, payload in draw(st.lists(fuzz.mutation(sorted(files)), max_size=3)):
        files[name] = fuzz.mutate(files[name], kind, where, payload)
    manifest = draw(st.one_of(st.none(), st.binary(max_size=40)))
    return files, manifest


@LANDINGS
@given(st.lists(fuzzed_delivery(), min_size=2, max_size=6))
def test_random_landings_load_the_same(deliveries):
    with tempfile.TemporaryDirectory() as folder:
        landing = Path(folder)
        for i, (files, manifest) in enumerate(deliveries):
            day = (FIRST + timedelta(days=30 + i)).isoformat()  # never fuzz.DAY itself
            fuzz.write(landing, files)
            (landing / fuzz.DAY).rename(landing / day)
            manifest_path = landing / day / "manifest.json"
            text = manifest_path.read_text().replace(fuzz.DAY, day)
            manifest_path.write_bytes(manifest if manifest is not None else text.encode())
        assert_same_load(landing, _warehouse(), _warehouse())


def _spy_reads(monkeypatch) -> list[str]:
    """The ``<delivery>/<file>`` of every file the set-based reader is asked to read."""
    read: list[str] = []
    real = batch._read

    def spy(con, group, table):
        read.extend(f"{f.path.parent.name}/{f.path.name}" for _, f in group.files)
        return real(con, group, table)

    monkeypatch.setattr(batch, "_read", spy)
    return read


def test_a_snapshot_loaded_before_is_not_read_again(tmp_path, monkeypatch):
    read = _spy_reads(monkeypatch)
    files = base_files()
    files["users.csv"].append({"autodesk_id": "U4", "email": ""})  # a bad row: no email
    days = [(FIRST + timedelta(days=i)).isoformat() for i in range(3)]
    write_delivery(tmp_path, days[0], files)
    exact, fast = _warehouse(), _warehouse()
    assert_same_load(tmp_path, exact, fast)
    write_delivery(tmp_path, days[1], files)
    files["usage.csv"] = files["usage.csv"][:1]
    write_delivery(tmp_path, days[2], files)
    read.clear()
    assert_same_load(tmp_path, exact, fast)
    # Only the increments of the new deliveries were read; their snapshots were recorded.
    assert sorted(read) == sorted(f"{d}/{n}" for d in days[1:] for n in INCREMENTS)
    users_rows = fast.execute(
        "SELECT delivery_date, count(*) FROM raw.users GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [n for _, n in users_rows] == [3, 3, 3]
    # ... and stored once: one content, three rows
    assert fast.execute("SELECT count(*) FROM raw.users_contents").fetchall() == [(3,)]
    rejects = fast.execute(
        "SELECT delivery_date, line, reason FROM raw.quarantine ORDER BY ALL"
    ).fetchall()
    assert rejects == [(date.fromisoformat(d), 5, "users.email: missing value") for d in days]


def test_identical_snapshots_in_one_batch_are_read_once(tmp_path, monkeypatch):
    read = _spy_reads(monkeypatch)
    days = [(FIRST + timedelta(days=i)).isoformat() for i in range(4)]
    for day in days:
        write_delivery(tmp_path, day, base_files())
    assert_same_load(tmp_path, _warehouse(), _warehouse())
    snapshots = [r for r in read if r.split("/")[1] not in INCREMENTS]
    assert sorted(snapshots) == sorted(f"{days[0]}/{e.file_name}" for e in SNAPSHOTS)


def test_equal_member_files_under_different_teams_are_checked_again(tmp_path):
    # team_members.csv is byte-identical, but the second delivery's teams.csv lacks a
    # team it names: its content key differs, so the member row is rejected there only.
    files = base_files()
    write_delivery(tmp_path, FIRST.isoformat(), files)
    files["teams.csv"] = [t for t in files["teams.csv"] if t["team_id"] != "northwind_01"]
    files["token_packs.csv"] = [
        p for p in files["token_packs.csv"] if p["team_id"] != "northwind_01"
    ]
    second = FIRST + timedelta(days=1)
    write_delivery(tmp_path, second.isoformat(), files)
    exact, fast = _warehouse(), _warehouse()
    assert_same_load(tmp_path, exact, fast)
    rejected = fast.execute(
        "SELECT delivery_date, file, reason FROM raw.quarantine "
        "WHERE file = 'team_members.csv' ORDER BY ALL"
    ).fetchall()
    reason = "team_members.team_id: unknown team 'northwind_01'"
    assert rejected == [(second, "team_members.csv", reason)] * 2


def test_a_redelivery_drops_the_content_no_delivery_carries_any_more(tmp_path):
    files = base_files()
    write_delivery(tmp_path, FIRST.isoformat(), files)
    exact, fast = _warehouse(), _warehouse()
    assert_same_load(tmp_path, exact, fast)
    files["products.csv"] = files["products.csv"][:1]
    write_delivery(tmp_path, FIRST.isoformat(), files)  # re-delivered with one product
    assert_same_load(tmp_path, exact, fast)
    for con in (exact, fast):
        stored = "SELECT count(DISTINCT content_key), count(*) FROM raw.products_contents"
        assert con.execute(stored).fetchall() == [(1, 1)]


def test_a_warehouse_with_a_copy_per_delivery_is_upgraded_in_place(tmp_path):
    files = base_files()
    for i in range(3):  # equal snapshots, then a changed users file
        if i == 2:
            files["users.csv"] = files["users.csv"][:2]
        write_delivery(tmp_path, (FIRST + timedelta(days=i)).isoformat(), files)
    con = _warehouse()
    _per_file(con, tmp_path)
    before = _rows(con)
    for entity in SNAPSHOTS:  # the former layout: a table holding every delivery's copy
        con.execute(f"CREATE TABLE raw.copies AS SELECT * FROM raw.{entity.name}")
        con.execute(f"DROP VIEW raw.{entity.name}")
        con.execute(f"DROP TABLE raw.{entity.name}_contents")
        con.execute(f"ALTER TABLE raw.copies RENAME TO {entity.name}")
    # deliveries loaded before content keys were recorded get one content each
    con.execute(f"DELETE FROM raw.snapshot_files WHERE delivery_date = DATE '{FIRST}'")
    loader.ensure_raw_schema(con)
    after = _rows(con)
    for table in [e.name for e in SNAPSHOTS] + ["quarantine", "deliveries"]:
        assert after[table] == before[table], table
    users = con.execute("SELECT count(DISTINCT content_key) FROM raw.users_contents").fetchall()
    assert users == [(3,)]  # the first delivery's own, the second's, the third's
    assert con.execute("SELECT count(*) FROM raw.products_contents").fetchall() == [
        (2 * len(files["products.csv"]),)  # the first delivery's own, the shared one
    ]
