"""Helpers for the notification tests: what was written to the feed, the digest and the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.bookings.apply import apply
from luxserv.core.database import Database
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.notifications.models import DigestEntry
from luxserv.outbox.models import Notification, OutboxMessage
from luxserv.services import requests
from luxserv.services.models import Origin
from tests.factories import login


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    text: str
    html: str
    key: str


def mails(db: Database, topic: str) -> list[Mail]:
    with db.unit_of_work(write=False) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id))
        return [
            Mail(r.recipient, r.payload["subject"], r.payload["text"], r.payload["html"], r.dedupe_key) for r in rows
        ]


def feed(db: Database, topic: str) -> list[Notification]:
    with db.unit_of_work(write=False) as session:
        query = select(Notification).where(Notification.topic == topic).order_by(Notification.id)
        return list(session.scalars(query))


def digest_entries(db: Database, user_id: int | None = None) -> list[DigestEntry]:
    with db.unit_of_work(write=False) as session:
        query = select(DigestEntry).order_by(DigestEntry.id)
        if user_id is not None:
            query = query.where(DigestEntry.user_id == user_id)
        return list(session.scalars(query))


def book(db: Database, property_id: int, check_in: date, check_out: date, *, email: str = "sarah@email.com") -> int:
    """A stay booked through `bookings.apply`; returns the booking id."""
    event = BookingEvent(
        kind=EventKind.created,
        provider="manual",
        external_id=f"B-{property_id}-{check_in.isoformat()}",
        listing=ListingRef(property_id=property_id),
        guest=GuestInfo(name="Sarah Johnson", email=email or None),
        check_in=check_in,
        check_out=check_out,
        guest_count=2,
    )
    with db.unit_of_work() as session:
        return apply(session, event, actor="test").booking.id


def new_request(db: Database, property_id: int, day: date, *, origin: Origin = Origin.admin, **kw: Any) -> int:
    kw.setdefault("service_type", "beach_gear_delivery")
    with db.unit_of_work() as session:
        made = requests.create_request(
            session, property_id=property_id, scheduled_for=day, origin=origin, actor=kw.pop("actor", "test"), **kw
        )
        return made.id


def bearer(client: TestClient, email: str) -> dict[str, str]:
    """An Authorization header for the login (the client keeps no cookie afterwards)."""
    token = login(client, email)["token"]
    client.cookies.clear()
    return {"Authorization": f"Bearer {token}"}
