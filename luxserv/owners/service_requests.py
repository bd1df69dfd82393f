"""Service requests as an owner sees them on a home's page: filtered by day, service, guest and status, and the
requests an owner files for their home. Runs in the caller's transaction and never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from luxserv.core.clock import local_today
from luxserv.core.errors import InvalidInput
from luxserv.guests.models import Guest
from luxserv.owners.portal import get_property
from luxserv.services import catalog, requests
from luxserv.services.models import Origin, RequestStatus, ServiceRequest, ServiceType

MAX_NOTES = 2000
MAX_GUEST_SEARCH = 100
PAGE_SIZE = 50


@dataclass(frozen=True)
class RequestQuery:
    date_from: date | None = None  # scheduled on or after this day…
    date_to: date | None = None  # …and on or before this day
    service_type_id: int | None = None
    guest: str = ""  # part of the guest's name, any case
    status: RequestStatus | None = None


@dataclass(frozen=True)
class RequestRow:
    id: int
    day: date
    time_of_day: time | None
    service_name: str
    guest_name: str | None
    status: RequestStatus
    origin: Origin
    notes: str


def property_requests(
    session: Session,
    property_id: int,
    query: RequestQuery,
    *,
    owner_id: int | None = None,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> tuple[list[RequestRow], int]:
    """A page of the property's requests (by day, time — untimed last —, id) matching the query, and the total."""
    prop = get_property(session, property_id, owner_id=owner_id)
    if query.date_from and query.date_to and query.date_to < query.date_from:
        raise InvalidInput("the end date must not be before the start date", field="to")
    if len(query.guest) > MAX_GUEST_SEARCH:
        raise InvalidInput(f"the guest name is longer than {MAX_GUEST_SEARCH} characters", field="guest")
    base = _filtered(prop.id, query)
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = session.execute(
        base.order_by(ServiceRequest.scheduled_for, ServiceRequest.time_of_day.asc().nulls_last(), ServiceRequest.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        RequestRow(r.id, r.scheduled_for, r.time_of_day, name, guest, r.status, r.origin, r.notes)
        for r, name, guest in rows
    ], total


def _filtered(property_id: int, query: RequestQuery) -> Select[ServiceRequest, str, str]:
    stmt = (
        select(ServiceRequest, ServiceType.name, Guest.full_name)
        .join(ServiceType, ServiceType.id == ServiceRequest.service_type_id)
        .outerjoin(Guest, Guest.id == ServiceRequest.guest_id)
        .where(ServiceRequest.property_id == property_id)
    )
    if query.date_from is not None:
        stmt = stmt.where(ServiceRequest.scheduled_for >= query.date_from)
    if query.date_to is not None:
        stmt = stmt.where(ServiceRequest.scheduled_for <= query.date_to)
    if query.service_type_id is not None:
        stmt = stmt.where(ServiceRequest.service_type_id == query.service_type_id)
    if query.status is not None:
        stmt = stmt.where(ServiceRequest.status == query.status)
    if query.guest.strip():
        stmt = stmt.where(func.lower(Guest.full_name).contains(query.guest.strip().lower(), autoescape=True))
    return stmt


def service_choices(session: Session) -> list[ServiceType]:
    """Every service type, for the filter (automatic tasks appear in the list too)."""
    return catalog.list_service_types(session)


def requestable_services(session: Session) -> list[ServiceType]:
    """What an owner may ask for: the active catalogue entries guests may request too."""
    return catalog.list_service_types(session, guest_requestable=True, active=True)


def file_request(
    session: Session,
    property_id: int,
    *,
    owner_id: int | None,
    service_type_id: int,
    day: date,
    time_of_day: time | None,
    notes: str,
    origin: Origin,
    actor: str,
) -> ServiceRequest:
    """An owner's request for their home, from today on (the home's date); it waits as `requested` for staff."""
    prop = get_property(session, property_id, owner_id=owner_id)
    if service_type_id not in {kind.id for kind in requestable_services(session)}:
        raise InvalidInput("pick a service from the list", field="service_type")
    if day < local_today(prop.time_zone):
        raise InvalidInput("the date is in the past", field="scheduled_for")
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"notes are longer than {MAX_NOTES} characters", field="notes")
    return requests.create_request(
        session,
        property_id=prop.id,
        service_type=service_type_id,
        scheduled_for=day,
        time_of_day=time_of_day,
        notes=notes,
        origin=origin,
        actor=actor,
    )
