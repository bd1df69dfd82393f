"""`services.requests`: guest requests linked to the stay, the status machine with its history, assignment,
filters and pagination, grouping by property and day, and the owner's in-app notifications."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from luxserv.accounts.models import Role, User
from luxserv.audit.models import AuditEntry
from luxserv.bookings.apply import apply
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.errors import Conflict, InvalidInput, NotFound
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.outbox.models import Notification
from luxserv.services import requests
from luxserv.services.models import Origin, RequestStatus, ServiceRequest, ServiceType
from tests.factories import make_owner, make_property, make_user

S = RequestStatus
JUNE = date(2026, 6, 1)


@dataclass
class World:
    condo: int  # Dana's
    villa: int  # Dana's
    loft: int  # Omar's
    admin: int
    staff: int
    dana: int  # Dana's login
    dana2: int  # Dana's second login (her husband)
    omar: int  # Omar's login


@pytest.fixture
def world(db: Database) -> World:
    dana, omar = make_owner(db), make_owner(db, "Omar Haddad", "omar@example.com")
    return World(
        condo=make_property(db, owner_id=dana),
        villa=make_property(db, owner_id=dana, name="Sunset Villa", address="1 Sunset Way"),
        loft=make_property(db, owner_id=omar, name="Harbor Loft", address="9 Harbor St"),
        admin=make_user(db, "admin@example.com", Role.admin),
        staff=make_user(db, "staff@example.com", Role.staff),
        dana=make_user(db, "dana@login.example", Role.owner, owner_id=dana),
        dana2=make_user(db, "ben@login.example", Role.owner, owner_id=dana),
        omar=make_user(db, "omar@login.example", Role.owner, owner_id=omar),
    )


def book(
    db: Database,
    property_id: int,
    external_id: str,
    check_in: date,
    check_out: date,
    *,
    guest: str = "Sarah Johnson",
    special: str = "",
    kind: EventKind = EventKind.created,
) -> tuple[int, int]:
    """A booking made through `bookings.apply` (so the automation rules plan its services): (booking, guest)."""
    ev = BookingEvent(
        kind=kind,
        provider="manual",
        external_id=external_id,
        listing=ListingRef(property_id=property_id),
        guest=GuestInfo(name=guest, email=f"{guest.split()[0].lower()}@example.com"),
        check_in=check_in,
        check_out=check_out,
        guest_count=2,
        special_requests=special,
    )
    with db.unit_of_work() as session:
        booking = apply(session, ev, actor="test").booking
        return booking.id, booking.guest_id


def new_request(db: Database, property_id: int, day: date, *, origin: Origin = Origin.admin, **kw: Any) -> int:
    kw.setdefault("service_type", "beach_gear_delivery")
    with db.unit_of_work() as session:
        made = requests.create_request(
            session, property_id=property_id, scheduled_for=day, origin=origin, actor=kw.pop("actor", "test"), **kw
        )
        return made.id


def load(db: Database, request_id: int) -> ServiceRequest:
    with db.unit_of_work(write=False) as session:
        return requests.get_request(session, request_id)


def in_status(db: Database, property_id: int, status: RequestStatus) -> int:
    """A request in the given status, reached through allowed moves only."""
    request_id = new_request(db, property_id, JUNE, origin=Origin.owner)  # requested
    if status != S.requested:
        with db.unit_of_work() as session:
            requests.change_status(session, request_id, status, actor="test")
    return request_id


def test_a_guest_request_during_a_stay_is_linked_to_the_booking_and_its_guest(db: Database, world: World) -> None:
    booking, guest = book(
        db, world.condo, "B1", date(2026, 6, 15), date(2026, 6, 22), special="Celebrating anniversary"
    )
    for day in (date(2026, 6, 15), date(2026, 6, 18), date(2026, 6, 22)):  # check-in, mid-stay, check-out day
        made = load(db, new_request(db, world.condo, day, origin=Origin.guest))
        assert (made.booking_id, made.guest_id, made.status) == (booking, guest, S.requested)
        assert made.time_of_day == time(9, 0)  # the service type's usual time
        assert [(c.from_status, c.to_status, c.actor) for c in made.changes] == [(None, "requested", "test")]
    with db.unit_of_work(write=False) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "service_request.created")).all()
        assert len(audit) == 3 and audit[0].details["origin"] == "guest"
        # The booking's automation requests exist too: grocery, cleaning check, celebration, post-checkout cleaning.
        rows, total = requests.list_requests(
            session, requests.RequestFilter(booking_id=booking, origin=Origin.automation), limit=10, offset=0
        )
        assert total == 4
        assert {(r.service_type.key, r.scheduled_for) for r in rows} == {
            ("grocery_stocking", date(2026, 6, 13)),
            ("cleaning_verification", date(2026, 6, 15)),
            ("celebration_setup", date(2026, 6, 15)),
            ("post_checkout_cleaning", date(2026, 6, 22)),
        }


def test_a_guest_request_outside_any_stay_stays_unlinked(db: Database, world: World) -> None:
    book(db, world.condo, "B1", date(2026, 6, 15), date(2026, 6, 22))
    book(db, world.condo, "B2", date(2026, 7, 1), date(2026, 7, 5), guest="Mike Chen", kind=EventKind.cancelled)
    book(db, world.villa, "B3", date(2026, 6, 23), date(2026, 6, 30), guest="Grace Lee")
    for day in (date(2026, 6, 14), date(2026, 6, 23), date(2026, 7, 2)):  # before, another home's stay, cancelled
        made = load(db, new_request(db, world.condo, day, origin=Origin.guest))
        assert (made.booking_id, made.guest_id) == (None, None)
    admin_made = load(db, new_request(db, world.condo, date(2026, 6, 18)))  # only guests are linked by date
    assert (admin_made.booking_id, admin_made.status) == (None, S.scheduled)


def test_on_a_turnover_day_the_arriving_guest_wins_unless_the_guest_is_named(db: Database, world: World) -> None:
    sarahs, sarah = book(db, world.condo, "B1", date(2026, 6, 15), date(2026, 6, 22))
    mikes, mike = book(db, world.condo, "B2", date(2026, 6, 22), date(2026, 6, 25), guest="Mike Chen")
    arriving = load(db, new_request(db, world.condo, date(2026, 6, 22), origin=Origin.guest))
    assert (arriving.booking_id, arriving.guest_id) == (mikes, mike)
    named = load(db, new_request(db, world.condo, date(2026, 6, 22), origin=Origin.guest, guest_id=sarah))
    assert (named.booking_id, named.guest_id) == (sarahs, sarah)
    with pytest.raises(InvalidInput, match="not the guest of booking"):
        new_request(db, world.condo, date(2026, 6, 22), booking_id=mikes, guest_id=sarah)


def test_what_may_be_requested_and_by_whom(db: Database, world: World) -> None:
    booking, _ = book(db, world.loft, "B1", date(2026, 6, 15), date(2026, 6, 22))
    day = date(2026, 6, 16)
    with pytest.raises(InvalidInput, match="guests cannot request") as refused:
        new_request(db, world.condo, day, origin=Origin.guest, service_type="grocery_stocking")
    assert refused.value.field == "service_type"
    assert load(db, new_request(db, world.condo, day, service_type="grocery_stocking")).status == S.scheduled
    assert load(db, new_request(db, world.condo, day, origin=Origin.owner, service_type=6)).service_type.key == (
        "grocery_delivery"
    )
    with db.unit_of_work() as session:
        session.execute(update(ServiceType).where(ServiceType.key == "private_chef").values(active=False))
    with pytest.raises(InvalidInput, match="no longer offered"):
        new_request(db, world.condo, day, service_type="private_chef")
    with pytest.raises(NotFound):
        new_request(db, world.condo, day, service_type="helicopter")
    with pytest.raises(NotFound):
        new_request(db, world.loft + 100, day)
    with pytest.raises(InvalidInput, match="is not at Beach Condo 123"):
        new_request(db, world.condo, day, booking_id=booking)
    with pytest.raises(InvalidInput, match="automation rules"):
        new_request(db, world.condo, day, origin=Origin.automation)
    linked = load(db, new_request(db, world.loft, day, origin=Origin.owner, booking_id=booking, notes="  gate code "))
    assert (linked.booking_id, linked.notes, linked.status) == (booking, "gate code", S.requested)


ALL_MOVES = list(itertools.product(RequestStatus, RequestStatus))


@pytest.mark.parametrize(("start", "to"), ALL_MOVES, ids=[f"{a.value}->{b.value}" for a, b in ALL_MOVES])
def test_the_status_machine(db: Database, start: RequestStatus, to: RequestStatus) -> None:
    request_id = in_status(db, make_property(db), start)
    with db.unit_of_work() as session:
        if to in requests.TRANSITIONS[start]:
            moved = requests.change_status(session, request_id, to, actor="user:7", note="done by Ana")
            assert moved.status == to
        else:
            with pytest.raises(
                Conflict, match=f"already {start.value}" if start in requests.FINAL_STATUSES else "go from"
            ):
                requests.change_status(session, request_id, to, actor="user:7")
    allowed = {
        S.requested: {S.scheduled, S.in_progress, S.completed, S.cancelled},
        S.scheduled: {S.in_progress, S.completed, S.cancelled},
        S.in_progress: {S.completed, S.cancelled},
    }.get(start, set())
    assert (to in allowed) == (load(db, request_id).status == to != start)


def test_each_change_is_kept_with_who_and_when(db: Database, world: World) -> None:
    request_id = new_request(db, world.condo, JUNE, origin=Origin.owner, actor="user:3")
    before = utcnow()
    with db.unit_of_work() as session:
        requests.change_status(session, request_id, S.scheduled, actor="user:1", note="Tuesday works")
        requests.change_status(session, request_id, S.in_progress, actor="user:2")
    with db.unit_of_work() as session:
        requests.change_status(session, request_id, S.completed, actor="user:2", note="all set")
    done = load(db, request_id)
    assert [(c.actor, c.from_status, c.to_status, c.note) for c in done.changes] == [
        ("user:3", None, "requested", "owner request"),
        ("user:1", "requested", "scheduled", "Tuesday works"),
        ("user:2", "scheduled", "in_progress", ""),
        ("user:2", "in_progress", "completed", "all set"),
    ]
    assert all(before - timedelta(seconds=1) <= c.at <= utcnow() for c in done.changes[1:])
    assert done.completed_at is not None and done.cancelled_at is None
    cancelled = in_status(db, world.condo, S.cancelled)
    assert load(db, cancelled).cancelled_at is not None and load(db, cancelled).completed_at is None
    with db.unit_of_work() as session, pytest.raises(NotFound):
        requests.change_status(session, 999_999, S.completed, actor="test")


def test_only_active_admins_and_staff_can_be_assigned(db: Database, world: World) -> None:
    request_id = new_request(db, world.condo, JUNE)
    with db.unit_of_work() as session:
        assert (
            requests.assign(session, request_id, world.staff, actor=f"user:{world.admin}").assigned_to_id == world.staff
        )
        assert (
            requests.assign(session, request_id, world.admin, actor=f"user:{world.admin}").assigned_to_id == world.admin
        )
        session.execute(update(User).where(User.id == world.staff).values(is_active=False))
    for who in (world.dana, world.staff, 999_999):  # an owner, an inactive staff member, nobody known
        with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
            requests.assign(session, request_id, who, actor="test")
        assert refused.value.field == "user_id"
    with db.unit_of_work() as session:
        assert requests.assign(session, request_id, None, actor="test").assigned_to_id is None
        requests.change_status(session, request_id, S.completed, actor="test")
    with db.unit_of_work() as session, pytest.raises(Conflict, match="cannot be reassigned"):
        requests.assign(session, request_id, world.admin, actor="test")
    notes = [c.note for c in load(db, request_id).changes]
    assert notes[1:4] == [
        f"assigned to staff@example.com (user {world.staff})",
        f"assigned to admin@example.com (user {world.admin})",
        "assigned to nobody",
    ]
    with db.unit_of_work(write=False) as session:
        told = session.scalars(select(Notification.user_id).where(Notification.topic == "service_request.assigned"))
        assert list(told) == [world.staff]  # the admin assigned it to themselves: no notification


def test_filters_pagination_and_order(db: Database, world: World) -> None:
    booking, _ = book(db, world.loft, "B1", date(2026, 8, 10), date(2026, 8, 12))  # 3 automatic requests
    a = new_request(db, world.condo, date(2026, 6, 2), service_type="airport_transfer")  # no usual time
    b = new_request(db, world.condo, date(2026, 6, 2), service_type="private_chef")  # 18:00
    c = new_request(db, world.condo, date(2026, 6, 2))  # 09:00
    d = new_request(db, world.villa, date(2026, 6, 1), origin=Origin.owner)
    e = new_request(db, world.loft, date(2026, 8, 11), origin=Origin.guest)
    with db.unit_of_work() as session:
        requests.assign(session, b, world.staff, actor="test")
        requests.change_status(session, d, S.cancelled, actor="test")

    def ids(**kw: Any) -> tuple[list[int], int]:
        limit, offset = kw.pop("limit", 50), kw.pop("offset", 0)
        with db.unit_of_work(write=False) as session:
            rows, total = requests.list_requests(session, requests.RequestFilter(**kw), limit=limit, offset=offset)
            return [r.id for r in rows], total

    assert ids(property_id=world.condo) == ([c, b, a], 3)  # by day, then time of day (none last)
    assert ids(limit=2, offset=1)[0] == [c, b] and ids(limit=2, offset=1)[1] == 8
    assert ids(status=S.cancelled) == ([d], 1)
    assert ids(assignee_id=world.staff) == ([b], 1)
    assert ids(origin=Origin.guest) == ([e], 1)
    assert ids(booking_id=booking, origin=Origin.automation)[1] == 3
    assert ids(booking_id=booking, origin=Origin.guest) == ([e], 1)  # linked to the stay
    assert ids(date_from=date(2026, 6, 2), date_to=date(2026, 6, 2)) == ([c, b, a], 3)
    assert ids(owner_id=load_owner(db, world.loft))[1] == 4
    with pytest.raises(InvalidInput):
        ids(date_from=date(2026, 6, 2), date_to=date(2026, 6, 1))


def load_owner(db: Database, property_id: int) -> int:
    with db.unit_of_work(write=False) as session:
        owner_id = requests.get_property(session, property_id).owner_id
        assert owner_id is not None
        return owner_id


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_listing_loads_types_and_history_without_a_query_per_row(db: Database, world: World) -> None:
    def listed() -> int:
        with counted(db) as statements, db.unit_of_work(write=False) as session:
            rows, _ = requests.list_requests(session, requests.RequestFilter(), limit=100, offset=0)
            refs = requests.refs_for(session, rows)
            assert all(r.service_type.name and r.changes and refs.properties[r.property_id] for r in rows)
            return len(statements)

    book(db, world.loft, "B1", date(2026, 8, 10), date(2026, 8, 12))
    few = listed()
    book(db, world.condo, "B2", date(2026, 8, 10), date(2026, 8, 12), guest="Mike Chen", special="birthday")
    for day in range(5):
        new_request(db, world.villa, JUNE + timedelta(days=day), origin=Origin.guest, service_type="private_chef")
    assert listed() == few


def test_service_days_group_open_requests_by_home_and_day(db: Database, world: World) -> None:
    book(db, world.condo, "B1", date(2026, 6, 15), date(2026, 6, 22))  # grocery 13th, check 15th, cleaning 22nd
    chef = new_request(db, world.condo, date(2026, 6, 15), service_type="private_chef")
    gear = new_request(db, world.loft, date(2026, 6, 15))
    dropped = new_request(db, world.villa, date(2026, 6, 15))
    with db.unit_of_work() as session:
        requests.change_status(session, dropped, S.cancelled, actor="test")
        days = requests.service_days(session, date(2026, 6, 13), date(2026, 6, 20))
        assert [(d.day, d.property.name, [r.service_type.key for r in d.requests]) for d in days] == [
            (date(2026, 6, 13), "Beach Condo 123", ["grocery_stocking"]),
            (date(2026, 6, 15), "Beach Condo 123", ["cleaning_verification", "private_chef"]),
            (date(2026, 6, 15), "Harbor Loft", ["beach_gear_delivery"]),
        ]
        assert days[1].requests[1].id == chef and days[2].requests[0].id == gear
        only_loft = requests.service_days(session, date(2026, 6, 1), date(2026, 6, 30), property_id=world.loft)
        assert [(d.property.id, len(d.requests)) for d in only_loft] == [(world.loft, 1)]
        with pytest.raises(InvalidInput, match="at most"):
            requests.service_days(session, date(2026, 6, 1), date(2026, 12, 1))
        with pytest.raises(InvalidInput, match="before"):
            requests.service_days(session, date(2026, 6, 2), date(2026, 6, 1))


def test_the_owners_logins_are_told_of_each_new_request(db: Database, world: World) -> None:
    book(db, world.condo, "B1", date(2026, 6, 15), date(2026, 6, 22))  # automation alone tells nobody
    new_request(db, world.condo, date(2026, 6, 18), origin=Origin.guest, notes="4 chairs please")
    new_request(db, world.villa, date(2026, 6, 20), service_type="private_chef")
    new_request(db, world.condo, date(2026, 6, 21), origin=Origin.owner, actor=f"user:{world.dana}")
    with db.unit_of_work(write=False) as session:
        feed = session.scalars(
            select(Notification).where(Notification.topic == "service_request.created").order_by(Notification.id)
        ).all()
    assert [(n.user_id, n.title) for n in feed] == [
        (world.dana, "Service request from current guest at Beach Condo 123"),
        (world.dana2, "Service request from current guest at Beach Condo 123"),
        (world.admin, "Service request from current guest at Beach Condo 123"),
        (world.dana, "New service request at Sunset Villa"),
        (world.dana2, "New service request at Sunset Villa"),
        (world.admin, "New service request at Sunset Villa"),
        (world.dana2, "New service request at Beach Condo 123"),  # Dana filed it herself
        (world.admin, "New service request at Beach Condo 123"),
    ]
    assert "Beach gear delivery" in feed[0].body and "Thu Jun 18, 2026 at 09:00" in feed[0].body
    assert "4 chairs please" in feed[0].body
    assert feed[0].link == f"/owner/properties/{world.condo}"
    assert feed[2].link == f"/admin/requests?property={world.condo}"
    assert world.omar not in {n.user_id for n in feed} and world.staff not in {n.user_id for n in feed}
