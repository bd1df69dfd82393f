"""What an owner sees of their homes: a card per property (who is staying, who comes next, open requests,
maintenance due), a month calendar of stays and services, and the bookings of one home.

"Today" is always the property's own local date. Each function reads a fixed number of set-based queries,
whatever the number of properties: never one query per property. Runs in the caller's transaction.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from luxserv.bookings import service as bookings
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.clock import local_today
from luxserv.core.errors import InvalidInput
from luxserv.guests.models import Guest
from luxserv.properties.maintenance import DUE_WITHIN_DAYS, MaintenanceState, state_of
from luxserv.properties.models import MaintenanceItem, MaintenanceStatus, Property
from luxserv.services import requests
from luxserv.services.models import RequestStatus, ServiceRequest, ServiceType, open_predicate

TodayFor = Callable[[str], date]  # the calendar date today in an IANA time zone
STAYING = (BookingStatus.confirmed, BookingStatus.checked_in)  # bookings that still mean a guest in the home
MAX_BOOKINGS = 500  # rows one bookings listing returns at most
MAX_LANES = 4  # overlapping stays drawn apart in one calendar week; more share the last lane
FIRST_WEEKDAY = calendar.SUNDAY  # US calendars start on Sunday
MIN_YEAR, MAX_YEAR = 2000, 2100
_DUE = timedelta(days=DUE_WITHIN_DAYS)


def get_property(session: Session, property_id: int, *, owner_id: int | None) -> Property:
    """The property; with `owner_id`, only when that owner owns it (the same 404 for unknown and foreign)."""
    return requests.get_property(session, property_id, owner_id=owner_id)


def days_left_label(days: int) -> str:
    """How long until check-out, as a card says it: "today", "1 day", "3 days"."""
    if days <= 0:
        return "today"
    return "1 day" if days == 1 else f"{days} days"


# --- cards ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StayView:
    booking_id: int
    guest_name: str
    guests: int
    check_in: date
    check_out: date


@dataclass(frozen=True)
class CurrentStay(StayView):
    days_left: int  # nights until check-out in the property's time zone; 0 on the check-out day

    @property
    def days_left_label(self) -> str:
        return days_left_label(self.days_left)


@dataclass(frozen=True)
class MaintenanceDue:
    item_id: int
    title: str
    due_on: date
    state: MaintenanceState  # due or overdue


@dataclass(frozen=True)
class PropertyCard:
    property_id: int
    name: str
    address: str
    city: str
    time_zone: str
    today: date  # the property's local date the card was computed for
    current: CurrentStay | None  # the guest in the home today (on a turnover day: the one leaving)
    next: StayView | None  # the next arrival after the current guest
    active_requests: int  # requested, scheduled or in progress
    active_services: tuple[str, ...]  # their service names, each once, soonest first
    maintenance: tuple[MaintenanceDue, ...]  # open items overdue or due within DUE_WITHIN_DAYS days

    @property
    def available(self) -> bool:
        return self.current is None


def count_properties(session: Session, owner_id: int | None) -> int:
    """How many properties the owner has (every property when `owner_id` is None)."""
    query = select(func.count(Property.id))
    if owner_id is not None:
        query = query.where(Property.owner_id == owner_id)
    return int(session.scalar(query) or 0)


def property_cards(
    session: Session,
    owner_id: int | None,
    today_by_tz: TodayFor = local_today,
    *,
    property_ids: Sequence[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[PropertyCard]:
    """A card per property of the owner (all owners' when None), by name; four queries whatever their number."""
    return cards_and_total(session, owner_id, today_by_tz, property_ids=property_ids, limit=limit, offset=offset)[0]


def cards_and_total(
    session: Session,
    owner_id: int | None,
    today_by_tz: TodayFor = local_today,
    *,
    property_ids: Sequence[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[PropertyCard], int]:
    """The cards of `property_cards`, and how many properties match in all: counted in the same query as the
    properties (a page past the end counts apart). Four queries whatever their number."""
    query = select(Property, func.count().over().label("total")).order_by(Property.name, Property.id)
    if owner_id is not None:
        query = query.where(Property.owner_id == owner_id)
    if property_ids is not None:
        query = query.where(Property.id.in_(list(property_ids)))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows = session.execute(query).all()
    if not rows:
        if offset and property_ids is None:
            return [], count_properties(session, owner_id)
        return [], 0
    props: list[Property] = [row[0] for row in rows]
    total = int(rows[0][1])
    today = {tz: today_by_tz(tz) for tz in {p.time_zone for p in props}}
    by_zone: dict[str, list[int]] = {}
    for prop in props:
        by_zone.setdefault(prop.time_zone, []).append(prop.id)
    current, upcoming = _stays(session, by_zone, today)
    active = _active_requests(session, [p.id for p in props])
    due = _maintenance_due(session, by_zone, today)
    cards = []
    for prop in props:
        day = today[prop.time_zone]
        stay = current.get(prop.id)
        number, names = active.get(prop.id, (0, ()))
        cards.append(
            PropertyCard(
                property_id=prop.id,
                name=prop.name,
                address=prop.address,
                city=prop.city,
                time_zone=prop.time_zone,
                today=day,
                current=_current_view(stay, day) if stay else None,
                next=_view(upcoming[prop.id]) if prop.id in upcoming else None,
                active_requests=number,
                active_services=names,
                maintenance=tuple(
                    MaintenanceDue(item.id, item.title, item.due_on, state_of(item, day))
                    for item in due.get(prop.id, [])
                ),
            )
        )
    return cards, total


def _per_zone(
    by_zone: dict[str, list[int]],
    today: dict[str, date],
    column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
    condition: Callable[[date], ColumnElement[bool]],
) -> ColumnElement[bool]:
    """`condition(today)` for each time zone's properties: one WHERE clause however many zones."""
    return or_(*(and_(column.in_(ids), condition(today[tz])) for tz, ids in by_zone.items()))


class _Stay(NamedTuple):
    id: int
    property_id: int
    guest_name: str
    guest_count: int
    check_in: date
    check_out: date


def _stays(
    session: Session, by_zone: dict[str, list[int]], today: dict[str, date]
) -> tuple[dict[int, _Stay], dict[int, _Stay]]:
    """Who is in each home today and who arrives next, in one query.

    The guest in the home is the earliest arrival among the stays that include today (on a turnover day: the one
    leaving); the next one is the first arrival from today on that is not the guest in the home. Both come from the
    stays not over yet, ranked by arrival in the database apart for those begun before today (of which the first
    is the guest in the home) and the others (of which the first two are enough). The guest's name is looked up
    for the few rows kept only (a subquery per row, so the plan never reads every guest or every booking).
    """
    begun = _per_zone(by_zone, today, Booking.property_id, lambda d: Booking.check_in < d)
    rank = func.row_number().over(partition_by=(Booking.property_id, begun), order_by=(Booking.check_in, Booking.id))
    ranked = (
        select(
            Booking.id,
            Booking.property_id,
            Booking.guest_id,
            Booking.guest_count,
            Booking.check_in,
            Booking.check_out,
            rank.label("rank"),
        )
        .where(
            Booking.status.in_(STAYING),
            _per_zone(by_zone, today, Booking.property_id, lambda d: Booking.check_out >= d),
        )
        .subquery()
    )
    guest_name = select(Guest.full_name).where(Guest.id == ranked.c.guest_id).scalar_subquery()
    rows = session.execute(
        select(
            ranked.c.id,
            ranked.c.property_id,
            guest_name,
            ranked.c.guest_count,
            ranked.c.check_in,
            ranked.c.check_out,
        )
        .where(ranked.c.rank <= 2)
        .order_by(ranked.c.property_id, ranked.c.check_in, ranked.c.id)
    )
    zone_of = {pid: tz for tz, ids in by_zone.items() for pid in ids}
    current: dict[int, _Stay] = {}
    upcoming: dict[int, _Stay] = {}
    for row in rows:  # by arrival within each property
        stay = _Stay(*row)
        pid = stay.property_id
        day = today[zone_of[pid]]
        if stay.check_in <= day and pid not in current:
            current[pid] = stay
        elif stay.check_in >= day and pid not in upcoming:  # (a stay made the current one above is not next)
            upcoming[pid] = stay
    return current, upcoming


def _active_requests(session: Session, property_ids: list[int]) -> dict[int, tuple[int, tuple[str, ...]]]:
    """Open requests per property and service, counted from the open tasks' partial index alone."""
    rows = session.execute(
        select(ServiceRequest.property_id, ServiceType.name, func.count(), func.min(ServiceRequest.scheduled_for))
        .join(ServiceType, ServiceType.id == ServiceRequest.service_type_id)
        .where(ServiceRequest.property_id.in_(property_ids), open_predicate(session.get_bind().dialect.name))
        .group_by(ServiceRequest.property_id, ServiceType.id, ServiceType.name)
    ).all()
    grouped: dict[int, list[tuple[date, str, int]]] = {}
    for pid, name, count, first in rows:
        grouped.setdefault(pid, []).append((first, name, int(count)))
    return {
        pid: (sum(count for _, _, count in kinds), tuple(name for _, name, _ in sorted(kinds)))
        for pid, kinds in grouped.items()
    }


def _maintenance_due(
    session: Session, by_zone: dict[str, list[int]], today: dict[str, date]
) -> dict[int, list[MaintenanceItem]]:
    rows = session.scalars(
        select(MaintenanceItem)
        .where(
            MaintenanceItem.status == MaintenanceStatus.open,
            _per_zone(by_zone, today, MaintenanceItem.property_id, lambda d: MaintenanceItem.due_on <= d + _DUE),
        )
        .order_by(MaintenanceItem.property_id, MaintenanceItem.due_on, MaintenanceItem.id)
    )
    found: dict[int, list[MaintenanceItem]] = {}
    for item in rows:
        found.setdefault(item.property_id, []).append(item)
    return found


def _view(stay: _Stay) -> StayView:
    return StayView(stay.id, stay.guest_name, stay.guest_count, stay.check_in, stay.check_out)


def _current_view(stay: _Stay, today: date) -> CurrentStay:
    return CurrentStay(
        stay.id,
        stay.guest_name,
        stay.guest_count,
        stay.check_in,
        stay.check_out,
        days_left=(stay.check_out - today).days,
    )


# --- month calendar ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarStay:
    booking_id: int
    guest_name: str
    guests: int
    check_in: date
    check_out: date
    status: BookingStatus


@dataclass(frozen=True)
class Band:
    """A stay's stretch within one week: from its first to its last day there (check-out day included)."""

    stay: CalendarStay
    column: int  # 1 (Sunday) … 7
    span: int  # days it covers in this week
    lane: int  # 1 … MAX_LANES: stays that share a day get different lanes
    starts: bool  # check-in falls in this week
    ends: bool  # check-out falls in this week


@dataclass(frozen=True)
class CalendarTask:
    request_id: int
    service_name: str
    time_of_day: time | None
    status: RequestStatus


@dataclass(frozen=True)
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    tasks: tuple[CalendarTask, ...]
    arrivals: tuple[CalendarStay, ...]
    departures: tuple[CalendarStay, ...]


@dataclass(frozen=True)
class CalendarWeek:
    days: tuple[CalendarDay, ...]
    bands: tuple[Band, ...]
    lanes: int


@dataclass(frozen=True)
class MonthCalendar:
    property_id: int
    month: date  # the first of the month
    today: date
    weeks: tuple[CalendarWeek, ...]
    stays: tuple[CalendarStay, ...]  # stays that touch the month itself, by check-in
    previous: date
    following: date

    @property
    def busy_days(self) -> list[CalendarDay]:
        """Days of the month with an arrival, a departure or a service: the calendar as a list (for phones)."""
        return [d for w in self.weeks for d in w.days if d.in_month and (d.tasks or d.arrivals or d.departures)]


def parse_month(value: str) -> date:
    """`2026-06` → 2026-06-01; anything else is refused with the reason."""
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise InvalidInput(f"month {value!r} is not a month like 2026-06", field="month") from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"month must be between {MIN_YEAR} and {MAX_YEAR}", field="month")
    return first


def month_calendar(
    session: Session, property_id: int, month: date, *, owner_id: int | None = None, today: date | None = None
) -> MonthCalendar:
    """The property's month as weeks of days: stays as bands across days, services on their day (not cancelled)."""
    prop = get_property(session, property_id, owner_id=owner_id)
    today = today or local_today(prop.time_zone)
    first = month.replace(day=1)
    if not MIN_YEAR <= first.year <= MAX_YEAR:
        raise InvalidInput(f"month must be between {MIN_YEAR} and {MAX_YEAR}", field="month")
    grid = calendar.Calendar(FIRST_WEEKDAY).monthdatescalendar(first.year, first.month)
    start, end = grid[0][0], grid[-1][-1]
    stays = [
        CalendarStay(b.id, b.guest.full_name, b.guest_count, b.check_in, b.check_out, b.status)
        for b in session.scalars(
            select(Booking)
            .options(joinedload(Booking.guest))
            .where(
                Booking.property_id == prop.id,
                Booking.status != BookingStatus.cancelled,
                Booking.check_in <= end,
                Booking.check_out >= start,
            )
            .order_by(Booking.check_in, Booking.id)
        )
    ]
    tasks: dict[date, list[CalendarTask]] = {}
    for request, name in session.execute(
        select(ServiceRequest, ServiceType.name)
        .join(ServiceType, ServiceType.id == ServiceRequest.service_type_id)
        .where(
            ServiceRequest.property_id == prop.id,
            ServiceRequest.status != RequestStatus.cancelled,
            ServiceRequest.scheduled_for.between(start, end),
        )
        .order_by(ServiceRequest.scheduled_for, ServiceRequest.time_of_day.asc().nulls_last(), ServiceRequest.id)
    ):
        tasks.setdefault(request.scheduled_for, []).append(
            CalendarTask(request.id, name, request.time_of_day, request.status)
        )
    weeks = tuple(_week(days, first, today, stays, tasks) for days in grid)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=31)).replace(day=1)
    last = following - timedelta(days=1)
    in_month = tuple(s for s in stays if s.check_in <= last and s.check_out >= first)
    return MonthCalendar(prop.id, first, today, weeks, in_month, previous, following)


