"""The admin request queue and one request's page: requests with what they point to (home, stay, guest, assignee),
the moves each may make next, and the choices the filters offer. A constant number of queries per page.

However many requests the database holds, a page reads only its own rows: open requests are found through the
open tasks' partial indexes (`open_predicate`), in the index's order, LIMIT a page; the total is counted up to
COUNT_CAP rows at most (the page then says "10,000+").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, joinedload, raiseload, selectinload

from luxserv.accounts.models import Role, User
from luxserv.bookings.models import Booking
from luxserv.bookings.search import like_pattern
from luxserv.core.errors import InvalidInput, NotFound
from luxserv.guests.models import Guest
from luxserv.properties.models import Property
from luxserv.services.models import OPEN_STATUSES, RequestStatus, ServiceRequest, ServiceType, open_predicate
from luxserv.services.requests import TRANSITIONS, RequestFilter

PAGE_SIZE = 50
COUNT_CAP = 10_000  # requests counted at most: past this a page says "10,000+" rather than reading them all
HOME_CHOICES = 100  # homes the filter lists at most; with more, it is a search box (by name)
MAX_HOME_QUERY = 100  # characters of a home search


@dataclass(frozen=True)
class QueueRow:
    request: ServiceRequest  # with its service type loaded
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
    total: int  # matching requests, counted up to COUNT_CAP
    capped: bool = False  # more than COUNT_CAP match: `total` is COUNT_CAP
    more: bool = False  # rows follow this page

    @property
    def total_label(self) -> str:
        """The total as a page shows it: "1,234", or "10,000+" when counting stopped there."""
        return f"{self.total:,}+" if self.capped else f"{self.total:,}"


@dataclass(frozen=True)
class HomeChoices:
    """The home filter: a list of (id, name) when there are few homes; otherwise `search` (a text box by name)."""

    choices: list[tuple[int, str]]
    search: bool


@dataclass(frozen=True)
class RequestPage:
    row: QueueRow
    actors: dict[str, str]  # who made each change, by the actor recorded


def next_statuses(status: RequestStatus) -> list[RequestStatus]:
    """Where a request may go from `status`, in life-cycle order."""
    return [s for s in RequestStatus if s in TRANSITIONS[status]]


_NEXT = {status: next_statuses(status) for status in RequestStatus}
_ORDER = (ServiceRequest.scheduled_for, ServiceRequest.time_of_day.asc().nulls_last(), ServiceRequest.id)
_LATEST_FIRST = (
    ServiceRequest.scheduled_for.desc(),
    ServiceRequest.time_of_day.desc().nulls_first(),
    ServiceRequest.id.desc(),
)


def queue(
    session: Session,
    flt: RequestFilter,
    *,
    limit: int = PAGE_SIZE,
    offset: int = 0,
    latest_first: bool = False,
    home: str = "",
) -> Queue:
    """A page of requests (by day, time — untimed last —, id; or the reverse) with their homes, stays, guests and
    assignees, and how many match (up to COUNT_CAP). `home`: only homes whose name contains it (any case)."""
    if flt.date_from and flt.date_to and flt.date_to < flt.date_from:
        raise InvalidInput("date_to must not be before date_from", field="date_to")
    home = home.strip()
    if len(home) > MAX_HOME_QUERY:
        raise InvalidInput(f"search for at most {MAX_HOME_QUERY} characters", field="home")
    where = _conditions(flt, home, session.get_bind().dialect.name)
    counted = select(ServiceRequest.id).where(*where).limit(COUNT_CAP + 1)
    if flt.owner_id is not None or home:
        counted = counted.join(Property, Property.id == ServiceRequest.property_id)
    found = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    order = _LATEST_FIRST if latest_first else _ORDER
    rows = _rows(session, _joined().where(*where).order_by(*order).limit(limit + 1).offset(offset))
    return Queue(rows=rows[:limit], total=min(found, COUNT_CAP), capped=found > COUNT_CAP, more=len(rows) > limit)


def request_page(session: Session, request_id: int) -> RequestPage:
    """One request with everything its page shows, history included."""
    found = _rows(
        session, _joined().where(ServiceRequest.id == request_id).options(selectinload(ServiceRequest.changes))
    )
    if not found:
        raise NotFound(f"service request {request_id} not found")
    row = found[0]
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


def home_choices(session: Session, limit: int | None = None) -> HomeChoices:
    """The homes to list in the filter (by name), or a search box when there are more than `limit` (default
    HOME_CHOICES): one query."""
    limit = HOME_CHOICES if limit is None else limit
    # Sorted here, not in the database: there it would sort every home to find out that there are too many.
    choices = [(row.id, row.name) for row in session.execute(select(Property.id, Property.name).limit(limit + 1))]
    if len(choices) > limit:
        return HomeChoices(choices=[], search=True)
    return HomeChoices(choices=sorted(choices, key=lambda c: (c[1], c[0])), search=False)


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


def _conditions(flt: RequestFilter, home: str, dialect: str) -> list[ColumnElement[bool]]:
    """The filter as WHERE conditions; open requests are asked for as the open tasks' partial indexes say it."""
    where: list[ColumnElement[bool]] = []
    statuses: Sequence[RequestStatus] = flt.statuses
    if flt.status is not None:
        where.append(ServiceRequest.status == flt.status)
    if statuses and set(statuses) != set(OPEN_STATUSES):
        where.append(ServiceRequest.status.in_(statuses))
    if (statuses and set(statuses) <= set(OPEN_STATUSES)) or flt.status in OPEN_STATUSES:
        where.append(open_predicate(dialect))
    if flt.property_id is not None:
        where.append(ServiceRequest.property_id == flt.property_id)
    if flt.owner_id is not None:
        where.append(Property.owner_id == flt.owner_id)
    if home:
        where.append(func.lower(Property.name).like(like_pattern(home), escape="\\"))
    if flt.booking_id is not None:
        where.append(ServiceRequest.booking_id == flt.booking_id)
    if flt.date_from is not None:
        where.append(ServiceRequest.scheduled_for >= flt.date_from)
    if flt.date_to is not None:
        where.append(ServiceRequest.scheduled_for <= flt.date_to)
    if flt.assignee_id is not None:
        where.append(ServiceRequest.assigned_to_id == flt.assignee_id)
    if flt.unassigned:
        where.append(ServiceRequest.assigned_to_id.is_(None))
    if flt.origin is not None:
        where.append(ServiceRequest.origin == flt.origin)
    if flt.service_type_id is not None:
        where.append(ServiceRequest.service_type_id == flt.service_type_id)
    return where


