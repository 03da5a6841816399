"""Loading deliveries into the raw layer: typed rows, lines, re-deliveries, history."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest
from landing_builder import HEADERS, base_files, csv_text, render, write_delivery

from orchestration.defs.assets.ingest import raw_deliveries
from orchestration.defs.resources import LandingResource, WarehouseResource
from orchestration.ingest import loader
from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.deliveries import InvalidDeliveryError, discover

D = date(2026, 3, 2)
TABLES = (
    "teams",
    "users",
    "team_members",
    "products",
    "token_packs",
    "token_events",
    "usage",
    "quarantine",
)


def ingest_day(con, landing: Path, day: str) -> loader.DeliveryReport:
    (delivery,) = [d for d in discover(landing) if d.delivery_date.isoformat() == day]
    return loader.ingest(con, delivery)


def rows(con, table: str, columns: str = "*") -> list[tuple]:
    return con.execute(f"SELECT {columns} FROM raw.{table} ORDER BY ALL").fetchall()


def snapshot(con) -> dict[str, list[tuple]]:
    state = {t: rows(con, t) for t in TABLES}
    state["deliveries"] = rows(con, "deliveries", "delivery_date, manifest_sha256, files_json")
    return state


def assert_no_temp_tables(con) -> None:
    temp = "SELECT table_name FROM duckdb_tables() WHERE temporary"
    assert con.execute(temp).fetchall() == []


def test_valid_delivery_loads_every_row(tmp_path, con):
    write_delivery(tmp_path, "2026-03-02", base_files())
    report = ingest_day(con, tmp_path, "2026-03-02")

    assert rows(con, "usage") == [
        ("X1", "acme-design", "U1", "ACD", "2026", D, datetime(2026, 3, 2, 7, 58, 12), 7, D, 2),
        ("X2", "northwind_01", "U2", "RVT", "2025", D, datetime(2026, 3, 2, 10, 4, 40), 10, D, 3),
        ("X3", "northwind_01", "U3", "ACD", "2026", date(2026, 2, 27),
         datetime(2026, 2, 27, 16, 30), 0, D, 4),
    ]  # fmt: skip
    moved = datetime(2026, 3, 2, 9, 0, 0, 250000)
    assert rows(con, "token_events") == [
        ("E1", datetime(2026, 3, 2, 8, 15), "northwind_01", "S2", "purchase", 500, None, D, 2),
        ("E2", moved, "acme-design", "S1", "move_out", -100, "northwind_01", D, 3),
        ("E3", moved, "northwind_01", "S1", "move_in", 100, "acme-design", D, 4),
    ]
    assert rows(con, "teams") == [
        ("acme-design", "Acme Design, Inc.", True, "active", None, D, 2),
        ("northwind_01", "Northwind", False, "active", None, D, 3),
        ("old-team", "Old team", True, "merged", "acme-design", D, 4),
    ]
    assert rows(con, "token_packs") == [
        ("S1", "C1", "acme-design", "Flex", "Annual", 1000, date(2026, 1, 1), date(2026, 1, 1),
         date(2026, 12, 31), "R", "r@x.example", D, 2),
        ("S2", "C2", "northwind_01", "Flex", "Annual", 500, D, D, date(2027, 3, 1), None, None,
         D, 3),
    ]  # fmt: skip
    assert rows(con, "products") == [
        ("ACD", "AutoCAD", 7, "DESKTOP_PRODUCT", D, 2),
        ("RVT", "Revit", 10, "DESKTOP_PRODUCT", D, 3),
    ]
    assert rows(con, "users", "autodesk_id, source_line") == [("U1", 2), ("U2", 3), ("U3", 4)]
    assert rows(con, "team_members", "team_id, autodesk_id, role, source_line") == [
        ("acme-design", "U1", "admin", 2),
        ("northwind_01", "U2", "admin", 3),
        ("northwind_01", "U3", "user", 4),
    ]
    assert rows(con, "quarantine") == []

    expected_counts = {"teams.csv": 3, "users.csv": 3, "team_members.csv": 3, "products.csv": 2,
                       "token_packs.csv": 2, "token_events.csv": 3, "usage.csv": 3}  # fmt: skip
    assert {n: (f.rows, f.loaded, f.rejected) for n, f in report.files.items()} == {
        n: (c, c, 0) for n, c in expected_counts.items()
    }
    assert (report.rows_loaded, report.rows_rejected) == (19, 0)
    ((day, sha, files_json),) = rows(
        con, "deliveries", "delivery_date, manifest_sha256, files_json"
    )
    assert (day, sha) == (D, discover(tmp_path)[0].manifest_sha256)
    assert json.loads(files_json)["usage.csv"] == {
        "rows": 3, "loaded": 3, "rejected": 0, "extra_columns": []
    }  # fmt: skip
    assert loader.pending(con, discover(tmp_path)) == []
    assert_no_temp_tables(con)
    loader.table_counts(con)
    assert con.sql("SELECT 1").fetchall() == [(1,)]  # no half-read result left behind


def test_extra_column_is_ignored_and_reported(tmp_path, con):
    files = base_files()
    files["usage.csv"][0]["note"] = "ignore me"
    write_delivery(tmp_path, "2026-03-02", files)
    report = ingest_day(con, tmp_path, "2026-03-02")
    assert report.files["usage.csv"].extra_columns == ("note",)
    assert report.files["users.csv"].extra_columns == ()
    assert rows(con, "usage", "usage_id, tokens") == [("X1", 7), ("X2", 10), ("X3", 0)]
    files_json = rows(con, "deliveries", "files_json")[0][0]
    assert json.loads(files_json)["usage.csv"]["extra_columns"] == ["note"]
    assert report.extra_columns == {"2026-03-02/usage.csv": ["note"]}


def test_extra_columns_are_logged_once_per_file_and_in_the_asset_metadata(tmp_path):
    files = base_files()
    for i, row in enumerate(files["usage.csv"]):
        row.update(note=f"n{i}", source="crm")
    files["teams.csv"][0]["legacy_id"] = "17"
    landing = tmp_path / "landing"
    write_delivery(landing, "2026-03-02", files)
    instance = dg.DagsterInstance.ephemeral()
    resources = {
        "landing": LandingResource(path=str(landing)),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
    }

    def run() -> tuple[dict, list[str]]:
        result = dg.materialize([raw_deliveries], instance=instance, resources=resources)
        (usage,) = [
            m for m in result.asset_materializations_for_node("raw_deliveries")
            if m.asset_key == dg.AssetKey(["raw", "usage"])
        ]  # fmt: skip
        warnings = [
            e.user_message
            for e in instance.all_logs(result.run_id)
            if e.level == logging.WARNING and "unknown column" in e.user_message
        ]
        return usage.metadata["extra_columns"].value, warnings

    metadata, warnings = run()
    assert metadata == {
        "2026-03-02/teams.csv": ["legacy_id"],
        "2026-03-02/usage.csv": ["note", "source"],
    }
    assert sorted(warnings) == [
        "2026-03-02/teams.csv: unknown column(s) ignored: legacy_id",
        "2026-03-02/usage.csv: unknown column(s) ignored: note, source",
    ]
    assert run() == ({}, [])  # unchanged delivery: not ingested, not reported again


def test_one_run_loads_every_pending_delivery_with_one_event_per_raw_asset(tmp_path):
    landing = tmp_path / "landing"
    for day in ("2026-03-02", "2026-03-03", "2026-03-04"):
        write_delivery(landing, day)
    instance = dg.DagsterInstance.ephemeral()
    resources = {
        "landing": LandingResource(path=str(landing)),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
    }

    def run() -> list[dg.AssetMaterialization]:
        result = dg.materialize([raw_deliveries], instance=instance, resources=resources)
        return result.asset_materializations_for_node("raw_deliveries")

    first = run()
    # one materialization per raw asset, not one per asset and delivery
    assert sorted(m.asset_key.path[-1] for m in first) == sorted(
        [e.name for e in ENTITIES] + ["deliveries", "quarantine", "snapshot_files"]
    )
    assert {m.partition for m in first} == {None}
    usage = next(m for m in first if m.asset_key == dg.AssetKey(["raw", "usage"]))
    assert usage.metadata["ingested_deliveries"].value == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]
    write_delivery(
        landing, "2026-03-03", {**base_files(), "usage.csv": base_files()["usage.csv"][:2]}
    )
    again = next(m for m in run() if m.asset_key == dg.AssetKey(["raw", "usage"]))
    assert again.metadata["ingested_deliveries"].value == ["2026-03-03"]  # the re-delivery only
    assert again.metadata["deliveries_unchanged"].value == 2


@pytest.mark.parametrize("fallback", [False, True], ids=["duckdb", "python"])
def test_repeated_unknown_column_is_ignored(tmp_path, con, fallback):
    files = base_files()
    header = (*HEADERS["usage.csv"], "note", "note")
    lines = [",".join(header)]
    for row, notes in zip(files["usage.csv"], (("a", "b"), ("c", "d"), ("e", "f")), strict=True):
        lines.append(",".join([row[h] for h in HEADERS["usage.csv"]] + list(notes)))
    lines[3] = lines[3].replace(",0,", ",-1,")  # X3: negative tokens, quarantined
    data = "\n".join(lines).encode() + b"\n"
    if fallback:  # a non-UTF-8 byte in X2 sends the file to the Python parser
        data = data.replace(b"RVT,2025", b"RVT,20\xff25")
    files["usage.csv"] = data
    write_delivery(tmp_path, "2026-03-02", files)
    report = ingest_day(con, tmp_path, "2026-03-02")
    assert report.files["usage.csv"].extra_columns == ("note",)
    assert rows(con, "usage", "usage_id") == ([("X1",)] if fallback else [("X1",), ("X2",)])
    raw = dict(con.execute("SELECT line, raw_values FROM raw.quarantine").fetchall())
    assert {k: v for k, v in json.loads(raw[4]).items() if "note" in k} == {
        "note": "e",
        "note#10": "f",
    }


def test_column_order_may_differ(tmp_path, con):
    files = base_files()
    files["usage.csv"] = csv_text(tuple(reversed(HEADERS["usage.csv"])), files["usage.csv"])
    write_delivery(tmp_path, "2026-03-02", files)
    ingest_day(con, tmp_path, "2026-03-02")
    assert rows(con, "usage", "usage_id, team_id, version, tokens, source_line") == [
        ("X1", "acme-design", "2026", 7, 2),
        ("X2", "northwind_01", "2025", 10, 3),
        ("X3", "northwind_01", "2026", 0, 4),
    ]


def test_byte_order_mark_before_header(tmp_path, con):
    files = base_files()
    files["usage.csv"] = b"\xef\xbb\xbf" + render("usage.csv", files["usage.csv"])
    write_delivery(tmp_path, "2026-03-02", files)
    ingest_day(con, tmp_path, "2026-03-02")
    assert rows(con, "usage", "usage_id, source_line") == [("X1", 2), ("X2", 3), ("X3", 4)]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_quoted_fields_with_comma_quote_newline(tmp_path, con, newline):
    files = base_files()
    nl = newline
    files["teams.csv"] = (
        f"team_id,team_alias,include_pii,status,merged_into_team_id{nl}"
        f'acme-design,"Acme, ""Design""{nl}Inc.",true,active,{nl}'
        f'northwind_01,"two{nl}line{nl}breaks",false,active,{nl}'
        f"old-team,Old team,true,merged,acme-design{nl}"
    )
    write_delivery(tmp_path, "2026-03-02", files)
    ingest_day(con, tmp_path, "2026-03-02")
    assert rows(con, "teams", "team_id, team_alias, source_line") == [
        ("acme-design", f'Acme, "Design"{nl}Inc.', 2),
        ("northwind_01", f"two{nl}line{nl}breaks", 4),
        ("old-team", "Old team", 7),
    ]


def test_blank_lines_are_not_records_but_count_as_lines(tmp_path, con):
    files = base_files()
    header, x1, x2, x3 = render("usage.csv", files["usage.csv"]).decode().splitlines()
    files["usage.csv"] = f"{header}\n{x1}\n\n{x2}\n{x3}\n\n"
    write_delivery(tmp_path, "2026-03-02", files)
    report = ingest_day(con, tmp_path, "2026-03-02")
    assert report.files["usage.csv"].rows == 3
    assert rows(con, "usage", "usage_id, source_line") == [("X1", 2), ("X2", 4), ("X3", 5)]


def test_python_fallback_counts_lines_of_multiline_records(tmp_path, con):
    files = base_files()
    files["teams.csv"] = (
        "team_id,team_alias,include_pii,status,merged_into_team_id\n"
        '"acme-design","Acme\n\nDesign",true,active,\n'
        "\n"
        "northwind_01,North,false,active,\n"
        "old-team,\xe9t\xe9,true,merged,acme-design"
    ).encode("latin-1")
    write_delivery(tmp_path, "2026-03-02", files)
    ingest_day(con, tmp_path, "2026-03-02")
    assert rows(con, "teams", "team_id, team_alias, source_line") == [
        ("acme-design", "Acme\n\nDesign", 2),
        ("northwind_01", "North", 6),
    ]
    assert rows(con, "quarantine", "file, line, reason") == [
        ("teams.csv", 7, "teams.team_alias: invalid UTF-8 bytes")
    ]


def test_redelivery_replaces_rows_of_that_delivery_only(tmp_path, con):
    files = base_files()
    files["usage.csv"][1]["tokens"] = "-3"  # quarantined in the first version
    write_delivery(tmp_path, "2026-03-02", files)
    write_delivery(tmp_path, "2026-03-03", base_files())
    for day in ("2026-03-02", "2026-03-03"):
        ingest_day(con, tmp_path, day)
    assert rows(con, "quarantine", "delivery_date, file, line") == [(D, "usage.csv", 3)]

    fixed = base_files()
    fixed["usage.csv"] = fixed["usage.csv"][:1]
    write_delivery(tmp_path, "2026-03-02", fixed)
    assert [d.delivery_date for d in loader.pending(con, discover(tmp_path))] == [D]
    ingest_day(con, tmp_path, "2026-03-02")

    assert rows(con, "usage", "usage_id, delivery_date") == [
        ("X1", D),
        ("X1", date(2026, 3, 3)),
        ("X2", date(2026, 3, 3)),
        ("X3", date(2026, 3, 3)),
    ]
    assert rows(con, "quarantine") == []
    assert rows(con, "deliveries", "delivery_date") == [(D,), (date(2026, 3, 3),)]
    assert loader.pending(con, discover(tmp_path)) == []


def test_invalid_redelivery_keeps_the_old_rows(tmp_path, con):
    files = base_files()
    files["usage.csv"][1]["tokens"] = "-3"
    write_delivery(tmp_path, "2026-03-02", files)
    ingest_day(con, tmp_path, "2026-03-02")
    before = snapshot(con)

    write_delivery(tmp_path, "2026-03-02", base_files(), {"files": {"usage.csv": {"rows": 7}}})
    assert len(loader.pending(con, discover(tmp_path))) == 1
    with pytest.raises(InvalidDeliveryError, match="usage.csv: record count mismatch"):
        ingest_day(con, tmp_path, "2026-03-02")
    assert snapshot(con) == before
    assert_no_temp_tables(con)


def test_late_rows_and_corrections_keep_both_versions(tmp_path, con):
    write_delivery(tmp_path, "2026-03-02", base_files())
    later = base_files()
    later["usage.csv"] = [
        {**later["usage.csv"][0], "tokens": "8"},  # X1 corrected
        {**later["usage.csv"][1], "usage_id": "X0", "usage_date": "2026-02-20",
         "charge_ts": "2026-02-20T12:00:00Z"},  # a late row
    ]  # fmt: skip
    write_delivery(tmp_path, "2026-03-03", later)
    for day in ("2026-03-02", "2026-03-03"):
        ingest_day(con, tmp_path, day)
    e = date(2026, 3, 3)
    assert rows(con, "usage", "usage_id, usage_date, tokens, delivery_date, source_line") == [
        ("X0", date(2026, 2, 20), 10, e, 3),
        ("X1", D, 7, D, 2),
        ("X1", D, 8, e, 2),
        ("X2", D, 10, D, 3),
        ("X3", date(2026, 2, 27), 0, D, 4),
    ]


def test_ingesting_the_same_delivery_twice_changes_nothing(tmp_path, con):
    files = base_files()
    files["usage.csv"][2]["autodesk_id"] = "nobody"
    write_delivery(tmp_path, "2026-03-02", files)
    first = ingest_day(con, tmp_path, "2026-03-02")
    before = snapshot(con)
    second = ingest_day(con, tmp_path, "2026-03-02")
    assert snapshot(con) == before
    assert first == second
    assert loader.table_counts(con) == {
        "teams": 3, "users": 3, "team_members": 3, "products": 2, "token_packs": 2,
        "token_events": 3, "usage": 2, "quarantine": 1, "deliveries": 1, "snapshot_files": 5,
    }  # fmt: skip


def test_bad_row_never_replaces_a_good_one(tmp_path, con):
    write_delivery(tmp_path, "2026-03-02", base_files())
    resent = base_files()
    resent["usage.csv"][0]["tokens"] = "-5"  # X1 again, now bad
    write_delivery(tmp_path, "2026-03-03", resent)
    for day in ("2026-03-02", "2026-03-03"):
        ingest_day(con, tmp_path, day)
    e = date(2026, 3, 3)
    assert rows(con, "quarantine", "delivery_date, file, line, reason") == [
        (e, "usage.csv", 2, "usage.tokens: negative value '-5'")
    ]
    assert rows(con, "usage", "usage_id, tokens, delivery_date") == [
        ("X1", 7, D),
        ("X2", 10, D),
        ("X2", 10, e),
        ("X3", 0, D),
        ("X3", 0, e),
    ]
