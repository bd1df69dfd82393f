"""The admin calendar's timeline: windows, bars clipped at the edges, lanes for overlapping stays, task markers,
paging and filters, a constant number of queries however much data there is, and the page itself."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from luxserv.accounts.models import Role
from luxserv.bookings.apply import apply
from luxserv.bookings.models import BookingStatus
from luxserv.calendars import timeline
from luxserv.calendars.timeline import DASH, View, Window
from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.core.errors import InvalidInput
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.properties.models import DEFAULT_TIME_ZONE, Property
from luxserv.properties.service import create_property
from luxserv.services import requests
from luxserv.services.models import Origin, RequestStatus, ServiceRequest
from tests.admin_helpers import counted, main, sign_in, stay
from tests.factories import make_owner, make_property

WEEK = Window.of(View.week, date(2026, 6, 17))  # Mon Jun 15 - Sun Jun 21
TODAY = date(2026, 6, 17)


def build(db: Database, window: Window = WEEK, **kw: object) -> timeline.Timeline:
    with db.unit_of_work(write=False) as session:
        return timeline.build(session, window, today=TODAY, **kw)  # type: ignore[arg-type]


def row_of(tl: timeline.Timeline, name: str) -> timeline.Row:
    return next(r for r in tl.rows if r.name == name)


def test_a_week_runs_monday_to_sunday_and_a_month_is_the_calendar_month() -> None:
    assert (WEEK.start, WEEK.end, WEEK.days) == (date(2026, 6, 15), date(2026, 6, 21), 7)
    assert (WEEK.previous, WEEK.following) == (date(2026, 6, 8), date(2026, 6, 22))
    assert WEEK.title == f"Jun 15 {DASH} 21, 2026"
    assert Window.of(View.week, date(2026, 6, 15)) == WEEK == Window.of(View.week, date(2026, 6, 21))
    across = Window.of(View.week, date(2026, 12, 31))
    assert (across.start, across.end, across.title) == (
        date(2026, 12, 28),
        date(2027, 1, 3),
        f"Dec 28, 2026 {DASH} Jan 3, 2027",
    )

    june = Window.of(View.month, date(2026, 6, 17))
    assert (june.start, june.end, june.days, june.title) == (date(2026, 6, 1), date(2026, 6, 30), 30, "June 2026")
    assert (june.previous, june.following) == (date(2026, 5, 1), date(2026, 7, 1))
    assert Window.of(View.month, date(2028, 2, 10)).days == 29  # leap year
    december = Window.of(View.month, date(2026, 12, 5))
    assert (december.days, december.following, december.previous) == (31, date(2027, 1, 1), date(2026, 11, 1))
    assert Window.of(View.month, date(2026, 3, 31)).previous == date(2026, 2, 1)

    assert [WEEK.column(d) for d in WEEK.dates()] == [1, 3, 5, 7, 9, 11, 13]  # half-days: each day is 2 columns
    assert WEEK.last_line == 15
    with pytest.raises(InvalidInput):
        Window.span(date(2026, 6, 1), 32)


def test_bars_are_clipped_at_the_window_edges_and_overlaps_get_their_own_lane(db: Database) -> None:
    condo = make_property(db)
    villa = make_property(db, name="Sea Breeze Villa", address="20 Sea Breeze Ct")
    before, _ = stay(db, condo, "A", date(2026, 6, 10), 7)  # Jun 10 - 17: began before the week
    inside, _ = stay(db, condo, "B", date(2026, 6, 17), 2, guest="Mike Chen")  # Jun 17 - 19, a turnover on the 17th
    after, _ = stay(db, condo, "C", date(2026, 6, 20), 5, guest="Olivia Martinez")  # Jun 20 - 25: runs past Sunday
    stay(db, condo, "F", date(2026, 6, 19), 1, guest="Gone Guest", kind=EventKind.cancelled)  # cancelled: not shown
    leaving, _ = stay(db, villa, "D", date(2026, 6, 1), 14, guest="Grace Lee")  # leaves Monday morning
    stay(db, villa, "E", date(2026, 6, 22), 3, guest="Next Week")  # after the window: not shown
    first, _ = stay(db, villa, "G", date(2026, 6, 16), 2, guest="Double One")  # Jun 16 - 18
    second, _ = stay(db, villa, "H", date(2026, 6, 17), 3, guest="Double Two")  # Jun 17 - 20: overlaps G

    tl = build(db)
    bars = {b.booking_id: b for b in row_of(tl, "Beach Condo 123").bars}
    assert set(bars) == {before, inside, after}
    a, b, c = bars[before], bars[inside], bars[after]
    assert (a.start, a.end, a.continues_before, a.continues_after) == (
        date(2026, 6, 15),
        date(2026, 6, 17),
        True,
        False,
    )
    assert (a.col_start, a.col_end) == (1, 6)  # from the window's edge to Wednesday morning
    assert (b.start, b.end, b.continues_before, b.continues_after) == (
        date(2026, 6, 17),
        date(2026, 6, 19),
        False,
        False,
    )
    assert (b.col_start, b.col_end) == (6, 10)  # Wednesday afternoon to Friday morning
    assert (c.start, c.end, c.continues_before, c.continues_after) == (
        date(2026, 6, 20),
        date(2026, 6, 21),
        False,
        True,
    )
    assert (c.col_start, c.col_end) == (12, 15)
    assert (a.guest_name, b.guest_name, c.guest_name) == ("Sarah Johnson", "Mike Chen", "Olivia Martinez")
    assert (a.nights, a.status, a.check_in, a.check_out) == (
        7,
        BookingStatus.confirmed,
        date(2026, 6, 10),
        date(2026, 6, 17),
    )
    assert {a.lane, b.lane, c.lane} == {1} and row_of(tl, "Beach Condo 123").lanes == 1  # a turnover shares a lane

    villa_row = row_of(tl, "Sea Breeze Villa")
    lanes = {bar.booking_id: (bar.lane, bar.col_start, bar.col_end) for bar in villa_row.bars}
    assert lanes == {leaving: (1, 1, 2), first: (1, 4, 8), second: (2, 6, 12)}  # the double booking stacks
    assert villa_row.lanes == 2

    june = Window.of(View.month, date(2026, 6, 1))
    whole = {b.booking_id: b for b in row_of(build(db, june), "Beach Condo 123").bars}  # the month holds them all
    assert not any(b.continues_before or b.continues_after for b in whole.values())
    assert (whole[before].col_start, whole[before].col_end) == (june.column(date(2026, 6, 10)) + 1, 34)
    assert (whole[after].end, whole[after].col_end) == (date(2026, 6, 25), june.column(date(2026, 6, 25)) + 1)
    leaving_in_june = next(b for b in row_of(build(db, june), "Sea Breeze Villa").bars if b.booking_id == leaving)
    assert (leaving_in_june.col_start, leaving_in_june.continues_before) == (2, False)  # Jun 1, in the afternoon


def test_service_tasks_are_markers_on_their_days(db: Database) -> None:
    condo = make_property(db)
    booking, _ = stay(db, condo, "B", date(2026, 6, 17), 2, special_requests="Celebrating anniversary")
    with db.unit_of_work() as session:
        gear = requests.create_request(
            session, property_id=condo, service_type="beach_gear_delivery", scheduled_for=date(2026, 6, 18),
            origin=Origin.admin, actor="test",
        )  # fmt: skip
        dropped = requests.create_request(
            session, property_id=condo, service_type="private_chef", scheduled_for=date(2026, 6, 18),
            origin=Origin.admin, actor="test",
        )  # fmt: skip
        later = requests.create_request(
            session, property_id=condo, service_type="private_chef", scheduled_for=date(2026, 6, 22),
            origin=Origin.admin, actor="test",
        )  # fmt: skip
        requests.change_status(session, gear.id, RequestStatus.completed, actor="test")
        requests.change_status(session, dropped.id, RequestStatus.cancelled, actor="test")
        gear_id, dropped_id, later_id = gear.id, dropped.id, later.id

    row = build(db).rows[0]
    found = [(m.service_name, m.day, m.status) for m in row.markers]
    assert found == [
        ("Grocery stocking", date(2026, 6, 15), RequestStatus.scheduled),  # two days before check-in
        ("Cleaning verification", date(2026, 6, 17), RequestStatus.scheduled),
        ("Celebration setup", date(2026, 6, 17), RequestStatus.scheduled),
        ("Beach gear delivery", date(2026, 6, 18), RequestStatus.completed),  # completed work stays visible
        ("Post-checkout cleaning", date(2026, 6, 19), RequestStatus.scheduled),
    ]
    ids = {m.request_id for m in row.markers}
    assert gear_id in ids and dropped_id not in ids and later_id not in ids  # cancelled, and next week
    assert all(m.booking_id == booking for m in row.markers if m.service_name != "Beach gear delivery")
    days = [(d.day, d.col_start, [m.service_name for m in d.markers]) for d in row.marker_days]
    assert days == [
        (date(2026, 6, 15), 1, ["Grocery stocking"]),
        (date(2026, 6, 17), 5, ["Cleaning verification", "Celebration setup"]),  # by time of day
        (date(2026, 6, 18), 7, ["Beach gear delivery"]),
        (date(2026, 6, 19), 9, ["Post-checkout cleaning"]),
    ]
    tl = build(db)
    assert [d.today for d in tl.days] == [False, False, True, False, False, False, False]
    assert [d.weekend for d in tl.days] == [False] * 5 + [True, True]
    assert tl.today_shown and not build(db, Window.of(View.week, date(2026, 7, 1))).today_shown


def test_properties_are_paged_by_name_and_filtered_by_owner_and_search(db: Database) -> None:
    dana, omar = make_owner(db), make_owner(db, "Omar Haddad", "omar@example.com")
    for n in (3, 1, 5, 2, 4):
        make_property(db, owner_id=dana, name=f"Dune House {n}", address=f"{n} Dune Rd")
    loft = make_property(db, owner_id=omar, name="Harbor Loft", address="9 Harbor St", city="Destin")
    make_property(db, name="Ownerless Cottage", address="1 Pine Ln")
    retired = make_property(db, owner_id=dana, name="Dune House 0", address="0 Dune Rd")
    with db.unit_of_work() as session:
        session.execute(update(Property).where(Property.id == retired).values(is_active=False))
    stay(db, loft, "L1", date(2026, 6, 16), 3)

    first = build(db, per_page=3)
    assert (first.total, first.pages, first.page) == (7, 3, 1)  # the inactive home is left out
    assert [r.name for r in first.rows] == ["Dune House 1", "Dune House 2", "Dune House 3"]
    assert (first.first_index, first.last_index) == (1, 3)
    third = build(db, per_page=3, page=3)
    assert [r.name for r in third.rows] == ["Ownerless Cottage"] and (third.first_index, third.last_index) == (7, 7)
    assert [r.owner_name for r in third.rows] == [None]
    assert build(db, per_page=3, page=99).page == 3  # past the end: the last page

    omars = build(db, owner_id=omar)
    assert [(r.name, r.owner_name, len(r.bars)) for r in omars.rows] == [("Harbor Loft", "Omar Haddad", 1)]
    assert [r.name for r in build(db, owner_id=dana, query="house 4").rows] == ["Dune House 4"]
    assert [r.name for r in build(db, query="DESTIN").rows] == ["Harbor Loft"]  # city, any case
    assert [r.name for r in build(db, query="pine ln").rows] == ["Ownerless Cottage"]  # address
    assert build(db, query="%").total == 0  # wildcards match themselves
    empty = build(db, owner_id=omar + 100)
    assert (empty.total, empty.pages, empty.rows, empty.first_index) == (0, 1, [], 0)
    with pytest.raises(InvalidInput):
        build(db, page=0)
    with pytest.raises(InvalidInput):
        build(db, query="x" * 101)


def _grow(db: Database, homes: int, stays_per_home: int, start: int = 0) -> None:
    """More homes, each with a run of stays (and their planned tasks), in one transaction."""
    owner = make_owner(db, f"Owner {start}", f"owner{start}@example.com")
    with db.unit_of_work() as session:
        for n in range(start, start + homes):
            home = create_property(session, owner=None, name=f"Home {n:03}", address=f"{n} Gulf Blvd", actor="test")
            home.owner_id = owner
            for k in range(stays_per_home):
                check_in = date(2026, 6, 12) + timedelta(days=4 * k)
                guest = GuestInfo(name=f"Guest {n} {k}", email=f"guest{n}.{k}@example.com")
                event = BookingEvent(
                    kind=EventKind.created, provider="manual", external_id=f"S{n}-{k}",
                    listing=ListingRef(property_id=home.id), guest=guest, check_in=check_in,
                    check_out=check_in + timedelta(days=3), guest_count=2,
                )  # fmt: skip
                apply(session, event, actor="test")


def test_the_number_of_queries_does_not_grow_with_the_data(db: Database) -> None:
    _grow(db, homes=2, stays_per_home=1)
    month = Window.of(View.month, TODAY)
    with counted(db) as small, db.unit_of_work(write=False) as session:
        tl = timeline.build(session, month, today=TODAY)
        assert sum(len(r.bars) for r in tl.rows) == 2 and sum(len(r.markers) for r in tl.rows) == 6
    _grow(db, homes=12, stays_per_home=4, start=2)
    with counted(db) as large, db.unit_of_work(write=False) as session:
        tl = timeline.build(session, month, today=TODAY)
        assert len(tl.rows) == 14 and sum(len(r.bars) for r in tl.rows) == 50
        assert sum(len(r.markers) for r in tl.rows) > 100
    assert len(large) == len(small)
    selects = [s for s in large if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3  # properties with their owners' names and how many match, stays, tasks
    assert "count(*) OVER ()" in selects[0]


def test_a_page_past_the_end_counts_apart_and_shows_the_last(db: Database) -> None:
    _grow(db, homes=3, stays_per_home=1)
    with counted(db) as statements, db.unit_of_work(write=False) as session:
        tl = timeline.build(session, WEEK, today=TODAY, per_page=2, page=7)
    assert (tl.page, tl.pages, tl.total, [r.name for r in tl.rows]) == (2, 2, 3, ["Home 002"])
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 5  # an empty page, the count, the last page, its stays and its tasks


def _orm_objects(value: object, seen: set[int] | None = None) -> list[object]:
    """ORM instances anywhere inside `value` (dataclasses, lists, tuples)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if hasattr(value, "_sa_instance_state"):
        return [value]
    if isinstance(value, list | tuple):
        return [found for item in value for found in _orm_objects(item, seen)]
    fields = getattr(value, "__dataclass_fields__", None)
    if fields:
        return [found for name in fields for found in _orm_objects(getattr(value, name), seen)]
    return []


