"""What a guest sees and does in the portal: their stay, their service requests, and finding a stay by the
platform's confirmation code plus the e-mail on the booking. Runs in the caller's transaction and never commits.

Every way of not finding a stay (wrong, expired, revoked or cancelled code; unplaced booking; wrong e-mail)
raises the same `StayNotFound` with the same message, so an answer never tells which one it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.clock import local_today, utcnow
from luxserv.core.errors import InvalidInput, NotFound
from luxserv.guests.models import Guest
from luxserv.guests.service import normalize_email
from luxserv.portal.access import booking_for_code, expiry_for, issue_code
from luxserv.properties.models import Property
from luxserv.services.catalog import list_service_types
from luxserv.services.models import Origin, RequestStatus, ServiceRequest, ServiceType
from luxserv.services.requests import create_request

NOT_FOUND_MESSAGE = "We could not find an active stay for that code."
MAX_NOTES = 2000
_MAX_CONFIRMATION_LENGTH = 100
_MAX_EMAIL_LENGTH = 320
GUEST_ACTOR_PREFIX = "guest:"


class StayNotFound(NotFound):
    """No live stay for what the guest gave; the message is the same whatever the reason."""

    def __init__(self) -> None:
        super().__init__(NOT_FOUND_MESSAGE)


class Phase(StrEnum):
    upcoming = "upcoming"
    current = "current"
    recent = "recent"


@dataclass(frozen=True)
class StatusStep:
    """One step of a request's life as the guest sees it (no staff names or internal notes)."""

    at: datetime
    status: RequestStatus


@dataclass(frozen=True)
class GuestRequest:
    id: int
    service_key: str
    service_name: str
    day: date
    time_of_day: time | None
    notes: str
    status: RequestStatus
    created_at: datetime
    history: list[StatusStep]
    updated: bool  # the concierge team changed it since the guest last looked


@dataclass(frozen=True)
class Stay:
    """A booking as its guest may see it."""

    booking_id: int
    property_name: str
    property_address: str
    time_zone: str
    check_in: date
    check_out: date
    nights: int
    guests: int
    guest_name: str
    guest_email: str
    status: BookingStatus
    phase: Phase
    today: date  # at the property
    first_day: date | None  # the days a guest may still ask for a service (None: the stay is over)
    last_day: date | None
    requests: list[GuestRequest]
    updates: int  # status changes by the team since the guest last looked

    @property
    def default_day(self) -> date | None:
        """Tomorrow, kept within the days that can still be asked for."""
        if self.first_day is None or self.last_day is None:
            return None
        return min(max(self.today + timedelta(days=1), self.first_day), self.last_day)


def open_stay(session: Session, code: str, *, now: datetime | None = None) -> Booking:
    """The live booking an access code opens, else `StayNotFound`."""
    booking = booking_for_code(session, code, now=now)
    if booking is None:
        raise StayNotFound()
    return booking


def find_by_confirmation(
    session: Session, confirmation_code: str, email: str, *, now: datetime | None = None
) -> Booking:
    """The live booking with this platform confirmation code (or external id) and guest e-mail, any case."""
    code = confirmation_code.strip().lower()
    address = normalize_email(email)
    if not code or not address or len(code) > _MAX_CONFIRMATION_LENGTH or len(address) > _MAX_EMAIL_LENGTH:
        raise StayNotFound()
    candidates = session.scalars(
        select(Booking)
        .join(Guest, Guest.id == Booking.guest_id)
        .where(
            Guest.email_normalized == address,
            or_(func.lower(Booking.confirmation_code) == code, func.lower(Booking.external_id) == code),
            Booking.status != BookingStatus.cancelled,
            Booking.property_id.is_not(None),
        )
        .options(selectinload(Booking.guest), selectinload(Booking.property))
        .order_by(Booking.check_in.desc(), Booking.id.desc())
    ).all()
    moment = now or utcnow()
    live = [booking for booking in candidates if moment < expiry_for(booking)]
    if not live:
        raise StayNotFound()
    return live[0]


def open_by_confirmation(
    session: Session, confirmation_code: str, email: str, *, now: datetime | None = None
) -> tuple[Booking, str]:
    """Find the stay as `find_by_confirmation` does and issue a fresh access code for it (returned raw)."""
    booking = find_by_confirmation(session, confirmation_code, email, now=now)
    return booking, issue_code(session, booking)


