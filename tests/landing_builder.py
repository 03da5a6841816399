"""Write small hand-made deliveries (CSV files plus a correct manifest) for tests.

    day_dir = write_delivery(tmp_path, "2026-03-02", {"usage.csv": [{...}, ...]})

A file given as a list of dicts is written with the contract header (plus any
extra keys, in order of first appearance) and RFC 4180 quoting; a file given
as ``str`` or ``bytes`` is written verbatim; a file not given is written with
its header only. The manifest counts records and hashes what was written;
``manifest_overrides`` is merged into it afterwards (a ``None`` value removes
the key), e.g. ``{"files": {"usage.csv": {"rows": 99}}}``.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import sys
from pathlib import Path

HEADERS: dict[str, tuple[str, ...]] = {
    "teams.csv": ("team_id", "team_alias", "include_pii", "status", "merged_into_team_id"),
    "users.csv": ("autodesk_id", "email", "first_name", "last_name"),
    "team_members.csv": ("team_id", "autodesk_id", "role"),
    "products.csv": ("product_line_code", "product_name", "tokens_per_day", "usage_category"),
    "token_packs.csv": (
        "subscription_id",
        "contract_number",
        "team_id",
        "offering_name",
        "term",
        "tokens_purchased",
        "purchase_date",
        "start_date",
        "end_date",
        "reseller_name",
        "reseller_email",
    ),
    "token_events.csv": (
        "event_id",
        "event_ts",
        "team_id",
        "subscription_id",
        "event_type",
        "tokens",
        "related_team_id",
    ),
    "usage.csv": (
        "usage_id",
        "team_id",
        "autodesk_id",
        "product_line_code",
        "version",
        "usage_date",
        "charge_ts",
        "tokens",
    ),
}

FileContent = list[dict] | str | bytes
csv.field_size_limit(sys.maxsize)  # test files may hold fields longer than the contract allows


def csv_text(header: tuple[str, ...] | list[str], rows: list[dict]) -> str:
    """RFC 4180 text (``\\n`` line ends) of ``rows``; missing keys are empty fields."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(h) is None else row[h] for h in header])
    return out.getvalue()


def render(file_name: str, content: FileContent | None) -> bytes:
    """The bytes written for one file."""
    if content is None:
        content = []
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    header = list(HEADERS[file_name])
    for row in content:
        header += [k for k in row if k not in header]
    return csv_text(header, content).encode("utf-8")


def count_records(data: bytes) -> int:
    """Data records of a CSV file (header and blank lines excluded)."""
    text = data.decode("latin-1").removeprefix("\xef\xbb\xbf")
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    return max(len(rows) - 1, 0)


