"""The admin calendar as a timeline: properties as rows, stays as bars, service tasks as markers, over a week or a
month (or any span of up to 31 days, as on a booking's page).

Built with a constant number of queries however much data there is: one counts the matching properties, one reads
a page of them with their owners, one reads the stays and one the tasks of those properties in the window. Nothing
is loaded lazily afterwards: the result is plain values.

Days are split in halves on the grid (`column` values count half-days from 1), so a stay runs from the afternoon of
its check-in to the morning of its check-out, and a turnover day shows both guests.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from enum import StrEnum

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, raiseload

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.bookings.search import like_pattern
from luxserv.core.errors import InvalidInput
from luxserv.properties.models import Owner, Property
from luxserv.services.models import RequestStatus, ServiceRequest

PAGE_SIZE = 50
MAX_DAYS = 31  # the widest window the grid is drawn for
MAX_QUERY = 100  # characters of a name search
DASH = "\N{EN DASH}"


class View(StrEnum):
    week = "week"
    month = "month"


@dataclass(frozen=True)
class Window:
    """The days shown: `days` days from `start`."""

    view: View | None  # None: a plain span of days, not one week or month
    start: date
    days: int

    @classmethod
    def of(cls, view: View, day: date) -> Window:
        """The week (Monday to Sunday) or the calendar month that contains `day`."""
        if view == View.week:
            return cls(view, day - timedelta(days=day.weekday()), 7)
        return cls(view, day.replace(day=1), calendar.monthrange(day.year, day.month)[1])

    @classmethod
    def span(cls, start: date, days: int) -> Window:
        """Any run of 1 to MAX_DAYS days (a booking's neighbourhood, say)."""
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"a timeline shows 1 to {MAX_DAYS} days", field="days")
        return cls(None, start, days)

    @property
    def end(self) -> date:
        """The last day shown."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def previous(self) -> date:
        """The start of the window before this one."""
        if self.view == View.month:
            return (self.start - timedelta(days=1)).replace(day=1)
        return self.start - timedelta(days=self.days)

    @property
    def following(self) -> date:
        """The start of the window after this one."""
        return self.end + timedelta(days=1)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def column(self, day: date) -> int:
        """The grid line (1-based, in half-days) where `day` begins."""
        return 2 * (day - self.start).days + 1

    @property
    def last_line(self) -> int:
        return 2 * self.days + 1

    @property
    def title(self) -> str:
        if self.view == View.month:
            return self.start.strftime("%B %Y")
        if self.start.year != self.end.year:
            return f"{self.start:%b %-d, %Y} {DASH} {self.end:%b %-d, %Y}"
        if self.start.month != self.end.month:
            return f"{self.start:%b %-d} {DASH} {self.end:%b %-d, %Y}"
        return f"{self.start:%b %-d} {DASH} {self.end:%-d, %Y}"


@dataclass(frozen=True)
class Day:
    day: date
    weekend: bool
    today: bool


@dataclass(frozen=True)
class Bar:
    """A stay on the grid, clipped to the window."""

    booking_id: int
    guest_id: int
    guest_name: str
    status: BookingStatus
    check_in: date
    check_out: date
    guest_count: int
    start: date  # the first day shown: check-in, or the window's first day
    end: date  # the last day shown: check-out, or the window's last day
    continues_before: bool  # checked in before the window
    continues_after: bool  # checks out after the window
    col_start: int
    col_end: int
    lane: int = 1  # 1-based; overlapping stays (a double booking) get lanes of their own

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


@dataclass(frozen=True)
class Marker:
    """A service task on its day."""

    request_id: int
    service_name: str
    day: date
    status: RequestStatus
    time_of_day: time | None
    booking_id: int | None


@dataclass(frozen=True)
class MarkerDay:
    """The tasks of one property on one day, drawn together in that day's cell."""

    day: date
    col_start: int
    markers: list[Marker]


@dataclass(frozen=True)
class Row:
    property_id: int
    name: str
    city: str
    owner_id: int | None
    owner_name: str | None
    bars: list[Bar]
    markers: list[Marker]
    marker_days: list[MarkerDay]
    lanes: int  # rows of bars (at least 1, so every property has the same height when nothing is booked)


