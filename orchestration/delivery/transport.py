"""How e-mails leave: SMTP from ``FLEX_SMTP_URL``, else ``.eml`` files in the outbox.

``FLEX_SMTP_URL`` is ``smtp://``, ``smtp+starttls://`` or ``smtps://``
``[user[:password]@]host[:port]`` (ports 25, 587 and 465 by default); the password may
instead come from ``FLEX_SMTP_PASSWORD``. It is never logged: :meth:`SmtpTransport.describe`
leaves it out. ``FLEX_MAIL_FROM`` is the sender (required with SMTP). TLS certificates are
verified against the system's trust store (``SSL_CERT_FILE`` adds one).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from orchestration.exports.files import checked_team_id, write_file_atomically

from .message import message_bytes

ENV_SMTP_URL = "FLEX_SMTP_URL"
ENV_SMTP_PASSWORD = "FLEX_SMTP_PASSWORD"
ENV_MAIL_FROM = "FLEX_MAIL_FROM"
ENV_SMTP_TIMEOUT = "FLEX_SMTP_TIMEOUT_SECONDS"
DEFAULT_SENDER = "flex-usage@localhost"
DEFAULT_TIMEOUT_SECONDS = 60.0
_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class DeliveryConfigError(ValueError):
    """The delivery settings are unusable (bad URL, no sender)."""


class SendError(RuntimeError):
    """One message could not be handed over; the message says why."""


class PartialDelivery(SendError):
    """Accepted for some recipients, refused for the others (the message says which)."""


class Transport(Protocol):
    """Where messages go. ``channel`` keys the delivery log: ``smtp`` or ``outbox``."""

    channel: str

    def send(
        self, message: EmailMessage, sender: str, recipients: tuple[str, ...], team_id: str
    ) -> None:
        """Hand the message over; raise :class:`SendError` when that failed."""
        ...

    def describe(self) -> str:
        """Where the messages go, for logs (no secret)."""
        ...

    def close(self) -> None: ...


@dataclass
class OutboxTransport:
    """Writes each message to ``<exports>/outbox/<as_of>/<team_id>.eml`` (atomically)."""

    exports_dir: Path
    as_of: date
    channel: str = "outbox"

    def folder(self) -> Path:
        return Path(self.exports_dir) / "outbox" / self.as_of.isoformat()

    def send(
        self, message: EmailMessage, sender: str, recipients: tuple[str, ...], team_id: str
    ) -> None:
        path = self.folder() / f"{checked_team_id(team_id)}.eml"
        try:
            write_file_atomically(path, lambda handle: handle.write(message_bytes(message)))
        except OSError as err:
            raise SendError(f"cannot write {path}: {err.strerror or err}") from err

    def describe(self) -> str:
        return f"outbox {self.folder()}"

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    timeout: float

    def describe(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def smtp_settings(url: str, env: Mapping[str, str]) -> SmtpSettings:
    """Parse ``FLEX_SMTP_URL`` (errors never repeat the URL: it may hold a password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _PORTS:
        raise DeliveryConfigError(
            f"{ENV_SMTP_URL}: scheme must be smtp, smtp+starttls or smtps, not {scheme!r}"
        )
    try:
        port = parts.port or _PORTS[scheme]
    except ValueError:
        raise DeliveryConfigError(f"{ENV_SMTP_URL}: the port is not a number") from None
    if not parts.hostname:
        raise DeliveryConfigError(f"{ENV_SMTP_URL}: no host")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else env.get(ENV_SMTP_PASSWORD) or None
    if password and not user:
        raise DeliveryConfigError(f"{ENV_SMTP_URL}: a password needs a user")
    timeout = float(env.get(ENV_SMTP_TIMEOUT) or DEFAULT_TIMEOUT_SECONDS)
    return SmtpSettings(scheme, parts.hostname, port, user, password, timeout)


class SmtpTransport:
    """Sends over one SMTP session reused across teams (checked with NOOP), reopened after
    a failure.

    When the server cannot be reached at all, the remaining messages of the run fail at
    once with the same reason instead of each waiting for the timeout again.
    """

    channel = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._session: smtplib.SMTP | None = None
        self._unreachable: str | None = None

    def describe(self) -> str:
        return self.settings.describe()

    def send(
        self, message: EmailMessage, sender: str, recipients: tuple[str, ...], team_id: str
    ) -> None:
        session = self._open()
        try:
            refused = session.send_message(message, sender, list(recipients))
        except smtplib.SMTPRecipientsRefused as err:
            self._drop()
            raise SendError("recipients refused: " + _refusals(err.recipients)) from err
        except smtplib.SMTPResponseException as err:
            self._drop()
            raise SendError(f"server said {err.smtp_code} {_text(err.smtp_error)}") from err
        except (smtplib.SMTPException, OSError) as err:
            self._drop()
            raise SendError(f"{type(err).__name__}: {err}") from err
        if refused:  # accepted for the others: not a failure, but said
            raise PartialDelivery(_refusals(refused))

    def close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._session.quit()
        self._session = None

    def _open(self) -> smtplib.SMTP:
        if self._session is not None:
            try:  # the server may have closed an idle session since the last message
                if self._session.noop()[0] == 250:
                    return self._session
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        if self._unreachable:
            raise SendError(f"not attempted, the SMTP server was unreachable: {self._unreachable}")
        s = self.settings
        context = ssl.create_default_context()
        try:
            if s.scheme == "smtps":
                session: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=context
                )
            else:
                session = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        except (smtplib.SMTPException, OSError) as err:
            self._unreachable = f"{s.describe()}: {type(err).__name__}: {err}"
            raise SendError(f"cannot connect to {self._unreachable}") from err
        try:
            if s.scheme == "smtp+starttls":
                session.starttls(context=context)
            if s.user:
                session.login(s.user, s.password or "")
        except smtplib.SMTPAuthenticationError as err:
            session.close()
            raise SendError(f"login as {s.user} refused: {err.smtp_code}") from err
        except (smtplib.SMTPException, OSError) as err:
            session.close()
            raise SendError(f"{s.describe()}: {type(err).__name__}: {err}") from err
        self._session = session
        return session

    def _drop(self) -> None:
        if self._session is not None:
            with contextlib.suppress(OSError):
                self._session.close()
        self._session = None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refusals(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{rcpt} ({code} {_text(text)})" for rcpt, (code, text) in refused.items())


def transport_from_env(
    env: Mapping[str, str], exports_dir: Path, as_of: date
) -> tuple[Transport, str]:
    """The transport and the sender address the environment asks for."""
    url = env.get(ENV_SMTP_URL, "").strip()
    if not url:
        return OutboxTransport(Path(exports_dir), as_of), env.get(ENV_MAIL_FROM) or DEFAULT_SENDER
    sender = env.get(ENV_MAIL_FROM, "").strip()
    if not sender:
        raise DeliveryConfigError(f"{ENV_SMTP_URL} is set but {ENV_MAIL_FROM} is not")
    return SmtpTransport(smtp_settings(url, env)), sender
