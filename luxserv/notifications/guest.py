"""What guests are told by e-mail: the welcome with their portal link, and the receipt of a service request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.clock import local_today
from luxserv.core.links import absolute
from luxserv.guests.models import Guest
from luxserv.notifications.dispatch import Notice, to_address
from luxserv.notifications.render import render_html, render_text
from luxserv.outbox.models import OutboxMessage
from luxserv.outbox.sender import one_line
from luxserv.portal.access import issue_codes
from luxserv.properties.models import Property
from luxserv.services.models import ServiceRequest, ServiceType

WELCOME = "guest.welcome"
REQUEST_RECEIVED = "guest.request_received"


def welcome_key(booking_id: int) -> str:
    return f"{WELCOME}:{booking_id}"


def send_welcome(session: Session, booking: Booking, *, new: bool = False) -> str | None:
    """E-mail the guest their portal link, once per booking. Returns the new access code, or None if not sent.

    Sent only for a placed, live booking whose check-out is not past, to a guest with an e-mail address.
    The access code is created here, in the same transaction as the e-mail that carries it. `new` says the
    booking was inserted in this transaction, so no welcome can exist yet.
    """
    welcome = prepare_welcome(session, booking, new=new)
    if welcome is None:
        return None
    return welcome.code if to_address(session, welcome.email, welcome.notice) else None


@dataclass(frozen=True)
class Welcome:
    """A welcome ready to send: the new access code, the guest's address, and the e-mail carrying the code."""

    code: str
    email: str
    notice: Notice


def prepare_welcome(session: Session, booking: Booking, *, new: bool = False) -> Welcome | None:
    """What `send_welcome` sends, with the access code already issued; None where it sends nothing."""
    return prepare_welcomes(session, [booking], new=new)[0]


def prepare_welcomes(session: Session, bookings: Sequence[Booking], *, new: bool = False) -> list[Welcome | None]:
    """`prepare_welcome` for each booking, with the access codes issued in one statement."""
    due = [_due(session, booking, new=new) for booking in bookings]
    sending = [(booking, found) for booking, found in zip(bookings, due, strict=True) if found is not None]
    codes = iter(issue_codes(session, [booking for booking, _ in sending]))
    welcomes = {booking.id: _welcome(session, booking, *found, next(codes)) for booking, found in sending}
    return [welcomes.get(booking.id) for booking in bookings]


def _due(session: Session, booking: Booking, *, new: bool) -> tuple[Guest, Property] | None:
    """The booking's guest and home if it gets a welcome: a placed, live stay not yet over, a guest with an
    e-mail address, and no welcome sent yet."""
    if booking.status == BookingStatus.cancelled or booking.property_id is None:
        return None
    guest = session.get(Guest, booking.guest_id)
    prop = session.get(Property, booking.property_id)
    if guest is None or not guest.email or prop is None or booking.check_out < local_today(prop.time_zone):
        return None
    sent = select(OutboxMessage.id).where(OutboxMessage.dedupe_key == welcome_key(booking.id))
    if not new and session.scalar(sent) is not None:
        return None
    return guest, prop


def _welcome(session: Session, booking: Booking, guest: Guest, prop: Property, code: str) -> Welcome:
    assert guest.email
    values = {
        "guest_name": guest.full_name,
        "property_name": prop.name,
        "check_in": f"{booking.check_in:%A, %B %d, %Y}",
        "check_out": f"{booking.check_out:%A, %B %d, %Y}",
        "guest_count": booking.guest_count,
        "link": absolute(session, f"/portal?booking={code}"),
    }
    notice = Notice(
        key=welcome_key(booking.id),
        topic=WELCOME,
        subject=one_line(f"Your stay at {prop.name}: {booking.check_in:%b %d} to {booking.check_out:%b %d}"),
        text=render_text("guest_welcome.txt", values),
        html=render_html("guest_welcome.html", values),
        payload={"booking_id": booking.id, "confidential": True},  # the link opens the stay: not for the Mail page
    )
    return Welcome(code, guest.email, notice)


def request_received(session: Session, request: ServiceRequest, email: str) -> bool:
    """Confirm to the guest that their service request arrived (once per request)."""
    prop = session.get(Property, request.property_id)
    kind = session.get(ServiceType, request.service_type_id)
    if prop is None or kind is None or not email:
        return False
    when = f"{request.scheduled_for:%A, %B %d}"
    if request.time_of_day is not None:
        when += f" at {request.time_of_day:%H:%M}"
    values = {"service": kind.name, "property_name": prop.name, "when": when, "notes": request.notes}
    notice = Notice(
        key=f"{REQUEST_RECEIVED}:{request.id}",
        topic=REQUEST_RECEIVED,
        subject=one_line(f"We received your request: {kind.name} at {prop.name}"),
        text=render_text("guest_request_received.txt", values),
        html=render_html("guest_request_received.html", values),
        payload={"service_request_id": request.id},
    )
    return to_address(session, email, notice)
