"""`owners.portal`: the cards (Sarah Johnson's stay on fixed dates), the month calendar and a home's bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from luxserv.bookings.models import BookingStatus
from luxserv.core.database import Database
from luxserv.core.errors import InvalidInput, NotFound
from luxserv.integrations.base import EventKind
from luxserv.owners import portal
from luxserv.properties.maintenance import MaintenanceState
from tests.owners.conftest import World, add_maintenance, book, set_time_zone, settle


def on(day: date) -> portal.TodayFor:
    return lambda tz: day


def at(instant: datetime) -> portal.TodayFor:
    """Today in each zone at one instant, as `local_today` would say then."""
    return lambda tz: instant.astimezone(ZoneInfo(tz)).date()


def cards(db: Database, owner_id: int | None, today: portal.TodayFor) -> dict[str, portal.PropertyCard]:
    with db.unit_of_work(write=False) as session:
        return {card.name: card for card in portal.property_cards(session, owner_id, today)}


@pytest.fixture
def sarah(db: Database, world: World) -> int:
    """Sarah Johnson at the condo June 15 to 22, Mike Chen next on June 24; two requests still open."""
    stay = book(db, world.condo, "SARAH", date(2026, 6, 15), date(2026, 6, 22), special="Celebrating anniversary")
    book(db, world.condo, "MIKE", date(2026, 6, 24), date(2026, 6, 29), guest="Mike Chen", guests=2)
    settle(db, world.condo, keep=((stay, "grocery_stocking"), (stay, "celebration_setup")))
    add_maintenance(db, world.condo, "AC service due", date(2026, 6, 23))
    return stay


def test_sarahs_card_mid_stay(db: Database, world: World, sarah: int) -> None:
    card = cards(db, world.dana, on(date(2026, 6, 20)))["Beach Condo 123"]
    assert card.today == date(2026, 6, 20) and not card.available
    assert card.current == portal.CurrentStay(
        sarah, "Sarah Johnson", 4, date(2026, 6, 15), date(2026, 6, 22), days_left=2
    )
    assert card.current is not None and card.current.days_left_label == "2 days"
    assert card.next is not None and (card.next.guest_name, card.next.check_in) == ("Mike Chen", date(2026, 6, 24))
    assert (card.active_requests, card.active_services) == (2, ("Grocery stocking", "Celebration setup"))
    assert [(m.title, m.due_on, m.state) for m in card.maintenance] == [
        ("AC service due", date(2026, 6, 23), MaintenanceState.due)
    ]


@pytest.mark.parametrize(
    ("today", "label"), [(date(2026, 6, 15), "7 days"), (date(2026, 6, 21), "1 day"), (date(2026, 6, 22), "today")]
)
def test_days_left_counts_to_checkout(db: Database, world: World, sarah: int, today: date, label: str) -> None:
    card = cards(db, world.dana, on(today))["Beach Condo 123"]
    assert card.current is not None and card.current.guest_name == "Sarah Johnson"
    assert card.current.days_left_label == label


def test_on_a_turnover_day_the_leaving_guest_is_current_and_the_arriving_one_next(db: Database, world: World) -> None:
    book(db, world.condo, "SARAH", date(2026, 6, 15), date(2026, 6, 22))
    book(db, world.condo, "MIKE", date(2026, 6, 22), date(2026, 6, 27), guest="Mike Chen")
    card = cards(db, world.dana, on(date(2026, 6, 22)))["Beach Condo 123"]
    assert card.current is not None and (card.current.guest_name, card.current.days_left_label) == (
        "Sarah Johnson",
        "today",
    )
    assert card.next is not None and (card.next.guest_name, card.next.check_in) == ("Mike Chen", date(2026, 6, 22))
    later = cards(db, world.dana, on(date(2026, 6, 23)))["Beach Condo 123"]
    assert later.current is not None and later.current.guest_name == "Mike Chen" and later.next is None


def test_available_with_the_next_booking_date(db: Database, world: World, sarah: int) -> None:
    book(db, world.condo, "GRACE", date(2026, 6, 30), date(2026, 7, 3), guest="Grace Lee")
    card = cards(db, world.dana, on(date(2026, 6, 23)))["Beach Condo 123"]
    assert card.available and card.current is None
    assert card.next is not None and (card.next.guest_name, card.next.check_in) == ("Mike Chen", date(2026, 6, 24))
    after_mike = cards(db, world.dana, on(date(2026, 6, 29)))["Beach Condo 123"]
    assert after_mike.current is not None and after_mike.current.days_left_label == "today"
    gap = cards(db, world.dana, on(date(2026, 6, 30 - 1)))["Beach Condo 123"]
    assert gap.next is not None and gap.next.check_in == date(2026, 6, 30)


def test_a_home_without_bookings_is_available_with_none_upcoming(db: Database, world: World) -> None:
    card = cards(db, world.dana, on(date(2026, 6, 20)))["Sea Breeze Villa"]
    assert card.available and card.next is None
    assert (card.active_requests, card.active_services, card.maintenance) == (0, (), ())


def test_cancelled_and_finished_bookings_are_ignored(db: Database, world: World) -> None:
    book(
        db, world.villa, "GONE", date(2026, 6, 18), date(2026, 6, 25), guest="Carl Cancelled", kind=EventKind.cancelled
    )
    book(db, world.villa, "LATER", date(2026, 6, 26), date(2026, 6, 28), guest="Lena Late", kind=EventKind.cancelled)
    book(db, world.villa, "LEFT", date(2026, 6, 17), date(2026, 6, 21), guest="Olga Out", kind=EventKind.checked_out)
    book(db, world.villa, "REAL", date(2026, 7, 2), date(2026, 7, 5), guest="Olivia Martinez")
    card = cards(db, world.dana, on(date(2026, 6, 20)))["Sea Breeze Villa"]
    assert card.available
    assert card.next is not None and card.next.guest_name == "Olivia Martinez"
    # The cancelled stays' planned services were cancelled with them: three each for Olga's and Olivia's stays.
    assert card.active_requests == 6


def test_today_is_the_homes_own_date(db: Database, world: World) -> None:
    """At 03:00 UTC on June 22 it is still June 21 in Panama City Beach, and 17:00 on June 21 in Honolulu."""
    book(db, world.condo, "SARAH", date(2026, 6, 15), date(2026, 6, 22))
    book(db, world.villa, "SARAH-2", date(2026, 6, 15), date(2026, 6, 22), guest="Hana Kai")
    set_time_zone(db, world.villa, "Pacific/Honolulu")
    night = cards(db, world.dana, at(datetime(2026, 6, 22, 3, 0, tzinfo=UTC)))
    assert night["Beach Condo 123"].today == date(2026, 6, 21)
    assert night["Beach Condo 123"].current is not None
    assert night["Beach Condo 123"].current.days_left_label == "1 day"
    morning = cards(db, world.dana, at(datetime(2026, 6, 22, 6, 0, tzinfo=UTC)))
    assert morning["Beach Condo 123"].current is not None
    assert morning["Beach Condo 123"].current.days_left_label == "today"  # 01:00 in Chicago
    assert morning["Sea Breeze Villa"].current is not None
    assert morning["Sea Breeze Villa"].current.days_left_label == "1 day"  # 20:00 on June 21 in Honolulu
    gone = cards(db, world.dana, at(datetime(2026, 6, 23, 6, 0, tzinfo=UTC)))
    assert gone["Beach Condo 123"].available and gone["Sea Breeze Villa"].current is not None  # Honolulu: June 22


def test_maintenance_due_and_overdue_only(db: Database, world: World) -> None:
    add_maintenance(db, world.villa, "Pool pump inspection", date(2026, 6, 25))
    add_maintenance(db, world.villa, "Gutter cleaning", date(2026, 6, 10))
    add_maintenance(db, world.villa, "Roof check", date(2026, 8, 1))  # later than two weeks
    add_maintenance(db, world.loft, "Omar's boiler", date(2026, 6, 21))
    card = cards(db, world.dana, on(date(2026, 6, 20)))["Sea Breeze Villa"]
    assert [(m.title, m.state) for m in card.maintenance] == [
        ("Gutter cleaning", MaintenanceState.overdue),
        ("Pool pump inspection", MaintenanceState.due),
    ]


def test_an_owner_gets_only_their_own_homes_and_admins_all(db: Database, world: World) -> None:
    book(db, world.loft, "OMAR", date(2026, 6, 18), date(2026, 6, 25), guest="Olaf Other")
    assert list(cards(db, world.dana, on(date(2026, 6, 20)))) == ["Beach Condo 123", "Sea Breeze Villa"]
    assert list(cards(db, world.omar, on(date(2026, 6, 20)))) == ["Harbor Loft"]
    assert list(cards(db, None, on(date(2026, 6, 20)))) == ["Beach Condo 123", "Harbor Loft", "Sea Breeze Villa"]
    with db.unit_of_work(write=False) as session:
        assert portal.count_properties(session, world.dana) == 2
        assert portal.count_properties(session, None) == 3
        page = portal.property_cards(session, None, on(date(2026, 6, 20)), limit=1, offset=1)
        assert [c.name for c in page] == ["Harbor Loft"]
        assert portal.property_cards(session, world.dana, property_ids=[world.loft]) == []


def test_days_left_labels() -> None:
    assert [portal.days_left_label(n) for n in (0, 1, 2, 14)] == ["today", "1 day", "2 days", "14 days"]


# --- month calendar ------------------------------------------------------------------------------------------


def test_month_calendar_draws_stays_as_bands_and_services_on_their_day(db: Database, world: World) -> None:
    sarah = book(db, world.condo, "SARAH", date(2026, 6, 15), date(2026, 6, 22), special="Celebrating anniversary")
    mike = book(db, world.condo, "MIKE", date(2026, 6, 22), date(2026, 6, 29), guest="Mike Chen", guests=2)
    book(db, world.condo, "GONE", date(2026, 6, 8), date(2026, 6, 10), guest="Carl Cancelled", kind=EventKind.cancelled)
    book(db, world.loft, "OMAR", date(2026, 6, 15), date(2026, 6, 20), guest="Olaf Other")
    with db.unit_of_work(write=False) as session:
        cal = portal.month_calendar(session, world.condo, date(2026, 6, 1), today=date(2026, 6, 20))
    assert (cal.month, cal.previous, cal.following) == (date(2026, 6, 1), date(2026, 5, 1), date(2026, 7, 1))
    assert [w.days[0].day for w in cal.weeks] == [date(2026, 5, 31), *(date(2026, 6, d) for d in (7, 14, 21, 28))]
    assert all(len(w.days) == 7 for w in cal.weeks)
    assert not cal.weeks[0].days[0].in_month and cal.weeks[2].days[6].is_today
    bands = [[(b.stay.guest_name, b.column, b.span, b.lane, b.starts, b.ends) for b in w.bands] for w in cal.weeks]
    assert bands == [
        [],
        [],
        [("Sarah Johnson", 2, 6, 1, True, False)],  # Mon 15 … Sat 20
        [("Sarah Johnson", 1, 2, 1, False, True), ("Mike Chen", 2, 6, 2, True, False)],  # turnover on the 22nd
        [("Mike Chen", 1, 2, 1, False, True)],
    ]
    assert [s.booking_id for s in cal.stays] == [sarah, mike]
    days = {d.day: d for w in cal.weeks for d in w.days}
    assert [t.service_name for t in days[date(2026, 6, 15)].tasks] == ["Cleaning verification", "Celebration setup"]
    assert [t.service_name for t in days[date(2026, 6, 22)].tasks] == [
        "Post-checkout cleaning",
        "Cleaning verification",
    ]
    assert [s.guest_name for s in days[date(2026, 6, 22)].departures] == ["Sarah Johnson"]
    assert [s.guest_name for s in days[date(2026, 6, 22)].arrivals] == ["Mike Chen"]
    assert days[date(2026, 6, 8)].tasks == ()  # the cancelled stay's services were cancelled with it
    assert [d.day.day for d in cal.busy_days] == [13, 15, 20, 22, 29]


def test_month_calendar_edges(db: Database, world: World) -> None:
    book(db, world.condo, "NYE", date(2026, 12, 30), date(2027, 1, 2), guest="Nina Year")
    with db.unit_of_work(write=False) as session:
        december = portal.month_calendar(session, world.condo, date(2026, 12, 1), today=date(2026, 12, 1))
        january = portal.month_calendar(session, world.condo, date(2027, 1, 15), today=date(2026, 12, 1))
        with pytest.raises(NotFound):
            portal.month_calendar(session, world.loft, date(2026, 12, 1), owner_id=world.dana)
        with pytest.raises(NotFound):
            portal.month_calendar(session, 9999, date(2026, 12, 1))
    assert (december.previous, december.following) == (date(2026, 11, 1), date(2027, 1, 1))
    assert january.month == date(2027, 1, 1) and [s.guest_name for s in january.stays] == ["Nina Year"]
    assert [b.stay.guest_name for b in january.weeks[0].bands] == ["Nina Year"]  # the Dec 27 to Jan 2 row
    assert portal.parse_month("2026-06") == date(2026, 6, 1)
    for bad in ("2026-13", "June", "2026-06-01", "1800-01", ""):
        with pytest.raises(InvalidInput):
            portal.parse_month(bad)


# --- bookings ------------------------------------------------------------------------------------------------


def test_property_bookings_filters_and_scope(db: Database, world: World) -> None:
    sarah = book(db, world.condo, "SARAH", date(2026, 6, 15), date(2026, 6, 22))
    mike = book(db, world.condo, "MIKE", date(2026, 6, 24), date(2026, 6, 29), guest="Mike Chen")
    gone = book(db, world.condo, "GONE", date(2026, 7, 8), date(2026, 7, 10), guest="Carl C", kind=EventKind.cancelled)
    book(db, world.loft, "OMAR", date(2026, 6, 15), date(2026, 6, 20), guest="Olaf Other")
    with db.unit_of_work(write=False) as session:

        def ids(**kw: object) -> list[int]:
            rows, total = portal.property_bookings(session, world.condo, owner_id=world.dana, **kw)  # type: ignore[arg-type]
            assert total == len(rows)
            return [b.id for b in rows]

        assert ids() == [sarah, mike, gone]
        assert ids(date_from=date(2026, 6, 22)) == [mike, gone]  # a stay ending that day is over
        assert ids(date_to=date(2026, 6, 24)) == [sarah, mike]
        assert ids(status=BookingStatus.cancelled) == [gone]
        with pytest.raises(InvalidInput):
            ids(date_from=date(2026, 6, 30), date_to=date(2026, 6, 1))
        with pytest.raises(NotFound):
            portal.property_bookings(session, world.loft, owner_id=world.dana)
        assert [b.id for b in portal.property_bookings(session, world.loft)[0]] != []


def test_request_statuses_that_count_as_active(db: Database, world: World) -> None:
    stay = book(db, world.condo, "SARAH", date(2026, 6, 15), date(2026, 6, 22), special="Celebrating anniversary")
    card = cards(db, world.dana, on(date(2026, 6, 20)))["Beach Condo 123"]
    assert card.active_requests == 4  # grocery, cleaning check, celebration, post-checkout cleaning
    assert card.active_services == (
        "Grocery stocking",
        "Celebration setup",
        "Cleaning verification",
        "Post-checkout cleaning",
    )  # fmt: skip  (soonest first; the same day by name)
    settle(db, world.condo, keep=((stay, "post_checkout_cleaning"),))
    card = cards(db, world.dana, on(date(2026, 6, 20)))["Beach Condo 123"]
    assert (card.active_requests, card.active_services) == (1, ("Post-checkout cleaning",))