def test_the_timeline_is_plain_rows_with_what_each_bar_and_marker_shows(db: Database) -> None:
    condo = make_property(db, owner_id=make_owner(db))
    first, _ = stay(db, condo, "A", date(2026, 6, 10), 7)  # Jun 10 - 17: began before the week
    second, _ = stay(db, condo, "B", date(2026, 6, 17), 1, guest="Mike Chen", guest_count=1)  # Jun 17 - 18
    with db.unit_of_work() as session:
        gear = requests.create_request(
            session, property_id=condo, service_type="beach_gear_delivery", scheduled_for=date(2026, 6, 18),
            origin=Origin.admin, actor="test",
        ).id  # fmt: skip
        chef = requests.create_request(
            session, property_id=condo, service_type="private_chef", scheduled_for=date(2026, 6, 19),
            origin=Origin.guest, actor="test",
        )  # fmt: skip
        chef.time_of_day = None

    tl = build(db)
    assert _orm_objects(tl) == []
    row = tl.rows[0]
    assert isinstance(row, timeline.Row) and (row.owner_name, row.lanes) == ("Dana Whitfield", 1)
    a, b = row.bars
    assert (a.booking_id, a.css) == (first, "bar bar-confirmed gs-1 ge-6 lane-1 cont-before")
    assert a.title == f"Sarah Johnson · Jun 10 {DASH} Jun 17 · 7 nights · 2 guests · confirmed"
    assert a.spoken == ": stay Jun 10 to Jun 17, confirmed"
    assert (b.booking_id, b.css) == (second, "bar bar-confirmed gs-6 ge-8 lane-1")
    assert b.title == f"Mike Chen · Jun 17 {DASH} Jun 18 · 1 night · 1 guest · confirmed"
    marker = next(m for m in row.markers if m.request_id == gear)
    assert marker.title == "Beach gear delivery · Jun 18 09:00 · scheduled"  # the service's default time
    assert marker.spoken == " on Jun 18, scheduled"
    untimed = next(m for m in row.markers if m.time_of_day is None)
    assert (untimed.title, untimed.spoken) == ("Private chef · Jun 19 · requested", " on Jun 19, requested")
    day = next(d for d in row.marker_days if d.day == date(2026, 6, 18))
    assert day.css == f"marks gs-7 ge-9 lane-{row.lanes + 1}" and gear in [m.request_id for m in day.markers]
    # The day background is the same in every row: worked out once per timeline.
    assert tl.background == ["monday", "", "today", "", "", "weekend", "weekend"]
    with db.unit_of_work(write=False) as session:
        assert timeline.owners(session) == [timeline.OwnerChoice(row.owner_id or 0, "Dana Whitfield")]


