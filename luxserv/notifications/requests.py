"""Who hears about a service request, and what they are told. Runs inside the transaction of the change.

- Created: the property owner's active logins and every active admin (never the person who filed it); the guest
  who asked gets a receipt by e-mail (`guest.request_received`).
- Status changed: the same people (never the person who moved it); a guest who asked is e-mailed when their
  request is scheduled, completed or cancelled.
- Assigned: the assignee, unless they assigned it to themselves.

Every key is stable per (event, recipient), so a replayed or retried change writes nothing twice. People choose per
topic how they hear (`notifications.dispatch`); guests have no login and are always e-mailed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from luxserv.accounts.models import Role, User
from luxserv.core.links import absolute
from luxserv.guests.models import Guest
from luxserv.notifications.dispatch import Notice, to_address, to_user
from luxserv.notifications.guest import request_received
from luxserv.notifications.render import render_html, render_text
from luxserv.outbox.sender import one_line
from luxserv.properties.models import Property
from luxserv.services.models import Origin, RequestStatus, ServiceRequest, ServiceType

CREATED = "service_request.created"
STATUS_CHANGED = "service_request.status_changed"
ASSIGNED = "service_request.assigned"
GUEST_STATUS = "guest.request_status"
# The moves a guest who asked is told about by e-mail.
GUEST_TOLD = (RequestStatus.scheduled, RequestStatus.completed, RequestStatus.cancelled)
_SUBJECT_LIMIT = 250
_ORIGINS = {Origin.guest: "the guest", Origin.owner: "the owner", Origin.admin: "the LuxServ team",
            Origin.automation: "automation rule"}  # fmt: skip


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    audience: str  # owner | admin


def owner_path(property_id: int) -> str:
    """Where an owner follows a request in the app."""
    return f"/owner/properties/{property_id}"


def admin_path(property_id: int) -> str:
    """Where admins and staff follow a request in the app."""
    return f"/admin/requests?property={property_id}"


def status_label(status: RequestStatus | str) -> str:
    return str(status).replace("_", " ")


def request_created(session: Session, request: ServiceRequest, *, actor: str) -> int:
    """Tell the owner's logins and the admins about a new request, and confirm it to the guest who asked.

    Returns how many people were told (the guest included).
    """
    prop, kind = _load(session, request)
    from_guest = request.origin == Origin.guest
    if from_guest:
        subject = f"Service request from current guest at {prop.name}"
    else:
        subject = f"New service request at {prop.name}"
    context = {**details(session, request, prop, kind), "from_guest": from_guest}
    told = _tell(session, request, prop, _people(session, prop, actor), CREATED, subject, context,
                 key=f"{CREATED}:{request.id}")  # fmt: skip
    guest = session.get(Guest, request.guest_id) if from_guest and request.guest_id is not None else None
    if guest is not None and guest.email:
        told += request_received(session, request, guest.email)
    return told


OWNER_TOLD = frozenset({RequestStatus.completed, RequestStatus.cancelled})


def status_changed(
    session: Session, request: ServiceRequest, from_status: RequestStatus, *, actor: str, note: str = ""
) -> int:
    """Tell the owner's logins and the admins that a request was completed or cancelled (or, for a request a
    person asked for, scheduled); e-mail the guest who asked when it is scheduled, completed or cancelled.
    Returns how many people were told."""
    prop, kind = _load(session, request)
    to_status = request.status
    context = {
        **details(session, request, prop, kind),
        "from_label": status_label(from_status),
        "change_note": note.strip(),
    }
    subject = f"{kind.name} at {prop.name} is {status_label(to_status)} ({request.scheduled_for:%b %d})"
    told = 0
    # Work starting is not news for the owner and the office; the outcome (or a confirmed ask of a person) is.
    if to_status in OWNER_TOLD or (to_status == RequestStatus.scheduled and request.origin != Origin.automation):
        told = _tell(session, request, prop, _people(session, prop, actor), STATUS_CHANGED, subject, context,
                     key=f"{STATUS_CHANGED}:{request.id}:{to_status.value}")  # fmt: skip
    if request.origin == Origin.guest and to_status in GUEST_TOLD and request.guest_id is not None:
        told += _tell_guest(session, request, prop, kind, to_status)
    return told


def request_assigned(session: Session, request: ServiceRequest, assignee: User, *, change_id: int, actor: str) -> int:
    """Tell the assignee, unless they took it themselves. `change_id` (the history row) tells assignments apart."""
    if actor == f"user:{assignee.id}" or not assignee.is_active:
        return 0
    prop, kind = _load(session, request)
    subject = f"Assigned to you: {kind.name} at {prop.name} on {request.scheduled_for:%b %d}"
    person = Recipient(assignee.id, assignee.email, "admin")
    return _tell(session, request, prop, [person], ASSIGNED, subject, details(session, request, prop, kind),
                 key=f"{ASSIGNED}:{request.id}:change-{change_id}")  # fmt: skip


def details(session: Session, request: ServiceRequest, prop: Property, kind: ServiceType) -> dict[str, Any]:
    """The values every e-mail about a request shows (its templates escape them)."""
    guest = session.get(Guest, request.guest_id) if request.guest_id is not None else None
    assignee = session.get(User, request.assigned_to_id) if request.assigned_to_id is not None else None
    return {
        "service": kind.name,
        "property_name": prop.name,
        "when": when(request),
        "status": request.status.value,
        "status_label": status_label(request.status),
        "origin_label": _ORIGINS.get(request.origin, request.origin.value),
        "guest_name": guest.full_name if guest else "",
        "assignee_name": (assignee.full_name or assignee.email) if assignee else "",
        "notes": request.notes,
    }


def when(request: ServiceRequest) -> str:
    """The day and time a request is for, e.g. `Thu Jun 18, 2026 at 09:00` (no time when none is set)."""
    text = f"{request.scheduled_for:%a %b %d, %Y}"
    return text + (f" at {request.time_of_day:%H:%M}" if request.time_of_day is not None else "")


def subject_line(text: str) -> str:
    """One header-safe line, at most 250 characters."""
    text = one_line(text)
    return text if len(text) <= _SUBJECT_LIMIT else text[: _SUBJECT_LIMIT - 1] + "…"


def active_admins(session: Session) -> list[Recipient]:
    """Every active admin login (staff hear only of what is assigned to them)."""
    admins = session.scalars(select(User).where(User.role == Role.admin, User.is_active.is_(True)).order_by(User.id))
    return [Recipient(u.id, u.email, "admin") for u in admins]


def deliver(
    session: Session, person: Recipient, *, key: str, topic: str, subject: str, template: str,
    context: dict[str, Any], property_id: int, payload: dict[str, Any],
) -> bool:  # fmt: skip
    """Render `template` for one login (owner or admin link) and hand it to `dispatch.to_user`."""
    path = owner_path(property_id) if person.audience == "owner" else admin_path(property_id)
    values = {**context, "audience": person.audience, "link": absolute(session, path)}
    notice = Notice(
        key=f"{key}:user-{person.user_id}",
        topic=topic,
        subject=subject_line(subject),
        text=render_text(f"{template}.txt", values),
        html=render_html(f"{template}.html", values),
        link=path,
        payload=payload,
    )
    return to_user(session, person.user_id, person.email, notice)


def _load(session: Session, request: ServiceRequest) -> tuple[Property, ServiceType]:
    prop = session.get(Property, request.property_id)
    kind = session.get(ServiceType, request.service_type_id)
    if prop is None or kind is None:  # foreign keys guarantee both; this keeps the types honest
        raise LookupError(f"service request {request.id} lost its property or service type")
    return prop, kind


def _people(session: Session, prop: Property, actor: str) -> list[Recipient]:
    """The property owner's active logins, then the active admins; never the person who acted."""
    found: list[Recipient] = []
    if prop.owner_id is not None:
        owners = session.scalars(
            select(User)
            .where(User.role == Role.owner, User.owner_id == prop.owner_id, User.is_active.is_(True))
            .order_by(User.id)
        )
        found += [Recipient(u.id, u.email, "owner") for u in owners]
    found += active_admins(session)
    return [person for person in found if actor != f"user:{person.user_id}"]


