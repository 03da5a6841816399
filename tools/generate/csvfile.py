"""CSV encoding and delivery folders: RFC 4180 quoting, file digests, manifest written last."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HEADERS: dict[str, tuple[str, ...]] = {
    "teams.csv": ("team_id", "team_alias", "include_pii", "status", "merged_into_team_id"),
    "users.csv": ("autodesk_id", "email", "first_name", "last_name"),
    "team_members.csv": ("team_id", "autodesk_id", "role"),
    "products.csv": ("product_line_code", "product_name", "tokens_per_day", "usage_category"),
    "token_packs.csv": (
        "subscription_id", "contract_number", "team_id", "offering_name", "term",
        "tokens_purchased", "purchase_date", "start_date", "end_date", "reseller_name",
        "reseller_email",
    ),
    "token_events.csv": (
        "event_id", "event_ts", "team_id", "subscription_id", "event_type", "tokens",
        "related_team_id",
    ),
    "usage.csv": (
        "usage_id", "team_id", "autodesk_id", "product_line_code", "version", "usage_date",
        "charge_ts", "tokens",
    ),
}  # fmt: skip
MANIFEST = "manifest.json"
_SPECIAL = (",", '"', "\n", "\r")


def csv_field(value: str) -> str:
    """Quote a field only when it holds a comma, quote or line break."""
    if any(c in value for c in _SPECIAL):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(values: Iterable[str]) -> str:
    return ",".join(csv_field(v) for v in values) + "\n"


def header_line(name: str) -> str:
    return csv_line(HEADERS[name])


@dataclass(frozen=True)
class FileBlob:
    """Encoded content of one delivery file with its record count and digest."""

    data: bytes
    rows: int
    sha256: str

    @staticmethod
    def of(data: bytes, rows: int) -> FileBlob:
        return FileBlob(data, rows, hashlib.sha256(data).hexdigest())


def write_delivery(folder: Path, delivery_date: date, files: dict[str, FileBlob]) -> None:
    """Write the files, then the manifest (atomically) so its presence marks completion.

    An existing manifest is removed first, so a rewritten folder is never seen as complete
    with a mix of old and new files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    for name, blob in files.items():
        (folder / name).write_bytes(blob.data)
    manifest = {
        "delivery_date": delivery_date.isoformat(),
        "files": {n: {"rows": b.rows, "sha256": b.sha256} for n, b in sorted(files.items())},
    }
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
