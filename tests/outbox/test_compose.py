"""Composing e-mails: what any mail client must read back exactly, whatever the alphabet or line length."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import cast

from luxserv.outbox.sender import FolderSender, Outgoing


def composed(recipient: str, subject: str, text: str, html: str | None = None) -> tuple[bytes, EmailMessage]:
    sender = FolderSender(Path("unused"), mail_from="LuxServ Concierge <concierge@luxserv.example>")
    payload = {"subject": subject, "text": text} | ({"html": html} if html else {})
    raw = sender.compose(Outgoing(id=42, channel="email", topic="t", recipient=recipient, payload=payload)).as_bytes()
    return raw, cast(EmailMessage, message_from_bytes(raw, policy=policy.default))


def test_ascii_goes_as_written() -> None:
    raw, mail = composed("sarah@email.com", "New booking at Beach Condo 123", "Hello Sarah")
    headers, body = raw.split(b"\n\n", 1)
    assert b"Subject: New booking at Beach Condo 123" in headers
    assert b"Content-Transfer-Encoding: 7bit" in headers
    assert body.strip() == b"Hello Sarah"
    assert mail["Message-ID"] == "<outbox-42@luxserv>" and mail["Auto-Submitted"] == "auto-generated"


def test_accents_in_names_subject_and_body_read_back_exactly() -> None:
    subject = "Nouvelle réservation: José Núñez — 15 juin au 22 juin, avec un sujet assez long pour être plié"
    raw, mail = composed("José Núñez <jose@example.com>", subject, "Bonjour José,\nà bientôt", "<p>Bonjour José</p>")
    assert raw.isascii() is False  # bodies travel in 8 bits, readable in the mail source
    assert all(line.isascii() for line in raw.split(b"\n\n", 1)[0].splitlines())  # headers never do
    assert mail["Subject"] == subject
    assert mail["To"].addresses[0].display_name == "José Núñez"
    assert mail["To"].addresses[0].addr_spec == "jose@example.com"
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and plain.get_content() == "Bonjour José,\nà bientôt"
    assert html is not None and html.get_content() == "<p>Bonjour José</p>"


def test_a_line_too_long_for_smtp_is_encoded() -> None:
    text = "Special requests: " + "champagne " * 200  # one line of 2,018 characters
    raw, mail = composed("sarah@email.com", "Long", text)
    assert b"Content-Transfer-Encoding: base64" in raw
    assert max(len(line) for line in raw.splitlines()) <= 998
    assert mail.get_content() == text
