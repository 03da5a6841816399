"""Bad-row cases of ingest: a mutation of the base delivery and the quarantine it must cause."""

from __future__ import annotations

from collections.abc import Callable

Files = dict[str, list[dict]]


def setv(file: str, index: int, **values: str) -> Callable[[Files], None]:
    def mutate(files: Files) -> None:
        files[file][index].update(values)

    return mutate


def append(file: str, row: dict) -> Callable[[Files], None]:
    return lambda files: files[file].append(row)


def all_of(*mutations: Callable[[Files], None]) -> Callable[[Files], None]:
    def mutate(files: Files) -> None:
        for m in mutations:
            m(files)

    return mutate


UNKNOWN_S1 = [
    ("token_events.csv", 3, "token_events.subscription_id: unknown pack 'S1'"),
    ("token_events.csv", 4, "token_events.subscription_id: unknown pack 'S1'"),
]
UNKNOWN_S2 = [("token_events.csv", 2, "token_events.subscription_id: unknown pack 'S2'")]
ENUM_ROLE = "(expected one of admin, user)"
TEAM_PATTERN = "(expected [A-Za-z0-9_-]{1,64})"

CASES = {
    "bad date": (
        setv("usage.csv", 0, usage_date="2026-3-02"),
        [("usage.csv", 2, "usage.usage_date: bad date '2026-3-02'")],
    ),
    "impossible date": (
        setv("token_packs.csv", 1, purchase_date="2026-02-30"),
        [("token_packs.csv", 3, "token_packs.purchase_date: bad date '2026-02-30'"), *UNKNOWN_S2],
    ),
    "bad timestamp": (
        setv("usage.csv", 1, charge_ts="2026-03-02 10:04:40Z"),
        [("usage.csv", 3, "usage.charge_ts: bad timestamp '2026-03-02 10:04:40Z'")],
    ),
    "timestamp without Z": (
        setv("token_events.csv", 0, event_ts="2026-03-02T08:15:00"),
        [
            (
                "token_events.csv",
                2,
                "token_events.event_ts: timestamp without Z (UTC) '2026-03-02T08:15:00'",
            )
        ],
    ),
    "hour 24": (
        setv("usage.csv", 0, charge_ts="2026-03-02T24:00:00Z"),
        [("usage.csv", 2, "usage.charge_ts: bad timestamp '2026-03-02T24:00:00Z'")],
    ),
    "hour 24 without Z": (
        setv("usage.csv", 0, charge_ts="2026-03-02T24:00:00"),
        [("usage.csv", 2, "usage.charge_ts: bad timestamp '2026-03-02T24:00:00'")],
    ),
    "minute 60": (
        setv("token_events.csv", 0, event_ts="2026-03-02T08:60:00Z"),
        [("token_events.csv", 2, "token_events.event_ts: bad timestamp '2026-03-02T08:60:00Z'")],
    ),
    "leap second": (
        setv("token_events.csv", 0, event_ts="2026-03-02T23:59:60Z"),
        [("token_events.csv", 2, "token_events.event_ts: bad timestamp '2026-03-02T23:59:60Z'")],
    ),
    "year 0000 date": (
        setv("usage.csv", 2, usage_date="0000-02-27"),
        [("usage.csv", 4, "usage.usage_date: bad date '0000-02-27'")],
    ),
    "year 0000 timestamp": (
        setv("usage.csv", 2, charge_ts="0000-02-27T16:30:00Z"),
        [("usage.csv", 4, "usage.charge_ts: bad timestamp '0000-02-27T16:30:00Z'")],
    ),
    "bad integer": (
        setv("usage.csv", 0, tokens="7.0"),
        [("usage.csv", 2, "usage.tokens: bad integer '7.0'")],
    ),
    "integer out of range": (
        setv("usage.csv", 0, tokens="99999999999999999999"),
        [("usage.csv", 2, "usage.tokens: integer out of range '99999999999999999999'")],
    ),
    "integer with plus sign": (
        setv("usage.csv", 0, tokens="+7"),
        [("usage.csv", 2, "usage.tokens: bad integer '+7'")],
    ),
    "integer with leading space": (
        setv("usage.csv", 1, tokens=" 10"),
        [("usage.csv", 3, "usage.tokens: bad integer ' 10'")],
    ),
    "integer with trailing space": (
        setv("token_events.csv", 1, tokens="-100 "),
        [("token_events.csv", 3, "token_events.tokens: bad integer '-100 '")],
    ),
    "signed integer between spaces": (
        setv("token_packs.csv", 0, tokens_purchased=" +1000 "),
        [
            ("token_packs.csv", 2, "token_packs.tokens_purchased: bad integer ' +1000 '"),
            *UNKNOWN_S1,
        ],
    ),
    "bad boolean": (
        setv("teams.csv", 2, include_pii="TRUE"),
        [("teams.csv", 4, "teams.include_pii: bad boolean 'TRUE'")],
    ),
    "bad enum": (
        setv("team_members.csv", 2, role="owner"),
        [
            (
                "team_members.csv",
                4,
                "team_members.role: bad value 'owner' (expected one of admin, user)",
            )
        ],
    ),
    "empty key": (
        setv("usage.csv", 0, usage_id=""),
        [("usage.csv", 2, "usage.usage_id: missing value")],
    ),
    "empty required value": (
        setv("usage.csv", 2, version=""),
        [("usage.csv", 4, "usage.version: missing value")],
    ),
    "bad team_id pattern": (
        setv("teams.csv", 2, team_id="old team"),
        [("teams.csv", 4, "teams.team_id: bad value 'old team' " + TEAM_PATTERN)],
    ),
    "team_id too long": (
        setv("teams.csv", 2, team_id="t" * 65),
        [
            (
                "teams.csv",
                4,
                f"teams.team_id: bad value '{'t' * 65}' (expected [A-Za-z0-9_-]{{1,64}})",
            )
        ],
    ),
    "malformed team_id in usage": (
        setv("usage.csv", 0, team_id="bad team!"),
        [("usage.csv", 2, "usage.team_id: bad value 'bad team!' " + TEAM_PATTERN)],
    ),
    "malformed team_id in team_members": (
        setv("team_members.csv", 0, team_id="acme/design"),
        [("team_members.csv", 2, "team_members.team_id: bad value 'acme/design' " + TEAM_PATTERN)],
    ),
    "too long team_id in token_packs": (
        setv("token_packs.csv", 1, team_id="n" * 65),
        [
            ("token_packs.csv", 3, f"token_packs.team_id: bad value '{'n' * 65}' {TEAM_PATTERN}"),
            *UNKNOWN_S2,
        ],
    ),
    "malformed team_id in token_events": (
        setv("token_events.csv", 0, team_id="north wind"),
        [("token_events.csv", 2, "token_events.team_id: bad value 'north wind' " + TEAM_PATTERN)],
    ),
    "malformed related_team_id": (
        setv("token_events.csv", 1, related_team_id="northwind_01 "),
        [
            (
                "token_events.csv",
                3,
                "token_events.related_team_id: bad value 'northwind_01 ' " + TEAM_PATTERN,
            )
        ],
    ),
    "malformed merged_into_team_id": (
        setv("teams.csv", 2, merged_into_team_id="acme design"),
        [("teams.csv", 4, "teams.merged_into_team_id: bad value 'acme design' " + TEAM_PATTERN)],
    ),
    "tokens_purchased zero": (
        setv("token_packs.csv", 1, tokens_purchased="0"),
        [
            ("token_packs.csv", 3, "token_packs.tokens_purchased: must be >= 1, got '0'"),
            *UNKNOWN_S2,
        ],
    ),
    "start after end": (
        setv("token_packs.csv", 0, start_date="2027-01-01"),
        [
            (
                "token_packs.csv",
                2,
                "token_packs.start_date: after end_date ('2027-01-01' > '2026-12-31')",
            ),
            *UNKNOWN_S1,
        ],
    ),
    "negative usage tokens": (
        setv("usage.csv", 1, tokens="-3"),
        [("usage.csv", 3, "usage.tokens: negative value '-3'")],
    ),
    "negative purchase": (
        setv("token_events.csv", 0, tokens="-500"),
        [("token_events.csv", 2, "token_events.tokens: must be positive for purchase, got '-500'")],
    ),
    "positive move_out": (
        setv("token_events.csv", 1, tokens="100"),
        [("token_events.csv", 3, "token_events.tokens: must be negative for move_out, got '100'")],
    ),
    "unknown team": (
        setv("usage.csv", 0, team_id="ghost"),
        [("usage.csv", 2, "usage.team_id: unknown team 'ghost'")],
    ),
    "unknown user": (
        setv("usage.csv", 1, autodesk_id="U9"),
        [("usage.csv", 3, "usage.autodesk_id: unknown user 'U9'")],
    ),
    "unknown product": (
        setv("usage.csv", 2, product_line_code="MAYA"),
        [("usage.csv", 4, "usage.product_line_code: unknown product 'MAYA'")],
    ),
    "unknown pack": (
        setv("token_events.csv", 0, subscription_id="S9"),
        [("token_events.csv", 2, "token_events.subscription_id: unknown pack 'S9'")],
    ),
    "unknown related team": (
        setv("token_events.csv", 1, related_team_id="ghost"),
        [("token_events.csv", 3, "token_events.related_team_id: unknown team 'ghost'")],
    ),
    "unknown member user": (
        setv("team_members.csv", 0, autodesk_id="U9"),
        [("team_members.csv", 2, "team_members.autodesk_id: unknown user 'U9'")],
    ),
    "unknown pack team": (
        setv("token_packs.csv", 1, team_id="ghost"),
        [("token_packs.csv", 3, "token_packs.team_id: unknown team 'ghost'"), *UNKNOWN_S2],
    ),
    "unknown merged_into team": (
        setv("teams.csv", 2, merged_into_team_id="ghost"),
        [("teams.csv", 4, "teams.merged_into_team_id: unknown team 'ghost'")],
    ),
    "duplicate key, every copy": (
        setv("usage.csv", 2, usage_id="X1"),
        [
            ("usage.csv", 2, "usage.usage_id: duplicate key 'X1' (2 copies in the file)"),
            ("usage.csv", 4, "usage.usage_id: duplicate key 'X1' (2 copies in the file)"),
        ],
    ),
    "duplicate membership": (
        append("team_members.csv", {"team_id": "acme-design", "autodesk_id": "U1", "role": "user"}),
        [
            (
                "team_members.csv",
                line,
                "team_members.(team_id, autodesk_id): duplicate key ('acme-design', 'U1') "
                "(2 copies in the file)",
            )
            for line in (2, 5)
        ],
    ),
    "several problems in one row": (
        setv("usage.csv", 1, team_id="ghost", tokens="-3", usage_date="yesterday"),
        [
            (
                "usage.csv",
                3,
                "usage.team_id: unknown team 'ghost'; usage.usage_date: bad date 'yesterday'; "
                "usage.tokens: negative value '-3'",
            )
        ],
    ),
    "quarantined team invalidates rows referring to it": (
        setv("teams.csv", 1, include_pii="yes"),
        [
            ("teams.csv", 3, "teams.include_pii: bad boolean 'yes'"),
            ("team_members.csv", 3, "team_members.team_id: unknown team 'northwind_01'"),
            ("team_members.csv", 4, "team_members.team_id: unknown team 'northwind_01'"),
            ("token_packs.csv", 3, "token_packs.team_id: unknown team 'northwind_01'"),
            (
                "token_events.csv",
                2,
                "token_events.team_id: unknown team 'northwind_01'; "
                "token_events.subscription_id: unknown pack 'S2'",
            ),
            ("token_events.csv", 3, "token_events.related_team_id: unknown team 'northwind_01'"),
            ("token_events.csv", 4, "token_events.team_id: unknown team 'northwind_01'"),
            ("usage.csv", 3, "usage.team_id: unknown team 'northwind_01'"),
            ("usage.csv", 4, "usage.team_id: unknown team 'northwind_01'"),
        ],
    ),
    "chain of merges into a quarantined team": (
        all_of(
            setv("teams.csv", 2, include_pii="no"),
            append(
                "teams.csv",
                {
                    "team_id": "t4",
                    "team_alias": "4",
                    "include_pii": "true",
                    "status": "merged",
                    "merged_into_team_id": "old-team",
                },
            ),
            append(
                "teams.csv",
                {
                    "team_id": "t5",
                    "team_alias": "5",
                    "include_pii": "true",
                    "status": "merged",
                    "merged_into_team_id": "t4",
                },
            ),
        ),
        [
            ("teams.csv", 4, "teams.include_pii: bad boolean 'no'"),
            ("teams.csv", 5, "teams.merged_into_team_id: unknown team 'old-team'"),
            ("teams.csv", 6, "teams.merged_into_team_id: unknown team 't4'"),
        ],
    ),  # fmt: skip
}
