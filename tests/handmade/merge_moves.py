"""Scenario (b): pack moves, a team merge, expiry inside a range and running out of tokens.

- alpha's P-A1 (200) and P-A2 (100) share the end date 2027-06-30: P-A2 (fewer tokens
  purchased) is drawn first, and U-3 is split across both;
- alpha moves 50 tokens of P-A1 to gamma on 2027-03-15; gamma's charge at the move's
  instant draws the moved tokens (events apply first), its next charge runs out
  (partly unallocated);
- beta merges into alpha on 2027-05-20 (merge_out / merge_in of P-B1): beta gets no
  workbook, its usage stays its own;
- P-A1 expires on 2027-06-30, inside Past 3 months as of 2027-08-15, with tokens left;
- adjustments of both signs in the last seven days before 2027-08-15.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from handmade.writer import event, pack, usage, write_delivery

ALPHA, BETA, GAMMA = "alpha", "beta-2", "gamma_3"
ADA, ALAN, GRACE, EDSGER = "AD-0001", "AT-0002", "GH-0003", "ED-0004"
USERS = [
    (ADA, "ada@alpha.example", "Ada", "Lovelace"),
    (ALAN, "alan@alpha.example", "Alan", "Turing"),
    (GRACE, "grace@beta.example", "Grace", "Hopper"),
    (EDSGER, "edsger@gamma.example", "Edsger", "Dijkstra"),
]
PRODUCTS = [
    ("ACD", "AutoCAD", 7, "DESKTOP_PRODUCT"),
    ("RVT", "Revit", 10, "DESKTOP_PRODUCT"),
    ("MAYA", "Maya", 6, "DESKTOP_PRODUCT"),
]
MEMBERS = [
    (ALPHA, ADA, "admin"),
    (ALPHA, ALAN, "user"),
    (BETA, GRACE, "admin"),
    (GAMMA, EDSGER, "admin"),
]
PA1 = pack("P-A1", ALPHA, 200, "2026-07-01", "2027-06-30", ("Big Reseller", "big@resell.example"))
PA2 = pack("P-A2", ALPHA, 100, "2027-01-10", "2027-06-30")
PB1 = pack("P-B1", BETA, 150, "2027-01-10", "2028-01-09")
PG1 = pack("P-G1", GAMMA, 50, "2027-01-10", "2028-01-09")
PA3 = pack("P-A3", ALPHA, 400, "2027-07-01", "2028-06-30")


def _teams(merged: bool) -> list[tuple]:
    beta = (BETA, "Beta Studio", "true", "merged", ALPHA) if merged else (
        BETA, "Beta Studio", "true", "active", None)  # fmt: skip
    return [(ALPHA, "Alpha Works", "true", "active", None), beta,
            (GAMMA, "Gamma Lab", "true", "active", None)]  # fmt: skip


def _snapshot(packs: list[tuple], merged: bool = False) -> dict[str, list[tuple]]:
    members = MEMBERS + [(ALPHA, GRACE, "user")] if merged else MEMBERS
    return {
        "teams.csv": _teams(merged),
        "users.csv": USERS,
        "team_members.csv": members,
        "products.csv": PRODUCTS,
        "token_packs.csv": packs,
    }


def stages(landing: Path) -> Iterator[date]:
    """Deliveries from 2026-07-01 to 2027-08-12, refreshed at three as-of dates."""
    write_delivery(landing, "2026-07-01", _snapshot([PA1]) | {
        "token_events.csv": [event("E-1", "2026-07-01T09:00:00Z", ALPHA, "P-A1", "purchase", 200)],
        "usage.csv": [usage("U-01", ALPHA, ADA, "ACD", "2027", "2026-07-01T10:00:00Z", 7)],
    })  # fmt: skip
    write_delivery(landing, "2027-01-10", _snapshot([PA1, PA2, PB1, PG1]) | {
        "token_events.csv": [
            event("E-2", "2027-01-10T08:00:00Z", ALPHA, "P-A2", "purchase", 100),
            event("E-3", "2027-01-10T08:00:00Z", BETA, "P-B1", "purchase", 150),
            event("E-4", "2027-01-10T08:00:00Z", GAMMA, "P-G1", "purchase", 50),
        ],
        "usage.csv": [
            usage("U-02", ALPHA, ADA, "RVT", "2027", "2027-01-10T09:00:00Z", 10),
            usage("U-03", ALPHA, ALAN, "RVT", "2027", "2027-01-10T09:30:00Z", 95),
            usage("U-04", BETA, GRACE, "MAYA", "2027", "2027-01-10T10:00:00Z", 6),
            usage("U-05", GAMMA, EDSGER, "ACD", "2027", "2027-01-10T10:00:00Z", 30),
        ],
    })  # fmt: skip
    write_delivery(landing, "2027-03-15", _snapshot([PA1, PA2, PB1, PG1]) | {
        "token_events.csv": [
            event("E-5", "2027-03-15T12:00:00Z", ALPHA, "P-A1", "move_out", -50, GAMMA),
            event("E-6", "2027-03-15T12:00:00Z", GAMMA, "P-A1", "move_in", 50, ALPHA),
        ],
        "usage.csv": [
            usage("U-06", GAMMA, EDSGER, "ACD", "2027", "2027-03-15T12:00:00Z", 40),
            usage("U-07", GAMMA, EDSGER, "RVT", "2027", "2027-03-15T13:00:00Z", 45),
            usage("U-08", ALPHA, ALAN, "ACD", "2026", "2027-03-14T18:00:00Z", 7),
        ],
    })  # fmt: skip
    yield date(2027, 3, 15)
    write_delivery(landing, "2027-05-20", _snapshot([PA1, PA2, PB1, PG1], merged=True) | {
        "token_events.csv": [
            event("E-7", "2027-05-20T00:00:00Z", BETA, "P-B1", "merge_out", -138, ALPHA),
            event("E-8", "2027-05-20T00:00:00Z", ALPHA, "P-B1", "merge_in", 138, BETA),
        ],
        "usage.csv": [
            usage("U-09", BETA, GRACE, "MAYA", "2027", "2027-05-19T23:00:00Z", 6),
            usage("U-10", ALPHA, GRACE, "MAYA", "2027", "2027-05-20T08:00:00Z", 6),
        ],
    })  # fmt: skip
    write_delivery(landing, "2027-06-30", _snapshot([PA1, PA2, PB1, PG1, PA3], merged=True) | {
        "token_events.csv": [event("E-9", "2027-06-30T08:00:00Z", ALPHA, "P-A3", "purchase", 400)],
        "usage.csv": [
            usage("U-11", ALPHA, ADA, "ACD", "2027", "2027-06-30T22:00:00Z", 7),
            usage("U-12", ALPHA, ADA, "MAYA", "2027", "2027-06-01T09:00:00Z", 6),
        ],
    })  # fmt: skip
    yield date(2027, 6, 30)
    write_delivery(landing, "2027-07-01", _snapshot([PA1, PA2, PB1, PG1, PA3], merged=True) | {
        "usage.csv": [usage("U-13", ALPHA, ALAN, "RVT", "2027", "2027-07-01T09:00:00Z", 10)],
    })  # fmt: skip
    write_delivery(landing, "2027-08-12", _snapshot([PA1, PA2, PB1, PG1, PA3], merged=True) | {
        "token_events.csv": [
            event("E-10", "2027-08-12T10:00:00Z", ALPHA, "P-A3", "adjustment", -20),
            event("E-11", "2027-08-12T11:00:00Z", ALPHA, "P-A3", "adjustment", 5),
            event("E-12", "2027-08-08T11:00:00Z", GAMMA, "P-G1", "adjustment", 3),
        ],
        "usage.csv": [
            usage("U-14", ALPHA, ADA, "ACD", "2027", "2027-08-12T12:00:00Z", 7),
            usage("U-15", GAMMA, EDSGER, "ACD", "2027", "2027-08-12T12:00:00Z", 7),
        ],
    })  # fmt: skip
    yield date(2027, 8, 15)
