"""The index of one as-of date: ``<exports>/index/<as_of>.csv`` and ``.html``.

One row per active team: team id, team name, the workbook's path (relative to the
exports folder; empty when there is none), Tokens available, alerts and the delivery
outcome. Both files are written atomically; csv text is formula-safe and the HTML is
escaped (team names are free text).
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

from orchestration.exports.files import checked_date, workbook_path, write_file_atomically
from orchestration.exports.safety import csv_text

from . import log
from .content import TeamMail
from .deliver import NO_RECIPIENTS

HEADERS = ("Team ID", "Team", "Workbook", "Tokens available", "Alerts", "Delivery")


@dataclass(frozen=True)
class IndexRow:
    team_id: str
    team: str
    workbook: str  # relative to the exports folder, '' when not written
    tokens_available: int
    alerts: str
    delivery: str


def delivery_label(mail: TeamMail, history: list[log.Attempt]) -> str:
    """The outcome of the team's newest attempt, in words."""
    if not history:
        return NO_RECIPIENTS if not mail.recipients else "not sent"
    last = history[-1]
    where = "written to the outbox" if last.channel == "outbox" else "sent"
    corrected = " (corrected)" if last.corrected else ""
    if last.outcome == log.SENT:
        text = f"{where}{corrected} {last.sent_at:%Y-%m-%d %H:%M} UTC"
        return f"{text}; {last.reason}" if last.reason else text
    if last.outcome == log.FAILED:
        return f"failed: {last.reason}"
    return f"unconfirmed: {last.reason or 'the run stopped while sending'}"


def index_rows(
    mails: dict[str, TeamMail], exports_dir: Path, as_of: date, attempts: list[log.Attempt]
) -> list[IndexRow]:
    """Rows of the index, by team id; ``attempts`` are the log rows of the as-of date."""
    by_team: dict[str, list[log.Attempt]] = {}
    for attempt in attempts:
        by_team.setdefault(attempt.team_id, []).append(attempt)
    rows = []
    for team_id in sorted(mails):
        mail = mails[team_id]
        path = workbook_path(exports_dir, team_id, as_of)
        rows.append(
            IndexRow(
                team_id=team_id,
                team=mail.team,
                workbook=path.relative_to(exports_dir).as_posix() if path.is_file() else "",
                tokens_available=mail.tokens_available,
                alerts="; ".join(mail.alerts),
                delivery=delivery_label(mail, by_team.get(team_id, [])),
            )
        )
    return rows


def write_index(exports_dir: Path, as_of: date, rows: list[IndexRow]) -> list[Path]:
    """Write (replace) the csv and HTML index of ``as_of``; their paths."""
    day = checked_date(as_of, "as_of").isoformat()
    folder = Path(exports_dir) / "index"
    csv_bytes = _csv(rows).encode("utf-8")
    html_bytes = _html(day, rows).encode("utf-8")
    return [
        write_file_atomically(folder / f"{day}.csv", lambda handle: handle.write(csv_bytes)),
        write_file_atomically(folder / f"{day}.html", lambda handle: handle.write(html_bytes)),
    ]


def _csv(rows: list[IndexRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(
            [
                csv_text(row.team_id),
                csv_text(row.team),
                csv_text(row.workbook),
                row.tokens_available,
                csv_text(row.alerts),
                csv_text(row.delivery),
            ]
        )
    return out.getvalue()


def _html(day: str, rows: list[IndexRow]) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(name)}</th>" for name in HEADERS)
    body = []
    for row in rows:
        link = (
            f'<a href="../{esc(quote(row.workbook))}">{esc(row.workbook)}</a>'
            if row.workbook
            else ""
        )
        cells = [esc(row.team_id), esc(row.team), link, f"{row.tokens_available:,}"]
        cells += [esc(row.alerts), esc(row.delivery)]
        body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>Flex token usage as of {day}</title></head><body>"
        f"<h1>Flex token usage as of {day}</h1>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "</body></html>\n"
    )
