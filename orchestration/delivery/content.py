"""What each team's e-mail carries, read from the released report models.

Recipients come from ``report_admin_recipients`` (admins of the newest snapshot), the
figures and alerts from ``rpt_balances`` (one row per active team). Nothing about any
individual user is read besides the recipients' own addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from orchestration.exports.reader import DuckDBReportSource
from orchestration.exports.sheets import Column, Report

# (label as on the Balances sheet, rpt_balances column, kind) in the sheet's order.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("Tokens available", "tokens_available", "count"),
    ("Tokens used", "tokens_used", "count"),
    ("Tokens total", "tokens_total", "count"),
    ("Available share", "available_share", "share"),
    ("Tokens expiring within 90 days", "tokens_expiring_within_90_days", "count"),
    ("Next expiry date", "next_expiry_date", "date"),
    ("Days to next expiry", "days_to_next_expiry", "count"),
    ("Unallocated tokens (past 30 days)", "unallocated_tokens_past_30_days", "count"),
    ("Unallocated tokens (past 365 days)", "unallocated_tokens_past_365_days", "count"),
    ("Products used (past 90 days)", "products_used_past_90_days", "count"),
    ("Users (past 90 days)", "users_past_90_days", "count"),
    ("Daily burn rate", "daily_burn_rate", "rate"),
    ("Run-out date", "run_out_date", "date"),
    ("Tokens expiring unused (next 12 months)", "tokens_expiring_unused_next_12_months", "count"),
    ("Tokens to buy (next 12 months)", "tokens_to_buy_next_12_months", "count"),
)

BALANCES = Report(
    "Balances",
    "rpt_balances",
    tuple(Column(label, name) for label, name, _ in FIGURES)
    + (Column("Team", "team"), Column("Alerts", "alerts")),
    ("team_id",),
)
RECIPIENTS = Report(
    "Recipients",
    "report_admin_recipients",
    (Column("Email", "email"), Column("Include PII", "include_pii")),
    ("email",),
)


@dataclass(frozen=True)
class TeamMail:
    """One team's e-mail content: who gets it and the figures it shows."""

    team_id: str
    team: str
    include_pii: bool
    recipients: tuple[str, ...]
    figures: tuple[tuple[str, str], ...]  # (label, formatted value)
    tokens_available: int
    alerts: tuple[str, ...] = field(default=())


def format_figure(value: date | float | Decimal | None, kind: str) -> str:
    """A Balances figure as shown in the e-mail (empty figures read ``none``)."""
    if value is None:
        return "none"
    if isinstance(value, date):
        return value.isoformat()
    if kind == "date":
        return str(value)
    if kind == "share":
        percent = (Decimal(repr(float(value))) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
        return f"{percent}%"
    if kind == "rate":
        return f"{Decimal(str(value)).quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    return f"{int(value):,}"


def split_alerts(text: str | None) -> tuple[str, ...]:
    """The alert names of the ``alerts`` column (``'; '``-joined, empty when none)."""
    return tuple(name.strip() for name in (text or "").split(";") if name.strip())


def read_team_mails(reports_file: Path, as_of: date, teams: list[str]) -> dict[str, TeamMail]:
    """The e-mail content of ``teams`` as of ``as_of`` (teams without a Balances row left out)."""
    mails: dict[str, TeamMail] = {}
    with DuckDBReportSource(reports_file) as source:
        reports = source.for_teams(teams, as_of)
        try:
            for team_id in sorted(teams):
                rows = [row for batch in reports.batches(BALANCES, team_id, as_of) for row in batch]
                admins = [
                    row for batch in reports.batches(RECIPIENTS, team_id, as_of) for row in batch
                ]
                if not rows:
                    continue
                row = rows[0]
                count = len(FIGURES)
                mails[team_id] = TeamMail(
                    team_id=team_id,
                    team=row[count],
                    include_pii=bool(admins) and all(pii is True for _, pii in admins),
                    recipients=tuple(email for email, _ in admins),
                    figures=tuple(
                        (label, format_figure(value, kind))
                        for (label, _, kind), value in zip(FIGURES, row[:count], strict=True)
                    ),
                    tokens_available=row[0],
                    alerts=split_alerts(row[count + 1]),
                )
        finally:
            reports.close()
    return mails
