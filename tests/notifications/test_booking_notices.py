"""Booking notices as each person chose (one statement per table however many are told), and `new_booking`:
the new-booking notice and the guest's welcome written together, exactly as `booking_created` and
`send_welcome` write them one after the other."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select

from luxserv.bookings.models import Booking
from luxserv.core.database import Database
from luxserv.notifications import booking_created, new_booking, send_welcome
from luxserv.notifications import feed as notification_feed
from luxserv.notifications.models import DigestEntry, EmailMode
from luxserv.outbox.models import Notification, OutboxMessage
from luxserv.portal.access import booking_for_code
from luxserv.portal.models import GuestAccessCode
from tests.admin_helpers import counted
from tests.notifications.conftest import People
from tests.notifications.support import book, digest_entries, feed, mails

CREATED = "booking.created"


def choose(db: Database, user_id: int, email: EmailMode, in_app: bool) -> None:
    with db.unit_of_work() as session:
        change = notification_feed.ChoiceChange(topic=CREATED, email=email, in_app=in_app)
        notification_feed.save_choices(session, user_id, [change])


def test_each_person_hears_of_a_new_booking_as_they_chose(db: Database, people: People) -> None:
    choose(db, people.dana2, EmailMode.digest, in_app=True)
    choose(db, people.admin, EmailMode.immediate, in_app=False)
    choose(db, people.admin2, EmailMode.off, in_app=False)
    booking_id = book(db, people.condo, date(2031, 5, 1), date(2031, 5, 4))

    def key(user_id: int) -> str:
        return f"{CREATED}:{booking_id}:user-{user_id}:new"

    subject = "New booking at Beach Condo 123: Sarah Johnson, May 01 to May 04"
    assert [(n.user_id, n.dedupe_key, n.title) for n in feed(db, CREATED)] == [
        (people.dana, key(people.dana), subject),
        (people.dana2, key(people.dana2), subject),
    ]
    assert [(m.recipient, m.key) for m in mails(db, CREATED)] == [
        ("dana@login.example", key(people.dana)),
        ("admin@example.com", key(people.admin)),
    ]
    assert [(e.user_id, e.dedupe_key, e.title) for e in digest_entries(db)] == [
        (people.dana2, key(people.dana2), subject)
    ]
    owner, admin = mails(db, CREATED)
    assert f"/owner/properties/{people.condo}" in owner.text and "manual B-" not in owner.text
    assert f"/admin/bookings/{booking_id}" in admin.text and "manual B-" in admin.text
    # Written again (a retried transaction): nothing new, nobody counted.
    with db.unit_of_work() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        with counted(db) as statements:
            assert booking_created(session, booking) == 0
    inserts = [s.split("(")[0].strip() for s in statements if s.startswith("INSERT")]
    assert inserts == ["INSERT INTO notifications", "INSERT INTO outbox_messages", "INSERT INTO digest_entries"]


def _written(db: Database) -> dict[str, Any]:
    """Everything the notices wrote, in order, without ids, timestamps or the (random) access code."""
    with db.unit_of_work(write=False) as session:
        in_app = session.scalars(select(Notification).order_by(Notification.id))
        outbox = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        held = session.scalars(select(DigestEntry).order_by(DigestEntry.id))
        return {
            "feed": [(n.user_id, n.dedupe_key, n.topic, n.title, n.body, n.link) for n in in_app],
            "mail": [
                (
                    m.dedupe_key,
                    m.channel,
                    m.topic,
                    m.recipient,
                    re.sub(r"booking=[\w-]+", "booking=CODE", repr(m.payload)),
                )
                for m in outbox
            ],
            "digest": [(e.user_id, e.dedupe_key, e.topic, e.title, e.body, e.link) for e in held],
            "codes": session.scalar(select(func.count()).select_from(GuestAccessCode)),
        }


def _forget(db: Database) -> None:
    with db.unit_of_work() as session:
        for model in (Notification, OutboxMessage, DigestEntry, GuestAccessCode):
            session.execute(delete(model))


def test_new_booking_writes_what_booking_created_and_send_welcome_write(db: Database, people: People) -> None:
    choose(db, people.dana2, EmailMode.digest, in_app=True)
    booking_id = book(db, people.condo, date(2031, 5, 1), date(2031, 5, 4))
    _forget(db)
    with db.unit_of_work() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        told = booking_created(session, booking)
        code = send_welcome(session, booking, new=True)
    assert told == 4 and code is not None  # Dana's two logins and the two active admins; the guest
    expected = _written(db)
    assert len(expected["mail"]) == 4 and expected["mail"][-1][0] == f"guest.welcome:{booking_id}"
    _forget(db)

    with db.unit_of_work() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        with counted(db) as statements:
            told, code = new_booking(session, booking)
    assert told == 4 and code is not None
    assert _written(db) == expected
    assert sum(s.startswith("INSERT INTO outbox_messages") for s in statements) == 1
    with db.unit_of_work(write=False) as session:
        opened = booking_for_code(session, code)
        assert opened is not None and opened.id == booking_id
    # Again (a retried transaction): nobody is told twice and no welcome goes out, as with the two calls.
    with db.unit_of_work() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        assert new_booking(session, booking) == (0, None)
    assert _written(db)["mail"] == expected["mail"]


def test_new_booking_for_an_unplaced_booking_tells_the_admins_and_welcomes_nobody(db: Database, people: People) -> None:
    booking_id = book(db, people.condo, date(2031, 5, 1), date(2031, 5, 4))
    _forget(db)
    with db.unit_of_work() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        booking.property_id = None
        assert new_booking(session, booking) == (2, None)
    assert [m.recipient for m in mails(db, "booking.unplaced")] == ["admin@example.com", "ada@example.com"]
    assert _written(db)["codes"] == 0
