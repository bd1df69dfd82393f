"""Notifications end to end: booking applied → outbox rows → a real SMTP server (aiosmtpd), retries, dead letters."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select

from luxserv.accounts.models import Role
from luxserv.bookings.apply import Outcome, apply
from luxserv.bookings.models import Booking
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.integrations.registry import Providers
from luxserv.notifications import booking_created
from luxserv.outbox.enqueue import enqueue
from luxserv.outbox.models import Notification, OutboxMessage, OutboxStatus
from luxserv.outbox.sender import FolderSender, Outgoing, SmtpSender, sender_from_settings
from luxserv.outbox.worker import MAX_ATTEMPTS, deliver_due
from luxserv.services.models import ServiceRequest, ServiceType
from luxserv.worker.runner import run_once
from tests.factories import make_owner, make_property, make_user

OWNER_EMAIL, ADMIN_EMAIL = "dana@example.com", "admin@example.com"

SARAH = BookingEvent(
    kind=EventKind.created,
    provider="manual",
    external_id="HM123456789",
    listing=ListingRef(name="Beach Condo 123"),
    guest=GuestInfo(name="Sarah Johnson", email="sarah@email.com"),
    check_in=date(2026, 6, 15),
    check_out=date(2026, 6, 22),
    guest_count=4,
    special_requests="Celebrating anniversary",
    channel="airbnb",
)


class Collector:
    """An aiosmtpd handler keeping every accepted envelope; `answer` makes it refuse DATA instead."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.answer: str | None = None
        self.delay = 0.0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            time.sleep(self.delay)  # blocks the server loop on purpose: concurrent clients overlap
        if self.answer:
            return self.answer
        with self._lock:
            self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [
                cast(EmailMessage, message_from_bytes(cast(bytes, e.content), policy=policy.default))
                for e in self.envelopes
            ]

    def recipients(self) -> list[str]:
        with self._lock:
            return sorted(r for e in self.envelopes for r in e.rcpt_tos)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def smtp_sender(port: int, *, timeout: float = 5.0) -> SmtpSender:
    return SmtpSender("127.0.0.1", port, mail_from="LuxServ <no-reply@luxserv.test>", security="none", timeout=timeout)


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    """Dana owns Beach Condo 123 and signs in as an owner; one admin; staff and another owner hear nothing."""
    dana = make_owner(db)
    other = make_owner(db, name="Someone Else", email="else@example.com")
    make_property(db, owner_id=dana)
    make_property(db, owner_id=other, name="Other House", address="1 Elsewhere Rd")
    return {
        "owner": make_user(db, OWNER_EMAIL, Role.owner, owner_id=dana),
        "admin": make_user(db, ADMIN_EMAIL, Role.admin),
        "staff": make_user(db, "staff@example.com", Role.staff),
        "other_owner": make_user(db, "else@example.com", Role.owner, owner_id=other),
    }


def send_event(db: Database, **overrides: Any) -> tuple[int, Outcome]:
    with db.unit_of_work() as session:
        result = apply(session, dataclasses.replace(SARAH, **overrides), actor="test")
        return result.booking.id, result.outcome


def rows(db: Database) -> list[OutboxMessage]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def add_message(db: Database, key: str, *, channel: str = "email", recipient: str = ADMIN_EMAIL) -> int:
    with db.unit_of_work() as session:
        message_id = enqueue(session, dedupe_key=key, channel=channel, topic="test", recipient=recipient,
                      payload={"subject": f"Test {key}", "text": "Hello"})  # fmt: skip
        assert message_id is not None
        return message_id


