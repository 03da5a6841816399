"""E-mail delivery against a real SMTP server on loopback: exactly once, corrections,
failures isolated per team and retried, unconfirmed attempts, STARTTLS/SMTPS and login."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import duckdb
import pytest

from orchestration.delivery import log
from orchestration.delivery.content import TeamMail
from orchestration.delivery.deliver import ALREADY_SENT, NO_RECIPIENTS, deliver
from orchestration.delivery.message import UNDISCLOSED, build_message, message_bytes, message_id
from orchestration.delivery.transport import (
    DeliveryConfigError,
    OutboxTransport,
    SmtpTransport,
    smtp_settings,
    transport_from_env,
)
from orchestration.exports.files import workbook_path
from tests.smtp_server import (
    Handler,
    authenticator,
    free_port,
    make_certificate,
    server_tls_context,
    smtp_server,
)

D = date(2026, 3, 2)
SENDER = "reports@flex.example"
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
FIGURES = (("Tokens available", "1,200"), ("Available share", "12.5%"), ("Run-out date", "none"))


def team_mail(team_id: str, recipients: list[str], pii: bool = True, alerts=(), team=None):
    return TeamMail(
        team_id=team_id,
        team=team or f"Team {team_id}",
        include_pii=pii,
        recipients=tuple(recipients),
        figures=FIGURES,
        tokens_available=1200,
        alerts=tuple(alerts),
    )


MAILS = {
    "acme": team_mail("acme", ["ann@acme.example", "al@acme.example"], alerts=["low balance"]),
    "nw": team_mail("nw", ["bo@nw.example"], pii=False),
}


def put_workbook(exports: Path, team_id: str, content: bytes) -> bytes:
    path = workbook_path(exports, team_id, D)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return content


def run(tmp_path: Path, transport, mails=MAILS, resend=()) -> dict:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        outcomes = deliver(
            con, mails, sorted(mails), D, tmp_path / "exports", transport, SENDER, resend
        )
    finally:
        transport.close()
        con.close()
    return {o.team_id: o for o in outcomes}


def smtp(port: int, scheme="smtp", user_part="", **env) -> SmtpTransport:
    url = f"{scheme}://{user_part}127.0.0.1:{port}"
    transport, sender = transport_from_env(
        {"FLEX_SMTP_URL": url, "FLEX_MAIL_FROM": SENDER, **env}, Path("unused"), D
    )
    assert sender == SENDER
    return transport


def logged(tmp_path: Path, channel="smtp") -> list[log.Attempt]:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        return log.attempts(con, D, channel)
    finally:
        con.close()


def attachment(message) -> tuple[str, bytes]:
    (part,) = list(message.iter_attachments())
    return part.get_filename(), part.get_content()


@pytest.fixture
def books(tmp_path: Path) -> dict[str, bytes]:
    exports = tmp_path / "exports"
    return {team: put_workbook(exports, team, f"workbook {team} v1".encode()) for team in MAILS}


def test_each_team_gets_one_message_and_a_rerun_sends_nothing(tmp_path, books):
    handler = Handler()
    with smtp_server(handler) as port:
        first = run(tmp_path, smtp(port))
        again = run(tmp_path, smtp(port))
    assert {t: o.status for t, o in first.items()} == {"acme": "sent", "nw": "sent"}
    assert all(o.ok for o in first.values())
    assert {t: o.status for t, o in again.items()} == {"acme": ALREADY_SENT, "nw": ALREADY_SENT}
    assert len(handler.received) == 2  # nothing twice
    by_rcpt = {tuple(r.rcpt_tos): r for r in handler.received}
    acme = by_rcpt[("ann@acme.example", "al@acme.example")].message
    nw = by_rcpt[("bo@nw.example",)].message
    assert acme["Subject"] == f"Flex token usage: Team acme, {D}: low balance"
    assert nw["Subject"] == f"Flex token usage: Team nw, {D}"
    assert acme["To"] == "ann@acme.example, al@acme.example"
    assert nw["To"] == UNDISCLOSED  # include_pii false: no admin sees another's address
    assert by_rcpt[("bo@nw.example",)].mail_from == SENDER
    for team, message in (("acme", acme), ("nw", nw)):
        assert attachment(message) == (f"flex_usage_{team}_{D}.xlsx", books[team])
    rows = logged(tmp_path)
    assert sorted((r.team_id, r.outcome, r.recipients) for r in rows) == [
        ("acme", "sent", "ann@acme.example; al@acme.example"),
        ("nw", "sent", "bo@nw.example"),
    ]
    assert {r.workbook_sha256 for r in rows} == {
        hashlib.sha256(b).hexdigest() for b in books.values()
    }
    assert all(r.sent_at is not None and r.sent_at >= r.started_at for r in rows)


def test_a_corrected_workbook_is_sent_again_marked_corrected(tmp_path, books):
    handler = Handler()
    with smtp_server(handler) as port:
        run(tmp_path, smtp(port))
        fixed = put_workbook(tmp_path / "exports", "nw", b"workbook nw v2 (re-delivery)")
        second = run(tmp_path, smtp(port))
        third = run(tmp_path, smtp(port))
    assert second["nw"].status == "sent" and second["nw"].corrected
    assert second["acme"].status == ALREADY_SENT
    assert third["nw"].status == ALREADY_SENT
    assert len(handler.received) == 3
    last = handler.received[-1].message
    assert last["Subject"] == f"Flex token usage: Team nw, {D} (corrected)"
    assert attachment(last)[1] == fixed
    assert "replaces the one sent earlier" in last.get_body(("plain",)).get_content()


def test_a_refused_recipient_fails_that_team_only_and_is_retried(tmp_path, books):
    handler = Handler(refuse={"bo@nw.example"})
    with smtp_server(handler) as port:
        first = run(tmp_path, smtp(port))
        assert first["acme"].status == "sent" and first["acme"].ok
        assert first["nw"].status == "failed" and not first["nw"].ok
        assert "bo@nw.example" in first["nw"].reason and "550" in first["nw"].reason
        assert [r.rcpt_tos for r in handler.received] == [["ann@acme.example", "al@acme.example"]]
        handler.refuse.clear()
        retry = run(tmp_path, smtp(port))
    assert retry["nw"].status == "sent" and not retry["nw"].corrected
    assert retry["acme"].status == ALREADY_SENT
    assert [r.rcpt_tos for r in handler.received][1:] == [["bo@nw.example"]]
    assert handler.received[1].message["Subject"] == f"Flex token usage: Team nw, {D}"
    outcomes = [(r.team_id, r.outcome) for r in logged(tmp_path)]
    assert outcomes.count(("nw", "failed")) == 1 and outcomes.count(("nw", "sent")) == 1


def test_one_refused_admin_of_several_is_reported_not_resent(tmp_path, books):
    handler = Handler(refuse={"al@acme.example"})
    with smtp_server(handler) as port:
        first = run(tmp_path, smtp(port))
        again = run(tmp_path, smtp(port))
    assert first["acme"].status == "sent" and not first["acme"].ok
    assert "al@acme.example" in first["acme"].reason
    assert again["acme"].status == ALREADY_SENT  # ann has it: a resend would duplicate
    assert [r.rcpt_tos for r in handler.received if "acme" in r.message["Subject"]] == [
        ["ann@acme.example"]
    ]


def test_server_down_fails_every_team_then_the_next_run_delivers(tmp_path, books):
    port = free_port()  # nothing listens yet
    down = run(tmp_path, smtp(port))
    assert {o.status for o in down.values()} == {"failed"}
    assert all("127.0.0.1" in o.reason for o in down.values())
    handler = Handler()
    with smtp_server(handler, port=port):
        up = run(tmp_path, smtp(port))
    assert {o.status for o in up.values()} == {"sent"}
    assert len(handler.received) == 2


def test_a_timeout_fails_that_team_and_the_others_go_through(tmp_path, books):
    handler = Handler(stall_on="Team acme", stall_seconds=3)
    with smtp_server(handler) as port:
        outcomes = run(tmp_path, smtp(port, FLEX_SMTP_TIMEOUT_SECONDS="0.5"))
    assert outcomes["acme"].status == "failed" and "timed out" in outcomes["acme"].reason
    assert outcomes["nw"].status == "sent"
    assert [r.rcpt_tos for r in handler.received if "Team nw" in r.message["Subject"]] == [
        ["bo@nw.example"]
    ]


def _dead_run_attempt(tmp_path: Path, team: str, workbook: bytes, channel="smtp") -> None:
    """What a run killed between handing the message over and recording it leaves."""
    sha = hashlib.sha256(workbook).hexdigest()
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        log.ensure_log(con)
        log.begin(
            con,
            log.Attempt(
                "dead-run",
                team,
                D,
                channel,
                sha,
                "bo@nw.example",
                "s",
                message_id(team, D, sha, SENDER),
                False,
                D,
                None,
                log.SENDING,
                None,
            ),
        )
    finally:
        con.close()


def test_an_attempt_cut_off_while_sending_is_not_resent_until_asked(tmp_path, books):
    _dead_run_attempt(tmp_path, "nw", books["nw"])
    handler = Handler()
    with smtp_server(handler) as port:
        held = run(tmp_path, smtp(port))
        still = run(tmp_path, smtp(port))
        assert [r.rcpt_tos for r in handler.received] == [["ann@acme.example", "al@acme.example"]]
        resent = run(tmp_path, smtp(port), resend={"nw"})
    assert held["nw"].status == "unconfirmed" and not held["nw"].ok
    assert message_id("nw", D, hashlib.sha256(books["nw"]).hexdigest(), SENDER) in held["nw"].reason
    assert still["nw"].status == "unconfirmed"
    assert resent["nw"].status == "sent" and not resent["nw"].corrected
    assert [r.rcpt_tos for r in handler.received][1:] == [["bo@nw.example"]]
    assert {r.attempt_id: r.outcome for r in logged(tmp_path)}["dead-run"] == "unconfirmed"


def test_outbox_writes_one_eml_per_team_once(tmp_path, books):
    exports = tmp_path / "exports"
    transport, sender = transport_from_env({}, exports, D)
    assert isinstance(transport, OutboxTransport) and sender == "flex-usage@localhost"
    _dead_run_attempt(tmp_path, "nw", books["nw"], channel="outbox")  # rewriting is harmless
    first = run(tmp_path, transport)
    files = sorted((exports / "outbox" / D.isoformat()).iterdir())
    assert [p.name for p in files] == ["acme.eml", "nw.eml"]
    stamps = [p.stat().st_mtime_ns for p in files]
    again = run(tmp_path, OutboxTransport(exports, D))
    assert {o.status for o in first.values()} == {"sent"}
    assert {o.status for o in again.values()} == {ALREADY_SENT}
    assert [p.stat().st_mtime_ns for p in files] == stamps
    message = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert message["Subject"] == f"Flex token usage: Team acme, {D}: low balance"
    assert attachment(message) == (f"flex_usage_acme_{D}.xlsx", books["acme"])
    assert logged(tmp_path) == []  # the outbox is its own channel: SMTP still owes them
    assert {r.team_id for r in logged(tmp_path, "outbox") if r.outcome == "sent"} == set(MAILS)


def test_no_admin_no_message_and_a_missing_workbook_fails(tmp_path, books):
    mails = {**MAILS, "lonely": team_mail("lonely", []), "ghost": team_mail("ghost", ["g@x.ex"])}
    handler = Handler()
    with smtp_server(handler) as port:
        outcomes = run(tmp_path, smtp(port), mails=mails)
    assert outcomes["lonely"].status == NO_RECIPIENTS and outcomes["lonely"].ok
    assert outcomes["ghost"].status == "failed" and "flex_usage_ghost" in outcomes["ghost"].reason
    assert len(handler.received) == 2


def _tls_server_kwargs(tmp_path: Path, handler: Handler, monkeypatch) -> dict:
    cert, key = make_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test certificate
    return {
        "tls_context": server_tls_context(cert, key),
        "require_starttls": True,
        "authenticator": authenticator("mailer", "s3cret:/@", handler),
        "auth_required": True,
    }


def test_starttls_with_login_from_the_url_and_from_the_environment(tmp_path, books, monkeypatch):
    handler = Handler()
    kwargs = _tls_server_kwargs(tmp_path, handler, monkeypatch)
    with smtp_server(handler, **kwargs) as port:
        in_url = run(tmp_path, smtp(port, "smtp+starttls", "mailer:s3cret%3A%2F%40@"))
        put_workbook(tmp_path / "exports", "nw", b"v2")
        from_env = run(
            tmp_path,
            smtp(port, "smtp+starttls", "mailer@", FLEX_SMTP_PASSWORD="s3cret:/@"),
        )
    assert {o.status for o in in_url.values()} == {"sent"}
    assert from_env["nw"].status == "sent"
    assert handler.logins == ["mailer", "mailer"]
    assert len(handler.received) == 3


def test_a_wrong_password_fails_without_showing_it(tmp_path, books, monkeypatch):
    handler = Handler()
    kwargs = _tls_server_kwargs(tmp_path, handler, monkeypatch)
    with smtp_server(handler, **kwargs) as port:
        transport = smtp(port, "smtp+starttls", "mailer@", FLEX_SMTP_PASSWORD="wrong-pw-123")
        outcomes = run(tmp_path, transport)
    assert {o.status for o in outcomes.values()} == {"failed"}
    assert all("login as mailer refused: 535" in o.reason for o in outcomes.values())
    assert "wrong-pw-123" not in repr(transport.settings) + transport.describe()
    assert not any("wrong-pw-123" in (r.reason or "") for r in logged(tmp_path))
    assert handler.received == []


def test_smtps(tmp_path, books, monkeypatch):
    cert, key = make_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    handler = Handler()
    with smtp_server(handler, ssl_context=server_tls_context(cert, key)) as port:
        outcomes = run(tmp_path, smtp(port, "smtps"))
    assert {o.status for o in outcomes.values()} == {"sent"}
    assert sorted(len(r.rcpt_tos) for r in handler.received) == [1, 2]


def test_untrusted_certificate_is_refused(tmp_path, books):
    cert, key = make_certificate(tmp_path)  # SSL_CERT_FILE not set: not trusted
    handler = Handler()
    with smtp_server(handler, ssl_context=server_tls_context(cert, key)) as port:
        outcomes = run(tmp_path, smtp(port, "smtps"))
    assert {o.status for o in outcomes.values()} == {"failed"}
    assert all("CERTIFICATE_VERIFY_FAILED" in o.reason for o in outcomes.values())
    assert handler.received == []


def test_smtp_url_settings():
    s = smtp_settings("smtp+starttls://u%40x:p%2Fw@mail.example", {})
    assert (s.scheme, s.host, s.port, s.user, s.password) == (
        "smtp+starttls",
        "mail.example",
        587,
        "u@x",
        "p/w",
    )
    assert s.describe() == "smtp+starttls://u@x@mail.example:587"
    assert smtp_settings("smtps://h", {}).port == 465
    assert smtp_settings("smtp://h:2525", {}).port == 2525
    env = {"FLEX_SMTP_PASSWORD": "from-env"}
    assert smtp_settings("smtp://u@h", env).password == "from-env"
    assert smtp_settings("smtp://u:in-url@h", env).password == "in-url"
    for bad, words in [
        ("http://u:topsecret@h", "scheme"),
        ("smtp://:topsecret@h", "needs a user"),
        ("smtp://u:topsecret@h:port", "port"),
        ("smtp://", "no host"),
    ]:
        with pytest.raises(DeliveryConfigError, match=words) as err:
            smtp_settings(bad, {})
        assert "topsecret" not in str(err.value)
    with pytest.raises(DeliveryConfigError, match="FLEX_MAIL_FROM"):
        transport_from_env({"FLEX_SMTP_URL": "smtp://h"}, Path("x"), D)


def test_message_content_is_the_team_figures_only():
    mail = team_mail(
        "t1",
        ["a@t.example"],
        alerts=["low balance", "run-out within 90 days"],
        team='<b>"Acme" & Co</b>\r\nBcc: evil@x.example',
    )
    message = build_message(mail, D, "book.xlsx", b"xlsx", "ab" * 32, SENDER, True, NOW)
    assert message["Subject"] == (
        f'Flex token usage: <b>"Acme" & Co</b> Bcc: evil@x.example, {D} (corrected): '
        "low balance; run-out within 90 days"
    )
    assert message["Bcc"] is None
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for label, value in FIGURES:
        assert f"{label}: {value}\n" in text
    assert "Alerts: low balance; run-out within 90 days\n" in text
    assert "&lt;b&gt;&quot;Acme&quot; &amp; Co&lt;/b&gt;" in html and '<b>"Acme' not in html
    assert "<li>low balance</li><li>run-out within 90 days</li>" in html
    assert message["Message-ID"] == f"<flex-usage.{D}.t1.{'ab' * 8}@flex.example>"


def test_a_session_the_server_closed_while_idle_is_reopened(tmp_path):
    handler = Handler()
    message = build_message(MAILS["nw"], D, "b.xlsx", b"x", "ab" * 32, SENDER, False, NOW)
    with smtp_server(handler, timeout=0.3) as port:  # the server drops idle sessions
        transport = smtp(port)
        try:
            transport.send(message, SENDER, ("bo@nw.example",), "nw")
            time.sleep(1.0)
            transport.send(message, SENDER, ("bo@nw.example",), "nw")
        finally:
            transport.close()
    assert [r.rcpt_tos for r in handler.received] == [["bo@nw.example"]] * 2


def test_figures_as_the_e_mail_shows_them():
    from decimal import Decimal

    from orchestration.delivery.content import format_figure, split_alerts

    assert format_figure(None, "date") == format_figure(None, "count") == "none"
    assert format_figure(date(2026, 5, 31), "date") == "2026-05-31"
    assert format_figure(0.125, "share") == "12.5%"
    assert format_figure(0.0005, "share") == "0.1%"  # half up, from the shortest repr
    assert format_figure(1 / 3, "share") == "33.3%"
    assert format_figure(Decimal("1234.5"), "rate") == "1,234.50"
    assert format_figure(1234567, "count") == "1,234,567"
    assert split_alerts("low balance; run-out within 90 days") == (
        "low balance",
        "run-out within 90 days",
    )
    assert split_alerts("") == split_alerts(None) == ()


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 4_096, 250_001])
@pytest.mark.parametrize("team", ["nw", "t1"])
def test_message_bytes_equal_the_email_generators(size, team):
    workbook = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    mail = MAILS.get(team) or team_mail(team, ["a@t.example"], alerts=["low balance"])
    message = build_message(mail, D, "b.xlsx", workbook[:size], "ab" * 32, SENDER, True, NOW)
    assert message_bytes(message) == message.as_bytes()
    attachment = next(message.iter_attachments())  # the message itself is left as it was
    assert attachment.get_content() == workbook[:size]
    crlf = build_message(mail, D, "b.xlsx", workbook[:size], "ab" * 32, SENDER, True, NOW)
    crlf.policy = policy.SMTP  # another line separator: written by the generator itself
    assert message_bytes(crlf) == crlf.as_bytes()
