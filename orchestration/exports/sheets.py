"""The sheets of the exports: single source of truth for names, headers and order.

Each sheet maps to one report model of the warehouse (schema ``main``). Column headers
are exact (see the export contract); ``name`` is the model's column. ``order_by`` gives
the export order as SQL expressions over the model's columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

EXCEL_MAX_ROWS = 1_048_576
COUNT_FORMAT = "#,##0"
AVERAGE_FORMAT = "#,##0.00"
SHARE_FORMAT = "0.0%"
PAST_12_MONTHS = "Past 12 months"


@dataclass(frozen=True)
class Column:
    """One sheet column: exact header, model column and optional Excel number format.

    ``fill_flag`` names a boolean model column read along (not exported) that colours
    this column's cell: red when true, green when false.
    """

    header: str
    name: str
    number_format: str | None = None
    fill_flag: str | None = None
    wrap: int | None = None  # long text wrapped in a column at most this wide


@dataclass(frozen=True)
class Report:
    """One sheet: its name, the report model it reads and how rows are ordered."""

    sheet: str
    model: str
    columns: tuple[Column, ...]
    order_by: tuple[str, ...]
    day_column: str | None = None
    one_page: bool = False  # a short sheet (with its charts) printed on a single page

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    @property
    def selected(self) -> tuple[str, ...]:
        """Model columns to read: the exported ones, then the fill flags."""
        flags = tuple(column.fill_flag for column in self.columns if column.fill_flag)
        return tuple(column.name for column in self.columns) + flags

    def position(self, name: str) -> int:
        """1-based sheet column of the model column ``name``."""
        for index, column in enumerate(self.columns, 1):
            if column.name == name:
                return index
        raise KeyError(f"{self.model} has no exported column {name!r}")


def _cols(*pairs: tuple[str, str] | tuple[str, str, str] | Column) -> tuple[Column, ...]:
    return tuple(pair if isinstance(pair, Column) else Column(*pair) for pair in pairs)


def _count(header: str, name: str) -> Column:
    """A token or count figure, shown with thousands separators."""
    return Column(header, name, COUNT_FORMAT)


_RANGE = ("Time range", "time_range")
_PRODUCT = ("Product", "product")
_HASHED = ("hashed_autodesk_id", "hashed_autodesk_id")
_USER = ("User", "user_name")
_AVERAGE = ("Average tokens per month", "average_tokens_per_month", AVERAGE_FORMAT)
_TOTAL_TOKENS = _count("Total tokens used", "total_tokens_used")
_TOKENS_USED = _count("Tokens used", "tokens_used")
_DAYS_USED = _count("Days used", "days_used")
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
        _TOKENS_USED,
        _count("Tokens remaining", "tokens_remaining"),
        _count("Tokens added", "tokens_added"),
        _count("Tokens removed", "tokens_removed"),
        _count("Tokens added/removed (net)", "tokens_net"),
    ),
    ("team_id",),
    one_page=True,
)
BALANCES = Report(
    "Balances",
    "rpt_balances",
    _cols(
        ("Team ID", "team_id"),
        ("Team", "team"),
        ("As of", "as_of_date"),
        _count("Tokens available", "tokens_available"),
        _TOKENS_USED,
        _count("Tokens total", "tokens_total"),
        Column("Available share", "available_share", SHARE_FORMAT, fill_flag="low_balance"),
        _count("Tokens expiring within 90 days", "tokens_expiring_within_90_days"),
        ("Next expiry date", "next_expiry_date"),
        _count("Days to next expiry", "days_to_next_expiry"),
        _count("Unallocated tokens (past 30 days)", "unallocated_tokens_past_30_days"),
        _count("Unallocated tokens (past 365 days)", "unallocated_tokens_past_365_days"),
        _count("Products used (past 90 days)", "products_used_past_90_days"),
        _count("Users (past 90 days)", "users_past_90_days"),
        ("Daily burn rate", "daily_burn_rate", AVERAGE_FORMAT),
        ("Run-out date", "run_out_date"),
        _count("Tokens expiring unused (next 12 months)", "tokens_expiring_unused_next_12_months"),
        _count("Tokens to buy (next 12 months)", "tokens_to_buy_next_12_months"),
        Column("Alerts", "alerts", wrap=32),
    ),
    ("team_id",),
    one_page=True,
)
TOKEN_EVENTS = Report(
    "Token events",
    "rpt_token_events",
    _cols(
        ("Date", "event_date"),
        ("Event", "event"),
        _count("Tokens", "tokens"),
        ("Subscription ID", "subscription_id"),
        ("Related team", "related_team"),
        ("Event ID", "event_id"),
    ),
    ("event_date", "entry_order", "event_ts", "event_id", "subscription_id"),
)
TOKENS_BY_MONTH = Report(
    "Tokens by month",
    "rpt_tokens_by_month",
    _cols(
        ("Month", "month"),
        ("Complete", "complete"),
        _TOKENS_USED,
        _count("Products used", "products_used"),
        _count("Total users", "total_users"),
    ),
    ("month",),
    one_page=True,
)
TIME_RANGES = Report(
    "Time ranges",
    "rpt_time_ranges",
    _cols(
        _RANGE,
        ("Start date", "start_date"),
        ("End date", "end_date"),
        _count("Months", "months"),
        _TOTAL_TOKENS,
        _count("Products used", "products_used"),
        _count("Total users", "total_users"),
    ),
    ("range_order",),
    one_page=True,
)
TOKENS_BY_DAY = Report(
    "Tokens by day",
    "rpt_tokens_by_day",
    _cols(("Date", "usage_date"), _TOKENS_USED),
    ("usage_date",),
)
BY_PRODUCT = Report(
    "By product",
    "rpt_by_product",
    _cols(_RANGE, _PRODUCT, _count("Total users", "total_users"), _TOTAL_TOKENS, _AVERAGE),
    ("range_order", "product"),
)
TOKEN_DISTRIBUTION = Report(
    "Token distribution",
    "rpt_token_distribution",
    _cols(_RANGE, _PRODUCT, ("Band", "band"), _count("Users", "users")),
    ("range_order", "product", "band_order"),
)
USERS_BY_VERSION = Report(
    "Users by version",
    "rpt_users_by_version",
    _cols(_RANGE, _PRODUCT, ("Version", "version"), _count("Users", "users")),
    ("range_order", "product", "version"),
)
PRODUCT_USERS = Report(
    "Product users",
    "rpt_product_users",
    _cols(_RANGE, _PRODUCT, _HASHED, _USER, _TOTAL_TOKENS, _AVERAGE),
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
        _count("Number of products", "number_of_products"),
        _TOTAL_TOKENS,
        _DAYS_USED,
        _count("Days in range", "days_in_range"),
    ),
    _BY_USER_ORDER,
)
USER_WEEKLY_DAYS = Report(
    "User weekly days",
    "rpt_user_weekly_days",
    _cols(_RANGE, _HASHED, _USER, _PRODUCT, ("Week starting", "week_starting"), _DAYS_USED),
    (*_BY_USER_ORDER, "product", "week_starting"),
)
USER_VERSIONS = Report(
    "User versions",
    "rpt_user_versions",
    _cols(_RANGE, _HASHED, _USER, _PRODUCT, ("Version", "version"), _DAYS_USED),
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
        _count("Tokens purchased", "tokens_purchased"),
        ("Start date", "start_date"),
        ("End date", "end_date"),
        ("Status", "status"),
        _count("Tokens received", "tokens_received"),
        _count("Tokens sent", "tokens_sent"),
        _count("Adjustments", "adjustments"),
        _TOKENS_USED,
        _count("Tokens remaining", "tokens_remaining"),
        _count("Tokens expired", "tokens_expired"),
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
        _TOKENS_USED,
    ),
    ("day_used", "charge_ts", "usage_id"),
    day_column="day_used",
)
# The About sheet is written from the workbook's own figures, not read from a model.
ABOUT = Report(
    "About",
    "",
    _cols(Column("Topic", "topic", wrap=40), Column("Explanation", "explanation", wrap=90)),
    (),
)

# The report sheets in workbook order (About follows them).
NIGHTLY_REPORTS: tuple[Report, ...] = (
    SUMMARY,
    BALANCES,
    TOKEN_EVENTS,
    TOKENS_BY_MONTH,
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
