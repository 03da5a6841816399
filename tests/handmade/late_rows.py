"""Scenario (d): late rows, corrected rows, a re-delivered folder and folders to ignore.

- delta's purchase event of 2026-10-01 arrives late (2026-10-29): UD-01, unallocated as
  of 2026-10-01, is drawn once the event is known;
- UD-04 (2026-10-28) arrives a day late and is charged before UD-02 and UD-03, so the
  pack runs out on UD-03 instead;
- UD-02 is corrected (tokens and version) and UD-05 moves from delta to epsilon in a later
  delivery;
- the 2026-10-30 folder is re-delivered: UD-04 disappears, UD-02 is corrected again, a
  late UD-07 appears and a snapshot field changes;
- a folder without manifest, a folder named like an impossible date and a stray folder
  are ignored;
- the last stage goes back to an earlier as-of date after later deliveries were loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from handmade.writer import event, pack, usage, write_delivery

DELTA, EPS = "delta", "epsilon"
DANA, DEV, EVE = "DANA-1", "DEV-2", "EVE-3"
PRODUCTS = [
    ("ACD", "AutoCAD", 7, "DESKTOP_PRODUCT"),
    ("RVT", "Revit", 10, "DESKTOP_PRODUCT"),
]
PACKS = [
    pack("PD-1", DELTA, 100, "2026-10-01", "2027-09-30"),
    pack("PE-1", EPS, 50, "2026-10-01", "2027-09-30"),
]


def _snapshot(alias: str = "Delta", dev_last: str = "Delta") -> dict[str, list[tuple]]:
    return {
        "teams.csv": [
            (DELTA, alias, "true", "active", None),
            (EPS, "Epsilon", "true", "active", None),
        ],
        "users.csv": [
            (DANA, "dana@delta.example", "Dana", "Delta"),
            (DEV, "dev@delta.example", "Dev", dev_last),
            (EVE, "eve@eps.example", "Eve", "Eps"),
        ],
        "team_members.csv": [(DELTA, DANA, "admin"), (DELTA, DEV, "user"), (EPS, EVE, "admin")],
        "products.csv": PRODUCTS,
        "token_packs.csv": PACKS,
    }


def stages(landing: Path) -> Iterator[date]:
    """Deliveries of 2026-10-01 to 2026-11-13 with one re-delivery in between."""
    (landing / "notes").mkdir(parents=True)
    (landing / "notes" / "usage.csv").write_text("not a delivery\n", encoding="utf-8")
    write_delivery(landing, "2026-10-01", _snapshot() | {
        "token_events.csv": [event("EE-1", "2026-10-01T08:00:00Z", EPS, "PE-1", "purchase", 50)],
        "usage.csv": [usage("UD-01", DELTA, DANA, "ACD", "2027", "2026-10-01T09:00:00Z", 7)],
    })  # fmt: skip
    yield date(2026, 10, 1)
    write_delivery(landing, "2026-10-29", _snapshot() | {
        "token_events.csv": [event("ED-1", "2026-10-01T08:00:00Z", DELTA, "PD-1", "purchase", 100)],
        "usage.csv": [
            usage("UD-02", DELTA, DANA, "RVT", "2027", "2026-10-29T10:00:00Z", 60),
            usage("UD-03", DELTA, DEV, "ACD", "2027", "2026-10-29T11:00:00Z", 30),
            usage("UD-05", DELTA, DANA, "ACD", "2027", "2026-10-29T12:00:00Z", 7),
        ],
    })  # fmt: skip
    write_delivery(landing, "2026-10-30", _snapshot() | {
        "usage.csv": [
            usage("UD-04", DELTA, DEV, "ACD", "2027", "2026-10-28T12:00:00Z", 20),
            usage("UD-02", DELTA, DANA, "RVT", "2026", "2026-10-29T10:00:00Z", 50),
            usage("UD-05", EPS, EVE, "ACD", "2027", "2026-10-29T12:00:00Z", 7),
        ],
    })  # fmt: skip
    write_delivery(landing, "2026-10-31", _snapshot() | {
        "usage.csv": [usage("UD-06", DELTA, DEV, "RVT", "2027", "2026-10-31T09:00:00Z", 999)],
    }, manifest=False)  # fmt: skip
    write_delivery(landing, "2026-02-30", _snapshot())
    yield date(2026, 10, 31)

    renamed = _snapshot(alias="Delta (renamed)", dev_last="Delta-Smith")
    write_delivery(landing, "2026-10-30", renamed | {
        "token_events.csv": [event("ED-2", "2026-10-30T08:00:00Z", DELTA, "PD-1", "adjustment", 9)],
        "usage.csv": [
            usage("UD-02", DELTA, DANA, "RVT", "2026", "2026-10-29T10:00:00Z", 55),
            usage("UD-05", EPS, EVE, "ACD", "2027", "2026-10-29T12:00:00Z", 7),
            usage("UD-07", DELTA, DEV, "RVT", "2026", "2026-10-15T12:00:00Z", 10),
        ],
    })  # fmt: skip
    write_delivery(landing, "2026-10-31", renamed | {
        "usage.csv": [usage("UD-06", DELTA, DEV, "RVT", "2027", "2026-10-31T09:00:00Z", 9)],
    })  # fmt: skip
    write_delivery(landing, "2026-11-13", renamed | {
        "usage.csv": [
            usage("UD-08", DELTA, DANA, "ACD", "2027", "2026-11-13T09:00:00Z", 7),
            usage("UE-01", EPS, EVE, "RVT", "2027", "2026-11-12T09:00:00Z", 10),
        ],
    })  # fmt: skip
    yield date(2026, 11, 13)
    yield date(2026, 10, 30)
