"""One delivery run: each team's nightly workbook to its admins, exactly once.

Per team and as-of date, on the transport's channel (``smtp`` or ``outbox``):

* a workbook whose sha256 was already ``sent`` is not sent again;
* a workbook that differs from one sent (or possibly sent) before is a correction: it is
  sent with ``(corrected)`` in the subject;
* a ``failed`` attempt is retried by the next run;
* a ``sending`` attempt left by a run that died between handing the message over and
  recording the outcome becomes ``unconfirmed``. On SMTP it is not sent again blindly:
  the team is reported (with the Message-ID to look up in the mail server's log) until
  the operator asks for a resend; the outbox simply rewrites its file (no duplicate).

The caller holds the warehouse's writer lock for the whole run, so no other delivery
runs meanwhile and the window between the server's acceptance and the ``sent`` row is
one local UPDATE (no lock to wait for).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from orchestration.exports.files import workbook_path
from orchestration.faults import crash_point

from . import log
from .content import TeamMail
from .message import build_message, message_id
from .transport import PartialDelivery, SendError, Transport

ALREADY_SENT = "already sent"
NO_RECIPIENTS = "no admin e-mail"


@dataclass(frozen=True)
class TeamOutcome:
    """What the run did for one team; ``reason`` says why when it is not plainly done."""

    team_id: str
    status: str  # sent, already sent, failed, unconfirmed, no admin e-mail
    reason: str = ""
    corrected: bool = False
    recipients: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """False for a failure, an unconfirmed attempt or refused recipients."""
        return self.status in (log.SENT, ALREADY_SENT, NO_RECIPIENTS) and not self.reason


def _now() -> datetime:
    return datetime.now(UTC)


def deliver(
    con: duckdb.DuckDBPyConnection,
    mails: dict[str, TeamMail],
    teams: list[str],
    as_of: date,
    exports_dir: Path,
    transport: Transport,
    sender: str,
    resend_unconfirmed: Collection[str] = (),
    clock: Callable[[], datetime] = _now,
) -> list[TeamOutcome]:
    """Deliver the workbooks of ``teams``; one team's failure never stops the others."""
    log.ensure_log(con)
    outcomes = []
    for team_id in teams:
        try:
            outcomes.append(
                _deliver_team(
                    con,
                    mails.get(team_id),
                    team_id,
                    as_of,
                    exports_dir,
                    transport,
                    sender,
                    team_id in resend_unconfirmed,
                    clock,
                )
            )
        except SendError as err:
            outcomes.append(TeamOutcome(team_id, log.FAILED, str(err)))
    return outcomes


def _deliver_team(
    con: duckdb.DuckDBPyConnection,
    mail: TeamMail | None,
    team_id: str,
    as_of: date,
    exports_dir: Path,
    transport: Transport,
    sender: str,
    resend: bool,
    clock: Callable[[], datetime],
) -> TeamOutcome:
    if mail is None:
        raise SendError(f"no Balances row for {team_id} as of {as_of}")
    if not mail.recipients:
        return TeamOutcome(team_id, NO_RECIPIENTS)
    path = workbook_path(exports_dir, team_id, as_of)
    try:
        workbook = path.read_bytes()
    except OSError as err:
        raise SendError(f"workbook {path} cannot be read: {err.strerror or err}") from err
    sha = hashlib.sha256(workbook).hexdigest()
    history = log.attempts(con, as_of, transport.channel, team_id)
    if any(a.outcome == log.SENT and a.workbook_sha256 == sha for a in history):
        return TeamOutcome(team_id, ALREADY_SENT, recipients=mail.recipients)
    for attempt in history:
        if attempt.outcome == log.SENDING:
            log.mark_unconfirmed(
                con,
                attempt.attempt_id,
                "the run stopped between sending and recording the outcome: look for "
                f"Message-ID {attempt.message_id} in the mail server's log",
            )
    unsure = [
        a
        for a in history
        if a.outcome in (log.SENDING, log.UNCONFIRMED) and a.workbook_sha256 == sha
    ]
    if unsure and transport.channel == "smtp" and not resend:
        first = unsure[0]
        return TeamOutcome(
            team_id,
            log.UNCONFIRMED,
            f"may have been sent at {first.started_at:%Y-%m-%d %H:%M:%S} UTC by a run that "
            f"stopped before recording it: look for Message-ID {first.message_id} in the mail "
            "server's log; resend with resend_unconfirmed if it is not there",
            recipients=mail.recipients,
        )
    corrected = any(
        a.outcome in (log.SENT, log.SENDING, log.UNCONFIRMED) and a.workbook_sha256 != sha
        for a in history
    )
    now = clock()
    message = build_message(mail, as_of, path.name, workbook, sha, sender, corrected, now)
    attempt = log.Attempt(
        attempt_id=str(uuid.uuid4()),
        team_id=team_id,
        as_of_date=as_of,
        channel=transport.channel,
        workbook_sha256=sha,
        recipients="; ".join(mail.recipients),
        subject=str(message["Subject"]),
        message_id=message_id(team_id, as_of, sha, sender),
        corrected=corrected,
        started_at=_naive(now),
        sent_at=None,
        outcome=log.SENDING,
        reason=None,
    )
    log.begin(con, attempt)
    try:
        transport.send(message, sender, mail.recipients, team_id)
    except PartialDelivery as err:
        log.finish(con, attempt.attempt_id, log.SENT, f"refused: {err}", _naive(clock()))
        return TeamOutcome(team_id, log.SENT, f"refused: {err}", corrected, mail.recipients)
    except SendError as err:
        log.finish(con, attempt.attempt_id, log.FAILED, str(err), None)
        return TeamOutcome(team_id, log.FAILED, str(err), corrected, mail.recipients)
    crash_point("delivery.after_send")
    log.finish(con, attempt.attempt_id, log.SENT, None, _naive(clock()))
    return TeamOutcome(team_id, log.SENT, "", corrected, mail.recipients)


def _naive(moment: datetime) -> datetime:
    """UTC as a naive timestamp (the warehouse's convention)."""
    return moment.astimezone(UTC).replace(tzinfo=None)