def _joined() -> Select[ServiceRequest, Property, User]:
    """Requests with their service, home and assignee in one statement (the stays and guests follow in one each:
    joining all of them makes PostgreSQL spend more time choosing among join orders than running the query)."""
    return (
        select(ServiceRequest, Property, User)
        .join(Property, Property.id == ServiceRequest.property_id)
        .outerjoin(User, User.id == ServiceRequest.assigned_to_id)
        .options(joinedload(ServiceRequest.service_type))
    )


def _rows(session: Session, query: Select[ServiceRequest, Property, User]) -> list[QueueRow]:
    found = session.execute(query).unique().all()
    booking_ids = {r.booking_id for r, _, _ in found if r.booking_id is not None}
    bookings: dict[int, Booking] = {}
    if booking_ids:
        stays = select(Booking).options(joinedload(Booking.guest), raiseload("*")).where(Booking.id.in_(booking_ids))
        bookings = {b.id: b for b in session.scalars(stays)}
    known = {b.guest_id for b in bookings.values()}
    guest_ids = {r.guest_id for r, _, _ in found if r.guest_id is not None and r.guest_id not in known}
    guests = {b.guest_id: b.guest for b in bookings.values()}
    if guest_ids:
        guests.update((g.id, g) for g in session.scalars(select(Guest).where(Guest.id.in_(guest_ids))))
    rows = []
    for request, home, assignee in found:
        booking = bookings.get(request.booking_id) if request.booking_id is not None else None
        guest = guests.get(request.guest_id) if request.guest_id is not None else None
        rows.append(
            QueueRow(
                request=request,
                home=home,
                booking=booking,
                guest=guest or (booking.guest if booking is not None else None),
                assignee=assignee,
                next_statuses=list(_NEXT[request.status]),
            )
        )
    return rows
