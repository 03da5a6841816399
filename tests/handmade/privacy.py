"""Scenario (c): privacy, formula injection and awkward text, around a leap-year February.

"vault" hides PII (include_pii = false) and has an alias that looks like a formula;
"open-team" shows names. Names, aliases, emails, versions and a product name start with
``=``, ``+``, ``-``, ``@`` or a tab, or hold commas, quotes, newlines and emoji. Zoë is a
member of both teams: named in open-team's workbook, hashed in vault's. A member with no
first name is shown by last name only; an id of digits with a leading zero stays text.
Per-user totals sit on band boundaries (100/101, 1000/1001, 5001).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from handmade.writer import event, pack, usage, write_delivery

VAULT, OPEN = "vault", "open-team"
EVIL, ZOE, EMOJI, SOLO, TABBY, PLUS = "=EVIL01", "-ZOE-02", "EMO😀03", "0042", "TAB-05", "+4470"
TEAMS = [
    (VAULT, '=HYPERLINK("http://evil.example","click")', "false", "active", None),
    (OPEN, '+Open, "Team"\nsecond line 🚀', "true", "active", None),
]
USERS = [
    (EVIL, "@evil@vault.example", "=cmd|' /C calc'!A0", "@SUM(1+1)"),
    (ZOE, "zoe@both.example", "-Zoë", 'O\'Brien, "Jr"'),
    (EMOJI, "emoji@open.example", "Ünïcode 😀", "Line\nBreak"),
    (SOLO, "solo@open.example", None, "Solo"),
    (TABBY, "tabby@open.example", "\tTabby", "Cat"),
    (PLUS, "plus@vault.example", "+Plus", "Minus-"),
]
MEMBERS = [
    (VAULT, EVIL, "admin"),
    (VAULT, ZOE, "user"),
    (VAULT, PLUS, "user"),
    (OPEN, ZOE, "admin"),
    (OPEN, EMOJI, "user"),
    (OPEN, SOLO, "user"),
    (OPEN, TABBY, "user"),
]
PRODUCTS = [
    ("ACD", "AutoCAD", 7, "DESKTOP_PRODUCT"),
    ("RND", "@Cloud Render", 1, "CLOUD_SERVICE"),
    ("3DS", "3ds Max", 6, "DESKTOP_PRODUCT"),
]
PACKS = [
    pack("PV-1", VAULT, 1000, "2027-12-01", "2028-11-30", ("=Reseller", "-r@x.example")),
    pack("PO-1", OPEN, 20000, "2027-06-01", "2028-05-31"),
]


def _snapshot() -> dict[str, list[tuple]]:
    return {
        "teams.csv": TEAMS,
        "users.csv": USERS,
        "team_members.csv": MEMBERS,
        "products.csv": PRODUCTS,
        "token_packs.csv": PACKS,
    }


def stages(landing: Path) -> Iterator[date]:
    """Usage from December 2027 to February 2028, as of mid- and end of February."""
    write_delivery(landing, "2027-12-01", _snapshot() | {
        "token_events.csv": [
            event("EV-1", "2027-12-01T00:00:00Z", VAULT, "PV-1", "purchase", 1000),
            event("EO-1", "2027-06-01T00:00:00Z", OPEN, "PO-1", "purchase", 20000),
        ],
        "usage.csv": [usage("UV-01", VAULT, EVIL, "ACD", "=2028", "2027-12-01T10:00:00Z", 7)],
    })  # fmt: skip
    write_delivery(landing, "2027-12-24", _snapshot() | {
        "usage.csv": [
            usage("UV-02", VAULT, ZOE, "RND", "cloud", "2027-12-24T10:00:00Z", 3),
            usage("UO-01", OPEN, ZOE, "ACD", "2028", "2027-12-02T10:00:00Z", 100),
            usage("UO-02", OPEN, EMOJI, "ACD", "2028", "2027-12-02T11:00:00Z", 101),
        ],
    })  # fmt: skip
    write_delivery(landing, "2028-02-15", _snapshot() | {
        "usage.csv": [
            usage("UV-03", VAULT, PLUS, "3DS", "-2027", "2028-02-14T10:00:00Z", 6),
            usage("UV-04", VAULT, ZOE, "ACD", "2028", "2028-02-15T10:00:00Z", 7),
            usage("UO-03", OPEN, SOLO, "ACD", "2027", "2028-01-10T09:00:00Z", 500),
            usage("UO-04", OPEN, SOLO, "ACD", "2027", "2028-01-11T09:00:00Z", 501),
            usage("UO-05", OPEN, TABBY, "ACD", "2028", "2028-01-31T09:00:00Z", 1000),
            usage("UO-06", OPEN, TABBY, "3DS", "2028", "2028-02-15T09:00:00Z", 5001),
            usage("UO-07", OPEN, ZOE, "RND", "cloud", "2028-02-15T09:30:00Z", 0),
        ],
    })  # fmt: skip
    yield date(2028, 2, 15)
    write_delivery(landing, "2028-02-29", _snapshot() | {
        "usage.csv": [
            usage("UV-05", VAULT, EVIL, "ACD", "=2028", "2028-02-29T23:00:00Z", 7),
            usage("UO-08", OPEN, EMOJI, "3DS", "2028", "2028-02-29T10:00:00Z", 4899),
            usage("UO-09", OPEN, EMOJI, "ACD", "2028", "2028-02-28T10:00:00Z", 900),
        ],
    }, bom=True)  # fmt: skip
    yield date(2028, 2, 29)
