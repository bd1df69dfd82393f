"""Service requests asked for by guests, owners and admins: creating, moving through their states, assigning,
listing, and grouping by property and day. Runs in the caller's transaction and never commits.

Automatic requests are made by `planning.plan`; this module changes them like any other once they exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from luxserv.accounts.models import User
from luxserv.audit.service import record
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.clock import utcnow
from luxserv.core.errors import Conflict, InvalidInput, NotFound
from luxserv.guests.models import Guest
from luxserv.notifications import requests as notices
from luxserv.properties.models import Property
from luxserv.services.models import (
    OPEN_STATUSES,
    Origin,
    RequestStatus,
    ServiceRequest,
    ServiceRequestChange,
    ServiceType,
)

S = RequestStatus
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.requested: frozenset({S.scheduled, S.in_progress, S.completed, S.cancelled}),
    S.scheduled: frozenset({S.in_progress, S.completed, S.cancelled}),
    S.in_progress: frozenset({S.completed, S.cancelled}),
    S.completed: frozenset(),
    S.cancelled: frozenset(),
}
FINAL_STATUSES = (S.completed, S.cancelled)
MAX_SERVICE_DAYS_SPAN = 92  # days one service-days query may cover
_M = TypeVar("_M", Property, Guest, User)


@dataclass(frozen=True)
class RequestFilter:
    property_id: int | None = None
    booking_id: int | None = None
    status: RequestStatus | None = None
    date_from: date | None = None  # scheduled on or after this day…
    date_to: date | None = None  # …and on or before this day
    assignee_id: int | None = None
    origin: Origin | None = None
    owner_id: int | None = None  # only requests at this owner's properties
    statuses: tuple[RequestStatus, ...] = ()  # any of these (empty: any status)
    unassigned: bool = False  # only requests nobody is assigned to
    service_type_id: int | None = None


@dataclass(frozen=True)
class Refs:
    """What the rows of a page point to, fetched in one query per kind (no N+1)."""

    properties: dict[int, Property] = field(default_factory=dict)
    guests: dict[int, Guest] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceDay:
    """The open requests at one property on one day: one visit for the staff."""

    property: Property
    day: date
    requests: list[ServiceRequest]


def get_property(session: Session, property_id: int, *, owner_id: int | None = None) -> Property:
    """The property; with `owner_id`, only when that owner owns it (the same 404 either way)."""
    prop = session.get(Property, property_id)
    if prop is None or (owner_id is not None and prop.owner_id != owner_id):
        raise NotFound(f"property {property_id} not found", field="property_id")
    return prop


def find_service_type(session: Session, service_type: int | str) -> ServiceType:
    """A catalogue entry by id (int) or key (str)."""
    if isinstance(service_type, int):
        found = session.get(ServiceType, service_type)
    else:
        found = session.scalar(select(ServiceType).where(ServiceType.key == service_type.strip()))
    if found is None:
        raise NotFound(f"service type {service_type!r} not found", field="service_type")
    return found


def create_request(
    session: Session,
    *,
    property_id: int,
    service_type: int | str,
    scheduled_for: date,
    time_of_day: time | None = None,
    notes: str = "",
    origin: Origin,
    actor: str,
    booking_id: int | None = None,
    guest_id: int | None = None,
) -> ServiceRequest:
    """A request from a guest, an owner or an admin. A guest's request is linked to the stay it falls in."""
    if origin == Origin.automation:
        raise InvalidInput("automatic requests are made by the automation rules", field="origin")
    kind = find_service_type(session, service_type)
    if not kind.active:
        raise InvalidInput(f"service {kind.name!r} is no longer offered", field="service_type")
    if origin == Origin.guest and not kind.guest_requestable:
        raise InvalidInput(f"guests cannot request {kind.name!r}", field="service_type")
    prop = get_property(session, property_id)
    booking = _booking_for(session, prop, booking_id, guest_id, scheduled_for, origin)
    if booking is not None:
        if guest_id is not None and guest_id != booking.guest_id:
            raise InvalidInput(f"guest {guest_id} is not the guest of booking {booking.id}", field="guest_id")
        guest_id = booking.guest_id
    elif guest_id is not None and session.get(Guest, guest_id) is None:
        raise NotFound(f"guest {guest_id} not found", field="guest_id")
    status = S.scheduled if origin == Origin.admin else S.requested
    request = ServiceRequest(
        property_id=prop.id,
        booking_id=booking.id if booking else None,
        guest_id=guest_id,
        service_type_id=kind.id,
        origin=origin,
        status=status,
        scheduled_for=scheduled_for,
        time_of_day=time_of_day if time_of_day is not None else kind.default_time,
        notes=notes.strip(),
        created_by=actor,
    )
    request.service_type = kind
    request.changes.append(
        ServiceRequestChange(actor=actor, from_status=None, to_status=status.value, note=f"{origin.value} request")
    )
    session.add(request)
    session.flush()
    record(
        session,
        actor=actor,
        action="service_request.created",
        entity_type="service_request",
        entity_id=request.id,
        property_id=prop.id,
        service_type=kind.key,
        origin=origin.value,
        scheduled_for=scheduled_for.isoformat(),
        booking_id=request.booking_id,
    )
    notices.request_created(session, request, actor=actor)
    return request


