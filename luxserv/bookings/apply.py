"""`apply(event)`: the one place a normalized booking event changes the database.

Runs inside the caller's transaction and never commits. In that transaction it matches the property (or keeps
the booking unplaced), upserts the guest, upserts the booking (unique provider + external id), drops stale
events, and writes an audit entry. Invalid events raise `EventRejected` before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from luxserv import notifications
from luxserv.audit.service import entry, record, record_all
from luxserv.bookings.conflicts import alert_new_overlaps, alert_overlaps
from luxserv.bookings.models import Booking, BookingMessage, BookingStatus
from luxserv.core.clock import utcnow
from luxserv.core.database import race_savepoint
from luxserv.core.errors import EventRejected
from luxserv.guests.service import upsert_for_new_bookings, upsert_from_booking
from luxserv.integrations.base import BookingEvent, EventKind, MessageEvent
from luxserv.portal.access import extend_codes
from luxserv.properties.matching import look_up_listings, match_property
from luxserv.services.planning import plan, plan_new

MAX_STAY_NIGHTS = 366
MAX_GUESTS = 500
# Column sizes (see models): longer values are rejected with the field's name instead of failing in the database.
_LIMITS = {
    "booking_id": 200,
    "guest_name": 200,
    "guest_email": 320,
    "guest_phone": 50,
    "listing_id": 200,
    "listing_name": 400,
    "channel": 40,
    "confirmation_code": 100,
    "special_requests": 20_000,
}


class Outcome(StrEnum):
    created = "created"
    updated = "updated"
    cancelled = "cancelled"
    unchanged = "unchanged"
    stale = "stale"


@dataclass(frozen=True)
class ApplyResult:
    booking: Booking
    outcome: Outcome

    @property
    def changed(self) -> bool:
        return self.outcome not in (Outcome.unchanged, Outcome.stale)


def validate(event: BookingEvent) -> None:
    """Reject what can never be a real stay, naming the field."""
    if not event.external_id.strip():
        raise EventRejected("booking id is empty", field="booking_id")
    if event.check_out <= event.check_in:
        raise EventRejected("check_out must be after check_in", field="check_out")
    if (event.check_out - event.check_in).days > MAX_STAY_NIGHTS:
        raise EventRejected(f"a stay may not exceed {MAX_STAY_NIGHTS} nights", field="check_out")
    if event.guest_count < 1:
        raise EventRejected("guest_count must be at least 1", field="guest_count")
    if event.guest_count > MAX_GUESTS:
        raise EventRejected(f"guest_count may not exceed {MAX_GUESTS}", field="guest_count")
    _check_lengths(event)
    if not event.guest.name.strip():
        raise EventRejected("guest name is empty", field="guest_name")
    if event.guest.email and event.guest.email.strip():
        try:
            validate_email(event.guest.email.strip(), check_deliverability=False)
        except EmailNotValidError as error:
            raise EventRejected(f"guest e-mail is not valid: {error}", field="guest_email") from error
    if event.status is not None and event.status not in BookingStatus.__members__:
        raise EventRejected(f"unknown booking status {event.status!r}", field="status")


def _check_lengths(event: BookingEvent) -> None:
    values = {
        "booking_id": event.external_id,
        "guest_name": event.guest.name,
        "guest_email": event.guest.email,
        "guest_phone": event.guest.phone,
        "listing_id": event.listing.listing_id,
        "listing_name": event.listing.name or event.listing.address,
        "channel": event.channel,
        "confirmation_code": event.confirmation_code,
        "special_requests": event.special_requests,
    }
    for field, value in values.items():
        if value is not None and len(value) > _LIMITS[field]:
            raise EventRejected(f"{field} is longer than {_LIMITS[field]} characters", field=field)


class BookingNotYetKnown(Exception):
    """A message arrived before its booking; the inbox retries it with backoff until the booking exists."""


def apply(session: Session, event: BookingEvent | MessageEvent, *, actor: str) -> ApplyResult:
    """Apply one event; idempotent, and an event older than what is stored changes nothing."""
    if isinstance(event, MessageEvent):
        return _apply_message(session, event, actor=actor)
    validate(event)
    prop = match_property(session, event.provider, event.listing)
    prop_id = prop.id if prop else None
    booking = _find(session, event.provider, event.external_id)
    if booking is None:
        created = _create(session, event, prop_id, actor)
        if created is not None:
            _after_change(session, created, actor, new=True)
            return ApplyResult(created, Outcome.created)
        # Another transaction created it first: carry on as an update of its (now locked) row.
        booking = _find(session, event.provider, event.external_id)
        if booking is None:
            raise RuntimeError(f"booking {event.provider}/{event.external_id} vanished during a concurrent insert")
    if _is_stale(booking, event):
        return ApplyResult(booking, Outcome.stale)
    guest = upsert_from_booking(session, event.guest, current=booking.guest)
    return _update(session, booking, event, prop_id=prop_id, guest_id=guest.id, actor=actor)


def apply_new(session: Session, events: Sequence[BookingEvent], actors: Sequence[str]) -> list[ApplyResult]:
    """`apply` for several bookings not stored yet, each event with its actor: what applying them one after the
    other would write, with a statement or two per table for all of them rather than a dozen per booking.

    The caller has validated every event (`validate`), checked that none of their bookings is stored, and that
    no two name the same booking. It runs this on a savepoint: a booking or guest that a concurrent transaction
    inserted meanwhile fails the flush, and the caller then applies the events one by one with `apply`.
    """
    look_up_listings(session, [(event.provider, event.listing) for event in events])
    places = [match_property(session, event.provider, event.listing) for event in events]
    guests = upsert_for_new_bookings(session, [event.guest for event in events])
    session.flush()  # the guests without an e-mail, and changes to known guests
    rows = []
    for event, prop, guest in zip(events, places, guests, strict=True):
        status = _status(event, None)
        rows.append({
            "provider": event.provider, "external_id": event.external_id, "status": status,
            "property_id": prop.id if prop else None, "guest_id": guest.id,
            "cancelled_at": utcnow() if status == BookingStatus.cancelled else None, **_details(event),
        })  # fmt: skip
    # One multi-row INSERT … RETURNING, whose rows may come back in any order.
    inserted = {(b.provider, b.external_id): b for b in session.scalars(_INSERT, rows)}
    bookings = [inserted[event.provider, event.external_id] for event in events]
    record_all(
        session,
        [row for event, booking, actor in zip(events, bookings, actors, strict=True)
         for row in _created_entries(booking, actor, event)],
    )  # fmt: skip
    plans = plan_new(session, bookings, actors)
    alert_new_overlaps(session, bookings, actors)
    notifications.new_bookings(
        session,
        [(b, planned) for b, planned in zip(bookings, plans, strict=True) if b.status != BookingStatus.cancelled],
    )
    return [ApplyResult(booking, Outcome.created) for booking in bookings]


def _apply_message(session: Session, event: MessageEvent, *, actor: str) -> ApplyResult:
    booking = _find(session, event.provider, event.external_id)
    if booking is None:
        raise BookingNotYetKnown(f"no {event.provider} booking {event.external_id} yet for message {event.message_id}")
    if not event.body.strip():
        raise EventRejected("the message is empty", field="body")
    known = session.scalar(
        select(BookingMessage.id).where(
            BookingMessage.booking_id == booking.id, BookingMessage.message_id == event.message_id
        )
    )
    if known is not None:
        return ApplyResult(booking, Outcome.unchanged)
    session.add(
        BookingMessage(
            booking_id=booking.id,
            message_id=event.message_id[:200],
            sender=event.sender if event.sender in ("guest", "host") else "guest",
            body=event.body[:20_000],
            sent_at=event.sent_at,
        )
    )
    session.flush()
    record(
        session,
        actor=actor,
        action="booking.message_received",
        entity_type="booking",
        entity_id=booking.id,
        sender=event.sender,
        message_id=event.message_id,
    )
    return ApplyResult(booking, Outcome.updated)


def _find(session: Session, provider: str, external_id: str) -> Booking | None:
    return session.scalar(_FIND, {"provider": provider, "external_id": external_id})


_INSERT = insert(Booking).returning(Booking)
_FIND = (  # built once: the busiest lookup of all
    select(Booking)
    .where(Booking.provider == bindparam("provider"), Booking.external_id == bindparam("external_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def _create(session: Session, event: BookingEvent, prop_id: int | None, actor: str) -> Booking | None:
    """Insert guest (if new) and booking in one savepoint; None if the booking was inserted concurrently.

    The savepoint matters on PostgreSQL: losing the race must not leave behind a guest profile made for this
    booking (SQLite's single writer rules the race out; see `race_savepoint`).
    """
    try:
        with race_savepoint(session):
            guest = upsert_from_booking(session, event.guest)
            booking = Booking(
                provider=event.provider,
                external_id=event.external_id,
                status=_status(event, None),
                property_id=prop_id,
                guest=guest,  # a reference, not only the id: what follows finds the guest without a query
                **_details(event),
            )
            if booking.status == BookingStatus.cancelled:
                booking.cancelled_at = utcnow()
            session.add(booking)
            session.flush()
    except IntegrityError:
        if session.scalar(
            select(Booking.id).where(Booking.provider == event.provider, Booking.external_id == event.external_id)
        ):
            return None
        raise
    _audit_created(session, booking, actor, event)
    return booking


def _is_stale(booking: Booking, event: BookingEvent) -> bool:
    if event.version is not None and booking.source_version is not None:
        return event.version < booking.source_version
    if event.occurred_at is not None and booking.source_updated_at is not None:
        return event.occurred_at < booking.source_updated_at
    return False


def _status(event: BookingEvent, current: BookingStatus | None) -> BookingStatus:
    if event.status is not None:
        return BookingStatus(event.status)
    if event.kind == EventKind.cancelled:
        return BookingStatus.cancelled
    if event.kind == EventKind.checked_in:
        return BookingStatus.checked_in
    if event.kind == EventKind.checked_out:
        return BookingStatus.checked_out
    # created/updated say nothing about status: keep what we know (a late "created" never revives a cancellation).
    return current or BookingStatus.confirmed


def _details(event: BookingEvent) -> dict[str, Any]:
    return {
        "listing_id": event.listing.listing_id,
        "listing_name": event.listing.name or event.listing.address,
        "check_in": event.check_in,
        "check_out": event.check_out,
        "guest_count": event.guest_count,
        "special_requests": event.special_requests,
        "channel": event.channel,
        "confirmation_code": event.confirmation_code,
        "source_updated_at": event.occurred_at,
        "source_version": event.version,
    }


def _update(
    session: Session, booking: Booking, event: BookingEvent, *, prop_id: int | None, guest_id: int, actor: str
) -> ApplyResult:
    wanted = _details(event)
    # Keep the newest source timestamp/version when the event has none, and never forget a placement:
    # an event whose listing matches nothing leaves an admin's placement alone.
    wanted["source_updated_at"] = event.occurred_at or booking.source_updated_at
    wanted["source_version"] = event.version if event.version is not None else booking.source_version
    wanted["channel"] = event.channel or booking.channel
    wanted["confirmation_code"] = event.confirmation_code or booking.confirmation_code
    wanted["guest_id"] = guest_id
    wanted["status"] = _status(event, booking.status)
    if prop_id is not None:
        wanted["property_id"] = prop_id

    changes: dict[str, list[Any]] = {}
    for name, value in wanted.items():
        old = getattr(booking, name)
        if old != value:
            setattr(booking, name, value)
            if name not in ("source_updated_at", "source_version"):
                changes[name] = [_plain(old), _plain(value)]
    if not changes:
        session.flush()
        return ApplyResult(booking, Outcome.unchanged)

    if "status" in changes and booking.status == BookingStatus.cancelled:
        booking.cancelled_at = utcnow()
        outcome, action = Outcome.cancelled, "booking.cancelled"
    else:
        if "status" in changes and changes["status"][0] == BookingStatus.cancelled.value:
            booking.cancelled_at = None
        outcome, action = Outcome.updated, "booking.updated"
    session.flush()
    record(session, actor=actor, action=action, entity_type="booking", entity_id=booking.id, changes=changes)
    revived = "status" in changes and changes["status"][0] == BookingStatus.cancelled.value
    moved = revived or bool({"check_in", "check_out", "property_id"} & set(changes))
    notable = moved or "guest_count" in changes
    _after_change(session, booking, actor, new=False, moved=moved, notable=notable)
    return ApplyResult(booking, outcome)


def _after_change(
    session: Session, booking: Booking, actor: str, *, new: bool, moved: bool = False, notable: bool = False
) -> None:
    """What follows from a booking change in the same transaction: its services, alerts and notifications."""
    planned = plan(session, booking, actor=actor, new=new)
    if booking.status != BookingStatus.cancelled and booking.property_id is not None and (new or moved):
        alert_overlaps(session, booking, actor=actor)
    if moved:
        extend_codes(session, booking)  # the guest's portal link lasts until the new check-out
    if new and booking.status != BookingStatus.cancelled:
        notifications.new_booking(session, booking, planned=planned)  # owner, admins, and the guest's welcome
    elif not new and booking.status == BookingStatus.cancelled:
        notifications.booking_cancelled(session, booking)
    elif not new and notable:  # new dates, home or party size: the owner plans around them
        notifications.booking_changed(session, booking)


def _audit_created(session: Session, booking: Booking, actor: str, event: BookingEvent) -> None:
    record_all(session, _created_entries(booking, actor, event))


def _created_entries(booking: Booking, actor: str, event: BookingEvent) -> list[dict[str, Any]]:
    """The audit entries of a new booking: created (or cancelled), and unplaced if no home matched."""
    action = "booking.cancelled" if booking.status == BookingStatus.cancelled else "booking.created"
    entries = [
        entry(
            actor=actor,
            action=action,
            entity_type="booking",
            entity_id=booking.id,
            provider=booking.provider,
            external_id=booking.external_id,
            check_in=booking.check_in.isoformat(),
            check_out=booking.check_out.isoformat(),
            guest_id=booking.guest_id,
            property_id=booking.property_id,
        )
    ]
    if booking.property_id is None:
        entries.append(
            entry(
                actor=actor,
                action="booking.unplaced",
                entity_type="booking",
                entity_id=booking.id,
                listing=event.listing.describe(),
            )
        )
    return entries


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value
