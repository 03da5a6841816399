"""The delivery log: one row per attempt, in the warehouse (schema ``delivery``).

An attempt is written as ``sending`` before the message is handed over and set to
``sent`` or ``failed`` right after, by the same connection, which the delivery holds (with
the warehouse's writer lock) for its whole run. A ``sending`` row found by a later run
therefore belongs to a run that died between handing the message over and recording
the outcome; it becomes ``unconfirmed`` (see ``orchestration.delivery.deliver``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

SENDING, SENT, FAILED, UNCONFIRMED = "sending", "sent", "failed", "unconfirmed"

_DDL = """
create schema if not exists delivery;
create table if not exists delivery.log (
    attempt_id varchar primary key,
    team_id varchar not null,
    as_of_date date not null,
    channel varchar not null,
    workbook_sha256 varchar not null,
    recipients varchar not null,
    subject varchar not null,
    message_id varchar not null,
    corrected boolean not null,
    started_at timestamp not null,
    sent_at timestamp,
    outcome varchar not null,
    reason varchar
)
"""


@dataclass(frozen=True)
class Attempt:
    attempt_id: str
    team_id: str
    as_of_date: date
    channel: str
    workbook_sha256: str
    recipients: str
    subject: str
    message_id: str
    corrected: bool
    started_at: datetime
    sent_at: datetime | None
    outcome: str
    reason: str | None


_COLUMNS = ", ".join(Attempt.__dataclass_fields__)


def ensure_log(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


def has_log(con: duckdb.DuckDBPyConnection) -> bool:
    [(tables,)] = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'delivery' and table_name = 'log'"
    ).fetchall()
    return bool(tables)


def attempts(
    con: duckdb.DuckDBPyConnection, as_of: date, channel: str, team_id: str | None = None
) -> list[Attempt]:
    """Attempts for ``as_of`` on ``channel`` (of one team, or all), oldest first."""
    sql = f"select {_COLUMNS} from delivery.log where as_of_date = ? and channel = ?"
    params: list[object] = [as_of, channel]
    if team_id is not None:
        sql += " and team_id = ?"
        params.append(team_id)
    rows = con.execute(sql + " order by started_at, attempt_id", params).fetchall()
    return [Attempt(*row) for row in rows]


def begin(con: duckdb.DuckDBPyConnection, attempt: Attempt) -> None:
    """Record the intent to send (outcome ``sending``), durably, before sending."""
    marks = ", ".join("?" for _ in Attempt.__dataclass_fields__)
    con.execute(
        f"insert into delivery.log ({_COLUMNS}) values ({marks})",
        [getattr(attempt, name) for name in Attempt.__dataclass_fields__],
    )


def finish(
    con: duckdb.DuckDBPyConnection,
    attempt_id: str,
    outcome: str,
    reason: str | None,
    sent_at: datetime | None,
) -> None:
    con.execute(
        "update delivery.log set outcome = ?, reason = ?, sent_at = ? where attempt_id = ?",
        [outcome, reason, sent_at, attempt_id],
    )


def mark_unconfirmed(con: duckdb.DuckDBPyConnection, attempt_id: str, reason: str) -> None:
    finish(con, attempt_id, UNCONFIRMED, reason, None)