def _booking_for(
    session: Session, prop: Property, booking_id: int | None, guest_id: int | None, day: date, origin: Origin
) -> Booking | None:
    if booking_id is not None:
        booking = session.get(Booking, booking_id)
        if booking is None:
            raise NotFound(f"booking {booking_id} not found", field="booking_id")
        if booking.property_id != prop.id:
            raise InvalidInput(f"booking {booking_id} is not at {prop.name}", field="booking_id")
        if booking.status == BookingStatus.cancelled:
            raise InvalidInput(f"booking {booking_id} is cancelled", field="booking_id")
        return booking
    if origin != Origin.guest:
        return None
    # The stay at the property that day, check-out day included. On a turnover day the guest named wins,
    # else the arriving guest (who stays the night).
    stays = session.scalars(
        select(Booking)
        .where(
            Booking.property_id == prop.id,
            Booking.status != BookingStatus.cancelled,
            Booking.check_in <= day,
            Booking.check_out >= day,
        )
        .order_by(Booking.check_in.desc(), Booking.id.desc())
    ).all()
    if guest_id is not None:
        return next((b for b in stays if b.guest_id == guest_id), None)
    return stays[0] if stays else None


def _locked(session: Session, request_id: int) -> ServiceRequest:
    """The request, locked for this transaction (PostgreSQL; SQLite writers are serialized already)."""
    request = session.scalar(
        select(ServiceRequest)
        .where(ServiceRequest.id == request_id)
        .options(selectinload(ServiceRequest.service_type), selectinload(ServiceRequest.changes))
        .with_for_update(of=ServiceRequest)
    )
    if request is None:
        raise NotFound(f"service request {request_id} not found")
    return request


def change_status(
    session: Session, request_id: int, to_status: RequestStatus, *, actor: str, note: str = "", notify: bool = True
) -> ServiceRequest:
    """Move a request along its life cycle; a completed or cancelled request never changes again."""
    request = _locked(session, request_id)
    current = request.status
    if current in FINAL_STATUSES:
        raise Conflict(f"service request {request_id} is already {current.value}; it cannot change", field="status")
    if to_status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
        raise Conflict(
            f"service request {request_id} cannot go from {current.value} to {to_status.value} (allowed: {allowed})",
            field="status",
        )
    request.changes.append(
        ServiceRequestChange(actor=actor, from_status=current.value, to_status=to_status.value, note=note.strip())
    )
    request.status = to_status
    if to_status == S.completed:
        request.completed_at = utcnow()
    elif to_status == S.cancelled:
        request.cancelled_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action=f"service_request.{to_status.value}",
        entity_type="service_request",
        entity_id=request.id,
        from_status=current.value,
        note=note.strip() or None,
    )
    if notify:  # False only when back-filling history (demo data, imports): that is not news
        notices.status_changed(session, request, current, actor=actor, note=note)
    return request


def assign(session: Session, request_id: int, user_id: int | None, *, actor: str) -> ServiceRequest:
    """Give an open request to an active admin or staff member (None: nobody)."""
    request = _locked(session, request_id)
    if request.status in FINAL_STATUSES:
        raise Conflict(f"service request {request_id} is {request.status.value}; it cannot be reassigned")
    assignee = None
    if user_id is not None:
        assignee = session.get(User, user_id)
        if assignee is None or not assignee.is_active or not assignee.is_staff_or_admin:
            raise InvalidInput(f"user {user_id} is not an active admin or staff member", field="user_id")
    if request.assigned_to_id == user_id:
        return request
    who = f"{assignee.full_name or assignee.email} (user {assignee.id})" if assignee else "nobody"
    request.assigned_to_id = user_id
    change = ServiceRequestChange(
        actor=actor, from_status=request.status.value, to_status=request.status.value, note=f"assigned to {who}"
    )
    request.changes.append(change)
    session.flush()
    if assignee is not None:
        notices.request_assigned(session, request, assignee, change_id=change.id, actor=actor)
    record(
        session,
        actor=actor,
        action="service_request.assigned",
        entity_type="service_request",
        entity_id=request.id,
        assigned_to=user_id,
    )
    return request


