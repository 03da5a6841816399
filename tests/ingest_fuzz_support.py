"""Hypothesis strategies and the contract oracle shared by the ingest fuzz tests."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from landing_builder import HEADERS, base_files, count_records

from orchestration.ingest import loader
from orchestration.ingest.deliveries import InvalidDeliveryError, discover

PROFILES = {
    "ci": settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    ),
    "long": settings(
        max_examples=1000,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    ),
}
FUZZ = PROFILES[os.environ.get("FLEX_FUZZ", "ci")]
DAY = "2026-03-02"

# --- the oracle: the contract's rules, restated ---------------------------------------------

TEAM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
NULLABLE = {
    ("teams", "merged_into_team_id"),
    ("users", "first_name"),
    ("users", "last_name"),
    ("token_packs", "reseller_name"),
    ("token_packs", "reseller_email"),
    ("token_events", "related_team_id"),
}
ENUMS = {
    ("teams", "status"): {"active", "merged"},
    ("team_members", "role"): {"admin", "user"},
    ("products", "usage_category"): {"DESKTOP_PRODUCT", "CLOUD_SERVICE"},
    ("token_events", "event_type"): {
        "purchase", "move_in", "move_out", "merge_in", "merge_out", "adjustment",
    },
}  # fmt: skip
BOUNDS = {
    ("products", "tokens_per_day"): (0, 10**6),
    ("token_packs", "tokens_purchased"): (1, 10**9),
    ("token_events", "tokens"): (-(10**9), 10**9),
    ("usage", "tokens"): (0, 10**6),
}
KEYS = {
    "teams": ("team_id",),
    "users": ("autodesk_id",),
    "team_members": ("team_id", "autodesk_id"),
    "products": ("product_line_code",),
    "token_packs": ("subscription_id",),
    "token_events": ("event_id",),
    "usage": ("usage_id",),
}
REFERENCES = {
    ("teams", "merged_into_team_id"): "teams",
    ("team_members", "team_id"): "teams",
    ("team_members", "autodesk_id"): "users",
    ("token_packs", "team_id"): "teams",
    ("token_events", "team_id"): "teams",
    ("token_events", "subscription_id"): "token_packs",
    ("token_events", "related_team_id"): "teams",
    ("usage", "team_id"): "teams",
    ("usage", "autodesk_id"): "users",
    ("usage", "product_line_code"): "products",
}
SIGNS = {"purchase": 1, "move_in": 1, "merge_in": 1, "move_out": -1, "merge_out": -1}
TABLES = [name.removesuffix(".csv") for name in HEADERS]


def _loaded(con) -> dict[str, list[dict]]:
    tables = {}
    for table in TABLES:
        cursor = con.execute(f"select * exclude (delivery_date, source_line) from raw.{table}")
        names = [d[0] for d in cursor.description]
        tables[table] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return tables


def assert_contract_holds(con) -> None:
    """Every loaded row keeps every rule of the landing contract."""
    tables = _loaded(con)
    keys = {t: {tuple(r[k] for k in KEYS[t]) for r in rows} for t, rows in tables.items()}
    for table, rows in tables.items():
        counts = Counter(tuple(r[k] for k in KEYS[table]) for r in rows)
        assert max(counts.values(), default=1) == 1, (table, "duplicate key loaded")
        for row in rows:
            for column, value in row.items():
                if value is None:
                    assert (table, column) in NULLABLE, (table, column, "null loaded")
                    continue
                if column in ("team_id", "related_team_id", "merged_into_team_id"):
                    assert TEAM_ID.fullmatch(value), (table, column, value)
                if (table, column) in ENUMS:
                    assert value in ENUMS[(table, column)], (table, column, value)
                if (table, column) in BOUNDS:
                    low, high = BOUNDS[(table, column)]
                    assert low <= value <= high, (table, column, value)
                if (table, column) in REFERENCES:
                    assert (value,) in keys[REFERENCES[(table, column)]], (table, column, value)
            if table == "token_packs":
                assert row["start_date"] <= row["end_date"], row
            if table == "token_events" and row["event_type"] in SIGNS:
                assert row["tokens"] * SIGNS[row["event_type"]] > 0, row


def ingest(folder: Path) -> tuple[duckdb.DuckDBPyConnection, loader.DeliveryReport | None]:
    """Ingest the one delivery under ``folder``; the report, or None when it was refused."""
    con = duckdb.connect()
    loader.ensure_raw_schema(con)
    (delivery,) = discover(folder)
    try:
        return con, loader.ingest(con, delivery)
    except InvalidDeliveryError as err:
        assert err.delivery_date == date.fromisoformat(DAY) and err.reason
        assert set(loader.table_counts(con).values()) == {0}, "a refused delivery loaded rows"
        return con, None


# --- valid deliveries, written in many legal ways -------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
OPTIONAL_TEXT = st.one_of(st.just(""), TEXT)
FREE_TEXT = {
    "teams.csv": ("team_alias",),
    "users.csv": ("email", "first_name", "last_name"),
    "products.csv": ("product_name",),
    "token_packs.csv": ("contract_number", "offering_name", "term", "reseller_name"),
    "usage.csv": ("version",),
}
NULLABLE_TEXT = {"first_name", "last_name", "reseller_name"}
INTEGERS = {
    "products.csv": ("tokens_per_day", st.integers(0, 10**6)),
    "token_packs.csv": ("tokens_purchased", st.integers(1, 10**9)),
    "usage.csv": ("tokens", st.integers(0, 10**6)),
}


@st.composite
def valid_files(draw) -> dict[str, list[dict]]:
    """The hand-made base delivery with random free text and in-bound token values."""
    files = base_files()
    for name, columns in FREE_TEXT.items():
        for row in files[name]:
            for column in columns:
                row[column] = draw(OPTIONAL_TEXT if column in NULLABLE_TEXT else TEXT)
    for name, (column, values) in INTEGERS.items():
        for row in files[name]:
            row[column] = str(draw(values))
    for row in files["token_events.csv"]:
        size = draw(st.integers(1, 10**9))
        row["tokens"] = str(-size if row["event_type"].endswith("_out") else size)
    extra = draw(st.integers(0, 4))
    for i in range(extra):
        files["usage.csv"].append(
            {**files["usage.csv"][i % 3], "usage_id": f"extra-{i}", "tokens": str(i)}
        )
    return files


@st.composite
def rendered(draw, files: dict[str, list[dict]]) -> dict[str, bytes]:
    """Every file as CSV: any column order, optional BOM, LF or CRLF, minimal or full quoting,
    sometimes an unknown extra column."""
    out = {}
    for name, rows in files.items():
        header = list(draw(st.permutations(HEADERS[name])))
        if draw(st.booleans()):
            header.insert(draw(st.integers(0, len(header))), "note")
        end = draw(st.sampled_from(["\n", "\r\n"]))
        quote_all = draw(st.booleans())
        records = [_record(header, quote_all)]
        for row in rows:
            fields = ['x,"y"' if h == "note" else row.get(h) or "" for h in header]
            records.append(_record(fields, quote_all))
        bom = "\ufeff" if draw(st.booleans()) else ""
        out[name] = (bom + end.join(records) + end).encode("utf-8")
    return out


def _record(fields: list[str], quote_all: bool) -> str:
    """One RFC 4180 record: a field is quoted when asked or when it holds , " CR or LF
    (Python's csv writer leaves a lone CR unquoted)."""
    return ",".join(
        '"' + f.replace('"', '""') + '"' if quote_all or re.search('[,"\r\n]', f) else f
        for f in fields
    )


def write(folder: Path, data: dict[str, bytes], manifest: dict | None = None) -> None:
    day = folder / DAY
    day.mkdir(parents=True, exist_ok=True)
    for name, content in data.items():
        (day / name).write_bytes(content)
    if manifest is None:
        manifest = {"delivery_date": DAY, "files": {}}
        for name, content in data.items():
            try:
                rows = count_records(content)
            except csv.Error:
                rows = 0
            manifest["files"][name] = {
                "rows": rows,
                "sha256": hashlib.sha256(content).hexdigest(),
            }
    (day / "manifest.json").write_text(json.dumps(manifest))


@st.composite
def valid_delivery(draw) -> tuple[dict[str, list[dict]], dict[str, bytes]]:
    files = draw(valid_files())
    return files, draw(rendered(files))


STRING_COLUMNS = {
    name: [c for c in HEADERS[name] if c not in {"tokens_per_day", "tokens_purchased", "tokens"}]
    for name in HEADERS
}


TOKENS = [b'"', b",", b"\n", b"\r\n", b"\r", b'""', b"\x00", b"\xff", b"\xef\xbb\xbf", b"-"]
TOKENS += [b"9223372036854775807", b"99999999999999999999999", b"a" * 70_000, b"2026-02-30"]


@st.composite
def mutation(draw, names: list[str]):
    name = draw(st.sampled_from(names))
    kind = draw(st.sampled_from(["insert", "delete", "token", "line", "noise"]))
    where = draw(st.floats(0, 1))
    if kind == "insert":
        return name, kind, where, draw(st.binary(min_size=1, max_size=8))
    if kind == "delete":
        return name, kind, where, draw(st.integers(1, 20))
    if kind == "token":
        return name, kind, where, draw(st.sampled_from(TOKENS))
    if kind == "line":
        return name, kind, where, draw(st.sampled_from(["drop", "double"]))
    return name, kind, where, draw(st.binary(max_size=200))


def mutate(data: bytes, kind: str, where: float, payload) -> bytes:
    at = int(where * len(data))
    if kind == "insert" or kind == "token":
        return data[:at] + payload + data[at:]
    if kind == "delete":
        return data[:at] + data[at + payload :]
    if kind == "line":
        lines = data.split(b"\n")
        i = min(int(where * len(lines)), len(lines) - 1)
        return b"\n".join(lines[:i] + ([] if payload == "drop" else [lines[i]]) + lines[i:][1:])
    return payload