def test_new_booking_mails_the_owner_and_the_admin_once(db: Database, people: dict[str, int], smtp: Any) -> None:
    server, port = smtp
    booking_id, outcome = send_event(db)
    assert outcome == Outcome.created

    assert deliver_due(db, smtp_sender(port)) == 2
    assert server.recipients() == [ADMIN_EMAIL, OWNER_EMAIL]
    with db.unit_of_work(write=False) as session:
        services = [
            name
            for (name,) in session.execute(
                select(ServiceType.name)
                .join(ServiceRequest, ServiceRequest.service_type_id == ServiceType.id)
                .where(ServiceRequest.booking_id == booking_id)
            )
        ]
    assert services, "the seeded rules plan services for this booking"
    by_recipient = {str(m["To"]): m for m in server.messages()}
    stored = {r.recipient: r for r in rows(db)}
    for email, mail in by_recipient.items():
        assert mail["Subject"] == "New booking at Beach Condo 123: Sarah Johnson, Jun 15 to Jun 22"
        assert mail["Message-ID"] == f"<outbox-{stored[email].id}@luxserv>"
        body = mail.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        for expected in ("Sarah Johnson", "Mon Jun 15, 2026", "Mon Jun 22, 2026", "Guests:    4",
                         "Celebrating anniversary", *services):  # fmt: skip
            assert expected in text
        assert mail.get_body(("html",)) is not None
    assert all(r.status == OutboxStatus.sent and r.sent_at is not None and r.attempts == 1 for r in rows(db))
    # The provider's id is for admins only.
    owner_text = by_recipient[OWNER_EMAIL].get_body(("plain",))
    assert owner_text is not None and "HM123456789" not in owner_text.get_content()

    with db.unit_of_work(write=False) as session:
        feed = sorted(session.scalars(select(Notification.user_id).where(Notification.topic == "booking.created")))
    assert feed == sorted([people["owner"], people["admin"]])

    # The same event again: nothing new to send, no second bell.
    assert send_event(db)[1] == Outcome.unchanged
    with db.unit_of_work() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        assert booking_created(session, booking) == 0  # a retried transaction writing it again
    assert len(rows(db)) == 2
    assert deliver_due(db, smtp_sender(port)) == 0
    assert len(server.envelopes) == 2
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 2


def test_a_resent_message_keeps_its_message_id(db: Database, people: dict[str, int], smtp: Any) -> None:
    server, port = smtp
    send_event(db)
    deliver_due(db, smtp_sender(port))
    # A worker that died after sending but before recording: the row is pending again and goes out again.
    with db.unit_of_work() as session:
        for row in session.scalars(select(OutboxMessage)):
            row.status = OutboxStatus.pending
    deliver_due(db, smtp_sender(port))
    ids = [str(m["Message-ID"]) for m in server.messages()]
    assert len(ids) == 4 and len(set(ids)) == 2
    assert sorted(ids) == sorted(f"<outbox-{r.id}@luxserv>" for r in rows(db) for _ in range(2))


def test_an_unplaced_booking_is_for_admins_only(db: Database, people: dict[str, int], smtp: Any) -> None:
    server, port = smtp
    send_event(db, listing=ListingRef(name="Mystery Villa 9"))
    deliver_due(db, smtp_sender(port))
    assert server.recipients() == [ADMIN_EMAIL]
    assert server.messages()[0]["Subject"] == "Unplaced booking: Mystery Villa 9 (Sarah Johnson, Jun 15 to Jun 22)"


def test_a_cancellation_is_told_once(db: Database, people: dict[str, int], smtp: Any) -> None:
    server, port = smtp
    send_event(db)
    deliver_due(db, smtp_sender(port))
    assert send_event(db, kind=EventKind.cancelled)[1] == Outcome.cancelled
    assert send_event(db, kind=EventKind.cancelled)[1] == Outcome.unchanged
    deliver_due(db, smtp_sender(port))
    cancelled = [m for m in server.messages() if str(m["Subject"]).startswith("Booking cancelled at Beach Condo 123")]
    assert sorted(str(m["To"]) for m in cancelled) == [ADMIN_EMAIL, OWNER_EMAIL]
    assert len(rows(db)) == 4