def _merge(target: dict, overrides: dict) -> None:
    for key, value in overrides.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def write_delivery(
    landing: Path,
    day: str,
    files: dict[str, FileContent] | None = None,
    manifest_overrides: dict | None = None,
    *,
    manifest: bool = True,
) -> Path:
    """Write delivery folder ``landing/day`` (replacing any files there); return it."""
    folder = landing / day
    folder.mkdir(parents=True, exist_ok=True)
    doc: dict = {"delivery_date": day, "files": {}}
    for name in HEADERS:
        data = render(name, (files or {}).get(name))
        (folder / name).write_bytes(data)
        doc["files"][name] = {
            "rows": count_records(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    _merge(doc, copy.deepcopy(manifest_overrides or {}))
    manifest_path = folder / "manifest.json"
    if manifest:
        manifest_path.write_text(json.dumps(doc, indent=1))
    elif manifest_path.exists():
        manifest_path.unlink()
    return folder


def base_files() -> dict[str, list[dict]]:
    """A small consistent delivery: three teams (one merged), three users, two products,
    two packs, three token events and three usage rows."""
    return {
        "teams.csv": [
            {
                "team_id": "acme-design",
                "team_alias": "Acme Design, Inc.",
                "include_pii": "true",
                "status": "active",
            },
            {
                "team_id": "northwind_01",
                "team_alias": "Northwind",
                "include_pii": "false",
                "status": "active",
            },
            {
                "team_id": "old-team",
                "team_alias": "Old team",
                "include_pii": "true",
                "status": "merged",
                "merged_into_team_id": "acme-design",
            },
        ],
        "users.csv": [
            {"autodesk_id": "U1", "email": "a@x.example", "first_name": "Ana", "last_name": "Li"},
            {"autodesk_id": "U2", "email": "b@x.example", "first_name": "Bo", "last_name": "Ng"},
            {"autodesk_id": "U3", "email": "c@x.example", "first_name": "Cy", "last_name": "Oz"},
        ],
        "team_members.csv": [
            {"team_id": "acme-design", "autodesk_id": "U1", "role": "admin"},
            {"team_id": "northwind_01", "autodesk_id": "U2", "role": "admin"},
            {"team_id": "northwind_01", "autodesk_id": "U3", "role": "user"},
        ],
        "products.csv": [
            {
                "product_line_code": "ACD",
                "product_name": "AutoCAD",
                "tokens_per_day": "7",
                "usage_category": "DESKTOP_PRODUCT",
            },
            {
                "product_line_code": "RVT",
                "product_name": "Revit",
                "tokens_per_day": "10",
                "usage_category": "DESKTOP_PRODUCT",
            },
        ],
        "token_packs.csv": [
            {
                "subscription_id": "S1",
                "contract_number": "C1",
                "team_id": "acme-design",
                "offering_name": "Flex",
                "term": "Annual",
                "tokens_purchased": "1000",
                "purchase_date": "2026-01-01",
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
                "reseller_name": "R",
                "reseller_email": "r@x.example",
            },
            {
                "subscription_id": "S2",
                "contract_number": "C2",
                "team_id": "northwind_01",
                "offering_name": "Flex",
                "term": "Annual",
                "tokens_purchased": "500",
                "purchase_date": "2026-03-02",
                "start_date": "2026-03-02",
                "end_date": "2027-03-01",
            },
        ],
        "token_events.csv": [
            {
                "event_id": "E1",
                "event_ts": "2026-03-02T08:15:00Z",
                "team_id": "northwind_01",
                "subscription_id": "S2",
                "event_type": "purchase",
                "tokens": "500",
            },
            {
                "event_id": "E2",
                "event_ts": "2026-03-02T09:00:00.250Z",
                "team_id": "acme-design",
                "subscription_id": "S1",
                "event_type": "move_out",
                "tokens": "-100",
                "related_team_id": "northwind_01",
            },
            {
                "event_id": "E3",
                "event_ts": "2026-03-02T09:00:00.250Z",
                "team_id": "northwind_01",
                "subscription_id": "S1",
                "event_type": "move_in",
                "tokens": "100",
                "related_team_id": "acme-design",
            },
        ],
        "usage.csv": [
            {
                "usage_id": "X1",
                "team_id": "acme-design",
                "autodesk_id": "U1",
                "product_line_code": "ACD",
                "version": "2026",
                "usage_date": "2026-03-02",
                "charge_ts": "2026-03-02T07:58:12Z",
                "tokens": "7",
            },
            {
                "usage_id": "X2",
                "team_id": "northwind_01",
                "autodesk_id": "U2",
                "product_line_code": "RVT",
                "version": "2025",
                "usage_date": "2026-03-02",
                "charge_ts": "2026-03-02T10:04:40Z",
                "tokens": "10",
            },
            {
                "usage_id": "X3",
                "team_id": "northwind_01",
                "autodesk_id": "U3",
                "product_line_code": "ACD",
                "version": "2026",
                "usage_date": "2026-02-27",
                "charge_ts": "2026-02-27T16:30:00Z",
                "tokens": "0",
            },
        ],
    }
