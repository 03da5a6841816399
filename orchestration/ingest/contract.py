"""The landing contract: the seven delivery files, their columns, types and rules.

This module is the single source of truth for the shape of a delivery. The
manifest checks, the CSV parsing, the SQL validation and the raw table DDL
are all derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

TEAM_ID_PATTERN = "[A-Za-z0-9_-]{1,64}"


class Kind(Enum):
    """Value types of the landing CSV files."""

    STRING = "string"
    DATE = "date"
    TIMESTAMP = "timestamp"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"

    @property
    def sql_type(self) -> str:
        """DuckDB type of the column in the raw tables (timestamps as naive UTC)."""
        return _SQL_TYPES[self]


_SQL_TYPES = {
    Kind.STRING: "VARCHAR",
    Kind.DATE: "DATE",
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.INTEGER: "BIGINT",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.ENUM: "VARCHAR",
}


class Sign(Enum):
    """Sign a signed token amount must have."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    ANY = "any"


@dataclass(frozen=True)
class Column:
    """One contract column.

    ``nullable`` columns may be empty; every other column needs a value.
    ``references`` names the entity whose key the value must be (in the same
    delivery's valid snapshot rows). ``pattern`` is a full-match regex.
    """

    name: str
    kind: Kind = Kind.STRING
    nullable: bool = False
    values: tuple[str, ...] = ()
    references: str | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class Entity:
    """One delivery file: its columns, key and the rules across columns.

    ``minimum``: (column, smallest allowed integer). ``ordered_dates``: (earlier,
    later) date columns where earlier <= later. ``sign_rule``: (amount column,
    type column, required sign of the amount per type value).
    """

    name: str
    snapshot: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    minimum: tuple[tuple[str, int], ...] = ()
    ordered_dates: tuple[tuple[str, str], ...] = ()
    sign_rule: tuple[str, str, dict[str, Sign]] | None = None

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_S, _D, _T, _I, _B, _E = Kind.STRING, Kind.DATE, Kind.TIMESTAMP, Kind.INTEGER, Kind.BOOLEAN, Kind.ENUM

TEAMS = Entity(
    "teams",
    snapshot=True,
    columns=(
        Column("team_id", pattern=TEAM_ID_PATTERN),
        Column("team_alias"),
        Column("include_pii", _B),
        Column("status", _E, values=("active", "merged")),
        Column("merged_into_team_id", nullable=True, references="teams"),
    ),
    key=("team_id",),
)

USERS = Entity(
    "users",
    snapshot=True,
    columns=(
        Column("autodesk_id"),
        Column("email"),
        Column("first_name", nullable=True),
        Column("last_name", nullable=True),
    ),
    key=("autodesk_id",),
)

TEAM_MEMBERS = Entity(
    "team_members",
    snapshot=True,
    columns=(
        Column("team_id", references="teams"),
        Column("autodesk_id", references="users"),
        Column("role", _E, values=("admin", "user")),
    ),
    key=("team_id", "autodesk_id"),
)

PRODUCTS = Entity(
    "products",
    snapshot=True,
    columns=(
        Column("product_line_code"),
        Column("product_name"),
        Column("tokens_per_day", _I),
        Column("usage_category", _E, values=("DESKTOP_PRODUCT", "CLOUD_SERVICE")),
    ),
    key=("product_line_code",),
)

TOKEN_PACKS = Entity(
    "token_packs",
    snapshot=True,
    columns=(
        Column("subscription_id"),
        Column("contract_number"),
        Column("team_id", references="teams"),
        Column("offering_name"),
        Column("term"),
        Column("tokens_purchased", _I),
        Column("purchase_date", _D),
        Column("start_date", _D),
        Column("end_date", _D),
        Column("reseller_name", nullable=True),
        Column("reseller_email", nullable=True),
    ),
    key=("subscription_id",),
    minimum=(("tokens_purchased", 1),),
    ordered_dates=(("start_date", "end_date"),),
)

TOKEN_EVENTS = Entity(
    "token_events",
    snapshot=False,
    columns=(
        Column("event_id"),
        Column("event_ts", _T),
        Column("team_id", references="teams"),
        Column("subscription_id", references="token_packs"),
        Column(
            "event_type",
            _E,
            values=("purchase", "move_in", "move_out", "merge_in", "merge_out", "adjustment"),
        ),
        Column("tokens", _I),
        Column("related_team_id", nullable=True, references="teams"),
    ),
    key=("event_id",),
    sign_rule=(
        "tokens",
        "event_type",
        {
            "purchase": Sign.POSITIVE,
            "move_in": Sign.POSITIVE,
            "merge_in": Sign.POSITIVE,
            "move_out": Sign.NEGATIVE,
            "merge_out": Sign.NEGATIVE,
            "adjustment": Sign.ANY,
        },
    ),
)

USAGE = Entity(
    "usage",
    snapshot=False,
    columns=(
        Column("usage_id"),
        Column("team_id", references="teams"),
        Column("autodesk_id", references="users"),
        Column("product_line_code", references="products"),
        Column("version"),
        Column("usage_date", _D),
        Column("charge_ts", _T),
        Column("tokens", _I),
    ),
    key=("usage_id",),
    minimum=(("tokens", 0),),
)

# Validation order: every entity comes after the entities it refers to.
ENTITIES: tuple[Entity, ...] = (
    TEAMS,
    USERS,
    PRODUCTS,
    TEAM_MEMBERS,
    TOKEN_PACKS,
    TOKEN_EVENTS,
    USAGE,
)
BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}
BY_FILE: dict[str, Entity] = {e.file_name: e for e in ENTITIES}
