"""Pseudonymisation of autodesk ids: lowercase hex HMAC-SHA256 keyed with FLEX_PII_HASH_KEY.

The key is handed in by the caller (the Dagster privacy resource, or the CLI's
settings) and stays in this process: only the resulting hashes are written to the
warehouse (table ``raw.user_hashes``).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from pathlib import Path

import pyarrow as pa

from orchestration.ingest.content import contents_table
from orchestration.ingest.contract import BY_NAME
from orchestration.settings import ENV_PII_KEY


class MissingHashKeyError(RuntimeError):
    """A team hides personal data but no hashing key is configured."""


def hash_key(key: str, required: bool) -> bytes:
    """The HMAC key as bytes; raise when it is required and empty."""
    if not key and required:
        raise MissingHashKeyError(
            f"{ENV_PII_KEY} is not set, but at least one team has include_pii = false: "
            "set the secret hashing key in the environment and run again "
            "(refusing to start rather than expose or mis-hash personal data)."
        )
    return key.encode("utf-8")


def hash_autodesk_id(autodesk_id: str, key: bytes) -> str:
    """hashed_autodesk_id: lowercase hex HMAC-SHA256 of the UTF-8 autodesk id."""
    return hmac.new(key, autodesk_id.encode("utf-8"), hashlib.sha256).hexdigest()


def refresh_user_hashes(con, key: str) -> int:
    """Rebuild ``raw.user_hashes`` for every autodesk id in ``raw.users``; return the count.

    The key is required when any team in the newest team snapshot hides personal data.
    """
    hides_pii = con.execute(
        """
        select count(*) from raw.teams
        where delivery_date = (select max(delivery_date) from raw.teams)
          and not include_pii
        """
    ).fetchone()[0]
    secret = hash_key(key, required=hides_pii > 0)
    users = con.execute(f"select distinct autodesk_id from {contents_table(BY_NAME['users'])}")
    ids = [row[0] for row in users.fetchall()]
    hashes = pa.table(
        {
            "autodesk_id": pa.array(ids, pa.string()),
            "hashed_autodesk_id": pa.array([hash_autodesk_id(i, secret) for i in ids], pa.string()),
        }
    )
    con.register("user_hashes_batch", hashes)
    try:
        con.execute(
            "create or replace table raw.user_hashes as "
            "select autodesk_id, hashed_autodesk_id from user_hashes_batch order by autodesk_id"
        )
    finally:
        con.unregister("user_hashes_batch")
    return len(ids)


def delivery_hides_pii(delivery_folder: Path) -> bool:
    """True when the delivery's team snapshot has a team with include_pii = false."""
    with open(delivery_folder / "teams.csv", encoding="utf-8-sig", newline="") as handle:
        return any(row.get("include_pii") == "false" for row in csv.DictReader(handle))
