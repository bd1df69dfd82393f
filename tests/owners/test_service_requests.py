"""`owners.service_requests`: a home's requests filtered by day, service, guest and status; filing one."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.core.errors import InvalidInput, NotFound
from luxserv.owners import service_requests as asks
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services.models import Origin, RequestStatus, ServiceType
from tests.owners.conftest import World, book


def type_id(db: Database, key: str) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalars(select(ServiceType.id).where(ServiceType.key == key)).one()


def listed(db: Database, property_id: int, query: asks.RequestQuery, **kw: object) -> tuple[list[tuple[str, ...]], int]:
    with db.unit_of_work(write=False) as session:
        rows, total = asks.property_requests(session, property_id, query, **kw)  # type: ignore[arg-type]
    return [(r.day.isoformat(), r.service_name, r.guest_name or "-", r.status.value) for r in rows], total


@pytest.fixture
def stays(db: Database, world: World) -> None:
    book(db, world.condo, "SARAH", date(2026, 6, 15), date(2026, 6, 22), special="Celebrating anniversary")
    book(db, world.condo, "MIKE", date(2026, 6, 24), date(2026, 6, 29), guest="Mike Chen")
    book(db, world.loft, "OMAR", date(2026, 6, 15), date(2026, 6, 20), guest="Sarah Otherhome")


def test_filters_by_day_service_guest_and_status(db: Database, world: World, stays: None) -> None:
    everything, total = listed(db, world.condo, asks.RequestQuery())
    assert total == 7 and everything[0] == ("2026-06-13", "Grocery stocking", "Sarah Johnson", "scheduled")
    rows, total = listed(db, world.condo, asks.RequestQuery(date_from=date(2026, 6, 22), date_to=date(2026, 6, 24)))
    assert rows == [
        ("2026-06-22", "Grocery stocking", "Mike Chen", "scheduled"),
        ("2026-06-22", "Post-checkout cleaning", "Sarah Johnson", "scheduled"),
        ("2026-06-24", "Cleaning verification", "Mike Chen", "scheduled"),
    ]
    rows, _ = listed(db, world.condo, asks.RequestQuery(service_type_id=type_id(db, "celebration_setup")))
    assert rows == [("2026-06-15", "Celebration setup", "Sarah Johnson", "scheduled")]
    rows, total = listed(db, world.condo, asks.RequestQuery(guest="  mike CH "))
    assert total == 3 and {r[2] for r in rows} == {"Mike Chen"}
    assert listed(db, world.condo, asks.RequestQuery(guest="Otherhome")) == ([], 0)  # Omar's guest, Omar's home
    assert listed(db, world.condo, asks.RequestQuery(guest="%")) == ([], 0)  # a wildcard is just a character
    assert listed(db, world.condo, asks.RequestQuery(status=RequestStatus.requested)) == ([], 0)
    rows, total = listed(db, world.condo, asks.RequestQuery(), limit=2, offset=6)
    assert total == 7 and len(rows) == 1


def test_bad_filters_and_foreign_homes_are_refused(db: Database, world: World, stays: None) -> None:
    with pytest.raises(InvalidInput) as error:
        listed(db, world.condo, asks.RequestQuery(date_from=date(2026, 6, 22), date_to=date(2026, 6, 1)))
    assert error.value.field == "to"
    with pytest.raises(InvalidInput):
        listed(db, world.condo, asks.RequestQuery(guest="x" * 101))
    with pytest.raises(NotFound):
        listed(db, world.loft, asks.RequestQuery(), owner_id=world.dana)
    assert listed(db, world.loft, asks.RequestQuery(), owner_id=world.omar)[1] == 3


def test_an_owner_files_a_request_for_their_home(db: Database, world: World) -> None:
    day = local_today(DEFAULT_TIME_ZONE) + timedelta(days=3)
    with db.unit_of_work() as session:
        made = asks.file_request(
            session, world.condo, owner_id=world.dana, service_type_id=type_id(db, "private_chef"), day=day,
            time_of_day=time(19, 30), notes="  Dinner for six  ", origin=Origin.owner, actor="user:1",
        )  # fmt: skip
        assert (made.status, made.origin, made.notes, made.time_of_day) == (
            RequestStatus.requested, Origin.owner, "Dinner for six", time(19, 30),
        )  # fmt: skip
    with db.unit_of_work(write=False) as session:
        assert {kind.key for kind in asks.requestable_services(session)} >= {"private_chef", "maintenance"}
        assert "grocery_stocking" not in {kind.key for kind in asks.requestable_services(session)}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_type_id": "grocery_stocking"}, "service_type"),  # automation only
        ({"service_type_id": 9999}, "service_type"),
        ({"day": "yesterday"}, "scheduled_for"),
        ({"notes": "x" * 2001}, "notes"),
    ],
)
def test_filing_is_validated(db: Database, world: World, change: dict[str, object], field: str) -> None:
    today = local_today(DEFAULT_TIME_ZONE)
    values: dict[str, object] = {"service_type_id": type_id(db, "maintenance"), "day": today, "notes": ""}
    values.update(change)
    if values["service_type_id"] == "grocery_stocking":
        values["service_type_id"] = type_id(db, "grocery_stocking")
    if values["day"] == "yesterday":
        values["day"] = today - timedelta(days=1)
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as error:
        asks.file_request(
            session, world.condo, owner_id=world.dana, time_of_day=None, origin=Origin.owner, actor="t",
            **values,  # type: ignore[arg-type]
        )  # fmt: skip
    assert error.value.field == field


def test_filing_for_another_owners_home_is_not_found(db: Database, world: World) -> None:
    with db.unit_of_work() as session, pytest.raises(NotFound):
        asks.file_request(
            session, world.loft, owner_id=world.dana, service_type_id=type_id(db, "maintenance"),
            day=local_today(DEFAULT_TIME_ZONE), time_of_day=None, notes="", origin=Origin.owner, actor="t",
        )  # fmt: skip
