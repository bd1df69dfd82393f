"""Double bookings: every active admin is told (in-app and by e-mail) and the audit log records it; touching stays
are fine."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from luxserv.accounts.models import Role, User
from luxserv.audit.models import AuditEntry
from luxserv.bookings.apply import apply
from luxserv.bookings.service import place
from luxserv.core.database import Database
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.outbox.models import Notification, OutboxMessage
from tests.factories import make_owner, make_property, make_user


def book(db: Database, provider: str, external_id: str, check_in: date, check_out: date, **extra: Any) -> int:
    event = BookingEvent(
        kind=extra.pop("kind", EventKind.created),
        provider=provider,
        external_id=external_id,
        listing=extra.pop("listing", ListingRef(name="Beach Condo 123")),
        guest=GuestInfo(name=f"Guest {external_id}"),
        check_in=check_in,
        check_out=check_out,
        **extra,
    )
    with db.unit_of_work() as session:
        return apply(session, event, actor="test").booking.id


def notifications(db: Database) -> list[Notification]:
    with db.unit_of_work(write=False) as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.topic == "booking.overlap")
                .order_by(Notification.user_id, Notification.id)
            )
        )


def alerts(db: Database) -> list[AuditEntry]:
    with db.unit_of_work(write=False) as session:
        query = select(AuditEntry).where(AuditEntry.action == "booking.double_booked").order_by(AuditEntry.id)
        return list(session.scalars(query))


@pytest.fixture
def condo(db: Database) -> int:
    return make_property(db, owner_id=make_owner(db))


@pytest.fixture
def admins(db: Database, condo: int) -> list[int]:
    """Two active admins; an inactive admin, a staff member and an owner who must not be told."""
    owner = make_owner(db, name="Omar Haddad", email="omar@example.com")
    active = [make_user(db, "ada@example.com"), make_user(db, "bo@example.com")]
    retired = make_user(db, "old@example.com")
    make_user(db, "staff@example.com", role=Role.staff)
    make_user(db, "dana@example.com", role=Role.owner, owner_id=owner)
    with db.unit_of_work() as session:
        user = session.get(User, retired)
        assert user is not None
        user.is_active = False
    return active


def test_an_overlapping_booking_from_another_provider_alerts_every_active_admin(
    db: Database, admins: list[int]
) -> None:
    first = book(db, "airbnb", "HM1", date(2026, 6, 15), date(2026, 6, 22))
    assert notifications(db) == [] and alerts(db) == []

    second = book(db, "vrbo", "VR-77", date(2026, 6, 20), date(2026, 6, 25))

    found = notifications(db)
    assert [n.user_id for n in found] == admins
    for note in found:
        assert note.topic == "booking.overlap"
        assert note.title == "Double booking at Beach Condo 123"
        assert "vrbo VR-77 (Jun 20 to Jun 25)" in note.body and "airbnb HM1 (Jun 15 to Jun 22)" in note.body
        assert note.link == f"/admin/bookings/{second}"
        assert note.read_at is None
    [entry] = alerts(db)
    assert (entry.entity_type, entry.entity_id, entry.actor) == ("booking", second, "test")
    assert entry.details["overlaps"] == [first]
    with db.unit_of_work(write=False) as session:
        mails = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "booking.overlap")).all()
    assert sorted(m.recipient for m in mails) == ["ada@example.com", "bo@example.com"]
    for mail in mails:
        assert mail.payload["subject"] == "Double booking at Beach Condo 123"
        assert "vrbo VR-77 (Jun 20 to Jun 25), Guest VR-77" in mail.payload["text"]
        assert f"http://testserver/admin/bookings/{second}" in mail.payload["html"]


def test_the_same_event_again_or_a_change_that_moves_nothing_does_not_alert_again(
    db: Database, admins: list[int]
) -> None:
    book(db, "airbnb", "HM1", date(2026, 6, 15), date(2026, 6, 22))
    book(db, "vrbo", "VR-77", date(2026, 6, 20), date(2026, 6, 25))
    book(db, "vrbo", "VR-77", date(2026, 6, 20), date(2026, 6, 25))
    book(db, "vrbo", "VR-77", date(2026, 6, 20), date(2026, 6, 25), kind=EventKind.updated, guest_count=3)

    assert len(notifications(db)) == 2
    assert len(alerts(db)) == 1


def test_touching_stays_do_not_conflict(db: Database, admins: list[int]) -> None:
    book(db, "airbnb", "HM1", date(2026, 6, 15), date(2026, 6, 22))
    book(db, "vrbo", "VR-77", date(2026, 6, 22), date(2026, 6, 25))  # arrives the day the first leaves
    book(db, "vrbo", "VR-78", date(2026, 6, 10), date(2026, 6, 15))  # leaves the day the first arrives

    assert notifications(db) == []
    assert alerts(db) == []


def test_a_cancelled_booking_does_not_conflict(db: Database, admins: list[int]) -> None:
    book(db, "airbnb", "HM1", date(2026, 6, 15), date(2026, 6, 22))
    book(db, "airbnb", "HM1", date(2026, 6, 15), date(2026, 6, 22), kind=EventKind.cancelled)
    book(db, "vrbo", "VR-77", date(2026, 6, 16), date(2026, 6, 20))  # over the cancelled stay
    book(db, "vrbo", "VR-78", date(2026, 6, 16), date(2026, 6, 20), kind=EventKind.cancelled)  # cancelled itself

    assert notifications(db) == []
    assert alerts(db) == []


def test_moving_or_placing_a_booking_onto_another_stay_alerts(db: Database, condo: int, admins: list[int]) -> None:
    first = book(db, "airbnb", "HM1", date(2026, 6, 15), date(2026, 6, 22))
    moved = book(db, "vrbo", "VR-77", date(2026, 7, 1), date(2026, 7, 5))
    assert alerts(db) == []

    book(db, "vrbo", "VR-77", date(2026, 6, 21), date(2026, 6, 24), kind=EventKind.updated)
    unplaced = book(db, "ical", "UID-9", date(2026, 6, 20), date(2026, 6, 22), listing=ListingRef(name="Nowhere"))
    assert len(alerts(db)) == 1
    with db.unit_of_work() as session:
        place(session, unplaced, condo, remember=False, actor="test")

    assert [(a.entity_id, a.details["overlaps"]) for a in alerts(db)] == [(moved, [first]), (unplaced, [first, moved])]
    assert len(notifications(db)) == 4


def test_reviving_a_cancelled_booking_over_another_stay_alerts(db: Database, admins: list[int]) -> None:
    book(db, "airbnb", "HM1", date(2026, 6, 15), date(2026, 6, 22), kind=EventKind.cancelled)
    book(db, "vrbo", "VR-77", date(2026, 6, 18), date(2026, 6, 25))
    assert alerts(db) == []

    book(db, "airbnb", "HM1", date(2026, 6, 15), date(2026, 6, 22), kind=EventKind.updated, status="confirmed")

    assert len(alerts(db)) == 1


def test_placing_a_cancelled_booking_does_not_alert(db: Database, condo: int, admins: list[int]) -> None:
    book(db, "airbnb", "HM1", date(2026, 6, 15), date(2026, 6, 22))
    ghost = book(
        db, "ical", "UID-9", date(2026, 6, 18), date(2026, 6, 19),
        listing=ListingRef(name="Nowhere"), kind=EventKind.cancelled,
    )  # fmt: skip
    with db.unit_of_work() as session:
        place(session, ghost, condo, remember=False, actor="test")

    assert alerts(db) == []
    assert notifications(db) == []
