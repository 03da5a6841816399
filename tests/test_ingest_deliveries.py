"""Delivery discovery and contract verification: invalid deliveries load nothing."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from landing_builder import HEADERS, base_files, csv_text, write_delivery

from orchestration.ingest import loader
from orchestration.ingest.content import SNAPSHOTS
from orchestration.ingest.deliveries import InvalidDeliveryError, discover


def ingest_day(con, landing: Path, day: str) -> loader.DeliveryReport:
    (delivery,) = [d for d in discover(landing) if d.delivery_date.isoformat() == day]
    return loader.ingest(con, delivery)


def assert_nothing_loaded(con) -> None:
    assert set(loader.table_counts(con).values()) == {0}
    assert con.execute("SELECT count(*) FROM raw.deliveries").fetchall()[0][0] == 0


def test_discover_keeps_only_complete_date_folders(tmp_path):
    write_delivery(tmp_path, "2026-03-02")
    write_delivery(tmp_path, "2026-03-01")
    write_delivery(tmp_path, "2026-03-03", manifest=False)  # still being written
    write_delivery(tmp_path, "2026-02-30")  # not a date
    write_delivery(tmp_path, "latest")
    write_delivery(tmp_path, "2026-3-04")
    (tmp_path / "2026-03-05").write_text("a file, not a folder")
    found = discover(tmp_path)
    assert [d.delivery_date for d in found] == [date(2026, 3, 1), date(2026, 3, 2)]
    assert found[0].path == tmp_path / "2026-03-01"
    assert [d.delivery_date for d in discover(tmp_path, date(2026, 3, 1))] == [date(2026, 3, 1)]
    assert discover(tmp_path / "missing") == []


def test_folder_without_manifest_is_not_pending(tmp_path, con):
    write_delivery(tmp_path, "2026-03-02", base_files(), manifest=False)
    assert loader.pending(con, discover(tmp_path)) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"files": {"usage.csv": {"sha256": "0" * 64}}},
            "delivery 2026-03-02: usage.csv: sha256 mismatch",
        ),
        (
            {"files": {"usage.csv": {"rows": 4}}},
            "delivery 2026-03-02: usage.csv: record count mismatch (manifest 4, file 3)",
        ),
        (
            {"files": {"teams.csv": None}},
            "delivery 2026-03-02: manifest.json: teams.csv is not listed",
        ),
        (
            {"delivery_date": "2026-03-01"},
            "delivery 2026-03-02: manifest.json: delivery_date '2026-03-01' does not match",
        ),
        (
            {"files": {"users.csv": {"rows": "3"}}},
            "delivery 2026-03-02: manifest.json: users.csv: 'rows' must be a non-negative",
        ),
    ],
)
def test_manifest_mismatch_is_invalid(tmp_path, con, overrides, message):
    write_delivery(tmp_path, "2026-03-02", base_files(), overrides)
    with pytest.raises(InvalidDeliveryError) as err:
        ingest_day(con, tmp_path, "2026-03-02")
    assert str(err.value).startswith(message)
    assert_nothing_loaded(con)


def test_listed_file_missing_is_invalid(tmp_path, con):
    folder = write_delivery(tmp_path, "2026-03-02", base_files())
    (folder / "products.csv").unlink()
    with pytest.raises(InvalidDeliveryError, match="products.csv: listed in the manifest but"):
        ingest_day(con, tmp_path, "2026-03-02")
    assert_nothing_loaded(con)


def test_missing_required_column_is_invalid(tmp_path, con):
    files = base_files()
    header = ("usage_id", "team_id", "autodesk_id", "version", "usage_date", "charge_ts", "tokens")
    files["usage.csv"] = csv_text(header, files["usage.csv"])
    write_delivery(tmp_path, "2026-03-02", files)
    with pytest.raises(InvalidDeliveryError) as err:
        ingest_day(con, tmp_path, "2026-03-02")
    assert str(err.value) == (
        "delivery 2026-03-02: usage.csv: missing required column(s): product_line_code"
    )
    assert_nothing_loaded(con)


def test_repeated_required_column_is_invalid(tmp_path, con):
    files = base_files()
    header = ("usage_id", "team_id", "autodesk_id", "product_line_code", "version",
              "usage_date", "charge_ts", "tokens", "tokens")  # fmt: skip
    files["usage.csv"] = csv_text(header, files["usage.csv"])
    write_delivery(tmp_path, "2026-03-02", files)
    with pytest.raises(InvalidDeliveryError) as err:
        ingest_day(con, tmp_path, "2026-03-02")
    assert str(err.value) == "delivery 2026-03-02: usage.csv: duplicate column(s) in header: tokens"
    assert_nothing_loaded(con)


def test_empty_file_is_invalid(tmp_path, con):
    write_delivery(tmp_path, "2026-03-02", {**base_files(), "users.csv": ""})
    with pytest.raises(InvalidDeliveryError, match="users.csv: empty file, no header"):
        ingest_day(con, tmp_path, "2026-03-02")
    assert_nothing_loaded(con)


def test_unterminated_quote_is_invalid(tmp_path, con):
    text = csv_text(("product_line_code", "product_name", "tokens_per_day", "usage_category"), [])
    text += 'ACD,"AutoCAD,7,DESKTOP_PRODUCT\nRVT,Revit,10,DESKTOP_PRODUCT\n'
    write_delivery(
        tmp_path,
        "2026-03-02",
        {**base_files(), "products.csv": text},
        {"files": {"products.csv": {"rows": 1}}},
    )
    with pytest.raises(InvalidDeliveryError, match=r"products.csv: unparsable CSV at line 2"):
        ingest_day(con, tmp_path, "2026-03-02")
    assert_nothing_loaded(con)


def test_manifest_rewritten_after_discovery_is_refused(tmp_path, con):
    write_delivery(tmp_path, "2026-03-02", base_files())
    (delivery,) = discover(tmp_path)
    write_delivery(tmp_path, "2026-03-02", {**base_files(), "usage.csv": []})
    with pytest.raises(InvalidDeliveryError, match="manifest changed since discovery"):
        loader.ingest(con, delivery)
    assert_nothing_loaded(con)


EXTRA = b'id,text\n1,"two\nlines"\n2,plain\n'  # 2 records on 4 lines
EXTRA_SHA = hashlib.sha256(EXTRA).hexdigest()


def test_listed_extra_file_is_verified_but_not_loaded(tmp_path, con):
    folder = write_delivery(
        tmp_path,
        "2026-03-02",
        base_files(),
        {"files": {"extra.csv": {"rows": 2, "sha256": EXTRA_SHA}}},
    )
    (folder / "extra.csv").write_bytes(EXTRA)
    (folder / "unlisted.csv").write_bytes(b'"unterminated\n')  # not listed: never read
    report = ingest_day(con, tmp_path, "2026-03-02")
    assert sorted(report.files) == sorted(HEADERS)
    assert report.rows_loaded == 19
    raw_tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY 1"
    ).fetchall()
    snapshots = {e.name for e in SNAPSHOTS}
    entities = [n.removesuffix(".csv") for n in HEADERS]
    stored = [f"{n}_contents" if n in snapshots else n for n in entities]
    bookkeeping = ["deliveries", "quarantine", "snapshot_files"]
    assert [t for (t,) in raw_tables] == sorted([*stored, *bookkeeping])
    views = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'raw' ORDER BY 1"
    ).fetchall()
    assert [v for (v,) in views] == sorted(snapshots)


@pytest.mark.parametrize(
    ("entry", "content", "message"),
    [
        ({"rows": 2, "sha256": EXTRA_SHA}, None, "extra.csv: listed in the manifest but missing"),
        (
            {"rows": 2, "sha256": "ab" * 32},
            EXTRA,
            f"extra.csv: sha256 mismatch (manifest {'ab' * 32}, file {EXTRA_SHA})",
        ),
        (
            {"rows": 3, "sha256": EXTRA_SHA},
            EXTRA,
            "extra.csv: record count mismatch (manifest 3, file 2)",
        ),
        (
            {"rows": 1, "sha256": hashlib.sha256(b'id\n"open\n').hexdigest()},
            b'id\n"open\n',
            "extra.csv: unparsable CSV at line 2 (unexpected end of data)",
        ),
        ({"rows": 2}, EXTRA, "manifest.json: extra.csv: 'sha256' must be 64 hex digits"),
    ],
    ids=["missing", "sha256", "rows", "not CSV", "bad entry"],
)
def test_listed_extra_file_that_does_not_match_invalidates_the_delivery(
    tmp_path, con, entry, content, message
):
    folder = write_delivery(tmp_path, "2026-03-02", base_files(), {"files": {"extra.csv": entry}})
    if content is not None:
        (folder / "extra.csv").write_bytes(content)
    with pytest.raises(InvalidDeliveryError) as err:
        ingest_day(con, tmp_path, "2026-03-02")
    assert str(err.value) == f"delivery 2026-03-02: {message}"
    assert_nothing_loaded(con)


def test_listed_file_outside_the_delivery_folder_is_a_path(tmp_path, con):
    (tmp_path / "extra.csv").write_bytes(EXTRA)  # exists, but beside the delivery folder
    entry = {"rows": 2, "sha256": EXTRA_SHA}
    write_delivery(tmp_path, "2026-03-02", base_files(), {"files": {"../extra.csv": entry}})
    with pytest.raises(InvalidDeliveryError) as err:
        ingest_day(con, tmp_path, "2026-03-02")
    assert str(err.value) == (
        "delivery 2026-03-02: ../extra.csv: manifest entry is a path (with '/', '\\' or '..') "
        "instead of a file name of the delivery folder"
    )
    assert_nothing_loaded(con)
