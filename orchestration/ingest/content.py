"""Content keys of snapshot files: equal keys, equal validated rows and quarantine.

A snapshot file's validated rows depend on its bytes and, through its references,
on the valid keys of the snapshots it refers to in the same delivery (team members
on teams and users, packs on teams). Its content key is the sha256 of its own
sha256 and the content keys of those snapshots, so snapshot files of two deliveries
with equal keys load exactly the same rows and reject exactly the same records.
``raw.snapshot_files`` records the key of every loaded delivery's snapshot files;
the set-based ingest parses a content once and copies it for the other deliveries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.deliveries import DeliveryFile

SNAPSHOT_FILES_DDL = (
    "CREATE TABLE IF NOT EXISTS raw.snapshot_files "
    "(delivery_date DATE, file VARCHAR, content_key VARCHAR)"
)


def content_keys(files: Iterable[DeliveryFile]) -> dict[str, str]:
    """Content key of every snapshot file of one delivery, by entity name."""
    by_entity = {f.entity.name: f for f in files}
    keys: dict[str, str] = {}
    for entity in ENTITIES:  # referenced entities come first
        if not entity.snapshot:
            continue
        refs = sorted({c.references for c in entity.columns if c.references} - {entity.name})
        parts = [by_entity[entity.name].sha256, *(f"{r}:{keys[r]}" for r in refs)]
        keys[entity.name] = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return keys