@dataclass(frozen=True)
class Timeline:
    window: Window
    today: date
    days: list[Day]
    rows: list[Row]
    total: int  # properties that match the filters
    page: int
    pages: int
    per_page: int = PAGE_SIZE
    owner_id: int | None = None
    query: str = ""

    @property
    def today_shown(self) -> bool:
        return self.window.start <= self.today <= self.window.end

    @property
    def first_index(self) -> int:
        """1-based position of the first row among all matching properties (0 when there are none)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


def build(
    session: Session,
    window: Window,
    *,
    today: date,
    owner_id: int | None = None,
    query: str = "",
    page: int = 1,
    per_page: int = PAGE_SIZE,
    property_ids: Sequence[int] | None = None,
) -> Timeline:
    """The timeline of a page of active properties (by name), optionally one owner's or matching a name search.

    `property_ids` restricts it to those properties (shown even when inactive). A page past the end shows the last.
    """
    if page < 1:
        raise InvalidInput("page must be 1 or more", field="page")
    query = query.strip()
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"search for at most {MAX_QUERY} characters", field="q")
    found = _properties(owner_id, query, property_ids)
    total = session.scalar(select(func.count()).select_from(found.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    properties = list(
        session.scalars(
            found.options(joinedload(Property.owner), raiseload("*"))
            .order_by(Property.name, Property.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).unique()
    )
    ids = [p.id for p in properties]
    bars = _bars(session, window, ids)
    markers = _markers(session, window, ids)
    rows = []
    for prop in properties:
        placed, lanes = _lanes(bars.get(prop.id, []))
        tasks = markers.get(prop.id, [])
        owner: Owner | None = prop.owner
        rows.append(
            Row(
                property_id=prop.id,
                name=prop.name,
                city=prop.city,
                owner_id=prop.owner_id,
                owner_name=owner.name if owner else None,
                bars=placed,
                markers=tasks,
                marker_days=_by_day(window, tasks),
                lanes=lanes,
            )
        )
    days = [Day(d, d.weekday() >= 5, d == today) for d in window.dates()]
    return Timeline(
        window=window,
        today=today,
        days=days,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        per_page=per_page,
        owner_id=owner_id,
        query=query,
    )


def owners(session: Session) -> list[Owner]:
    """Every owner by name, for the calendar's filter."""
    return list(session.scalars(select(Owner).options(raiseload("*")).order_by(Owner.name, Owner.id)))


def _properties(owner_id: int | None, query: str, property_ids: Sequence[int] | None) -> Select[Property]:
    found = select(Property)
    if property_ids is not None:
        found = found.where(Property.id.in_(list(property_ids)))
    else:
        found = found.where(Property.is_active.is_(True))
    if owner_id is not None:
        found = found.where(Property.owner_id == owner_id)
    if query:
        pattern = like_pattern(query)
        found = found.where(
            or_(
                func.lower(Property.name).like(pattern, escape="\\"),
                func.lower(Property.address).like(pattern, escape="\\"),
                func.lower(Property.city).like(pattern, escape="\\"),
            )
        )
    return found


def _bars(session: Session, window: Window, property_ids: list[int]) -> dict[int, list[Bar]]:
    """Stays (not cancelled) that touch the window, the morning of a check-out on its first day included."""
    if not property_ids:
        return {}
    stays = session.scalars(
        select(Booking)
        .options(joinedload(Booking.guest), raiseload("*"))
        .where(
            Booking.property_id.in_(property_ids),
            Booking.status != BookingStatus.cancelled,
            Booking.check_in <= window.end,
            Booking.check_out >= window.start,
        )
        .order_by(Booking.property_id, Booking.check_in, Booking.id)
    )
    found: dict[int, list[Bar]] = {}
    for stay in stays:
        assert stay.property_id is not None
        before, after = stay.check_in < window.start, stay.check_out > window.end
        found.setdefault(stay.property_id, []).append(
            Bar(
                booking_id=stay.id,
                guest_id=stay.guest_id,
                guest_name=stay.guest.full_name,
                status=stay.status,
                check_in=stay.check_in,
                check_out=stay.check_out,
                guest_count=stay.guest_count,
                start=window.start if before else stay.check_in,
                end=window.end if after else stay.check_out,
                continues_before=before,
                continues_after=after,
                col_start=1 if before else window.column(stay.check_in) + 1,  # check-in afternoon
                col_end=window.last_line if after else window.column(stay.check_out) + 1,  # check-out morning
            )
        )
    return found


def _markers(session: Session, window: Window, property_ids: list[int]) -> dict[int, list[Marker]]:
    """Tasks (not cancelled) scheduled in the window, by day and time (untimed last)."""
    if not property_ids:
        return {}
    tasks = session.scalars(
        select(ServiceRequest)
        .options(joinedload(ServiceRequest.service_type), raiseload("*"))
        .where(
            ServiceRequest.property_id.in_(property_ids),
            ServiceRequest.scheduled_for >= window.start,
            ServiceRequest.scheduled_for <= window.end,
            ServiceRequest.status != RequestStatus.cancelled,
        )
        .order_by(
            ServiceRequest.property_id,
            ServiceRequest.scheduled_for,
            ServiceRequest.time_of_day.asc().nulls_last(),
            ServiceRequest.id,
        )
    )
    found: dict[int, list[Marker]] = {}
    for task in tasks:
        found.setdefault(task.property_id, []).append(
            Marker(
                request_id=task.id,
                service_name=task.service_type.name,
                day=task.scheduled_for,
                status=task.status,
                time_of_day=task.time_of_day,
                booking_id=task.booking_id,
            )
        )
    return found


def _lanes(bars: list[Bar]) -> tuple[list[Bar], int]:
    """Each bar in the first lane where it overlaps nothing (a turnover day's two halves do not overlap)."""
    ends: list[int] = []
    placed = []
    for bar in sorted(bars, key=lambda b: (b.col_start, b.col_end, b.booking_id)):
        lane = next((i for i, end in enumerate(ends) if end <= bar.col_start), len(ends))
        if lane == len(ends):
            ends.append(bar.col_end)
        else:
            ends[lane] = bar.col_end
        placed.append(replace(bar, lane=lane + 1))
    return placed, max(1, len(ends))


def _by_day(window: Window, markers: list[Marker]) -> list[MarkerDay]:
    grouped: dict[date, list[Marker]] = {}
    for marker in markers:
        grouped.setdefault(marker.day, []).append(marker)
    return [MarkerDay(day, window.column(day), found) for day, found in grouped.items()]