# --- the page ---------------------------------------------------------------------------------------------------


def test_the_calendar_page_shows_stays_and_tasks_and_moves_between_windows(
    app_client: TestClient, db: Database
) -> None:
    sign_in(app_client, db)
    today = local_today(DEFAULT_TIME_ZONE)
    condo = make_property(db, owner_id=make_owner(db))
    booking, _ = stay(db, condo, "NOW", today - timedelta(days=5), 7)

    page = app_client.get("/admin/calendar")
    assert page.status_code == 200
    body = main(page.text)
    assert "Beach Condo 123" in body and "Dana Whitfield" in body
    assert f'href="/admin/bookings/{booking}"' in body and "Sarah Johnson" in body
    assert "Post-checkout cleaning" in body  # two days from now: always in this week or the next
    week = Window.of(View.week, today)
    assert week.title in page.text
    assert f'href="/admin/calendar?start={week.previous.isoformat()}"' in body
    assert f'href="/admin/calendar?start={week.following.isoformat()}"' in body
    assert 'class="tl-day today"' in body or "tl-day weekend today" in body

    month = app_client.get("/admin/calendar", params={"view": "month", "start": "2026-02-14", "q": "beach"})
    assert month.status_code == 200
    assert "February 2026" in month.text and 'class="tl d-28 compact"' in month.text
    nav = re.search(r'href="([^"]+)" rel="next"', month.text)
    assert nav and nav.group(1) == "/admin/calendar?view=month&amp;start=2026-03-01&amp;q=beach"

    other = app_client.get("/admin/calendar", params={"owner": str(condo + 50)})
    assert "No homes match." in other.text and "Beach Condo 123" not in main(other.text)


