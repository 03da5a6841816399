"""Write one delivery folder (seven CSV files, manifest last) from Python rows."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

COLUMNS = {
    "teams.csv": ["team_id", "team_alias", "include_pii", "status", "merged_into_team_id"],
    "users.csv": ["autodesk_id", "email", "first_name", "last_name"],
    "team_members.csv": ["team_id", "autodesk_id", "role"],
    "products.csv": ["product_line_code", "product_name", "tokens_per_day", "usage_category"],
    "token_packs.csv": [
        "subscription_id", "contract_number", "team_id", "offering_name", "term",
        "tokens_purchased", "purchase_date", "start_date", "end_date", "reseller_name",
        "reseller_email",
    ],
    "token_events.csv": [
        "event_id", "event_ts", "team_id", "subscription_id", "event_type", "tokens",
        "related_team_id",
    ],
    "usage.csv": [
        "usage_id", "team_id", "autodesk_id", "product_line_code", "version", "usage_date",
        "charge_ts", "tokens",
    ],
}  # fmt: skip


def _csv_bytes(columns: list[str], rows: list[tuple], bom: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def write_delivery(
    landing: Path,
    day: str,
    tables: dict[str, list[tuple]],
    *,
    bom: bool = False,
    reversed_columns: bool = False,
    extra_column: bool = False,
    manifest: bool = True,
) -> Path:
    """Write ``landing/<day>/``: rows are tuples in the contract's column order.

    Files missing from ``tables`` are written with a header only. ``reversed_columns``
    and ``extra_column`` exercise the contract's column-order and unknown-column rules;
    ``manifest=False`` leaves the folder incomplete (still being written upstream).
    """
    folder = landing / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").unlink(missing_ok=True)
    files = {}
    for name, columns in COLUMNS.items():
        rows = list(tables.get(name, []))
        order = (
            list(reversed(range(len(columns)))) if reversed_columns else list(range(len(columns)))
        )
        header = [columns[i] for i in order]
        body = [tuple(row[i] for i in order) for row in rows]
        if extra_column:
            header.append("upstream_note")
            body = [(*row, 'ignored, "really"') for row in body]
        data = _csv_bytes(header, body, bom)
        (folder / name).write_bytes(data)
        files[name] = {"rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}
    if manifest:
        content = {"delivery_date": day, "files": files}
        (folder / "manifest.json").write_text(json.dumps(content, indent=1), encoding="utf-8")
    return folder


def usage(usage_id: str, team: str, user: str, product: str, version: str, ts: str, tokens: int):
    """A usage.csv row; usage_date is the UTC date of the charge timestamp."""
    return (usage_id, team, user, product, version, ts[:10], ts, tokens)


def event(event_id: str, ts: str, team: str, pack: str, kind: str, tokens: int, other=None):
    """A token_events.csv row."""
    return (event_id, ts, team, pack, kind, tokens, other)


def pack(sub: str, team: str, tokens: int, start: str, end: str, reseller=(None, None)):
    """A token_packs.csv row bought on its start date (contract number derived from the id)."""
    return (sub, f"CN-{sub}", team, "Flex", "Annual", tokens, start, start, end, *reseller)