def test_a_change_of_dates_or_party_is_told_once_per_version(db: Database, people: dict[str, int], smtp: Any) -> None:
    server, port = smtp
    send_event(db)
    moved = {"check_in": date(2026, 6, 20), "check_out": date(2026, 6, 27)}
    assert send_event(db, kind=EventKind.updated, **moved)[1] == Outcome.updated
    assert send_event(db, kind=EventKind.updated, **moved)[1] == Outcome.unchanged
    assert send_event(db, kind=EventKind.updated, special_requests="Celebrating anniversary!", **moved)[1] == (
        Outcome.updated
    )  # a new note alone is not news
    assert send_event(db, kind=EventKind.updated, guest_count=6, special_requests="x", **moved)[1] == Outcome.updated
    deliver_due(db, smtp_sender(port))
    subjects = [" ".join(str(m["Subject"]).split()) for m in server.messages()]  # unfolded
    changed = [s for s in subjects if s.startswith("Booking changed")]
    assert changed.count("Booking changed at Beach Condo 123: Sarah Johnson, now Jun 20 to Jun 27") == 4
    mine = [m for m in server.messages() if m["To"] == OWNER_EMAIL and "changed" in " ".join(str(m["Subject"]).split())]
    body = mine[0]
    assert "Jun 27" in str(body.get_body(preferencelist=("plain",)).get_content())


def test_a_4xx_answer_is_retried_later(db: Database, smtp: Any) -> None:
    server, port = smtp
    server.answer = "451 try later"
    message_id = add_message(db, "a")
    start = utcnow()
    assert deliver_due(db, smtp_sender(port)) == 1
    (row,) = rows(db)
    assert (row.id, row.status, row.attempts) == (message_id, OutboxStatus.pending, 1)
    assert row.next_attempt_at > start and row.locked_until is None
    assert "451" in row.last_error
    assert deliver_due(db, smtp_sender(port)) == 0  # not due yet

    server.answer = None
    assert deliver_due(db, smtp_sender(port), now=row.next_attempt_at) == 1
    (row,) = rows(db)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.sent, 2, "")
    assert len(server.envelopes) == 1


def test_a_5xx_answer_is_dead_at_once(db: Database, smtp: Any) -> None:
    server, port = smtp
    server.answer = "550 no such user"
    add_message(db, "a")
    deliver_due(db, smtp_sender(port))
    (row,) = rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.dead, 1)
    assert "550" in row.last_error and "no such user" in row.last_error
    assert deliver_due(db, smtp_sender(port), now=utcnow() + timedelta(days=30)) == 0


def test_smtp_down_is_retried(db: Database) -> None:
    add_message(db, "a")
    start = utcnow()
    assert deliver_due(db, smtp_sender(free_port())) == 1
    (row,) = rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.pending, 1)
    assert row.next_attempt_at > start and "TemporaryFailure" in row.last_error


def test_a_hanging_server_times_out_and_is_retried(db: Database) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []

    def accept_and_say_nothing() -> None:
        with contextlib.suppress(OSError):  # closed at the end of the test
            accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    try:
        add_message(db, "a")
        started = time.monotonic()
        deliver_due(db, smtp_sender(listener.getsockname()[1], timeout=0.5))
        assert time.monotonic() - started < 5
    finally:
        listener.close()
        for connection in accepted:
            connection.close()
    assert accepted, "the client did connect"
    (row,) = rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.pending, 1)
    assert "TemporaryFailure" in row.last_error


def test_attempts_exhausted_make_a_visible_dead_letter(db: Database) -> None:
    add_message(db, "a")
    sender = smtp_sender(free_port())
    now = utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert deliver_due(db, sender, now=now) == 1
        (row,) = rows(db)
        assert row.attempts == attempt
        now = row.next_attempt_at
    assert row.status == OutboxStatus.dead and row.last_error
    assert deliver_due(db, sender, now=now + timedelta(days=365)) == 0
    with db.unit_of_work(write=False) as session:
        dead = list(session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.dead)))
    assert [d.dedupe_key for d in dead] == ["a"]


def test_a_poison_message_does_not_block_the_others(db: Database, smtp: Any) -> None:
    server, port = smtp
    add_message(db, "poison", channel="pigeon")
    add_message(db, "fine")
    assert deliver_due(db, smtp_sender(port)) == 2
    status = {r.dedupe_key: r.status for r in rows(db)}
    assert status == {"poison": OutboxStatus.dead, "fine": OutboxStatus.sent}
    assert len(server.envelopes) == 1


