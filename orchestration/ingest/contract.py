"""The landing contract: the seven delivery files, their columns, types and rules.

This module is the single source of truth for the shape of a delivery. The
manifest checks, the CSV parsing, the SQL validation and the raw table DDL
are all derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

TEAM_ID_PATTERN = "[A-Za-z0-9_-]{1,64}"
MAX_DAILY_TOKENS = 1_000_000  # products.tokens_per_day, usage.tokens
MAX_PACK_TOKENS = 1_000_000_000  # token_packs.tokens_purchased, |token_events.tokens|
MAX_FIELD_CHARS = 65_536  # a longer field makes its row bad
KEPT_FIELD_CHARS = 1_024  # what raw_values keeps of such a field


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

    ``minimum`` / ``maximum``: (column, smallest / largest allowed integer).
    ``ordered_dates``: (earlier,
    later) date columns where earlier <= later. ``sign_rule``: (amount column,
    type column, required sign of the amount per type value).
    """

    name: str
    noun: str
    snapshot: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    minimum: tuple[tuple[str, int], ...] = ()
    maximum: tuple[tuple[str, int], ...] = ()
    ordered_dates: tuple[tuple[str, str], ...] = ()
    sign_rule: tuple[str, str, dict[str, Sign]] | None = None

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def column_ddl(self) -> str:
        """The typed columns as in ``CREATE TABLE``: ``name TYPE, ...``."""
        return ", ".join(f"{c.name} {c.kind.sql_type}" for c in self.columns)


TEAMS = Entity(
    "teams",
    noun="team",
    snapshot=True,
    columns=(
        Column("team_id", pattern=TEAM_ID_PATTERN),
        Column("team_alias"),
        Column("include_pii", Kind.BOOLEAN),
        Column("status", Kind.ENUM, values=("active", "merged")),
        Column("merged_into_team_id", nullable=True, references="teams"),
    ),
    key=("team_id",),
)

USERS = Entity(
    "users",
    noun="user",
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
    noun="team member",
    snapshot=True,
    columns=(
        Column("team_id", references="teams"),
        Column("autodesk_id", references="users"),
        Column("role", Kind.ENUM, values=("admin", "user")),
    ),
    key=("team_id", "autodesk_id"),
)

PRODUCTS = Entity(
    "products",
    noun="product",
    snapshot=True,
    columns=(
        Column("product_line_code"),
        Column("product_name"),
        Column("tokens_per_day", Kind.INTEGER),
        Column("usage_category", Kind.ENUM, values=("DESKTOP_PRODUCT", "CLOUD_SERVICE")),
    ),
    key=("product_line_code",),
    minimum=(("tokens_per_day", 0),),
    maximum=(("tokens_per_day", MAX_DAILY_TOKENS),),
)

TOKEN_PACKS = Entity(
    "token_packs",
    noun="pack",
    snapshot=True,
    columns=(
        Column("subscription_id"),
        Column("contract_number"),
        Column("team_id", references="teams"),
        Column("offering_name"),
        Column("term"),
        Column("tokens_purchased", Kind.INTEGER),
        Column("purchase_date", Kind.DATE),
        Column("start_date", Kind.DATE),
        Column("end_date", Kind.DATE),
        Column("reseller_name", nullable=True),
        Column("reseller_email", nullable=True),
    ),
    key=("subscription_id",),
    minimum=(("tokens_purchased", 1),),
    maximum=(("tokens_purchased", MAX_PACK_TOKENS),),
    ordered_dates=(("start_date", "end_date"),),
)

TOKEN_EVENTS = Entity(
    "token_events",
    noun="token event",
    snapshot=False,
    columns=(
        Column("event_id"),
        Column("event_ts", Kind.TIMESTAMP),
        Column("team_id", references="teams"),
        Column("subscription_id", references="token_packs"),
        Column(
            "event_type",
            Kind.ENUM,
            values=("purchase", "move_in", "move_out", "merge_in", "merge_out", "adjustment"),
        ),
        Column("tokens", Kind.INTEGER),
        Column("related_team_id", nullable=True, references="teams"),
    ),
    key=("event_id",),
    minimum=(("tokens", -MAX_PACK_TOKENS),),
    maximum=(("tokens", MAX_PACK_TOKENS),),
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
    noun="usage row",
    snapshot=False,
    columns=(
        Column("usage_id"),
        Column("team_id", references="teams"),
        Column("autodesk_id", references="users"),
        Column("product_line_code", references="products"),
        Column("version"),
        Column("usage_date", Kind.DATE),
        Column("charge_ts", Kind.TIMESTAMP),
        Column("tokens", Kind.INTEGER),
    ),
    key=("usage_id",),
    minimum=(("tokens", 0),),
    maximum=(("tokens", MAX_DAILY_TOKENS),),
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


def value_pattern(col: Column) -> str | None:
    """The full-match regex of ``col``; a reference inherits the pattern of the key it names."""
    if col.pattern or not col.references:
        return col.pattern
    ref = BY_NAME[col.references]
    return next(c.pattern for c in ref.columns if c.name == ref.key[0])