def test_the_grid_draws_each_bar_marker_and_day_background_as_built(app_client: TestClient, db: Database) -> None:
    sign_in(app_client, db)
    for n in range(3):
        home = make_property(db, name=f"Dune House {n}", address=f"{n} Dune Rd")
        stay(db, home, f"S{n}", date(2026, 6, 16), 2, guest=f"Guest <{n}>", email=f"guest{n}@example.com")
    tl = build(db)
    page = app_client.get("/admin/calendar", params={"start": WEEK.start.isoformat()})
    body = main(page.text)
    backgrounds = re.findall(r'<div class="tl-bg" aria-hidden="true">(.*?)</div>', body)
    today = local_today(DEFAULT_TIME_ZONE)
    classes = [
        " ".join(
            name
            for name, on in (("weekend", d.weekday() >= 5), ("today", d == today), ("monday", d.weekday() == 0))
            if on
        )
        for d in WEEK.dates()
    ]
    spans = "".join(f'<span class="{css}"></span>' for css in classes)
    assert backgrounds == [spans] * 3  # every row, the same background
    for row in tl.rows:
        for bar in row.bars:
            assert f'<li class="{bar.css}">' in body
            assert f'title="{bar.title.replace("<", "&lt;").replace(">", "&gt;")}"' in body
        for md in row.marker_days:
            assert f'<li class="{md.css}">' in body
            assert all(f'title="{m.title}"' in body for m in md.markers)
    assert [bar.guest_name for row in tl.rows for bar in row.bars] == ["Guest <0>", "Guest <1>", "Guest <2>"]
    assert "Guest &lt;1&gt;" in body and "Guest <1>" not in body  # names are escaped