def _week(
    days: list[date], month: date, today: date, stays: Iterable[CalendarStay], tasks: dict[date, list[CalendarTask]]
) -> CalendarWeek:
    first, last = days[0], days[-1]
    bands: list[Band] = []
    lane_ends: list[date] = []  # the last day taken in each lane so far
    for stay in stays:
        if stay.check_out < first or stay.check_in > last:
            continue
        begin, finish = max(stay.check_in, first), min(stay.check_out, last)
        lane = next((i for i, taken in enumerate(lane_ends) if taken < begin), None)
        if lane is None:
            lane = min(len(lane_ends), MAX_LANES - 1)
            if lane == len(lane_ends):
                lane_ends.append(finish)
        lane_ends[lane] = max(lane_ends[lane], finish)
        bands.append(
            Band(
                stay=stay,
                column=(begin - first).days + 1,
                span=(finish - begin).days + 1,
                lane=lane + 1,
                starts=stay.check_in >= first,
                ends=stay.check_out <= last,
            )
        )
    cells = tuple(
        CalendarDay(
            day=day,
            in_month=day.month == month.month,
            is_today=day == today,
            tasks=tuple(tasks.get(day, ())),
            arrivals=tuple(s for s in stays if s.check_in == day),
            departures=tuple(s for s in stays if s.check_out == day),
        )
        for day in days
    )
    return CalendarWeek(days=cells, bands=tuple(bands), lanes=len(lane_ends))


# --- bookings ------------------------------------------------------------------------------------------------


def property_bookings(
    session: Session,
    property_id: int,
    date_from: date | None = None,
    date_to: date | None = None,
    status: BookingStatus | None = None,
    *,
    owner_id: int | None = None,
    limit: int = MAX_BOOKINGS,
) -> tuple[list[Booking], int]:
    """The property's bookings by check-in (with their guest), staying within [date_from, date_to], and the total."""
    prop = get_property(session, property_id, owner_id=owner_id)
    if date_from and date_to and date_to < date_from:
        raise InvalidInput("to must not be before from", field="to")
    flt = bookings.BookingFilter(property_id=prop.id, status=status, date_from=date_from, date_to=date_to)
    return bookings.list_bookings(session, flt, limit=min(limit, MAX_BOOKINGS), offset=0)
