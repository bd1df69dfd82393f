"""Who hears about a booking, and what they are told. Runs inside `bookings.apply`'s transaction.

For each recipient (the property owner's active users, and every active admin; admins only while the booking
is unplaced) one e-mail outbox row and one in-app notification are written. The outbox dedupe key is stable
per (topic, booking, recipient, booking version), so applying the same change again writes nothing: see
`notifications.dispatch`, which also applies each person's preferences (in the app, e-mail now, daily digest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from luxserv.accounts.models import Role, User
from luxserv.bookings.models import Booking
from luxserv.core.database import memo
from luxserv.core.links import absolute
from luxserv.guests.models import Guest
from luxserv.notifications.dispatch import DEFAULT, TOPICS, Choice, Delivery, Notice, deliver_all, to_users
from luxserv.notifications.guest import prepare_welcomes
from luxserv.notifications.models import NotificationPreference
from luxserv.notifications.render import render_html, render_text
from luxserv.outbox.sender import one_line
from luxserv.properties.models import Property
from luxserv.services.models import OPEN_STATUSES, ServiceRequest, ServiceType
from luxserv.services.planning import PlanResult

CREATED, CHANGED, CANCELLED, UNPLACED = "booking.created", "booking.changed", "booking.cancelled", "booking.unplaced"
_TITLE_LIMIT = 250


class _Service(NamedTuple):
    """One scheduled service as the templates show it (`s.name`, `s.day`, `s.time`: plain attributes for Jinja)."""

    name: str
    day: str
    time: str


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


def new_booking(
    session: Session, booking: Booking, *, planned: PlanResult | Sequence[ServiceRequest] | None = None
) -> tuple[int, str | None]:
    """`booking_created` and then `send_welcome(new=True)` for a booking inserted in this transaction: the same
    rows, with all their e-mails written in one statement. Returns (how many people were told, the guest's
    access code or None), as the two calls would."""
    return new_bookings(session, [(booking, planned)])[0]


def new_bookings(
    session: Session, created: Sequence[tuple[Booking, PlanResult | Sequence[ServiceRequest] | None]]
) -> list[tuple[int, str | None]]:
    """`new_booking` for several bookings (each with what was planned for it), every table written once."""
    bookings = [booking for booking, _ in created]
    told = [
        _deliveries(session, booking, CREATED, version="new", services=_requests(session, booking, planned),
                    base_url="")
        for booking, planned in created
    ]  # fmt: skip
    welcomes = prepare_welcomes(session, bookings, new=True)
    addressed = [(welcome.email, welcome.notice) for welcome in welcomes if welcome is not None]
    written = deliver_all(session, [delivery for deliveries in told for delivery in deliveries], addressed)
    return [
        (
            sum(delivery.notice.key in written for delivery in deliveries),
            welcome.code if welcome is not None and welcome.notice.key in written else None,
        )
        for deliveries, welcome in zip(told, welcomes, strict=True)
    ]


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
    return [person for person, _ in _audience(session, prop, None)]


# Who is told, with their choice for the topic, in one statement: the owner's logins and the admins (or only the
# admins), each with their preference row for the topic if they saved one (one at most: unique per user and topic).
_PREF = NotificationPreference
_WHO = select(User.id, User.email, User.role, _PREF.id, _PREF.email, _PREF.in_app).outerjoin(
    _PREF, (_PREF.user_id == User.id) & (_PREF.topic == bindparam("topic"))
)
_OWNERS_AND_ADMINS = _WHO.where(
    User.is_active.is_(True),
    or_(User.role == Role.admin, (User.role == Role.owner) & (User.owner_id == bindparam("owner_id"))),
).order_by(User.id)
_ADMINS = _WHO.where(User.is_active.is_(True), User.role == Role.admin).order_by(User.id)
_SERVICE_NAMES = select(ServiceType.id, ServiceType.name)


def _audience(session: Session, prop: Property | None, topic: str | None) -> list[tuple[Recipient, Choice]]:
    """`recipients`, each with their choice for `topic` (as `dispatch.preferences` would give it)."""
    owner_id = prop.owner_id if prop is not None else None
    session.flush()  # what the ORM would do before a query; the statement then runs on the connection (plain rows)

    def read() -> Sequence[Any]:
        if owner_id is None:
            return session.connection().execute(_ADMINS, {"topic": topic or ""}).all()
        return session.connection().execute(_OWNERS_AND_ADMINS, {"topic": topic or "", "owner_id": owner_id}).all()

    rows = memo(session, ("audience", owner_id, topic), read)
    chooses = topic in TOPICS
    found = [
        (user_id, email, role, Choice(mode, in_app) if chooses and chosen is not None else DEFAULT)
        for user_id, email, role, chosen, mode, in_app in rows
    ]
    owners = [(Recipient(u, e, "owner"), c) for u, e, role, c in found if role == Role.owner]
    return owners + [(Recipient(u, e, "admin"), c) for u, e, role, c in found if role == Role.admin]


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
    return to_users(
        session, _deliveries(session, booking, topic, version=version, services=services, base_url=base_url)
    )


def _deliveries(
    session: Session, booking: Booking, topic: str, *, version: str, services: Iterable[ServiceRequest], base_url: str
) -> list[Delivery]:
    """One notice per person told (see `recipients`), with their choice for the topic; nothing written yet."""
    prop = session.get(Property, booking.property_id) if booking.property_id is not None else None
    guest = session.get(Guest, booking.guest_id)
    context = _context(session, booking, prop, guest, services)
    subject = _subject(topic, context)
    # Unplaced bookings are their own topic, so an admin can choose how to hear about them.
    chosen_topic = UNPLACED if topic == CREATED and prop is None else topic
    name = _name(topic)
    payload = {"booking_id": booking.id}
    admin_path = f"/admin/bookings/{booking.id}"
    owner_path = f"/owner/properties/{prop.id}" if prop is not None else admin_path
    # What each person reads depends only on their audience and link: render each distinct pair once.
    rendered: dict[tuple[str, str], tuple[str, str]] = {}
    deliveries: list[Delivery] = []
    for person, choice in _audience(session, prop, chosen_topic):
        path = owner_path if person.audience == "owner" else admin_path
        link = base_url.rstrip("/") + path if base_url else absolute(session, path)
        bodies = rendered.get((person.audience, link))
        if bodies is None:
            values = {**context, "audience": person.audience, "link": link}
            bodies = rendered[person.audience, link] = (
                render_text(f"{name}.txt", values), render_html(f"{name}.html", values)
            )  # fmt: skip
        notice = Notice(
            key=f"{topic}:{booking.id}:user-{person.user_id}:{version}",
            topic=chosen_topic,
            subject=subject,
            text=bodies[0],
            html=bodies[1],
            link=path,
            payload=payload,
        )
        deliveries.append(Delivery(person.user_id, person.email, notice, choice))
    return deliveries


def _context(
    session: Session, booking: Booking, prop: Property | None, guest: Guest | None, services: Iterable[ServiceRequest]
) -> dict[str, Any]:
    rows = sorted(services, key=lambda r: (r.scheduled_for, r.time_of_day is not None, r.time_of_day, r.id))
    names: dict[int, str] = {}
    if rows:
        session.flush()  # as the ORM would before a query
        names = memo(session, "service_names", lambda: {i: n for i, n in session.connection().execute(_SERVICE_NAMES)})
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
            _Service(
                name=names.get(r.service_type_id, "service"),
                day=f"{r.scheduled_for:%a %b %d}",
                time=f"{r.time_of_day:%H:%M}" if r.time_of_day else "",
            )
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
