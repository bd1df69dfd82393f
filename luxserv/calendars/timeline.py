"""The admin calendar as a timeline: properties as rows, stays as bars, service tasks as markers, over a week or a
month (or any span of up to 31 days, as on a booking's page).

Built with a constant number of queries however much data there is: one reads a page of the matching properties
with their owners' names and how many match, one reads the stays and one the tasks of those properties in the
window. Only the columns drawn are read (plain rows, not ORM objects), and what each bar and marker shows (its CSS
classes, its title) is worked out here once, so that drawing a month of 50 homes is a plain loop over the rows.

Days are split in halves on the grid (`column` values count half-days from 1), so a stay runs from the afternoon of
its check-in to the morning of its check-out, and a turnover day shows both guests.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.bookings.search import like_pattern
from luxserv.core.errors import InvalidInput
from luxserv.guests.models import Guest
from luxserv.properties.models import Owner, Property
from luxserv.services.models import RequestStatus, ServiceRequest, ServiceType

PAGE_SIZE = 50
MAX_DAYS = 31  # the widest window the grid is drawn for
MAX_QUERY = 100  # characters of a name search
MAX_BAR_LANE = 6  # lanes drawn apart; more overlapping stays share the last one
MAX_MARK_LANE = 7  # the markers' lane, below the stays
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


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    weekend: bool
    today: bool


@dataclass(frozen=True, slots=True)
class Bar:
    """A stay on the grid, clipped to the window, with what its bar shows."""

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
    css: str = ""  # the bar's classes: status, grid columns, lane, cut edges
    title: str = ""  # the tooltip: guest, dates, nights, guests, status
    spoken: str = ""  # what a screen reader hears after the guest's name

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


@dataclass(frozen=True, slots=True)
class Marker:
    """A service task on its day."""

    request_id: int
    service_name: str
    day: date
    status: RequestStatus
    time_of_day: time | None
    booking_id: int | None
    title: str = ""  # the tooltip: service, day and time, status
    spoken: str = ""  # what a screen reader hears after the service's name


@dataclass(frozen=True, slots=True)
class MarkerDay:
    """The tasks of one property on one day, drawn together in that day's cell."""

    day: date
    col_start: int
    markers: list[Marker]
    css: str = ""  # grid columns and lane


@dataclass(frozen=True, slots=True)
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


