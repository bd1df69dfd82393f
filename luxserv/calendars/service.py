"""Owners' calendar subscriptions: a secret URL per (owner, property) serving stays and services as iCalendar.

The token (256 random bits) is the only credential, as calendar apps cannot sign in: its SHA-256 is kept for
lookup, and an encrypted copy so the same URL can be shown again. `rotate` replaces it; the old URL then answers
404 like any unknown one. A token stops working too when the property changes owner.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from luxserv.audit.service import record
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.clock import local_today, utcnow
from luxserv.core.crypto import Vault
from luxserv.core.errors import NotFound
from luxserv.core.security import new_token, token_digest
from luxserv.integrations.models import CalendarToken
from luxserv.properties.models import Property
from luxserv.services.models import OPEN_STATUSES, ServiceRequest

TOKEN_BYTES = 32  # 256 bits
HISTORY_DAYS = 180  # stays that ended longer ago than this are left out of the feed
PRODID = "-//LuxServ//Owner calendar//EN"
_OPEN_TASKS = OPEN_STATUSES


def export_url(session: Session, vault: Vault, base_url: str, *, owner_id: int, property_id: int) -> str:
    """The owner's subscription URL for this property, made on first request and the same every time after."""
    _owned_property(session, owner_id, property_id)
    existing = _token_row(session, owner_id, property_id)
    if existing is not None:
        return _url(base_url, vault.decrypt(existing.token_encrypted))
    token = new_token(TOKEN_BYTES)
    try:
        with session.begin_nested():
            session.add(
                CalendarToken(
                    owner_id=owner_id,
                    property_id=property_id,
                    token_digest=token_digest(token),
                    token_encrypted=vault.encrypt(token),
                )
            )
            session.flush()
    except IntegrityError:  # made concurrently by another request: show that one
        existing = _token_row(session, owner_id, property_id)
        if existing is None:
            raise
        return _url(base_url, vault.decrypt(existing.token_encrypted))
    _audit(session, "calendar_url.created", owner_id, property_id)
    return _url(base_url, token)


def rotate(session: Session, vault: Vault, base_url: str, *, owner_id: int, property_id: int) -> str:
    """A new URL for this owner and property; the previous one stops working at once."""
    _owned_property(session, owner_id, property_id)
    row = _token_row(session, owner_id, property_id, lock=True)
    if row is None:  # nothing to replace yet
        return export_url(session, vault, base_url, owner_id=owner_id, property_id=property_id)
    token = new_token(TOKEN_BYTES)
    row.token_digest, row.token_encrypted = token_digest(token), vault.encrypt(token)
    session.flush()
    _audit(session, "calendar_url.rotated", owner_id, property_id)
    return _url(base_url, token)


def render_calendar(session: Session, token: str) -> bytes:
    """The iCalendar for a token: every stay not cancelled and every open service task of that property."""
    row = session.scalar(select(CalendarToken).where(CalendarToken.token_digest == token_digest(token)))
    prop = session.get(Property, row.property_id) if row is not None else None
    if row is None or prop is None or prop.owner_id != row.owner_id:
        raise NotFound("calendar not found")
    since = local_today(prop.time_zone) - timedelta(days=HISTORY_DAYS)
    bookings = session.scalars(
        select(Booking)
        .options(joinedload(Booking.guest))
        .where(Booking.property_id == prop.id, Booking.status != BookingStatus.cancelled, Booking.check_out >= since)
        .order_by(Booking.check_in, Booking.id)
    )
    tasks = session.scalars(
        select(ServiceRequest)
        .options(joinedload(ServiceRequest.service_type))
        .where(ServiceRequest.property_id == prop.id, ServiceRequest.status.in_(_OPEN_TASKS))
        .order_by(ServiceRequest.scheduled_for, ServiceRequest.id)
    )
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{prop.name} (LuxServ)")
    calendar.add("x-published-ttl", "PT1H")
    for booking in bookings:
        calendar.add_component(_stay(booking, prop))
    for task in tasks:
        calendar.add_component(_task(task, prop))
    return bytes(calendar.to_ical())


def _stay(booking: Booking, prop: Property) -> Event:
    first_name = (booking.guest.full_name.split() or ["Guest"])[0]
    guests = f"{booking.guest_count} guest{'s' if booking.guest_count != 1 else ''}"
    lines = [f"Guests: {booking.guest_count}", f"Nights: {booking.nights}"]
    if booking.channel:
        lines.append(f"Booked via: {booking.channel}")
    return _event(
        uid=f"booking-{booking.id}@luxserv",
        summary=f"Stay: {first_name} ({guests})",
        description="\n".join(lines),
        start=booking.check_in,
        end=booking.check_out,
        changed=booking.updated_at,
        location=prop.name,
    )


def _task(task: ServiceRequest, prop: Property) -> Event:
    label = task.service_type.name
    when = f" at {task.time_of_day.strftime('%H:%M')}" if task.time_of_day else ""
    return _event(
        uid=f"task-{task.id}@luxserv",
        summary=f"Service: {label}{when}",
        description=f"Status: {task.status.value.replace('_', ' ')}",
        start=task.scheduled_for,
        end=task.scheduled_for + timedelta(days=1),
        changed=task.updated_at,
        location=prop.name,
    )


def _event(
    *, uid: str, summary: str, description: str, start: date, end: date, changed: datetime, location: str
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", utcnow().replace(microsecond=0))
    event.add("last-modified", changed.astimezone(UTC).replace(microsecond=0))
    event.add("dtstart", start)  # a date: VALUE=DATE, an all-day event
    event.add("dtend", end)  # exclusive, as RFC 5545 all-day events are: the check-out day
    event.add("summary", summary)
    event.add("description", description)
    event.add("location", location)
    event.add("transp", "TRANSPARENT")
    return event


def _owned_property(session: Session, owner_id: int, property_id: int) -> Property:
    prop = session.get(Property, property_id)
    if prop is None or prop.owner_id is None or prop.owner_id != owner_id:
        raise NotFound(f"property {property_id} not found")  # another owner's property: the same answer
    return prop


def _token_row(session: Session, owner_id: int, property_id: int, *, lock: bool = False) -> CalendarToken | None:
    query = select(CalendarToken).where(CalendarToken.owner_id == owner_id, CalendarToken.property_id == property_id)
    return session.scalar(query.with_for_update() if lock else query)


def _url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/calendars/{token}.ics"


def _audit(session: Session, action: str, owner_id: int, property_id: int) -> None:
    record(
        session,
        actor=f"owner:{owner_id}",
        action=action,
        entity_type="property",
        entity_id=property_id,
        owner_id=owner_id,
    )
