"""The sheets of the exports: single source of truth for names, headers and order.

Each sheet maps to one report model of the warehouse (schema ``main``). Column headers
are exact (see the export contract); ``name`` is the model's column. ``order_by`` gives
the export order as SQL expressions over the model's columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

EXCEL_MAX_ROWS = 1_048_576
AVERAGE_FORMAT = "0.00"


@dataclass(frozen=True)
class Column:
    """One sheet column: exact header, model column and optional Excel number format."""

    header: str
    name: str
    number_format: str | None = None


@dataclass(frozen=True)
class Report:
    """One sheet: its name, the report model it reads and how rows are ordered."""

    sheet: str
    model: str
    columns: tuple[Column, ...]
    order_by: tuple[str, ...]
    day_column: str | None = None

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def position(self, name: str) -> int:
        """1-based sheet column of the model column ``name``."""
        for index, column in enumerate(self.columns, 1):
            if column.name == name:
                return index
        raise KeyError(f"{self.model} has no exported column {name!r}")


def _cols(*pairs: tuple[str, str] | tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*pair) for pair in pairs)


_RANGE = ("Time range", "time_range")
_PRODUCT = ("Product", "product")
_HASHED = ("hashed_autodesk_id", "hashed_autodesk_id")
_USER = ("User", "user_name")
_AVERAGE = ("Average tokens per month", "average_tokens_per_month", AVERAGE_FORMAT)
_BY_USER_ORDER = ("range_order", "user_name", "hashed_autodesk_id")
# Users sheet order: the real name (missing parts left out) for teams that include PII,
# else (names masked) or when there is no name, the hashed id.
_USER_SORT = (
    "CASE WHEN first_name = '*****' THEN hashed_autodesk_id "
    "ELSE coalesce(nullif(concat_ws(' ', nullif(first_name, ''), nullif(last_name, '')), ''), "
    "hashed_autodesk_id) END"
)

SUMMARY = Report(
    "Summary",
    "rpt_summary",
    _cols(
        ("Team ID", "team_id"),
        ("Team", "team"),
        ("As of", "as_of_date"),
        ("Tokens used", "tokens_used"),
        ("Tokens remaining", "tokens_remaining"),
        ("Tokens added", "tokens_added"),
        ("Tokens removed", "tokens_removed"),
        ("Tokens added/removed (net)", "tokens_net"),
    ),
    ("team_id",),
)
TIME_RANGES = Report(
    "Time ranges",
    "rpt_time_ranges",
    _cols(
        _RANGE,
        ("Start date", "start_date"),
        ("End date", "end_date"),
        ("Months", "months"),
        ("Total tokens used", "total_tokens_used"),
        ("Products used", "products_used"),
        ("Total users", "total_users"),
    ),
    ("range_order",),
)
TOKENS_BY_DAY = Report(
    "Tokens by day",
    "rpt_tokens_by_day",
    _cols(("Date", "usage_date"), ("Tokens used", "tokens_used")),
    ("usage_date",),
)
BY_PRODUCT = Report(
    "By product",
    "rpt_by_product",
    _cols(
        _RANGE,
        _PRODUCT,
        ("Total users", "total_users"),
        ("Total tokens used", "total_tokens_used"),
        _AVERAGE,
    ),
    ("range_order", "product"),
)
TOKEN_DISTRIBUTION = Report(
    "Token distribution",
    "rpt_token_distribution",
    _cols(_RANGE, _PRODUCT, ("Band", "band"), ("Users", "users")),
    ("range_order", "product", "band_order"),
)
USERS_BY_VERSION = Report(
    "Users by version",
    "rpt_users_by_version",
    _cols(_RANGE, _PRODUCT, ("Version", "version"), ("Users", "users")),
    ("range_order", "product", "version"),
)
PRODUCT_USERS = Report(
    "Product users",
    "rpt_product_users",
    _cols(_RANGE, _PRODUCT, _HASHED, _USER, ("Total tokens used", "total_tokens_used"), _AVERAGE),
    ("range_order", "product", "user_name", "hashed_autodesk_id"),
)
BY_USER = Report(
    "By user",
    "rpt_by_user",
    _cols(
        _RANGE,
        _HASHED,
        _USER,
        ("Products used", "products_used"),
        ("Number of products", "number_of_products"),
        ("Total tokens used", "total_tokens_used"),
        ("Days used", "days_used"),
        ("Days in range", "days_in_range"),
    ),
    _BY_USER_ORDER,
)
USER_WEEKLY_DAYS = Report(
    "User weekly days",
    "rpt_user_weekly_days",
    _cols(
        _RANGE,
        _HASHED,
        _USER,
        _PRODUCT,
        ("Week starting", "week_starting"),
        ("Days used", "days_used"),
    ),
    (*_BY_USER_ORDER, "product", "week_starting"),
)
USER_VERSIONS = Report(
    "User versions",
    "rpt_user_versions",
    _cols(_RANGE, _HASHED, _USER, _PRODUCT, ("Version", "version"), ("Days used", "days_used")),
    (*_BY_USER_ORDER, "product", "version"),
)
SUBSCRIPTIONS = Report(
    "Subscriptions",
    "rpt_subscriptions",
    _cols(
        ("Subscription ID", "subscription_id"),
        ("Contract number", "contract_number"),
        ("Offering", "offering"),
        ("Term", "term"),
        ("Tokens purchased", "tokens_purchased"),
        ("Start date", "start_date"),
        ("End date", "end_date"),
        ("Status", "status"),
        ("Tokens used", "tokens_used"),
        ("Tokens remaining", "tokens_remaining"),
        ("Tokens expired", "tokens_expired"),
        ("Reseller name", "reseller_name"),
        ("Reseller email", "reseller_email"),
    ),
    ("start_date", "subscription_id"),
)
USERS = Report(
    "Users",
    "rpt_users",
    _cols(
        _HASHED,
        ("Autodesk ID", "autodesk_id"),
        ("Email", "email"),
        ("First name", "first_name"),
        ("Last name", "last_name"),
        ("Role", "role"),
        ("Products used", "products_used"),
        ("Last used", "last_used"),
    ),
    (_USER_SORT, "hashed_autodesk_id"),
)
USAGE = Report(
    "Usage",
    "rpt_usage",
    _cols(
        _HASHED,
        ("Autodesk ID", "autodesk_id"),
        ("Email", "email"),
        ("First name", "first_name"),
        ("Last name", "last_name"),
        ("Team", "team"),
        ("Offering", "offering"),
        _PRODUCT,
        ("Version", "version"),
        ("Usage type", "usage_type"),
        ("Day used", "day_used"),
        ("Tokens used", "tokens_used"),
    ),
    ("day_used", "charge_ts", "usage_id"),
    day_column="day_used",
)

NIGHTLY_REPORTS: tuple[Report, ...] = (
    SUMMARY,
    TIME_RANGES,
    TOKENS_BY_DAY,
    BY_PRODUCT,
    TOKEN_DISTRIBUTION,
    USERS_BY_VERSION,
    PRODUCT_USERS,
    BY_USER,
    USER_WEEKLY_DAYS,
    USER_VERSIONS,
    SUBSCRIPTIONS,
    USERS,
    USAGE,
)

# On-demand report types, in their workbook order; Usage reads the full history.
ON_DEMAND_REPORTS: dict[str, Report] = {
    "subscriptions": SUBSCRIPTIONS,
    "users": USERS,
    "usage": replace(USAGE, model="rpt_usage_history"),
}
