"""The admin request queue and one request's page: requests with what they point to (home, stay, guest, assignee),
the moves each may make next, and the choices the filters offer. A constant number of queries per page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, raiseload

from luxserv.accounts.models import Role, User
from luxserv.bookings.models import Booking
from luxserv.guests.models import Guest
from luxserv.properties.models import Property
from luxserv.services.models import RequestStatus, ServiceRequest, ServiceType
from luxserv.services.requests import TRANSITIONS, RequestFilter, get_request, list_requests, refs_for

PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueRow:
    request: ServiceRequest  # with its service type and history loaded
    home: Property
    booking: Booking | None
    guest: Guest | None
    assignee: User | None
    next_statuses: list[RequestStatus]  # the moves allowed from its status (none once finished)

    @property
    def finished(self) -> bool:
        return not self.next_statuses


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    total: int


@dataclass(frozen=True)
class RequestPage:
    row: QueueRow
    actors: dict[str, str]  # who made each change, by the actor recorded


def next_statuses(status: RequestStatus) -> list[RequestStatus]:
    """Where a request may go from `status`, in life-cycle order."""
    return [s for s in RequestStatus if s in TRANSITIONS[status]]


def queue(
    session: Session, flt: RequestFilter, *, limit: int = PAGE_SIZE, offset: int = 0, latest_first: bool = False
) -> Queue:
    """A page of requests with their homes, stays, guests and assignees."""
    found, total = list_requests(session, flt, limit=limit, offset=offset, latest_first=latest_first)
    return Queue(rows=_rows(session, found), total=total)


def request_page(session: Session, request_id: int) -> RequestPage:
    """One request with everything its page shows, history included."""
    row = _rows(session, [get_request(session, request_id)])[0]
    actors = [row.request.created_by, *(c.actor for c in row.request.changes)]
    return RequestPage(row=row, actors=actor_labels(session, actors))


def assignable_users(session: Session) -> list[User]:
    """Active admins and staff, by name: who a request can be given to."""
    return list(
        session.scalars(
            select(User)
            .options(raiseload("*"))
            .where(User.is_active.is_(True), User.role.in_((Role.admin, Role.staff)))
            .order_by(User.full_name, User.email)
        )
    )


def service_types(session: Session) -> list[ServiceType]:
    """The whole catalogue by name, retired services included (their requests still exist)."""
    return list(session.scalars(select(ServiceType).order_by(ServiceType.name, ServiceType.id)))


def property_choices(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every home, by name, for a filter."""
    rows = session.execute(select(Property.id, Property.name).order_by(Property.name, Property.id))
    return [(row.id, row.name) for row in rows]


def actor_labels(session: Session, actors: list[str]) -> dict[str, str]:
    """A readable name for each recorded actor: `user:3` becomes that user's name; others stay as written."""
    ids = {int(a.split(":", 1)[1]) for a in actors if a.startswith("user:") and a.split(":", 1)[1].isdecimal()}
    users = {}
    if ids:
        users = {u.id: u for u in session.scalars(select(User).options(raiseload("*")).where(User.id.in_(ids)))}
    labels = {}
    for actor in set(actors):
        kind, _, ref = actor.partition(":")
        user = users.get(int(ref)) if kind == "user" and ref.isdecimal() else None
        labels[actor] = (user.full_name or user.email) if user is not None else actor
    return labels


def _rows(session: Session, found: list[ServiceRequest]) -> list[QueueRow]:
    refs = refs_for(session, found)
    booking_ids = {r.booking_id for r in found if r.booking_id is not None}
    bookings = {}
    if booking_ids:
        bookings = {
            b.id: b
            for b in session.scalars(
                select(Booking).options(joinedload(Booking.guest), raiseload("*")).where(Booking.id.in_(booking_ids))
            )
        }
    rows = []
    for request in found:
        booking = bookings.get(request.booking_id) if request.booking_id is not None else None
        guest = refs.guests.get(request.guest_id) if request.guest_id is not None else None
        rows.append(
            QueueRow(
                request=request,
                home=refs.properties[request.property_id],
                booking=booking,
                guest=guest or (booking.guest if booking else None),
                assignee=refs.users.get(request.assigned_to_id) if request.assigned_to_id is not None else None,
                next_statuses=next_statuses(request.status),
            )
        )
    return rows