class OwnerChoice(NamedTuple):
    id: int
    name: str


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

    @property
    def background(self) -> list[str]:
        """Each day's classes in a row's background (the same in every row: drawn once, repeated)."""
        return [
            " ".join(
                name
                for name, on in (("weekend", d.weekend), ("today", d.today), ("monday", d.day.weekday() == 0))
                if on
            )
            for d in self.days
        ]


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
    where = _properties(owner_id, query, property_ids)
    homes, total = _page_of_properties(session, where, page, per_page)
    pages = max(1, -(-total // per_page))
    if not homes and page > pages:  # past the end: the last page (one more query, only then)
        page = pages
        homes, total = _page_of_properties(session, where, page, per_page)
        pages = max(1, -(-total // per_page))
    ids = [home.id for home in homes]
    labels = _Labels()
    bars = _bars(session, window, ids, labels)
    markers = _markers(session, window, ids, labels)
    rows = []
    for home in homes:
        placed, lanes = _lanes(bars.get(home.id, []), window)
        tasks = markers.get(home.id, [])
        rows.append(
            Row(
                property_id=home.id,
                name=home.name,
                city=home.city,
                owner_id=home.owner_id,
                owner_name=home.owner_name,
                bars=placed,
                markers=tasks,
                marker_days=_by_day(window, tasks, min(lanes + 1, MAX_MARK_LANE)),
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


def owners(session: Session) -> list[OwnerChoice]:
    """Every owner (id, name) by name, for the calendar's filter."""
    rows = session.execute(select(Owner.id, Owner.name).order_by(Owner.name, Owner.id))
    return [OwnerChoice(row.id, row.name) for row in rows]


class _Home(NamedTuple):
    id: int
    name: str
    city: str
    owner_id: int | None
    owner_name: str | None


def _properties(owner_id: int | None, query: str, property_ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if property_ids is not None:
        where.append(Property.id.in_(list(property_ids)))
    else:
        where.append(Property.is_active.is_(True))
    if owner_id is not None:
        where.append(Property.owner_id == owner_id)
    if query:
        pattern = like_pattern(query)
        where.append(
            or_(
                func.lower(Property.name).like(pattern, escape="\\"),
                func.lower(Property.address).like(pattern, escape="\\"),
                func.lower(Property.city).like(pattern, escape="\\"),
            )
        )
    return where


def _page_of_properties(
    session: Session, where: list[ColumnElement[bool]], page: int, per_page: int
) -> tuple[list[_Home], int]:
    """A page of the matching properties by name, with their owner's name, and how many match (one query: the
    count rides along on every row; an empty page counts apart)."""
    rows = session.execute(
        select(
            Property.id, Property.name, Property.city, Property.owner_id, Owner.name, func.count().over().label("total")
        )
        .outerjoin(Owner, Owner.id == Property.owner_id)
        .where(*where)
        .order_by(Property.name, Property.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    if rows:
        return [_Home(*row[:5]) for row in rows], int(rows[0][5])
    return [], int(session.scalar(select(func.count(Property.id)).where(*where)) or 0)


class _Labels:
    """Dates as the grid writes them ("Jun 5"), each worked out once per timeline."""

    def __init__(self) -> None:
        self._days: dict[date, str] = {}

    def day(self, value: date) -> str:
        found = self._days.get(value)
        if found is None:
            found = self._days[value] = f"{value:%b} {value.day}"
        return found


def _words(value: str) -> str:
    return value.replace("_", " ")


def _bars(session: Session, window: Window, property_ids: list[int], labels: _Labels) -> dict[int, list[_Stay]]:
    """Stays (not cancelled) that touch the window, the morning of a check-out on its first day included."""
    if not property_ids:
        return {}
    stays = session.execute(
        select(
            Booking.property_id,
            Booking.id,
            Booking.guest_id,
            Guest.full_name,
            Booking.status,
            Booking.check_in,
            Booking.check_out,
            Booking.guest_count,
        )
        .join(Guest, Guest.id == Booking.guest_id)
        .where(
            Booking.property_id.in_(property_ids),
            Booking.status != BookingStatus.cancelled,
            Booking.check_in <= window.end,
            Booking.check_out >= window.start,
        )
        .order_by(Booking.property_id, Booking.check_in, Booking.id)
    )
    found: dict[int, list[_Stay]] = {}
    first, last, last_line = window.start, window.end, window.last_line
    for property_id, booking_id, guest_id, guest_name, status, check_in, check_out, guests in stays:
        if property_id is None:  # (never: the query asks for these properties' stays)
            continue
        before, after = check_in < first, check_out > last
        found.setdefault(property_id, []).append(
            _Stay(
                booking_id,
                guest_id,
                guest_name,
                status,
                check_in,
                check_out,
                guests,
                before,
                after,
                1 if before else window.column(check_in) + 1,  # check-in afternoon
                last_line if after else window.column(check_out) + 1,  # check-out morning
                labels,
            )
        )
    return found


class _Stay(NamedTuple):
    booking_id: int
    guest_id: int
    guest_name: str
    status: BookingStatus
    check_in: date
    check_out: date
    guest_count: int
    before: bool
    after: bool
    col_start: int
    col_end: int
    labels: _Labels

    def bar(self, window: Window, lane: int) -> Bar:
        nights = (self.check_out - self.check_in).days
        arrives, leaves = self.labels.day(self.check_in), self.labels.day(self.check_out)
        status = _words(self.status.value)
        css = f"bar bar-{self.status.value} gs-{self.col_start} ge-{self.col_end} lane-{min(lane, MAX_BAR_LANE)}"
        if self.before:
            css += " cont-before"
        if self.after:
            css += " cont-after"
        return Bar(
            booking_id=self.booking_id,
            guest_id=self.guest_id,
            guest_name=self.guest_name,
            status=self.status,
            check_in=self.check_in,
            check_out=self.check_out,
            guest_count=self.guest_count,
            start=window.start if self.before else self.check_in,
            end=window.end if self.after else self.check_out,
            continues_before=self.before,
            continues_after=self.after,
            col_start=self.col_start,
            col_end=self.col_end,
            lane=lane,
            css=css,
            title=(
                f"{self.guest_name} · {arrives} {DASH} {leaves} · {nights} night{'s' if nights != 1 else ''} · "
                f"{self.guest_count} guest{'s' if self.guest_count != 1 else ''} · {status}"
            ),
            spoken=f": stay {arrives} to {leaves}, {status}",
        )


def _markers(session: Session, window: Window, property_ids: list[int], labels: _Labels) -> dict[int, list[Marker]]:
    """Tasks (not cancelled) scheduled in the window, by day and time (untimed last)."""
    if not property_ids:
        return {}
    tasks = session.execute(
        select(
            ServiceRequest.property_id,
            ServiceRequest.id,
            ServiceType.name,
            ServiceRequest.scheduled_for,
            ServiceRequest.status,
            ServiceRequest.time_of_day,
            ServiceRequest.booking_id,
        )
        .join(ServiceType, ServiceType.id == ServiceRequest.service_type_id)
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
    for property_id, request_id, name, day, status, at, booking_id in tasks:
        when = labels.day(day)
        words = _words(status.value)
        found.setdefault(property_id, []).append(
            Marker(
                request_id=request_id,
                service_name=name,
                day=day,
                status=status,
                time_of_day=at,
                booking_id=booking_id,
                title=f"{name} · {when}{f' {at:%H:%M}' if at is not None else ''} · {words}",
                spoken=f" on {when}, {words}",
            )
        )
    return found


def _lanes(stays: list[_Stay], window: Window) -> tuple[list[Bar], int]:
    """Each bar in the first lane where it overlaps nothing (a turnover day's two halves do not overlap)."""
    ends: list[int] = []
    placed = []
    for stay in sorted(stays, key=lambda s: (s.col_start, s.col_end, s.booking_id)):
        lane = next((i for i, end in enumerate(ends) if end <= stay.col_start), len(ends))
        if lane == len(ends):
            ends.append(stay.col_end)
        else:
            ends[lane] = stay.col_end
        placed.append(stay.bar(window, lane + 1))
    return placed, max(1, len(ends))


def _by_day(window: Window, markers: list[Marker], lane: int) -> list[MarkerDay]:
    grouped: dict[date, list[Marker]] = {}
    for marker in markers:
        grouped.setdefault(marker.day, []).append(marker)
    days = []
    for day, found in grouped.items():
        column = window.column(day)
        days.append(MarkerDay(day, column, found, css=f"marks gs-{column} ge-{column + 2} lane-{lane}"))
    return days
