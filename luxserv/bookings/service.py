"""Reading bookings and placing unplaced ones. Writing from events lives in `apply.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from luxserv import notifications
from luxserv.audit.service import record
from luxserv.bookings.conflicts import alert_overlaps
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.errors import Conflict, NotFound
from luxserv.properties.matching import learn_alias, link_listing
from luxserv.properties.models import Property
from luxserv.services.planning import plan


@dataclass(frozen=True)
class BookingFilter:
    property_id: int | None = None
    status: BookingStatus | None = None
    date_from: date | None = None  # stays that end after this day…
    date_to: date | None = None  # …and start on or before this day
    guest_id: int | None = None
    unplaced: bool | None = None
    owner_id: int | None = None


def list_bookings(session: Session, flt: BookingFilter, *, limit: int, offset: int) -> tuple[list[Booking], int]:
    """A page of bookings (by check-in, then id) and the total that match."""
    query = select(Booking)
    if flt.property_id is not None:
        query = query.where(Booking.property_id == flt.property_id)
    if flt.owner_id is not None:
        query = query.join(Property, Property.id == Booking.property_id).where(Property.owner_id == flt.owner_id)
    if flt.status is not None:
        query = query.where(Booking.status == flt.status)
    if flt.date_from is not None:
        query = query.where(Booking.check_out > flt.date_from)
    if flt.date_to is not None:
        query = query.where(Booking.check_in <= flt.date_to)
    if flt.guest_id is not None:
        query = query.where(Booking.guest_id == flt.guest_id)
    if flt.unplaced is not None:
        query = query.where(Booking.property_id.is_(None) if flt.unplaced else Booking.property_id.is_not(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(Booking.guest), selectinload(Booking.property))
        .order_by(Booking.check_in, Booking.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def get_booking(session: Session, booking_id: int) -> Booking:
    booking = session.scalar(
        select(Booking)
        .where(Booking.id == booking_id)
        .options(selectinload(Booking.guest), selectinload(Booking.property))
    )
    if booking is None:
        raise NotFound(f"booking {booking_id} not found")
    return booking


def place(session: Session, booking_id: int, property_id: int, *, remember: bool, actor: str) -> Booking:
    """Put an unplaced booking on a property; with `remember`, later events for its listing match directly."""
    booking = get_booking(session, booking_id)
    if booking.property_id is not None:
        raise Conflict(f"booking {booking_id} is already on property {booking.property_id}")
    prop = session.get(Property, property_id)
    if prop is None:
        raise NotFound(f"property {property_id} not found", field="property_id")
    booking.property_id = prop.id
    learned = []
    if remember:
        if booking.listing_id and link_listing(session, prop, booking.provider, booking.listing_id):
            learned.append(f"{booking.provider} listing {booking.listing_id}")
        if booking.listing_name and learn_alias(session, prop, booking.listing_name):
            learned.append(f"name {booking.listing_name!r}")
    session.flush()
    record(
        session,
        actor=actor,
        action="booking.placed",
        entity_type="booking",
        entity_id=booking.id,
        property_id=prop.id,
        learned=learned,
    )
    planned = plan(session, booking, actor=actor)
    alert_overlaps(session, booking, actor=actor)
    notifications.booking_created(session, booking, planned=planned)  # now the owner is known: tell them
    notifications.send_welcome(session, booking)
    session.refresh(booking)
    return booking
