"""`bookings.apply`: one transaction per event — guest, booking, audit; upserts, staleness, validation, races."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from luxserv.audit.models import AuditEntry
from luxserv.bookings.apply import ApplyResult, Outcome, apply
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.database import Database
from luxserv.core.errors import EventRejected
from luxserv.guests.models import Guest
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from tests.factories import make_owner, make_property

T1 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
T2 = T1 + timedelta(hours=1)
T3 = T2 + timedelta(hours=1)

SARAH = GuestInfo(name="Sarah Johnson", email="sarah@email.com", phone="+1 850 555 0100")

BASE_EVENT = BookingEvent(
    kind=EventKind.created,
    provider="manual",
    external_id="HM123456789",
    listing=ListingRef(name="Beach Condo 123"),
    guest=SARAH,
    check_in=date(2026, 6, 15),
    check_out=date(2026, 6, 22),
    guest_count=4,
    special_requests="Celebrating anniversary",
    channel="airbnb",
)


def event(**overrides: Any) -> BookingEvent:
    """The base event (Sarah, Beach Condo 123, 15-22 June 2026) with some fields replaced."""
    return dataclasses.replace(BASE_EVENT, **overrides)


def guest(**overrides: Any) -> GuestInfo:
    return dataclasses.replace(SARAH, **overrides)


def apply_one(db: Database, ev: BookingEvent) -> ApplyResult:
    with db.unit_of_work() as session:
        return apply(session, ev, actor="test")


def all_bookings(db: Database) -> list[Booking]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(Booking).order_by(Booking.id)))


def all_guests(db: Database) -> list[Guest]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(Guest).options(selectinload(Guest.bookings)).order_by(Guest.id)))


def booking_row(db: Database, booking_id: int) -> dict[str, Any]:
    """Every column of a booking, to prove that nothing changed."""
    with db.unit_of_work(write=False) as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        return {column.key: getattr(booking, column.key) for column in Booking.__table__.columns}


def audits(db: Database, action: str | None = None) -> list[AuditEntry]:
    with db.unit_of_work(write=False) as session:
        query = select(AuditEntry).where(AuditEntry.entity_type == "booking").order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def count(db: Database, model: type[Any]) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- one transaction -------------------------------------------------------------------------------------------


def test_apply_creates_guest_booking_and_audit_entry(db: Database) -> None:
    property_id = make_property(db, owner_id=make_owner(db))

    result = apply_one(db, event())

    assert result.outcome == Outcome.created
    assert result.changed
    [booking] = all_bookings(db)
    assert booking.id == result.booking.id
    assert (booking.provider, booking.external_id) == ("manual", "HM123456789")
    assert booking.property_id == property_id
    assert booking.status == BookingStatus.confirmed
    assert (booking.check_in, booking.check_out, booking.guest_count) == (date(2026, 6, 15), date(2026, 6, 22), 4)
    assert booking.special_requests == "Celebrating anniversary"
    assert booking.channel == "airbnb"
    assert booking.listing_name == "Beach Condo 123"
    assert booking.cancelled_at is None

    [sarah] = all_guests(db)
    assert (sarah.full_name, sarah.email, sarah.email_normalized) == (
        "Sarah Johnson",
        "sarah@email.com",
        "sarah@email.com",
    )
    assert sarah.phone == "+1 850 555 0100"
    assert booking.guest_id == sarah.id

    [entry] = audits(db)
    assert (entry.action, entry.actor, entry.entity_id) == ("booking.created", "test", booking.id)
    assert entry.details["provider"] == "manual"
    assert entry.details["external_id"] == "HM123456789"
    assert entry.details["guest_id"] == sarah.id
    assert entry.details["property_id"] == property_id
    assert (entry.details["check_in"], entry.details["check_out"]) == ("2026-06-15", "2026-06-22")


def test_rolled_back_transaction_leaves_no_guest_booking_or_audit(db: Database) -> None:
    make_property(db)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.unit_of_work() as session:
        result = apply(session, event(), actor="test")
        assert result.outcome == Outcome.created
        # Everything is already flushed inside the transaction…
        assert session.scalar(select(func.count()).select_from(Booking)) == 1
        assert session.scalar(select(func.count()).select_from(Guest)) == 1
        assert session.scalar(select(func.count()).where(AuditEntry.action == "booking.created")) == 1
        raise Boom

    # …and the rollback takes all three away together.
    assert count(db, Booking) == 0
    assert count(db, Guest) == 0
    assert audits(db) == []


# --- guest identity --------------------------------------------------------------------------------------------


def test_same_email_in_another_case_is_one_guest_with_two_stays(db: Database) -> None:
    first = apply_one(db, event(external_id="A-1", occurred_at=T1))
    second = apply_one(
        db,
        event(
            external_id="B-2",
            check_in=date(2026, 8, 1),
            check_out=date(2026, 8, 5),
            guest=GuestInfo(name="Sarah J. Johnson", email="SARAH@Email.COM", phone="+1 850 555 0199"),
            occurred_at=T2,
        ),
    )

    [sarah] = all_guests(db)
    assert sarah.email_normalized == "sarah@email.com"
    assert sorted(b.id for b in sarah.bookings) == sorted([first.booking.id, second.booking.id])
    assert first.booking.id != second.booking.id
    # name and phone come from the newest event
    assert sarah.full_name == "Sarah J. Johnson"
    assert sarah.phone == "+1 850 555 0199"


def test_same_email_with_surrounding_whitespace_is_the_same_guest(db: Database) -> None:
    first = apply_one(db, event(external_id="A-1"))
    second = apply_one(
        db,
        event(
            external_id="B-2",
            check_in=date(2026, 8, 1),
            check_out=date(2026, 8, 5),
            guest=guest(name="Sarah Johnson-Lee", email="  SARAH@email.com \t", phone="+1 850 555 0199"),
        ),
    )

    [sarah] = all_guests(db)
    assert sorted(b.id for b in sarah.bookings) == sorted([first.booking.id, second.booking.id])
    assert (sarah.full_name, sarah.phone) == ("Sarah Johnson-Lee", "+1 850 555 0199")


def test_missing_email_never_refreshes_a_known_one_and_missing_phone_keeps_it(db: Database) -> None:
    apply_one(db, event(external_id="A-1"))
    apply_one(db, event(external_id="A-1", guest=guest(name="Sarah Johnson", phone=None)))

    [sarah] = all_guests(db)
    assert sarah.email == "sarah@email.com"
    assert sarah.phone == "+1 850 555 0100"


def test_bookings_without_email_get_separate_new_guests(db: Database) -> None:
    anonymous = GuestInfo(name="Airbnb Guest")
    first = apply_one(db, event(external_id="A-1", guest=anonymous))
    second = apply_one(db, event(external_id="B-2", guest=anonymous))

    guests = all_guests(db)
    assert len(guests) == 2
    assert first.booking.guest_id != second.booking.guest_id
    assert all(g.email is None and g.email_normalized is None for g in guests)


def test_update_without_email_keeps_the_bookings_guest(db: Database) -> None:
    created = apply_one(db, event(external_id="A-1", guest=GuestInfo(name="Airbnb Guest")))
    updated = apply_one(
        db,
        event(kind=EventKind.updated, external_id="A-1", guest=GuestInfo(name="Mike Chen", phone="+1 555 0101")),
    )

    assert updated.booking.id == created.booking.id
    [only] = all_guests(db)
    assert only.id == created.booking.guest_id
    assert [b.id for b in only.bookings] == [created.booking.id]
    assert (only.full_name, only.phone, only.email) == ("Mike Chen", "+1 555 0101", None)


def test_update_changing_the_email_relinks_the_booking_to_the_other_guest(db: Database) -> None:
    mike = apply_one(db, event(external_id="M-1", guest=GuestInfo(name="Mike Chen", email="mike@example.com")))
    booking = apply_one(db, event(external_id="A-1"))
    sarah_id = booking.booking.guest_id

    result = apply_one(
        db,
        event(kind=EventKind.updated, external_id="A-1", guest=GuestInfo(name="Mike Chen", email="Mike@Example.com")),
    )

    assert result.outcome == Outcome.updated
    assert result.booking.id == booking.booking.id
    assert booking_row(db, booking.booking.id)["guest_id"] == mike.booking.guest_id
    guests = {g.id: g for g in all_guests(db)}
    assert len(guests) == 2
    assert sorted(b.id for b in guests[mike.booking.guest_id].bookings) == sorted([mike.booking.id, booking.booking.id])
    assert guests[sarah_id].bookings == []
    assert guests[sarah_id].full_name == "Sarah Johnson"  # the other profile is not renamed
    [entry] = audits(db, "booking.updated")
    assert entry.details["changes"]["guest_id"] == [sarah_id, mike.booking.guest_id]


# --- upsert ----------------------------------------------------------------------------------------------------


def test_same_event_twice_is_one_booking_unchanged_and_audited_once(db: Database) -> None:
    make_property(db)
    first = apply_one(db, event(occurred_at=T1))
    before = booking_row(db, first.booking.id)

    again = apply_one(db, event(occurred_at=T1))

    assert again.outcome == Outcome.unchanged
    assert not again.changed
    assert again.booking.id == first.booking.id
    assert count(db, Booking) == 1
    assert count(db, Guest) == 1
    assert [a.action for a in audits(db)] == ["booking.created"]
    assert booking_row(db, first.booking.id) == before


def test_same_external_id_under_another_provider_is_another_booking(db: Database) -> None:
    manual = apply_one(db, event(provider="manual"))
    other = apply_one(db, event(provider="guesty"))

    assert other.outcome == Outcome.created
    assert other.booking.id != manual.booking.id
    assert sorted((b.provider, b.external_id) for b in all_bookings(db)) == [
        ("guesty", "HM123456789"),
        ("manual", "HM123456789"),
    ]
    assert other.booking.guest_id == manual.booking.guest_id  # still one Sarah
    assert [a.action for a in audits(db, "booking.created")] == ["booking.created", "booking.created"]


def test_date_change_is_an_update_audited_with_old_and_new_dates(db: Database) -> None:
    first = apply_one(db, event(occurred_at=T1))

    moved = apply_one(
        db, event(kind=EventKind.updated, check_in=date(2026, 6, 16), check_out=date(2026, 6, 24), occurred_at=T2)
    )

    assert moved.outcome == Outcome.updated
    assert moved.booking.id == first.booking.id
    row = booking_row(db, first.booking.id)
    assert (row["check_in"], row["check_out"]) == (date(2026, 6, 16), date(2026, 6, 24))
    assert row["source_updated_at"] == T2
    [entry] = audits(db, "booking.updated")
    assert entry.entity_id == first.booking.id
    assert entry.details["changes"] == {
        "check_in": ["2026-06-15", "2026-06-16"],
        "check_out": ["2026-06-22", "2026-06-24"],
    }


# --- staleness -------------------------------------------------------------------------------------------------


def test_older_event_is_stale_and_changes_nothing(db: Database) -> None:
    first = apply_one(db, event(occurred_at=T2))
    before = booking_row(db, first.booking.id)

    old = apply_one(
        db,
        event(
            kind=EventKind.updated,
            check_in=date(2026, 7, 1),
            check_out=date(2026, 7, 3),
            guest_count=2,
            guest=guest(name="Sarah Old-Name", phone="+1 000"),
            occurred_at=T1,
        ),
    )

    assert old.outcome == Outcome.stale
    assert not old.changed
    assert booking_row(db, first.booking.id) == before
    [sarah] = all_guests(db)
    assert (sarah.full_name, sarah.phone) == ("Sarah Johnson", "+1 850 555 0100")
    assert [a.action for a in audits(db)] == ["booking.created", "booking.unplaced"]


def test_lower_version_is_stale_even_with_a_newer_timestamp(db: Database) -> None:
    first = apply_one(db, event(version=5, occurred_at=T1))
    before = booking_row(db, first.booking.id)

    result = apply_one(db, event(kind=EventKind.updated, guest_count=2, version=4, occurred_at=T3))

    assert result.outcome == Outcome.stale
    assert booking_row(db, first.booking.id) == before

    newer = apply_one(db, event(kind=EventKind.updated, guest_count=2, version=6, occurred_at=T2))
    assert newer.outcome == Outcome.updated
    assert booking_row(db, first.booking.id)["guest_count"] == 2


def test_events_without_timestamps_last_writer_wins(db: Database) -> None:
    first = apply_one(db, event(guest_count=4))
    second = apply_one(db, event(kind=EventKind.updated, guest_count=2))
    third = apply_one(db, event(kind=EventKind.updated, guest_count=6))

    assert [second.outcome, third.outcome] == [Outcome.updated, Outcome.updated]
    assert booking_row(db, first.booking.id)["guest_count"] == 6


def test_cancellation_before_creation_leaves_a_cancelled_booking(db: Database) -> None:
    cancelled = apply_one(db, event(kind=EventKind.cancelled, occurred_at=T2))
    row = booking_row(db, cancelled.booking.id)
    assert row["status"] == BookingStatus.cancelled
    assert row["cancelled_at"] is not None

    late_create = apply_one(db, event(kind=EventKind.created, occurred_at=T1, guest_count=3))

    assert late_create.outcome == Outcome.stale
    assert late_create.booking.id == cancelled.booking.id
    assert booking_row(db, cancelled.booking.id) == row
    assert count(db, Booking) == 1


def test_created_without_timestamp_never_revives_a_cancelled_booking(db: Database) -> None:
    created = apply_one(db, event(occurred_at=T1))
    cancel = apply_one(db, event(kind=EventKind.cancelled, occurred_at=T2))
    assert cancel.outcome == Outcome.cancelled
    cancelled_at = booking_row(db, created.booking.id)["cancelled_at"]
    assert cancelled_at is not None

    late = apply_one(db, event(kind=EventKind.created))

    assert late.outcome == Outcome.unchanged
    row = booking_row(db, created.booking.id)
    assert row["status"] == BookingStatus.cancelled
    assert row["cancelled_at"] == cancelled_at
    assert [a.action for a in audits(db, "booking.cancelled")] == ["booking.cancelled"]


def test_explicit_confirmed_status_in_a_newer_event_revives_a_cancelled_booking(db: Database) -> None:
    created = apply_one(db, event(occurred_at=T1))
    apply_one(db, event(kind=EventKind.cancelled, occurred_at=T2))

    revived = apply_one(db, event(kind=EventKind.updated, status="confirmed", occurred_at=T3))

    assert revived.outcome == Outcome.updated
    row = booking_row(db, created.booking.id)
    assert row["status"] == BookingStatus.confirmed
    assert row["cancelled_at"] is None
    [entry] = audits(db, "booking.updated")
    assert entry.details["changes"]["status"] == ["cancelled", "confirmed"]


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"check_out": date(2026, 6, 15)}, "check_out", id="check_out-equals-check_in"),
        pytest.param({"check_out": date(2026, 6, 14)}, "check_out", id="check_out-before-check_in"),
        pytest.param({"check_out": date(2026, 6, 15) + timedelta(days=367)}, "check_out", id="367-nights"),
        pytest.param({"guest_count": 0}, "guest_count", id="no-guests"),
        pytest.param({"guest_count": -1}, "guest_count", id="negative-guests"),
        pytest.param({"guest": GuestInfo(name="Sarah", email="not-an-email")}, "guest_email", id="bad-email"),
        pytest.param({"guest": GuestInfo(name="", email="sarah@email.com")}, "guest_name", id="empty-name"),
        pytest.param({"guest": GuestInfo(name="   ", email="sarah@email.com")}, "guest_name", id="blank-name"),
        pytest.param({"status": "on_hold"}, "status", id="unknown-status"),
        pytest.param({"external_id": "  "}, "booking_id", id="blank-booking-id"),
    ],
)
def test_invalid_event_is_rejected_naming_the_field_and_writes_nothing(
    db: Database, overrides: dict[str, Any], field: str
) -> None:
    make_property(db)
    with db.unit_of_work() as session, pytest.raises(EventRejected) as caught:
        apply(session, event(**overrides), actor="test")
    # the unit of work committed whatever apply had written: nothing
    assert caught.value.field == field
    assert count(db, Booking) == 0
    assert count(db, Guest) == 0
    assert audits(db) == []


def test_invalid_update_leaves_the_stored_booking_alone(db: Database) -> None:
    first = apply_one(db, event())
    before = booking_row(db, first.booking.id)

    with pytest.raises(EventRejected) as caught:
        apply_one(db, event(kind=EventKind.updated, check_out=date(2026, 6, 10)))

    assert caught.value.field == "check_out"
    assert booking_row(db, first.booking.id) == before


def test_a_stay_of_exactly_366_nights_is_accepted(db: Database) -> None:
    result = apply_one(db, event(check_out=date(2026, 6, 15) + timedelta(days=366)))
    assert result.outcome == Outcome.created
    assert result.booking.nights == 366


# --- concurrency -----------------------------------------------------------------------------------------------


def run_in_threads(db: Database, ev: BookingEvent, *, threads_count: int) -> tuple[list[Outcome], list[BaseException]]:
    """Apply the same event from several threads at once, each in its own unit of work."""
    barrier = threading.Barrier(threads_count)
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            with db.unit_of_work() as session:
                outcome = apply(session, ev, actor="test").outcome
            with lock:
                outcomes.append(outcome)
        except BaseException as error:
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcomes, errors


def test_same_new_booking_from_six_threads_gives_one_booking_and_one_guest(db: Database) -> None:
    make_property(db)
    racing = event(external_id="RACE-1", guest=GuestInfo(name="Nora Race", email="nora.race@example.com"))

    outcomes, errors = run_in_threads(db, racing, threads_count=6)

    assert errors == []
    assert sorted(outcomes) == sorted([Outcome.created] + [Outcome.unchanged] * 5)
    [booking] = all_bookings(db)
    assert booking.external_id == "RACE-1"
    [nora] = all_guests(db)
    assert nora.email_normalized == "nora.race@example.com"
    assert booking.guest_id == nora.id
    assert len(audits(db, "booking.created")) == 1


def test_same_new_booking_without_email_from_six_threads_keeps_one_guest(db: Database) -> None:
    racing = event(external_id="RACE-2", guest=GuestInfo(name="Airbnb Guest"))  # channels often hide the e-mail
    outcomes, errors = run_in_threads(db, racing, threads_count=6)

    assert errors == []
    assert sorted(outcomes) == sorted([Outcome.created] + [Outcome.unchanged] * 5)
    [booking] = all_bookings(db)
    [only_guest] = all_guests(db)
    assert booking.guest_id == only_guest.id
    assert audits(db, "booking.updated") == []
