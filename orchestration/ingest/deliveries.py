"""Delivery folders: discovery, manifest parsing and file verification.

A delivery is a folder named ``YYYY-MM-DD`` holding ``manifest.json`` (written
last by upstream) and the seven contract files. Verification here covers the
manifest, the presence and sha256 of every listed file, the headers of the
contract files and the record count of the other listed files; the contract
files' record count needs their parse and is checked by
:mod:`orchestration.ingest.parsing`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orchestration.ingest.contract import BY_FILE, ENTITIES, Entity

MANIFEST = "manifest.json"
_FOLDER_NAME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CHUNK = 1 << 20


class InvalidDeliveryError(Exception):
    """A delivery breaks the landing contract; nothing of it may be loaded."""

    def __init__(self, delivery_date: date, reason: str, file: str | None = None) -> None:
        self.delivery_date = delivery_date
        self.file = file
        self.reason = reason
        where = f"{file}: " if file else ""
        super().__init__(f"delivery {delivery_date.isoformat()}: {where}{reason}")


@dataclass(frozen=True)
class Delivery:
    """A complete delivery folder (its manifest is present)."""

    delivery_date: date
    path: Path
    manifest_sha256: str


@dataclass(frozen=True)
class DeliveryFile:
    """One verified contract file of a delivery.

    ``header_lines`` is the number of physical lines of the header record;
    ``newlines`` counts ``\\n`` bytes in the file (for exact line numbers).
    ``positions`` maps each contract column to its index in the header.
    """

    entity: Entity
    path: Path
    rows: int
    header: tuple[str, ...]
    header_lines: int
    newlines: int
    ends_with_newline: bool
    positions: dict[str, int]

    @property
    def extra_columns(self) -> tuple[str, ...]:
        known = set(self.entity.column_names)
        return tuple(dict.fromkeys(h for h in self.header if h not in known))


@dataclass(frozen=True)
class VerifiedDelivery:
    """A delivery whose manifest, files, checksums and headers are valid."""

    delivery: Delivery
    manifest_sha256: str
    files: tuple[DeliveryFile, ...]


def _folder_date(name: str) -> date | None:
    if not _FOLDER_NAME.fullmatch(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def discover(landing: Path, as_of: date | None = None) -> list[Delivery]:
    """Complete deliveries in ``landing`` dated on or before ``as_of``, oldest first.

    Folders not named as a valid date, or without a manifest yet, are ignored.
    """
    if not landing.is_dir():
        return []
    found = []
    for folder in landing.iterdir():
        day = _folder_date(folder.name)
        manifest = folder / MANIFEST
        if day is None or not folder.is_dir() or not manifest.is_file():
            continue
        if as_of is not None and day > as_of:
            continue
        found.append(Delivery(day, folder, _sha256(manifest)))
    return sorted(found, key=lambda d: d.delivery_date)


def _manifest(delivery: Delivery) -> tuple[str, dict[str, dict]]:
    day = delivery.delivery_date

    def invalid(reason: str) -> InvalidDeliveryError:
        return InvalidDeliveryError(day, reason, MANIFEST)

    try:
        raw = (delivery.path / MANIFEST).read_bytes()
        doc = json.loads(raw)
    except (OSError, ValueError) as err:
        raise invalid(f"unreadable manifest ({err})") from err
    if not isinstance(doc, dict):
        raise invalid("manifest is not a JSON object")
    if doc.get("delivery_date") != day.isoformat():
        raise invalid(f"delivery_date {doc.get('delivery_date')!r} does not match the folder name")
    files = doc.get("files")
    if not isinstance(files, dict):
        raise invalid("'files' is missing or not an object")
    for entity in ENTITIES:
        if entity.file_name not in files:
            raise invalid(f"{entity.file_name} is not listed")
    for name, entry in files.items():
        rows = entry.get("rows") if isinstance(entry, dict) else None
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise invalid(f"{name}: 'rows' must be a non-negative integer")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise invalid(f"{name}: 'sha256' must be 64 hex digits")
    return hashlib.sha256(raw).hexdigest(), files


def _scan(path: Path) -> tuple[str, int, bool]:
    """sha256, number of ``\\n`` bytes and whether the file ends with one."""
    digest = hashlib.sha256()
    newlines = 0
    last = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    return digest.hexdigest(), newlines, last == b"\n"


def _records(day: date, path: Path) -> int:
    """Data records of a listed file that is not a contract file, counted as CSV records."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, strict=True)
        try:
            return max(sum(1 for row in reader if row) - 1, 0)
        except csv.Error as err:
            raise InvalidDeliveryError(
                day, f"unparsable CSV at line {reader.line_num} ({err})", path.name
            ) from err


def _header(day: date, entity: Entity, path: Path) -> tuple[tuple[str, ...], int]:
    """The header record (BOM removed) and the number of physical lines it spans."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InvalidDeliveryError(day, "empty file, no header", entity.file_name) from None
        except csv.Error as err:
            raise InvalidDeliveryError(day, f"unparsable header ({err})", entity.file_name) from err
        lines = reader.line_num
    try:
        "".join(header).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidDeliveryError(day, "header is not valid UTF-8", entity.file_name) from None
    duplicates = sorted({h for h in entity.column_names if header.count(h) > 1})
    if duplicates:
        raise InvalidDeliveryError(
            day, f"duplicate column(s) in header: {', '.join(duplicates)}", entity.file_name
        )
    missing = [c for c in entity.column_names if c not in header]
    if missing:
        raise InvalidDeliveryError(
            day, f"missing required column(s): {', '.join(missing)}", entity.file_name
        )
    return tuple(header), lines


def verify(delivery: Delivery) -> VerifiedDelivery:
    """Check the manifest and every listed file; raise :class:`InvalidDeliveryError`.

    The manifest must be the one seen by :func:`discover` (a rewrite in between
    is refused: the re-delivery is picked up by the next run). Listed files
    that are not contract files are verified but not returned (never loaded).
    """
    day = delivery.delivery_date
    manifest_sha, listed = _manifest(delivery)
    if manifest_sha != delivery.manifest_sha256:
        raise InvalidDeliveryError(day, "manifest changed since discovery", MANIFEST)
    files = []
    for name, entry in listed.items():
        path = delivery.path / name
        if path.parent != delivery.path or not path.is_file():
            raise InvalidDeliveryError(day, "listed in the manifest but missing", name)
        sha, newlines, ends_with_newline = _scan(path)
        if sha != entry["sha256"].lower():
            raise InvalidDeliveryError(
                day, f"sha256 mismatch (manifest {entry['sha256']}, file {sha})", name
            )
        entity = BY_FILE.get(name)
        if entity is None:
            if (records := _records(day, path)) != entry["rows"]:
                raise InvalidDeliveryError(
                    day, f"record count mismatch (manifest {entry['rows']}, file {records})", name
                )
            continue
        header, header_lines = _header(day, entity, path)
        files.append(
            DeliveryFile(
                entity=entity,
                path=path,
                rows=entry["rows"],
                header=header,
                header_lines=header_lines,
                newlines=newlines,
                ends_with_newline=ends_with_newline,
                positions={c: header.index(c) for c in entity.column_names},
            )
        )
    return VerifiedDelivery(delivery, manifest_sha, tuple(files))