def _query(flt: RequestFilter) -> Select[ServiceRequest]:
    query = select(ServiceRequest)
    if flt.property_id is not None:
        query = query.where(ServiceRequest.property_id == flt.property_id)
    if flt.owner_id is not None:
        query = query.join(Property, Property.id == ServiceRequest.property_id).where(Property.owner_id == flt.owner_id)
    if flt.booking_id is not None:
        query = query.where(ServiceRequest.booking_id == flt.booking_id)
    if flt.status is not None:
        query = query.where(ServiceRequest.status == flt.status)
    if flt.date_from is not None:
        query = query.where(ServiceRequest.scheduled_for >= flt.date_from)
    if flt.date_to is not None:
        query = query.where(ServiceRequest.scheduled_for <= flt.date_to)
    if flt.assignee_id is not None:
        query = query.where(ServiceRequest.assigned_to_id == flt.assignee_id)
    if flt.origin is not None:
        query = query.where(ServiceRequest.origin == flt.origin)
    if flt.statuses:
        query = query.where(ServiceRequest.status.in_(flt.statuses))
    if flt.unassigned:
        query = query.where(ServiceRequest.assigned_to_id.is_(None))
    if flt.service_type_id is not None:
        query = query.where(ServiceRequest.service_type_id == flt.service_type_id)
    return query


_ORDER = (ServiceRequest.scheduled_for, ServiceRequest.time_of_day.asc().nulls_last(), ServiceRequest.id)
_LATEST_FIRST = (
    ServiceRequest.scheduled_for.desc(),
    ServiceRequest.time_of_day.desc().nulls_first(),
    ServiceRequest.id.desc(),
)
_LOAD = (selectinload(ServiceRequest.service_type), selectinload(ServiceRequest.changes))


def list_requests(
    session: Session, flt: RequestFilter, limit: int = 50, offset: int = 0, *, latest_first: bool = False
) -> tuple[list[ServiceRequest], int]:
    """A page of requests (by day, time — untimed last —, id; or the reverse) with their service type and history."""
    if flt.date_from and flt.date_to and flt.date_to < flt.date_from:
        raise InvalidInput("date_to must not be before date_from", field="date_to")
    query = _query(flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = _LATEST_FIRST if latest_first else _ORDER
    rows = session.scalars(query.options(*_LOAD).order_by(*order).limit(limit).offset(offset))
    return list(rows), total


def get_request(session: Session, request_id: int) -> ServiceRequest:
    """One request with its service type and history."""
    request = session.scalar(select(ServiceRequest).where(ServiceRequest.id == request_id).options(*_LOAD))
    if request is None:
        raise NotFound(f"service request {request_id} not found")
    return request


def service_days(session: Session, date_from: date, date_to: date, property_id: int | None = None) -> list[ServiceDay]:
    """Open requests grouped by (property, day), by day then property name, so one visit does them all."""
    if date_to < date_from:
        raise InvalidInput("date_to must not be before date_from", field="date_to")
    if date_to - date_from > timedelta(days=MAX_SERVICE_DAYS_SPAN):
        raise InvalidInput(f"ask for at most {MAX_SERVICE_DAYS_SPAN} days at once", field="date_to")
    query = _query(RequestFilter(property_id=property_id, date_from=date_from, date_to=date_to)).where(
        ServiceRequest.status.in_(OPEN_STATUSES)
    )
    rows = list(session.scalars(query.options(*_LOAD).order_by(*_ORDER)))
    properties = _by_id(session, Property, {r.property_id for r in rows})
    groups: dict[tuple[date, int], list[ServiceRequest]] = {}
    for row in rows:
        groups.setdefault((row.scheduled_for, row.property_id), []).append(row)
    days = [ServiceDay(properties[pid], day, found) for (day, pid), found in groups.items()]
    return sorted(days, key=lambda d: (d.day, d.property.name, d.property.id))


def refs_for(session: Session, rows: Iterable[ServiceRequest]) -> Refs:
    """The properties, guests and assignees of these requests, one query per kind."""
    rows = list(rows)
    return Refs(
        properties=_by_id(session, Property, {r.property_id for r in rows}),
        guests=_by_id(session, Guest, {r.guest_id for r in rows if r.guest_id is not None}),
        users=_by_id(session, User, {r.assigned_to_id for r in rows if r.assigned_to_id is not None}),
    )


def _by_id(session: Session, model: type[_M], ids: set[int]) -> dict[int, _M]:
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}