def test_the_calendar_page_refuses_bad_input_and_other_people(app_client: TestClient, db: Database) -> None:
    assert (
        app_client.get("/admin/calendar", follow_redirects=False).headers["location"] == "/login?next=/admin/calendar"
    )
    owner = make_owner(db)
    sign_in(app_client, db, "dana@login.example", Role.owner, owner_id=owner)
    assert app_client.get("/admin/calendar").status_code == 403
    app_client.cookies.clear()
    sign_in(app_client, db, "staff@example.com", Role.staff)
    assert app_client.get("/admin/calendar").status_code == 200
    for params, message in [
        ({"start": "2026-13-01"}, "start must be a date like 2026-06-15"),
        ({"view": "year"}, "view must be one of week, month"),
        ({"owner": "dana"}, "owner must be a whole number"),
        ({"page": "0"}, "page must be 1 or more"),
    ]:
        answer = app_client.get("/admin/calendar", params=params)
        assert answer.status_code == 422 and message in answer.text, params


def test_the_calendar_page_uses_the_same_number_of_queries_with_more_data(app_client: TestClient, db: Database) -> None:
    sign_in(app_client, db)
    _grow(db, homes=1, stays_per_home=1)
    with counted(db) as small:
        assert app_client.get("/admin/calendar", params={"view": "month", "start": "2026-06-01"}).status_code == 200
    _grow(db, homes=8, stays_per_home=4, start=1)
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 33 * 3  # 3 rules a stay
    with counted(db) as large:
        page = app_client.get("/admin/calendar", params={"view": "month", "start": "2026-06-01"})
        assert page.status_code == 200 and "Home 008" in page.text
    assert len(large) == len(small)
