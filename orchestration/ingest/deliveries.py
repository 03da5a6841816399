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
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from orchestration.ingest.contract import BY_FILE, ENTITIES, Entity

MANIFEST = "manifest.json"
_FOLDER_NAME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CHUNK = 1 << 20
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
MANIFEST_DEPTH = 3  # manifest object > "files" object > one file's entry
MAX_MANIFEST_BYTES = 1 << 20


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
    ``newlines`` counts ``\\n`` bytes in the file (for exact line numbers);
    ``sha256`` is the verified checksum of its bytes.
    ``positions`` maps each contract column to its index in the header.
    """

    entity: Entity
    path: Path
    rows: int
    sha256: str
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


@contextmanager
def unbounded_csv_fields() -> Iterator[None]:
    """Lift the ``csv`` module's field size limit (131,072 characters) for the block.

    Fields of any length are read in full, so the contract's own field limit is
    applied to the parsed values, the same way whatever parser read the file.
    """
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _folder_date(name: str) -> date | None:
    if not _FOLDER_NAME.fullmatch(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def _sha256(path: Path) -> str:
    """sha256 of ``path``; ``""`` when unreadable (verification then names the reason)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


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


def utc_today() -> date:
    """Today's date in UTC (the landing folders are named by UTC date)."""
    return datetime.now(UTC).date()


def default_as_of(deliveries: list[Delivery], today: date) -> date | None:
    """The default report date: the newest delivery dated on or before ``today``.

    A delivery dated later is suspect (a clock or naming error upstream) and never
    moves the default; None when there is no delivery up to ``today``.
    """
    return max((d.delivery_date for d in deliveries if d.delivery_date <= today), default=None)


def future_dated(deliveries: list[Delivery], today: date) -> list[str]:
    """A warning per delivery dated after ``today`` (UTC)."""
    return [
        f"delivery {d.delivery_date}: dated after today ({today} UTC); the default report "
        "date ignores it (give --as-of to report on it)"
        for d in deliveries
        if d.delivery_date > today
    ]


def _manifest_depth(text: str) -> int:
    """Deepest nesting of arrays and objects in JSON ``text`` (strings skipped)."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"duplicate key(s) {', '.join(map(repr, repeated))}")
    return dict(pairs)


def _file_name_problem(name: str) -> str | None:
    """Why a manifest entry is not a plain file name of the delivery folder, else None."""
    if not name or name in (".", "..") or "\x00" in name:
        return "not a file name"
    if "/" in name or "\\" in name or ".." in name:
        return "a path (with '/', '\\' or '..') instead of a file name of the delivery folder"
    return None


def _manifest(delivery: Delivery) -> tuple[str, dict[str, dict]]:
    day = delivery.delivery_date

    def invalid(reason: str) -> InvalidDeliveryError:
        return InvalidDeliveryError(day, reason, MANIFEST)

    path = delivery.path / MANIFEST
    if outside := _outside_landing(delivery, path):
        raise invalid(outside)
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise invalid(f"larger than {MAX_MANIFEST_BYTES:,} bytes")
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, ValueError) as err:
        raise invalid(f"unreadable manifest ({err})") from err
    if _manifest_depth(text) > MANIFEST_DEPTH:
        raise invalid(f"not of the documented shape (nested deeper than {MANIFEST_DEPTH} levels)")
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as err:
        raise invalid(f"not valid JSON ({err})") from err
    if not isinstance(doc, dict):
        raise invalid("manifest is not a JSON object")
    if not isinstance(doc.get("delivery_date"), str):
        raise invalid("'delivery_date' is missing or not a string")
    if doc["delivery_date"] != day.isoformat():
        raise invalid(f"delivery_date {doc['delivery_date']!r} does not match the folder name")
    files = doc.get("files")
    if not isinstance(files, dict):
        raise invalid("'files' is missing or not an object")
    for name, entry in files.items():
        if problem := _file_name_problem(name):
            raise InvalidDeliveryError(day, f"manifest entry is {problem}", name)
        rows = entry.get("rows") if isinstance(entry, dict) else None
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise invalid(f"{name}: 'rows' must be a non-negative integer")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise invalid(f"{name}: 'sha256' must be 64 hex digits")
    for entity in ENTITIES:
        if entity.file_name not in files:
            raise invalid(f"{entity.file_name} is not listed")
    return hashlib.sha256(raw).hexdigest(), files


def _outside_landing(delivery: Delivery, path: Path) -> str | None:
    """Why ``path`` (the delivery folder or a file in it) is not inside the landing folder."""
    landing = delivery.path.parent.resolve()
    target = path.resolve()
    if target.is_relative_to(landing) and target != landing:
        return None
    what = "delivery folder" if path == delivery.path else "file"
    return f"the {what} is a symbolic link pointing outside the landing folder ({target})"


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
    with (
        path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f,
        unbounded_csv_fields(),
    ):
        reader = csv.reader(f, strict=True)
        try:
            return max(sum(1 for row in reader if row) - 1, 0)
        except csv.Error as err:
            raise InvalidDeliveryError(
                day, f"unparsable CSV at line {reader.line_num} ({err})", path.name
            ) from err


def _header(day: date, entity: Entity, path: Path) -> tuple[tuple[str, ...], int]:
    """The header record (BOM removed) and the number of physical lines it spans."""
    with (
        path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f,
        unbounded_csv_fields(),
    ):
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
    if outside := _outside_landing(delivery, delivery.path):
        raise InvalidDeliveryError(day, outside)
    manifest_sha, listed = _manifest(delivery)
    if manifest_sha != delivery.manifest_sha256:
        raise InvalidDeliveryError(day, "manifest changed since discovery", MANIFEST)
    files = []
    for name, entry in listed.items():
        path = delivery.path / name
        if not path.is_file():
            raise InvalidDeliveryError(day, "listed in the manifest but missing", name)
        if outside := _outside_landing(delivery, path):
            raise InvalidDeliveryError(day, outside, name)
        try:
            sha, newlines, ends_with_newline = _scan(path)
        except OSError as err:
            raise InvalidDeliveryError(day, f"unreadable ({err.strerror or err})", name) from err
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
                sha256=sha,
                header=header,
                header_lines=header_lines,
                newlines=newlines,
                ends_with_newline=ends_with_newline,
                positions={c: header.index(c) for c in entity.column_names},
            )
        )
    return VerifiedDelivery(delivery, manifest_sha, tuple(files))
