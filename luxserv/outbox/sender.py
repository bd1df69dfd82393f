"""Delivering one outbox message: the `Sender` interface, e-mail by SMTP or into a folder, and a channel router.

A sender returns normally when the message is handed over, raises `TemporaryFailure` when trying again later
may help (server down, timeout, 4xx) and `PermanentFailure` when it never will (5xx, a malformed message).
The worker never sees a channel: `ChannelRouter` dispatches on it, so SMS or Slack are one more entry there.
"""

from __future__ import annotations

import abc
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any, Protocol

from luxserv.core.clock import utcnow
from luxserv.core.settings import Settings

DEFAULT_TIMEOUT_SECONDS = 30.0
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x85\u2028\u2029]+")


class DeliveryFailure(Exception):
    """Sending failed; the message says why (stored as the row's last_error)."""


class TemporaryFailure(DeliveryFailure):
    """Try again later."""


class PermanentFailure(DeliveryFailure):
    """Never going to work: the message becomes a dead letter at once."""


@dataclass(frozen=True)
class Outgoing:
    """A claimed outbox row, detached from any session (sending happens outside the transaction)."""

    id: int
    channel: str
    topic: str
    recipient: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0


class Sender(Protocol):
    def send(self, message: Outgoing) -> None: ...


def one_line(value: str) -> str:
    """A header-safe value: every line break (CR, LF and Unicode's) becomes one space."""
    return _LINE_BREAKS.sub(" ", value).strip()


# Bodies go as UTF-8 in 8 bits (7 when ASCII), readable in any mail source view; see `_part` for long lines.
_UTF8_8BIT = Charset("utf-8")
_UTF8_8BIT.body_encoding = None  # type: ignore[assignment]  # None: 7 or 8 bits, as the docs allow
_UTF8_8BIT.header_encoding = QP
_MAX_LINE = 998  # RFC 5322: longer lines need an encoding (base64)


def _part(body: str, subtype: str) -> Message:
    if any(len(line.encode()) > _MAX_LINE for line in body.splitlines()):
        return MIMEText(body, subtype, "utf-8")  # base64
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part.set_payload(body, _UTF8_8BIT)
    return part


def _header(value: str, name: str = "Subject") -> str:
    """A header value, encoded (RFC 2047) only when it is not ASCII."""
    return value if value.isascii() else Header(value, "utf-8", header_name=name).encode()


def _address(value: str) -> str:
    """`Name <address>` with a non-ASCII name encoded; an ASCII value is left exactly as given."""
    if value.isascii():
        return value
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if address else _header(value, "To")


def message_id(outbox_id: int) -> str:
    """Stable per outbox row, so a resend after a crash (at least once) is recognisable as the same e-mail."""
    return f"<outbox-{outbox_id}@luxserv>"


class EmailSender(abc.ABC):
    """Turns an e-mail outbox row (payload: subject, text, optional html) into a MIME message and delivers it."""

    def __init__(self, mail_from: str) -> None:
        self.mail_from = one_line(mail_from)

    def compose(self, message: Outgoing) -> Message:
        payload = message.payload
        subject = payload.get("subject")
        text = payload.get("text")
        if not isinstance(subject, str) or not isinstance(text, str):
            raise PermanentFailure(f"outbox {message.id}: e-mail payload needs a subject and a text body")
        recipient = one_line(message.recipient)
        if "@" not in parseaddr(recipient)[1]:
            raise PermanentFailure(f"outbox {message.id}: not an e-mail address: {recipient!r}")
        # The standard library's compat32 MIME classes: a third of the CPU of `EmailMessage` for the same message,
        # and the in-process worker composes three e-mails for every new booking.
        html = payload.get("html")
        mail: Message
        if isinstance(html, str) and html:
            mail = MIMEMultipart("alternative")
            mail.attach(_part(text, "plain"))
            mail.attach(_part(html, "html"))
        else:
            mail = _part(text, "plain")
        mail["From"] = _address(self.mail_from)
        mail["To"] = _address(recipient)
        mail["Subject"] = _header(one_line(subject))
        mail["Date"] = formatdate(utcnow().timestamp(), usegmt=True)
        mail["Message-ID"] = message_id(message.id)
        mail["Auto-Submitted"] = "auto-generated"
        return mail

    def send(self, message: Outgoing) -> None:
        if message.channel != "email":
            raise PermanentFailure(f"outbox {message.id}: an e-mail sender cannot send {message.channel!r}")
        self.deliver(self.compose(message), parseaddr(one_line(message.recipient))[1])

    @abc.abstractmethod
    def deliver(self, mail: Message, recipient: str) -> None: ...


class SmtpSender(EmailSender):
    """One SMTP connection per message (none, STARTTLS or implicit TLS; login when a username is set)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        mail_from: str,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(mail_from)
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"unknown SMTP security {security!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self.ssl_context = ssl_context

    def deliver(self, mail: Message, recipient: str) -> None:
        envelope_from = parseaddr(self.mail_from)[1] or self.mail_from
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self._context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail, from_addr=envelope_from, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            code, answer = next(iter(error.recipients.values()), (500, b"recipient refused"))
            raise _by_code(code, answer) from error
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as error:
            # Configuration, not this message: keep it for when the settings are fixed.
            raise TemporaryFailure(f"SMTP configuration: {error}") from error
        except smtplib.SMTPResponseException as error:
            raise _by_code(error.smtp_code, error.smtp_error) from error
        except (smtplib.SMTPException, OSError) as error:  # refused, reset, timeout, TLS: all transient
            raise TemporaryFailure(f"SMTP {self.host}:{self.port}: {type(error).__name__}: {error}") from error

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()


def _by_code(code: int, answer: bytes | str) -> DeliveryFailure:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    description = f"SMTP {code} {text}".strip()
    return TemporaryFailure(description) if 400 <= code < 500 else PermanentFailure(description)


class FolderSender(EmailSender):
    """Development without a mail server: each e-mail becomes an `.eml` file in a folder (never dropped)."""

    def __init__(self, folder: Path, *, mail_from: str) -> None:
        super().__init__(mail_from)
        self.folder = folder

    def deliver(self, mail: Message, recipient: str) -> None:
        outbox_id = str(mail["Message-ID"]).strip("<>").split("@", 1)[0]
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{outbox_id}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                file.write(mail.as_bytes())
            os.replace(temporary, self.folder / name)
        except OSError as error:
            raise TemporaryFailure(f"cannot write {self.folder / name}: {error}") from error


class ChannelRouter:
    """Sends each message with the sender of its channel; an unknown channel is a permanent failure."""

    def __init__(self, senders: Mapping[str, Sender]) -> None:
        self.senders = dict(senders)

    def send(self, message: Outgoing) -> None:
        sender = self.senders.get(message.channel)
        if sender is None:
            raise PermanentFailure(f"outbox {message.id}: no sender for channel {message.channel!r}")
        sender.send(message)


def email_sender_from_settings(settings: Settings) -> EmailSender:
    """SMTP when a host is configured, otherwise `.eml` files in `<data dir>/mail/`."""
    if not settings.smtp_host:
        return FolderSender(settings.data_dir / "mail", mail_from=settings.mail_from)
    return SmtpSender(
        settings.smtp_host,
        settings.smtp_port,
        mail_from=settings.mail_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else "",
        timeout=settings.smtp_timeout_seconds,
    )


def sender_from_settings(settings: Settings) -> ChannelRouter:
    """Every channel LuxServ can send on, configured from the settings."""
    return ChannelRouter({"email": email_sender_from_settings(settings)})
