"""The e-mail of one team: subject, plain-text and HTML body, the workbook attached.

The body holds the team's Balances figures and alerts and nothing about any user. When
the team hides personal data (``include_pii`` not true) the admins are not listed in a
To header (each would see the others' addresses): they receive it as undisclosed
recipients, their addresses in the SMTP envelope only.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from .content import TeamMail

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
UNDISCLOSED = "undisclosed-recipients:;"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def subject(team: str, as_of: date, alerts: tuple[str, ...], corrected: bool) -> str:
    """``Flex token usage: <team>, <as_of>`` [`` (corrected)``][``: <alert>; <alert>``]."""
    text = f"Flex token usage: {_CONTROL.sub(' ', team).strip()}, {as_of.isoformat()}"
    if corrected:
        text += " (corrected)"
    if alerts:
        text += ": " + "; ".join(alerts)
    return text


def message_id(team_id: str, as_of: date, workbook_sha256: str, sender: str) -> str:
    """The same for every attempt of the same workbook, so mail systems can merge resends."""
    domain = sender.rpartition("@")[2] or "flex-usage"
    return f"<flex-usage.{as_of.isoformat()}.{team_id}.{workbook_sha256[:16]}@{domain}>"


def build_message(
    mail: TeamMail,
    as_of: date,
    workbook_name: str,
    workbook: bytes,
    workbook_sha256: str,
    sender: str,
    corrected: bool,
    now: datetime,
) -> EmailMessage:
    """The e-mail to ``mail``'s admins with ``workbook`` attached as ``workbook_name``."""
    message = EmailMessage()
    message["Subject"] = subject(mail.team, as_of, mail.alerts, corrected)
    message["From"] = sender
    message["To"] = ", ".join(mail.recipients) if mail.include_pii else UNDISCLOSED
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(mail.team_id, as_of, workbook_sha256, sender)
    message.set_content(_text(mail, as_of, workbook_name, corrected))
    message.add_alternative(_html(mail, as_of, workbook_name, corrected), subtype="html")
    message.add_attachment(
        workbook, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=workbook_name
    )
    return message


def _intro(mail: TeamMail, as_of: date) -> str:
    team = _CONTROL.sub(" ", mail.team).strip()
    return f"Flex token usage of {team} (team {mail.team_id}) as of {as_of}."


_CORRECTED = "This report replaces the one sent earlier for the same date: its data was corrected."
_WHY = "You receive this e-mail as an admin of the team."


def _text(mail: TeamMail, as_of: date, workbook_name: str, corrected: bool) -> str:
    lines = [_intro(mail, as_of), ""]
    if corrected:
        lines += [_CORRECTED, ""]
    lines += ["Alerts: " + ("; ".join(mail.alerts) if mail.alerts else "none"), ""]
    lines += [f"{label}: {value}" for label, value in mail.figures]
    lines += ["", f"The full report is attached: {workbook_name}", "", _WHY]
    return "\n".join(lines) + "\n"


def _html(mail: TeamMail, as_of: date, workbook_name: str, corrected: bool) -> str:
    esc = html.escape
    alerts = "".join(f"<li>{esc(name)}</li>" for name in mail.alerts) or "<li>none</li>"
    rows = "".join(
        f'<tr><th scope="row">{esc(label)}</th><td>{esc(value)}</td></tr>'
        for label, value in mail.figures
    )
    parts = [
        "<!DOCTYPE html><html><body>",
        f"<p>{esc(_intro(mail, as_of))}</p>",
        f"<p><strong>{esc(_CORRECTED)}</strong></p>" if corrected else "",
        f"<p>Alerts:</p><ul>{alerts}</ul>",
        f"<table>{rows}</table>",
        f"<p>The full report is attached: {esc(workbook_name)}</p>",
        f"<p>{esc(_WHY)}</p>",
        "</body></html>",
    ]
    return "".join(parts) + "\n"


def message_bytes(message: EmailMessage) -> bytes:
    """``message.as_bytes()``, without the email generator's line-by-line pass over the
    attachment: a short marker stands in for the base64 body while the rest is written,
    then the body (already encoded, in 76-character lines) replaces it unchanged."""
    attachment = next(message.iter_attachments(), None)
    body = attachment.get_payload() if attachment is not None else None
    # the stored body's lines end in "\n": spliced as is only where the policy writes "\n"
    if attachment is None or not isinstance(body, str) or message.policy.linesep != "\n":
        return message.as_bytes()
    marker = f"flex-usage-attachment-{uuid.uuid4().hex}"
    attachment.set_payload(marker)
    try:
        flat = message.as_bytes()
    finally:
        attachment.set_payload(body)
    head, found, tail = flat.partition(marker.encode("ascii"))
    if not found:
        raise ValueError("the attachment marker is missing from the flattened message")
    return head + body.encode("ascii") + tail