def test_concurrent_workers_never_send_a_message_twice(db: Database, smtp: Any) -> None:
    if db.is_sqlite:
        pytest.skip("concurrent claiming with SKIP LOCKED is a PostgreSQL matter")
    server, port = smtp
    server.delay = 0.01
    for n in range(30):
        add_message(db, f"m{n}")
    barrier = threading.Barrier(3)
    counts: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            counts.append(deliver_due(db, smtp_sender(port), limit=50))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(counts) == 30
    ids = [str(m["Message-ID"]) for m in server.messages()]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert all(r.status == OutboxStatus.sent and r.attempts == 1 for r in rows(db))


def test_without_smtp_host_mail_goes_to_eml_files(db: Database, settings: Settings, people: dict[str, int]) -> None:
    assert not settings.smtp_host
    send_event(db)
    sender = sender_from_settings(settings)
    assert isinstance(sender.senders["email"], FolderSender)
    assert deliver_due(db, sender) == 2
    files = sorted((settings.data_dir / "mail").glob("*.eml"))
    assert len(files) == 2
    mails = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert sorted(str(m["To"]) for m in mails) == [ADMIN_EMAIL, OWNER_EMAIL]
    assert {str(m["Message-ID"]) for m in mails} == {f"<outbox-{r.id}@luxserv>" for r in rows(db)}
    assert all(r.status == OutboxStatus.sent for r in rows(db))


def test_guest_values_are_escaped_in_html(db: Database, people: dict[str, int], smtp: Any) -> None:
    server, port = smtp
    send_event(db, guest=GuestInfo(name="<script>alert(1)</script>"), special_requests="<b>&</b>")
    deliver_due(db, smtp_sender(port))
    for mail in server.messages():
        html_part, text_part = mail.get_body(("html",)), mail.get_body(("plain",))
        assert html_part is not None and text_part is not None
        html = html_part.get_content()
        assert "<script>" not in html and "<b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;&amp;&lt;/b&gt;" in html
        assert "<script>alert(1)</script>" in text_part.get_content()


def test_line_breaks_in_a_subject_add_no_header(db: Database, people: dict[str, int], smtp: Any) -> None:
    server, port = smtp
    send_event(db, guest=GuestInfo(name="Eve\r\nBcc: x@evil.example"))
    deliver_due(db, smtp_sender(port))
    assert server.recipients() == [ADMIN_EMAIL, OWNER_EMAIL]
    for envelope, mail in zip(server.envelopes, server.messages(), strict=True):
        assert mail["Bcc"] is None
        assert b"\nBcc:" not in cast(bytes, envelope.content).split(b"\r\n\r\n", 1)[0]
        subject = " ".join(str(mail["Subject"]).split())  # a long header is folded on the wire
        assert subject == "New booking at Beach Condo 123: Eve Bcc: x@evil.example, Jun 15 to Jun 22"
    # The sender cleans a subject that reached the outbox some other way, too.
    raw = FolderSender.compose(
        FolderSender(Settings().data_dir, mail_from="LuxServ <a@b.example>\r\nBcc: y@evil.example"),
        Outgoing(id=7, channel="email", topic="t", recipient="c@d.example\r\nBcc: z@evil.example",
                 payload={"subject": "Hi\r\nBcc: x@evil.example\nX-Evil: 1", "text": "body"}),
    ).as_bytes()  # fmt: skip
    headers = raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers and b"\nX-Evil" not in headers
    assert b"Subject: Hi Bcc: x@evil.example X-Evil: 1" in headers


def test_the_worker_pass_sends_the_outbox(db: Database, settings: Settings, people: dict[str, int], smtp: Any) -> None:
    server, port = smtp
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"})
    send_event(db)
    # Two e-mails, and the first runs of the periodic jobs (digests, reminders, rate-limit pruning).
    assert run_once(db, Providers.from_settings(configured, db), configured) == 2 + 3
    assert server.recipients() == [ADMIN_EMAIL, OWNER_EMAIL]
    assert not (settings.data_dir / "mail").exists()
    assert run_once(db, Providers.from_settings(configured, db), configured) == 0