def _tell(
    session: Session, request: ServiceRequest, prop: Property, people: list[Recipient], topic: str, subject: str,
    context: dict[str, Any], *, key: str,
) -> int:  # fmt: skip
    told = 0
    for person in people:
        told += deliver(session, person, key=key, topic=topic, subject=subject, template=topic.replace(".", "_"),
                        context=context, property_id=prop.id, payload={"service_request_id": request.id})  # fmt: skip
    return told


def _tell_guest(
    session: Session, request: ServiceRequest, prop: Property, kind: ServiceType, status: RequestStatus
) -> int:
    guest = session.get(Guest, request.guest_id) if request.guest_id is not None else None
    if guest is None or not guest.email:
        return 0
    values = {"service": kind.name, "property_name": prop.name, "when": when(request), "status": status.value}
    headline = {RequestStatus.scheduled: "Confirmed", RequestStatus.completed: "Done"}.get(status, "Cancelled")
    notice = Notice(
        key=f"{GUEST_STATUS}:{request.id}:{status.value}",
        topic=GUEST_STATUS,
        subject=subject_line(f"{headline}: {kind.name} at {prop.name}"),
        text=render_text("guest_request_status.txt", values),
        html=render_html("guest_request_status.html", values),
        payload={"service_request_id": request.id},
    )
    return int(to_address(session, guest.email, notice))
