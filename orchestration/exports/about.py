"""The About sheet: a plain-words guide to the workbook.

Built from the report date, the five time ranges and the team's privacy setting only, so
it never carries a user's name, e-mail or id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

_SHEETS: tuple[tuple[str, str], ...] = (
    (
        "Summary",
        "The team's tokens at a glance: tokens used from and remaining in the packs active "
        "on the report date, and tokens added and removed in the last 7 days (net: the "
        "sum of both). The line chart shows the tokens used per day over the last 365 "
        "days; the column chart the tokens used per month.",
    ),
    (
        "Balances",
        "How much is left and what comes next. Tokens available equals Summary's tokens "
        "remaining; Available share is that part of the active packs' total (used + "
        "available), red when the low-balance alert holds (below 20% or no tokens), green "
        "otherwise. Tokens expiring within 90 days, the next expiry date and the days "
        "until it follow. Unallocated tokens are usage no pack covered. Products and users "
        "count the past 90 days. The daily burn rate is the tokens used over the past 90 "
        "days divided by 90; drawing at that rate from the packs in their drawdown order "
        "gives the run-out date (empty: no run-out within a year), the tokens that will "
        "expire unused and the tokens to buy to last the next 12 months. Alerts lists the "
        "warnings that hold: low balance, tokens expiring within 90 days, run-out within "
        "90 days, usage not covered by a pack.",
    ),
    (
        "Token events",
        "Every token event (purchase, move between teams, adjustment) and every pack "
        "expiration of the last 90 days, oldest first; tokens are signed (+ added, "
        "- removed). Related team is the other team of a move.",
    ),
    (
        "Tokens by month",
        "Tokens used, products used and users per calendar month, oldest first; the "
        "current month is marked as not complete.",
    ),
    (
        "Time ranges",
        "The five time ranges the other sheets use (their dates are listed above), with "
        "the tokens used, products used and users of each.",
    ),
    ("Tokens by day", "Tokens used on each of the last 365 days, days without use as 0."),
    (
        "By product",
        "Per time range and product: users, total tokens and the average per month. The "
        "bar chart compares the products' total tokens over the past 12 months.",
    ),
    (
        "Token distribution",
        "Per time range and product: how many users used 0-100, 101-500, 501-1000, "
        "1001-5000 or over 5000 tokens. The chart shows the past 12 months for the "
        "products with the most users.",
    ),
    ("Users by version", "Per time range and product: users of each product version."),
    ("Product users", "Per time range and product: each user's tokens and monthly average."),
    (
        "By user",
        "Per time range and user: products used, tokens, and days with use out of the "
        "days in the range.",
    ),
    ("User weekly days", "Per time range, user and product: days with use in each week."),
    ("User versions", "Per time range, user, product and version: days with use."),
    (
        "Subscriptions",
        "Every pack the team has held tokens in: status on the report date, tokens "
        "purchased, received from and sent to other teams, adjustments, and what was "
        "used, is remaining or expired (received - sent + adjustments = used + "
        "remaining + expired).",
    ),
    (
        "Users",
        "Every team member: role, the products used in the past 12 months and the last day of use.",
    ),
    ("Usage", "Every charge of the past 30 days: who, which product and version, tokens."),
)


def about_rows(
    as_of: date, ranges: Sequence[tuple[str, date, date]], include_pii: bool
) -> list[tuple[str, str]]:
    """(Topic, Explanation) rows; ``ranges`` are (name, start, end) in report order."""
    rows = [
        ("Report date", f"{as_of.isoformat()}: every figure is as of the end of this day (UTC)."),
        (
            "Personal data",
            "Shown: user names, e-mails and Autodesk IDs appear in the user sheets."
            if include_pii
            else "Hidden: names, e-mails and Autodesk IDs show ***** and users appear by "
            "their hashed_autodesk_id.",
        ),
    ]
    rows += [
        (f"Time range: {name}", f"{start.isoformat()} to {end.isoformat()}")
        for name, start, end in ranges
    ]
    rows += [(f"Sheet: {sheet}", text) for sheet, text in _SHEETS]
    rows.append(
        (
            "Formats",
            "Dates read YYYY-MM-DD; figures carry thousands separators, averages and the "
            "burn rate two decimals. Each sheet prints landscape, one page wide, with the "
            "header row on every page.",
        )
    )
    return rows
