"""Scenario (a): the specification's example delivery of 2026-03-02 and the history it implies.

acme-design bought S-1001 (1000 tokens) on 2025-04-15 and used it since; northwind_01
(include_pii = false) buys S-1002 and receives 100 tokens of S-1001 on 2026-03-02; a late
row of 2026-02-27 finds northwind_01 without any tokens (unallocated). S-1001 expires
after 2026-04-14, so the last stage sees it expired with tokens left and a charge that can
no longer be drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from handmade.writer import event, usage, write_delivery

TEAMS = [
    ("acme-design", "Acme Design, Inc.", "true", "active", None),
    ("northwind_01", "Northwind Architects", "false", "active", None),
]
USERS = [
    ("QZ8K2M1R7TXA", "maria.lopez@acme.example", "María", "López"),
    ("HV3N9C6W2PLB", "j.chen@northwind.example", "Jia", "Chen"),
    ("KD5T7Y4G1QMZ", "s.okoro@northwind.example", "Sade", "Okoro"),
]
MEMBERS = [
    ("acme-design", "QZ8K2M1R7TXA", "admin"),
    ("northwind_01", "HV3N9C6W2PLB", "admin"),
    ("northwind_01", "KD5T7Y4G1QMZ", "user"),
]
PRODUCTS = [
    ("ACD", "AutoCAD", 7, "DESKTOP_PRODUCT"),
    ("RVT", "Revit", 10, "DESKTOP_PRODUCT"),
]
S1001 = (
    "S-1001", "CN-77001", "acme-design", "Flex", "Annual", 1000, "2025-04-15", "2025-04-15",
    "2026-04-14", "Example Reseller", "sales@reseller.example",
)  # fmt: skip
S1002 = (
    "S-1002", "CN-77002", "northwind_01", "Flex", "Annual", 500, "2026-03-02", "2026-03-02",
    "2027-03-01", None, None,
)  # fmt: skip
MARIA, JIA, SADE = "QZ8K2M1R7TXA", "HV3N9C6W2PLB", "KD5T7Y4G1QMZ"
ACME, NORTH = "acme-design", "northwind_01"


def _snapshot(packs: list[tuple]) -> dict[str, list[tuple]]:
    return {
        "teams.csv": TEAMS,
        "users.csv": USERS,
        "team_members.csv": MEMBERS,
        "products.csv": PRODUCTS,
        "token_packs.csv": packs,
    }


def stages(landing: Path) -> Iterator[date]:
    """History from 2025-04-15, the example delivery, then S-1001's expiry."""
    history = {
        "token_events.csv": [
            event("E-1001", "2025-04-15T09:00:00Z", ACME, "S-1001", "purchase", 1000)
        ],
        "usage.csv": [usage("U-400001", ACME, MARIA, "ACD", "2025", "2025-04-15T11:00:00Z", 7)],
    }
    write_delivery(landing, "2025-04-15", _snapshot([S1001]) | history)
    history = {
        "usage.csv": [
            usage("U-450001", ACME, MARIA, "RVT", "2026", "2025-11-28T15:20:00.250Z", 10),
            usage("U-450002", ACME, MARIA, "ACD", "2026", "2025-11-30T08:00:00Z", 7),
        ],
    }
    write_delivery(landing, "2025-11-30", _snapshot([S1001]) | history, bom=True)
    example = {
        "token_events.csv": [
            event("E-9001", "2026-03-02T08:15:00Z", NORTH, "S-1002", "purchase", 500),
            event("E-9002", "2026-03-02T09:00:00Z", ACME, "S-1001", "move_out", -100, NORTH),
            event("E-9003", "2026-03-02T09:00:00Z", NORTH, "S-1001", "move_in", 100, ACME),
        ],
        "usage.csv": [
            usage("U-500001", ACME, MARIA, "ACD", "2026", "2026-03-02T07:58:12Z", 7),
            usage("U-500002", NORTH, JIA, "RVT", "2025", "2026-03-02T10:04:40Z", 10),
            usage("U-500003", NORTH, SADE, "ACD", "2026", "2026-03-02T10:06:02Z", 0),
            usage("U-499870", NORTH, SADE, "RVT", "2026", "2026-02-27T16:30:00Z", 10),
        ],
    }
    write_delivery(landing, "2026-03-02", _snapshot([S1001, S1002]) | example)
    yield date(2026, 3, 2)
    yield date(2026, 3, 31)
    after_expiry = {
        "usage.csv": [
            usage("U-510001", ACME, MARIA, "RVT", "2026", "2026-04-14T23:59:59Z", 10),
            usage("U-510002", ACME, MARIA, "ACD", "2026", "2026-04-16T09:00:00Z", 7),
            usage("U-510003", NORTH, JIA, "RVT", "2026", "2026-04-15T10:00:00Z", 10),
        ],
    }
    write_delivery(
        landing,
        "2026-04-16",
        _snapshot([S1001, S1002]) | after_expiry,
        reversed_columns=True,
        extra_column=True,
    )
    yield date(2026, 4, 20)
