"""Service requests JSON API: admins and staff run them; owners see and file requests for their own homes."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from luxserv.accounts.models import Role
from luxserv.bookings.schemas import Page
from luxserv.services import requests
from luxserv.services.models import Origin, RequestStatus, ServiceRequest
from luxserv.web.deps import AdminUser, OwnerOrStaffUser, SessionDep, owner_scope

router = APIRouter(prefix="/api", tags=["service requests"])


class ServiceTypeRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str


class Ref(BaseModel):
    id: int
    name: str


class ChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    note: str


class ServiceRequestRead(BaseModel):
    id: int
    service_type: ServiceTypeRef
    property: Ref
    booking_id: int | None
    guest: Ref | None
    origin: Origin
    status: RequestStatus
    scheduled_for: date
    time_of_day: time | None
    notes: str
    assigned_to: Ref | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None
    history: list[ChangeRead]


class ServiceRequestCreate(BaseModel):
    property_id: int
    service_type: int | str = Field(description="the service type's key (grocery_delivery) or id")
    scheduled_for: date
    time_of_day: time | None = Field(default=None, description="defaults to the service type's usual time")
    notes: str = Field(default="", max_length=5000)
    booking_id: int | None = None
    guest_id: int | None = None


class OwnerRequestCreate(BaseModel):
    service_type: int | str = Field(description="the service type's key (maintenance) or id")
    scheduled_for: date
    time_of_day: time | None = None
    notes: str = Field(default="", max_length=5000)


class StatusChange(BaseModel):
    status: RequestStatus
    note: str = Field(default="", max_length=2000)


class Assignment(BaseModel):
    user_id: int | None = Field(description="an active admin or staff member; null to unassign")


class ServiceDayRead(BaseModel):
    property: Ref
    day: date
    requests: list[ServiceRequestRead]


class OwnerRequests(BaseModel):
    requests: list[ServiceRequestRead]
    total: int


def _read(request: ServiceRequest, refs: requests.Refs) -> ServiceRequestRead:
    prop = refs.properties[request.property_id]
    guest = refs.guests.get(request.guest_id) if request.guest_id is not None else None
    user = refs.users.get(request.assigned_to_id) if request.assigned_to_id is not None else None
    return ServiceRequestRead(
        id=request.id,
        service_type=ServiceTypeRef.model_validate(request.service_type),
        property=Ref(id=prop.id, name=prop.name),
        booking_id=request.booking_id,
        guest=Ref(id=guest.id, name=guest.full_name) if guest else None,
        origin=request.origin,
        status=request.status,
        scheduled_for=request.scheduled_for,
        time_of_day=request.time_of_day,
        notes=request.notes,
        assigned_to=Ref(id=user.id, name=user.full_name or user.email) if user else None,
        created_by=request.created_by,
        created_at=request.created_at,
        updated_at=request.updated_at,
        completed_at=request.completed_at,
        cancelled_at=request.cancelled_at,
        history=[ChangeRead.model_validate(change) for change in request.changes],
    )


def _read_all(session: Session, rows: list[ServiceRequest]) -> list[ServiceRequestRead]:
    refs = requests.refs_for(session, rows)
    return [_read(row, refs) for row in rows]


def _read_one(session: Session, request: ServiceRequest) -> ServiceRequestRead:
    return _read_all(session, [request])[0]


@router.get("/service-requests", operation_id="list_service_requests", response_model=Page[ServiceRequestRead])
def list_service_requests(
    session: SessionDep,
    user: AdminUser,
    property_id: int | None = None,
    booking_id: int | None = None,
    status: RequestStatus | None = None,
    date_from: Annotated[date | None, Query(description="scheduled on or after this day")] = None,
    date_to: Annotated[date | None, Query(description="scheduled on or before this day")] = None,
    assignee_id: int | None = None,
    origin: Origin | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ServiceRequestRead]:
    """Requests by day and time, filtered and paginated."""
    flt = requests.RequestFilter(
        property_id=property_id,
        booking_id=booking_id,
        status=status,
        date_from=date_from,
        date_to=date_to,
        assignee_id=assignee_id,
        origin=origin,
    )
    rows, total = requests.list_requests(session, flt, limit=limit, offset=offset)
    return Page(items=_read_all(session, rows), total=total, limit=limit, offset=offset)


@router.post(
    "/service-requests", operation_id="create_service_request", response_model=ServiceRequestRead, status_code=201
)
def create_service_request(body: ServiceRequestCreate, session: SessionDep, user: AdminUser) -> ServiceRequestRead:
    """A request entered by an admin or staff member: scheduled straight away."""
    request = requests.create_request(
        session,
        property_id=body.property_id,
        service_type=body.service_type,
        scheduled_for=body.scheduled_for,
        time_of_day=body.time_of_day,
        notes=body.notes,
        origin=Origin.admin,
        actor=f"user:{user.id}",
        booking_id=body.booking_id,
        guest_id=body.guest_id,
    )
    return _read_one(session, request)


@router.get("/service-requests/{request_id}", operation_id="get_service_request", response_model=ServiceRequestRead)
def get_service_request(request_id: int, session: SessionDep, user: AdminUser) -> ServiceRequestRead:
    return _read_one(session, requests.get_request(session, request_id))


@router.post(
    "/service-requests/{request_id}/status", operation_id="change_service_request_status",
    response_model=ServiceRequestRead,
)  # fmt: skip
def change_service_request_status(
    request_id: int, body: StatusChange, session: SessionDep, user: AdminUser
) -> ServiceRequestRead:
    """Move a request on (409 when the move is not allowed, e.g. out of completed or cancelled)."""
    request = requests.change_status(session, request_id, body.status, actor=f"user:{user.id}", note=body.note)
    return _read_one(session, request)


@router.post(
    "/service-requests/{request_id}/assign", operation_id="assign_service_request", response_model=ServiceRequestRead
)
def assign_service_request(
    request_id: int, body: Assignment, session: SessionDep, user: AdminUser
) -> ServiceRequestRead:
    request = requests.assign(session, request_id, body.user_id, actor=f"user:{user.id}")
    return _read_one(session, request)


@router.get("/admin/service-days", operation_id="list_service_days", response_model=list[ServiceDayRead])
def list_service_days(
    session: SessionDep,
    user: AdminUser,
    date_from: date,
    date_to: date,
    property_id: int | None = None,
) -> list[ServiceDayRead]:
    """Open requests grouped by property and day (at most 92 days), so one visit covers them all."""
    days = requests.service_days(session, date_from, date_to, property_id=property_id)
    refs = requests.refs_for(session, [r for d in days for r in d.requests])
    return [
        ServiceDayRead(property=Ref(id=d.property.id, name=d.property.name), day=d.day,
                       requests=[_read(r, refs) for r in d.requests])
        for d in days
    ]  # fmt: skip


@router.get(
    "/owner/properties/{property_id}/service-requests", operation_id="list_owner_service_requests",
    response_model=OwnerRequests,
)  # fmt: skip
def list_owner_service_requests(
    property_id: int,
    session: SessionDep,
    user: OwnerOrStaffUser,
    status: RequestStatus | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> OwnerRequests:
    """The requests at one of the signed-in owner's homes (404 for anyone else's)."""
    prop = requests.get_property(session, property_id, owner_id=owner_scope(user))
    flt = requests.RequestFilter(property_id=prop.id, status=status, date_from=date_from, date_to=date_to)
    rows, total = requests.list_requests(session, flt, limit=limit, offset=0)
    return OwnerRequests(requests=_read_all(session, rows), total=total)


@router.post(
    "/owner/properties/{property_id}/service-requests", operation_id="create_owner_service_request",
    response_model=ServiceRequestRead, status_code=201,
)  # fmt: skip
def create_owner_service_request(
    property_id: int, body: OwnerRequestCreate, session: SessionDep, user: OwnerOrStaffUser
) -> ServiceRequestRead:
    """An owner asks for a service at their home; it waits as `requested` until staff schedule it."""
    prop = requests.get_property(session, property_id, owner_id=owner_scope(user))
    request = requests.create_request(
        session,
        property_id=prop.id,
        service_type=body.service_type,
        scheduled_for=body.scheduled_for,
        time_of_day=body.time_of_day,
        notes=body.notes,
        origin=Origin.owner if user.role == Role.owner else Origin.admin,
        actor=f"user:{user.id}",
    )
    return _read_one(session, request)
