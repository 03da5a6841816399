"""Ingest hardening: token bounds, manifest shape, the field limit and symbolic links."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from landing_builder import base_files, render, write_delivery

from orchestration.ingest import loader
from orchestration.ingest.deliveries import InvalidDeliveryError, discover

DAY = "2026-03-02"


def ingest(con, landing: Path) -> loader.DeliveryReport:
    (delivery,) = discover(landing)
    return loader.ingest(con, delivery)


def quarantine(con) -> list[tuple]:
    return con.execute("SELECT file, line, reason FROM raw.quarantine ORDER BY ALL").fetchall()


def refused(con, landing: Path) -> str:
    with pytest.raises(InvalidDeliveryError) as err:
        ingest(con, landing)
    assert set(loader.table_counts(con).values()) == {0}, "an invalid delivery loaded rows"
    return str(err.value)


# --- 1. token bounds ---------------------------------------------------------------------

INT64_MAX = "9223372036854775807"
BOUNDS = {
    "usage above 1e6": (
        "usage.csv", 0, {"tokens": "1000001"},
        "usage.tokens: must be <= 1000000, got '1000001'",
    ),
    "usage int64 max": (
        "usage.csv", 1, {"tokens": INT64_MAX},
        f"usage.tokens: must be <= 1000000, got '{INT64_MAX}'",
    ),
    "usage beyond int64": (
        "usage.csv", 2, {"tokens": "-" + "9" * 30},
        f"usage.tokens: integer out of range '-{'9' * 30}'",
    ),
    "tokens_per_day above 1e6": (
        "products.csv", 1, {"tokens_per_day": "1000001"},
        "products.tokens_per_day: must be <= 1000000, got '1000001'",
    ),
    "tokens_per_day negative": (
        "products.csv", 1, {"tokens_per_day": "-1"},
        "products.tokens_per_day: negative value '-1'",
    ),
    "tokens_purchased above 1e9": (
        "token_packs.csv", 0, {"tokens_purchased": "1000000001"},
        "token_packs.tokens_purchased: must be <= 1000000000, got '1000000001'",
    ),
    "event above 1e9": (
        "token_events.csv", 0, {"tokens": INT64_MAX},
        f"token_events.tokens: must be <= 1000000000, got '{INT64_MAX}'",
    ),
    "event below -1e9": (
        "token_events.csv", 1, {"tokens": "-1000000001"},
        "token_events.tokens: must be >= -1000000000, got '-1000000001'",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("file", "index", "values", "reason"), BOUNDS.values(), ids=BOUNDS)
def test_token_values_outside_the_contract_bounds_are_bad_rows(
    tmp_path, con, file, index, values, reason
):
    files = base_files()
    files[file][index].update(values)
    write_delivery(tmp_path, DAY, files)
    report = ingest(con, tmp_path)
    line = index + 2
    got = [q for q in quarantine(con) if q[:2] == (file, line)]
    assert got == [(file, line, reason)]
    assert report.files[file].rejected == 1
    table = file.removesuffix(".csv")
    assert con.execute(f"SELECT count(*) FROM raw.{table}").fetchall()[0][0] == len(files[file]) - 1


def test_token_values_at_the_bounds_load(tmp_path, con):
    files = base_files()
    files["usage.csv"][0]["tokens"] = "1000000"
    files["products.csv"][0]["tokens_per_day"] = "0"
    files["products.csv"][1]["tokens_per_day"] = "1000000"
    files["token_packs.csv"][1]["tokens_purchased"] = "1000000000"
    files["token_events.csv"][0]["tokens"] = "1000000000"
    files["token_events.csv"][1]["tokens"] = "-1000000000"
    write_delivery(tmp_path, DAY, files)
    report = ingest(con, tmp_path)
    assert report.rows_rejected == 0
    got = con.execute(
        "SELECT (SELECT max(tokens) FROM raw.usage), (SELECT min(tokens) FROM raw.token_events),"
        " (SELECT max(tokens_purchased) FROM raw.token_packs)"
    ).fetchall()
    assert got == [(1_000_000, -1_000_000_000, 1_000_000_000)]


# --- 2. manifest ---------------------------------------------------------------------------


def _rewrite_manifest(folder: Path, text: str) -> None:
    (folder / "manifest.json").write_text(text)


def _manifest_doc(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_deeply_nested_manifest_is_invalid_naming_the_manifest(tmp_path, con):
    folder = write_delivery(tmp_path, DAY, base_files())
    _rewrite_manifest(folder, "[" * 200_000 + "]" * 200_000)
    assert refused(con, tmp_path) == (
        f"delivery {DAY}: manifest.json: not of the documented shape (nested deeper than 3 levels)"
    )


def test_manifest_nesting_counts_brackets_outside_strings_only(tmp_path, con):
    folder = write_delivery(tmp_path, DAY, base_files())
    doc = _manifest_doc(folder)
    doc["note"] = "[[[[{{{{ brackets in a string are text ]]]]"
    _rewrite_manifest(folder, json.dumps(doc))
    assert ingest(con, tmp_path).rows_rejected == 0


def test_manifest_entry_nested_deeper_than_the_shape_is_invalid(tmp_path, con):
    folder = write_delivery(tmp_path, DAY, base_files())
    doc = _manifest_doc(folder)
    doc["files"]["usage.csv"]["extra"] = {"deeper": 1}
    _rewrite_manifest(folder, json.dumps(doc))
    assert "nested deeper than 3 levels" in refused(con, tmp_path)


@pytest.mark.parametrize("level", ["top", "files", "entry"])
def test_duplicate_manifest_keys_are_invalid_at_any_level(tmp_path, con, level):
    folder = write_delivery(tmp_path, DAY, base_files())
    text = (folder / "manifest.json").read_text()
    doc = _manifest_doc(folder)
    usage = json.dumps(doc["files"]["usage.csv"])
    duplicated = {
        "top": text.replace('"files"', f'"delivery_date": "{DAY}", "files"', 1),
        "files": text.replace('"usage.csv"', f'"usage.csv": {usage}, "usage.csv"', 1),
        "entry": text.replace('"rows"', '"rows": 0, "rows"', 1),
    }[level]
    _rewrite_manifest(folder, duplicated)
    key = {"top": "delivery_date", "files": "usage.csv", "entry": "rows"}[level]
    assert refused(con, tmp_path).startswith(
        f"delivery {DAY}: manifest.json: not valid JSON (duplicate key(s) '{key}'"
    )


SHAPES = {
    "array": ("[]", "manifest is not a JSON object"),
    "string": ('"2026-03-02"', "manifest is not a JSON object"),
    "date not a string": (
        '{"delivery_date": 20260302, "files": {}}',
        "'delivery_date' is missing or not a string",
    ),
    "files a list": (
        '{"delivery_date": "2026-03-02", "files": []}',
        "'files' is missing or not an object",
    ),
    "rows a float": (None, "usage.csv: 'rows' must be a non-negative integer"),
    "not UTF-8": ('{"delivery_date": "\xff"}', "unreadable manifest"),
    "huge integer": ('{"rows": ' + "9" * 5000 + "}", "not valid JSON"),
}


@pytest.mark.parametrize(("text", "reason"), SHAPES.values(), ids=SHAPES)
def test_manifest_not_of_the_documented_shape_is_invalid(tmp_path, con, text, reason):
    folder = write_delivery(tmp_path, DAY, base_files())
    if text is None:
        doc = _manifest_doc(folder)
        doc["files"]["usage.csv"]["rows"] = 3.0
        text = json.dumps(doc)
    (folder / "manifest.json").write_bytes(text.encode("latin-1"))
    message = refused(con, tmp_path)
    assert message.startswith(f"delivery {DAY}: manifest.json: {reason}")


@pytest.mark.parametrize("name", ["../usage.csv", "/etc/passwd", "sub/usage.csv", "a\\b.csv"])
def test_manifest_entry_naming_a_path_is_invalid_with_that_reason(tmp_path, con, name):
    write_delivery(tmp_path, DAY, base_files(), {"files": {name: {"rows": 0, "sha256": "0" * 64}}})
    assert refused(con, tmp_path) == (
        f"delivery {DAY}: {name}: manifest entry is a path (with '/', '\\' or '..') "
        "instead of a file name of the delivery folder"
    )


# --- 3. the field limit --------------------------------------------------------------------

LIMIT = 65_536


def _long_alias_files(length: int) -> dict:
    files = base_files()
    files["teams.csv"].append(
        {"team_id": "longname", "team_alias": "é" * length, "include_pii": "true",
         "status": "active"}
    )  # fmt: skip
    return files


@pytest.mark.parametrize(
    ("length", "short_bad_row"),
    [(LIMIT + 1, False), (200_000, False), (200_000, True), (1_500_000, False), (2_200_000, False)],
    ids=["limit+1", "200K", "200K + python parser", "1.5M", "2.2M"],
)
def test_field_longer_than_the_limit_makes_its_row_bad_whatever_the_parser(
    tmp_path, con, length, short_bad_row
):
    folder = write_delivery(tmp_path, DAY, _long_alias_files(length))
    if short_bad_row:  # a row DuckDB's reader refuses (5 fields): the Python parser runs
        users = render("users.csv", base_files()["users.csv"]) + b"U9,x,a,b,c\n"
        (folder / "users.csv").write_bytes(users)
        write_delivery_manifest(folder)
    report = ingest(con, tmp_path)
    assert (report.files["teams.csv"].rows, report.files["teams.csv"].rejected) == (4, 1)
    assert ("teams.csv", 5, f"teams.team_alias: field longer than {LIMIT:,} characters") in (
        quarantine(con)
    )
    (raw,) = con.execute(
        "SELECT raw_values FROM raw.quarantine WHERE file = 'teams.csv'"
    ).fetchall()[0]
    values = json.loads(raw)
    assert values["team_alias"] == "é" * 1024
    assert values["team_id"] == "longname"
    assert con.execute("SELECT count(*) FROM raw.teams").fetchall()[0][0] == 3


def test_field_at_the_limit_loads(tmp_path, con):
    write_delivery(tmp_path, DAY, _long_alias_files(LIMIT))
    report = ingest(con, tmp_path)
    assert report.rows_rejected == 0
    got = con.execute("SELECT length(team_alias) FROM raw.teams WHERE team_id = 'longname'")
    assert got.fetchall() == [(LIMIT,)]


def write_delivery_manifest(folder: Path) -> None:
    """Recompute the manifest of ``folder`` after a file was rewritten by hand."""
    doc = _manifest_doc(folder)
    for name, entry in doc["files"].items():
        data = (folder / name).read_bytes()
        entry["sha256"] = hashlib.sha256(data).hexdigest()
    doc["files"]["users.csv"]["rows"] += 1
    _rewrite_manifest(folder, json.dumps(doc))


# --- 8. symbolic links ---------------------------------------------------------------------


def test_csv_symlink_pointing_outside_the_landing_folder_is_invalid(tmp_path, con):
    landing = tmp_path / "landing"
    folder = write_delivery(landing, DAY, base_files())
    outside = tmp_path / "elsewhere.csv"
    (folder / "usage.csv").rename(outside)
    os.symlink(outside, folder / "usage.csv")
    assert refused(con, landing) == (
        f"delivery {DAY}: usage.csv: the file is a symbolic link pointing outside the "
        f"landing folder ({outside})"
    )


def test_delivery_folder_symlink_pointing_outside_the_landing_folder_is_invalid(tmp_path, con):
    landing = tmp_path / "landing"
    real = write_delivery(tmp_path / "elsewhere", DAY, base_files())
    landing.mkdir()
    os.symlink(real, landing / DAY)
    assert refused(con, landing) == (
        f"delivery {DAY}: the delivery folder is a symbolic link pointing outside the "
        f"landing folder ({real})"
    )


def test_symlinks_inside_the_landing_folder_are_followed(tmp_path, con):
    landing = tmp_path / "landing"
    folder = write_delivery(landing / "shared", DAY, base_files())
    os.symlink(folder, landing / DAY)  # the delivery folder: a link into the landing folder
    (folder / "usage.csv").rename(landing / "usage_store.csv")
    os.symlink(landing / "usage_store.csv", folder / "usage.csv")
    report = ingest(con, landing)
    assert report.files["usage.csv"].loaded == 3