def stay_for(session: Session, booking: Booking, *, seen_since: datetime | None = None) -> Stay:
    """The stay page's content; `seen_since` is when the guest last looked (None: never, on this device)."""
    prop = _property(session, booking)
    guest = booking.guest
    today = local_today(prop.time_zone)
    if today < booking.check_in:
        phase = Phase.upcoming
    elif today <= booking.check_out:
        phase = Phase.current
    else:
        phase = Phase.recent
    days = bookable_days(booking, today)
    requests = [_guest_request(row, seen_since) for row in _requests(session, booking.id)]
    return Stay(
        booking_id=booking.id,
        property_name=prop.name,
        property_address=address_of(prop),
        time_zone=prop.time_zone,
        check_in=booking.check_in,
        check_out=booking.check_out,
        nights=booking.nights,
        guests=booking.guest_count,
        guest_name=guest.full_name,
        guest_email=guest.email or "",
        status=booking.status,
        phase=phase,
        today=today,
        first_day=days[0] if days else None,
        last_day=days[1] if days else None,
        requests=requests,
        updates=sum(1 for r in requests if r.updated),
    )


def bookable_days(booking: Booking, today: date) -> tuple[date, date] | None:
    """The first and last day a guest may still ask for a service (check-out day included), or None."""
    first = max(booking.check_in, today)
    return (first, booking.check_out) if first <= booking.check_out else None


def address_of(prop: Property) -> str:
    """The property's postal address on one line."""
    region = " ".join(part for part in (prop.state, prop.postal_code) if part)
    return ", ".join(part for part in (prop.address, prop.city, region) if part)


def requestable_services(session: Session) -> list[ServiceType]:
    """What a guest may ask for: active catalogue entries marked guest-requestable, by name."""
    return list_service_types(session, guest_requestable=True, active=True)


def file_request(
    session: Session,
    booking: Booking,
    *,
    service_type: str | int,
    day: date,
    time_of_day: time | None = None,
    notes: str = "",
) -> ServiceRequest:
    """A guest asks for a service during their stay; it lands in the admin queue linked to the booking.

    `create_request` tells the owner and the admins, and e-mails the guest a receipt.
    """
    key = str(service_type).strip()
    kind = next((k for k in requestable_services(session) if key in (k.key, str(k.id))), None)
    if kind is None:
        raise InvalidInput("choose one of the services offered", field="service_type")
    prop = _property(session, booking)
    days = bookable_days(booking, local_today(prop.time_zone))
    if days is None:
        raise InvalidInput("your stay has ended; new requests can no longer be made here", field="date")
    if not days[0] <= day <= days[1]:
        raise InvalidInput(f"choose a day from {days[0]:%b %d} to {days[1]:%b %d, %Y} (during your stay)", field="date")
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"notes can be at most {MAX_NOTES} characters", field="notes")
    request = create_request(
        session,
        property_id=prop.id,
        service_type=kind.id,
        scheduled_for=day,
        time_of_day=time_of_day,
        notes=notes,
        origin=Origin.guest,
        actor=f"{GUEST_ACTOR_PREFIX}{booking.guest_id}",
        booking_id=booking.id,
        guest_id=booking.guest_id,
    )
    return request


def guest_request(session: Session, request: ServiceRequest) -> GuestRequest:
    """One request as the guest sees it."""
    row = session.scalar(
        select(ServiceRequest)
        .where(ServiceRequest.id == request.id)
        .options(selectinload(ServiceRequest.service_type), selectinload(ServiceRequest.changes))
    )
    assert row is not None
    return _guest_request(row, None)


def _property(session: Session, booking: Booking) -> Property:
    prop = booking.property or (session.get(Property, booking.property_id) if booking.property_id else None)
    if prop is None:  # an unplaced booking has no portal
        raise StayNotFound()
    return prop


def _requests(session: Session, booking_id: int) -> list[ServiceRequest]:
    """The requests the guest made for this stay (not the team's own work at the home)."""
    return list(
        session.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.booking_id == booking_id, ServiceRequest.origin == Origin.guest)
            .options(selectinload(ServiceRequest.service_type), selectinload(ServiceRequest.changes))
            .order_by(ServiceRequest.scheduled_for, ServiceRequest.time_of_day.asc().nulls_last(), ServiceRequest.id)
        )
    )


def _guest_request(row: ServiceRequest, seen_since: datetime | None) -> GuestRequest:
    moves = [c for c in row.changes if c.from_status != c.to_status]  # assignments are not the guest's business
    by_team = [c for c in moves if c.from_status is not None and not c.actor.startswith(GUEST_ACTOR_PREFIX)]
    return GuestRequest(
        id=row.id,
        service_key=row.service_type.key,
        service_name=row.service_type.name,
        day=row.scheduled_for,
        time_of_day=row.time_of_day,
        notes=row.notes,
        status=row.status,
        created_at=row.created_at,
        history=[StatusStep(at=c.at, status=RequestStatus(c.to_status)) for c in moves],
        updated=any(seen_since is None or c.at > seen_since for c in by_team),
    )
