"""Guest profiles for admins: finding guests (with how often they stay, when last and when next) and one guest's
profile with every stay and every service asked for or planned. A fixed number of queries per page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, joinedload, raiseload

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.bookings.search import like_pattern
from luxserv.core.errors import InvalidInput, NotFound
from luxserv.guests.models import Guest
from luxserv.properties.models import Property
from luxserv.services.models import ServiceRequest

MAX_QUERY = 100
REQUESTS_LIMIT = 200


@dataclass(frozen=True)
class GuestSummary:
    guest: Guest
    stays: int  # bookings not cancelled
    last_stay: date | None  # the latest check-in before today
    next_stay: date | None  # the first check-in from today on


@dataclass(frozen=True)
class GuestProfile:
    guest: Guest
    today: date
    current: list[Booking]  # checked in on or before today and leaving on or after it, not cancelled
    upcoming: list[Booking]  # arriving after today, not cancelled; soonest first
    past: list[Booking]  # left before today, or cancelled; latest first
    requests: list[ServiceRequest]  # with service type; latest first
    properties: dict[int, Property]  # the homes of those requests

    @property
    def stays(self) -> int:
        return sum(1 for b in self.current + self.upcoming + self.past if b.status != BookingStatus.cancelled)

    @property
    def nights(self) -> int:
        return sum(b.nights for b in self.current + self.upcoming + self.past if b.status != BookingStatus.cancelled)

    @property
    def homes(self) -> int:
        stays = self.current + self.upcoming + self.past
        return len({b.property_id for b in stays if b.property_id is not None and b.status != BookingStatus.cancelled})


def search_guests(
    session: Session, query: str, *, today: date, limit: int, offset: int
) -> tuple[list[GuestSummary], int]:
    """Guests by name whose name, e-mail or phone contains `query` (everyone when empty), with their stay counts."""
    query = query.strip()
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"search for at most {MAX_QUERY} characters", field="q")
    found = select(Guest)
    if query:
        pattern = like_pattern(query)
        found = found.where(
            or_(
                func.lower(Guest.full_name).like(pattern, escape="\\"),
                Guest.email_normalized.like(pattern, escape="\\"),
                Guest.phone.like(pattern, escape="\\"),
            )
        )
    total = session.scalar(select(func.count()).select_from(found.subquery())) or 0
    guests = list(
        session.scalars(found.options(raiseload("*")).order_by(Guest.full_name, Guest.id).limit(limit).offset(offset))
    )
    counts: dict[int, tuple[int, date | None, date | None]] = {}
    if guests:
        rows = session.execute(
            select(
                Booking.guest_id,
                func.count(Booking.id),
                func.max(case((Booking.check_in < today, Booking.check_in))),
                func.min(case((Booking.check_in >= today, Booking.check_in))),
            )
            .where(Booking.guest_id.in_([g.id for g in guests]), Booking.status != BookingStatus.cancelled)
            .group_by(Booking.guest_id)
        )
        counts = {row[0]: (int(row[1]), row[2], row[3]) for row in rows}
    return [GuestSummary(g, *counts.get(g.id, (0, None, None))) for g in guests], total


def guest_profile(session: Session, guest_id: int, *, today: date) -> GuestProfile:
    """One guest with every stay (split into current, upcoming and past) and their service requests."""
    guest = session.scalar(select(Guest).options(raiseload("*")).where(Guest.id == guest_id))
    if guest is None:
        raise NotFound(f"guest {guest_id} not found")
    stays = list(
        session.scalars(
            select(Booking)
            .options(joinedload(Booking.property), raiseload("*"))
            .where(Booking.guest_id == guest.id)
            .order_by(Booking.check_in.desc(), Booking.id.desc())
        )
    )
    live = [b for b in stays if b.status != BookingStatus.cancelled]
    current = [b for b in live if b.check_in <= today <= b.check_out]
    upcoming = sorted((b for b in live if b.check_in > today), key=lambda b: (b.check_in, b.id))
    past = [b for b in stays if b.status == BookingStatus.cancelled or b.check_out < today]
    requests = list(
        session.scalars(
            select(ServiceRequest)
            .options(joinedload(ServiceRequest.service_type), raiseload("*"))
            .where(ServiceRequest.guest_id == guest.id)
            .order_by(ServiceRequest.scheduled_for.desc(), ServiceRequest.id.desc())
            .limit(REQUESTS_LIMIT)
        )
    )
    known = {b.property.id: b.property for b in stays if b.property is not None}
    missing = {r.property_id for r in requests} - set(known)
    if missing:
        known.update({p.id: p for p in session.scalars(select(Property).where(Property.id.in_(missing)))})
    return GuestProfile(
        guest=guest,
        today=today,
        current=current,
        upcoming=upcoming,
        past=past,
        requests=requests,
        properties=known,
    )
