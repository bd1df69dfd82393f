"""Delivering one notice to one person, the way they asked: in the app, by e-mail now, or in a daily digest.

Callers (bookings, service requests, the worker's reminders) build a `Notice` and call `to_user` for each login
or `to_address` for a guest, inside the transaction of the change that caused it; `to_users` / `deliver_all` do
the same for several at once, one multi-row statement per table. Every row written carries the
notice's key, unique per table, so delivering the same notice again (a replayed event, a retried job) writes
nothing. E-mail leaves as an outbox row with `channel="email"`; another channel (SMS, Slack) is another outbox
channel and sender, without changing callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from luxserv.core.database import insert_all_once, insert_once
from luxserv.notifications.models import DigestEntry, EmailMode, NotificationPreference
from luxserv.outbox.enqueue import MAX_KEY_LENGTH, enqueue, enqueue_many
from luxserv.outbox.models import Notification

# What a person can choose to hear about. Topics not listed here (digests, password resets, guest mail) are
# always e-mailed: they are the channel itself, or were asked for.
TOPICS: dict[str, str] = {
    "booking.created": "New bookings",
    "booking.changed": "Changed bookings (dates, home, guests)",
    "booking.cancelled": "Cancelled bookings",
    "service_request.created": "New service requests",
    "service_request.status_changed": "Service request progress",
    "service_request.assigned": "Tasks assigned to me",
    "service_request.due": "Tasks due tomorrow",
    "booking.unplaced": "Bookings for unknown homes",
    "booking.overlap": "Double bookings",
    "outbox.dead": "Messages that could not be delivered",
}


@dataclass(frozen=True)
class Notice:
    """One thing to tell one person. `key` must be stable for (what happened, who is told)."""

    key: str
    topic: str
    subject: str
    text: str
    html: str = ""
    link: str = ""  # a site path for the in-app feed, e.g. "/owner/properties/3"
    payload: dict[str, Any] = field(default_factory=dict)  # extra outbox fields (booking_id, …)


@dataclass(frozen=True)
class Choice:
    email: EmailMode
    in_app: bool


DEFAULT = Choice(EmailMode.immediate, True)


def preference(session: Session, user_id: int, topic: str) -> Choice:
    """The user's choice for a topic, or the default (e-mail now, and in the app)."""
    return preferences(session, [user_id], topic)[user_id]


def preferences(session: Session, user_ids: Sequence[int], topic: str) -> dict[int, Choice]:
    """Each user's choice for a topic (the default where they made none), in one query."""
    chosen = dict.fromkeys(user_ids, DEFAULT)
    if topic not in TOPICS or not user_ids:
        return chosen
    rows = session.scalars(
        select(NotificationPreference).where(
            NotificationPreference.user_id.in_(user_ids), NotificationPreference.topic == topic
        )
    )
    chosen.update({row.user_id: Choice(row.email, row.in_app) for row in rows})
    return chosen


def to_user(session: Session, user_id: int, email: str, notice: Notice, *, choice: Choice | None = None) -> bool:
    """Deliver to a login according to their preferences (`choice`, when already looked up with `preferences`);
    True if anything new was written."""
    _check_key(notice.key)
    if choice is None:
        choice = preference(session, user_id, notice.topic)
    wrote = False
    if choice.in_app:
        wrote |= _insert_once(session, Notification, user_id, notice)
    if choice.email == EmailMode.immediate:
        wrote |= _email(session, email, notice, user_id=user_id)
    elif choice.email == EmailMode.digest:
        wrote |= _insert_once(session, DigestEntry, user_id, notice)
    return wrote


@dataclass(frozen=True)
class Delivery:
    """One notice for one login, with the choice `preferences` found for them."""

    user_id: int
    email: str
    notice: Notice
    choice: Choice


def to_users(session: Session, deliveries: Sequence[Delivery]) -> int:
    """`to_user` for several logins at once: the same rows, each table written in one statement (rather than a
    statement per row); returns how many notices wrote anything new (each delivery has its own key)."""
    return len(deliver_all(session, deliveries))


def deliver_all(
    session: Session, deliveries: Sequence[Delivery], addressed: Sequence[tuple[str, Notice]] = ()
) -> set[str]:
    """`to_user` for each delivery and `to_address` for each (e-mail, notice) in `addressed`, writing each table
    once (a multi-row insert); returns the keys of the notices that wrote anything new."""
    in_app: list[dict[str, Any]] = []
    emails: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    for delivery in deliveries:
        notice, choice = delivery.notice, delivery.choice
        _check_key(notice.key)
        if choice.in_app:
            in_app.append(_row(delivery.user_id, notice))
        if choice.email == EmailMode.immediate:
            if delivery.email:
                emails.append(_message(delivery.email, notice, user_id=delivery.user_id))
        elif choice.email == EmailMode.digest:
            held.append(_row(delivery.user_id, notice))
    for address, notice in addressed:
        _check_key(notice.key)
        if address:
            emails.append(_message(address, notice, user_id=None))
    written = insert_all_once(session, Notification, "dedupe_key", in_app)
    written |= enqueue_many(session, emails)
    written |= insert_all_once(session, DigestEntry, "dedupe_key", held)
    return written


def to_address(session: Session, email: str, notice: Notice) -> bool:
    """E-mail someone without a login (a guest); True if the message is new."""
    _check_key(notice.key)
    return _email(session, email, notice, user_id=None)


def _email(session: Session, address: str, notice: Notice, *, user_id: int | None) -> bool:
    if not address:
        return False
    return enqueue(session, **_message(address, notice, user_id=user_id)) is not None


def _message(address: str, notice: Notice, *, user_id: int | None) -> dict[str, Any]:
    """The outbox row (`enqueue`'s arguments) that e-mails the notice."""
    payload: dict[str, Any] = {"subject": notice.subject, "text": notice.text, "html": notice.html}
    payload.update(notice.payload)
    if user_id is not None:
        payload["user_id"] = user_id
    return {"dedupe_key": notice.key, "channel": "email", "topic": notice.topic, "recipient": address,
            "payload": payload}  # fmt: skip


def _insert_once(session: Session, model: type[Notification] | type[DigestEntry], user_id: int, notice: Notice) -> bool:
    return insert_once(session, model, ("dedupe_key",), _row(user_id, notice)) is not None


def _row(user_id: int, notice: Notice) -> dict[str, Any]:
    """The feed or digest row that shows the notice to the user."""
    return {"user_id": user_id, "dedupe_key": notice.key, "topic": notice.topic, "title": notice.subject[:300],
            "body": notice.text, "link": notice.link}  # fmt: skip


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a notice key must have 1 to {MAX_KEY_LENGTH} characters: {key[:60]!r}")
