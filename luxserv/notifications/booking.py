"""Who hears about a booking, and what they are told. Runs inside `bookings.apply`'s transaction.

For each recipient (the property owner's active users, and every active admin; admins only while the booking
is unplaced) one e-mail outbox row and one in-app notification are written. The outbox dedupe key is stable
per (topic, booking, recipient, booking version), so applying the same change again writes nothing: see
`notifications.dispatch`, which also applies each person's preferences (in the app, e-mail now, daily digest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from luxserv.accounts.models import Role, User
from luxserv.bookings.models import Booking
from luxserv.core.links import absolute
from luxserv.guests.models import Guest
from luxserv.notifications.dispatch import Notice, preferences, to_user
from luxserv.notifications.render import render_html, render_text
from luxserv.outbox.sender import one_line
from luxserv.properties.models import Property
from luxserv.services.models import OPEN_STATUSES, ServiceRequest, ServiceType
from luxserv.services.planning import PlanResult

CREATED, CHANGED, CANCELLED, UNPLACED = "booking.created", "booking.changed", "booking.cancelled", "booking.unplaced"
_TITLE_LIMIT = 250


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    audience: str  # owner | admin


def booking_created(
    session: Session, booking: Booking, *, planned: PlanResult | Sequence[ServiceRequest] | None = None,
    base_url: str = "",
) -> int:  # fmt: skip
    """Tell the owner's users and the admins about a new booking; returns how many people were told."""
    requests = _requests(session, booking, planned)
    return _notify(session, booking, CREATED, version="new", services=requests, base_url=base_url)


def booking_changed(session: Session, booking: Booking, *, base_url: str = "") -> int:
    """Tell the same people that a booking's dates, home or party size changed (once per resulting version)."""
    version = f"{booking.check_in}:{booking.check_out}:{booking.guest_count}:{booking.property_id}"
    return _notify(session, booking, CHANGED, version=version, services=_requests(session, booking, None),
                   base_url=base_url)  # fmt: skip


def booking_cancelled(session: Session, booking: Booking, *, base_url: str = "") -> int:
    """Tell the same people that a booking was cancelled (once per cancellation)."""
    when = booking.cancelled_at
    version = f"{when:%Y%m%dT%H%M%S%f}" if when is not None else "cancelled"
    return _notify(session, booking, CANCELLED, version=version, services=[], base_url=base_url)


def recipients(session: Session, booking: Booking) -> list[Recipient]:
    """The active owner users of the booking's property, then the active admins (only admins while unplaced)."""
    prop = session.get(Property, booking.property_id) if booking.property_id is not None else None
    audiences = [User.role == Role.admin]
    if prop is not None and prop.owner_id is not None:
        audiences.append((User.role == Role.owner) & (User.owner_id == prop.owner_id))
    users = session.execute(
        select(User.id, User.email, User.role).where(User.is_active.is_(True), or_(*audiences)).order_by(User.id)
    ).all()
    owners = [Recipient(u.id, u.email, "owner") for u in users if u.role == Role.owner]
    return owners + [Recipient(u.id, u.email, "admin") for u in users if u.role == Role.admin]


def _requests(
    session: Session, booking: Booking, planned: PlanResult | Sequence[ServiceRequest] | None
) -> list[ServiceRequest]:
    if isinstance(planned, PlanResult):
        return list(planned.created)
    if planned is not None:
        return list(planned)
    return list(
        session.scalars(
            select(ServiceRequest).where(
                ServiceRequest.booking_id == booking.id, ServiceRequest.status.in_(OPEN_STATUSES)
            )
        )
    )


def _notify(
    session: Session, booking: Booking, topic: str, *, version: str, services: Iterable[ServiceRequest], base_url: str
) -> int:
    prop = session.get(Property, booking.property_id) if booking.property_id is not None else None
    guest = session.get(Guest, booking.guest_id)
    context = _context(session, booking, prop, guest, services)
    subject = _subject(topic, context)
    # Unplaced bookings are their own topic, so an admin can choose how to hear about them.
    chosen_topic = UNPLACED if topic == CREATED and prop is None else topic
    enqueued = 0
    people = recipients(session, booking)
    choices = preferences(session, [person.user_id for person in people], chosen_topic)
    for person in people:
        if person.audience == "admin" or prop is None:
            path = f"/admin/bookings/{booking.id}"
        else:
            path = f"/owner/properties/{prop.id}"
        link = base_url.rstrip("/") + path if base_url else absolute(session, path)
        values = {**context, "audience": person.audience, "link": link}
        notice = Notice(
            key=f"{topic}:{booking.id}:user-{person.user_id}:{version}",
            topic=chosen_topic,
            subject=subject,
            text=render_text(f"{_name(topic)}.txt", values),
            html=render_html(f"{_name(topic)}.html", values),
            link=path,
            payload={"booking_id": booking.id},
        )
        enqueued += to_user(session, person.user_id, person.email, notice, choice=choices[person.user_id])
    return enqueued


def _context(
    session: Session, booking: Booking, prop: Property | None, guest: Guest | None, services: Iterable[ServiceRequest]
) -> dict[str, Any]:
    names: dict[int, str] = {row.id: row.name for row in session.execute(select(ServiceType.id, ServiceType.name))}
    rows = sorted(services, key=lambda r: (r.scheduled_for, r.time_of_day is not None, r.time_of_day, r.id))
    return {
        "unplaced": prop is None,
        "property_name": prop.name if prop else "",
        "listing": booking.listing_name or booking.listing_id or "(no listing given)",
        "guest_name": guest.full_name if guest else "",
        "check_in": f"{booking.check_in:%a %b %d, %Y}",
        "check_out": f"{booking.check_out:%a %b %d, %Y}",
        "short_dates": f"{booking.check_in:%b %d} to {booking.check_out:%b %d}",
        "nights": booking.nights,
        "guest_count": booking.guest_count,
        "special_requests": booking.special_requests or "",
        "provider": booking.provider,
        "external_id": booking.external_id,
        "channel": booking.channel or "",
        "services": [
            {
                "name": names.get(r.service_type_id, "service"),
                "day": f"{r.scheduled_for:%a %b %d}",
                "time": f"{r.time_of_day:%H:%M}" if r.time_of_day else "",
            }
            for r in rows
        ],
    }


def _subject(topic: str, context: dict[str, Any]) -> str:
    who = f"{context['guest_name']}, {context['short_dates']}"
    if topic == CANCELLED:
        where = context["property_name"] or context["listing"]
        subject = f"Booking cancelled at {where}: {who}"
    elif topic == CHANGED:
        where = context["property_name"] or context["listing"]
        subject = f"Booking changed at {where}: {context['guest_name']}, now {context['short_dates']}"
    elif context["unplaced"]:
        subject = f"Unplaced booking: {context['listing']} ({who})"
    else:
        subject = f"New booking at {context['property_name']}: {who}"
    subject = one_line(subject)
    return subject if len(subject) <= _TITLE_LIMIT else subject[: _TITLE_LIMIT - 1] + "…"


def _name(topic: str) -> str:
    return topic.replace(".", "_")
