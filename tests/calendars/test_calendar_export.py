"""Owners' calendar feeds: what they contain, who may have a URL, and rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select

from luxserv.accounts.models import Role
from luxserv.bookings.apply import apply
from luxserv.calendars.api import router as calendars_router
from luxserv.calendars.service import export_url, render_calendar, rotate
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.errors import NotFound
from luxserv.core.security import token_digest
from luxserv.core.settings import Settings
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.integrations.models import CalendarToken
from luxserv.properties.models import Property
from luxserv.services.models import Origin, RequestStatus, ServiceRequest, ServiceType
from tests.factories import login, make_owner, make_property, make_user

BASE = "http://testserver"


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    """The app, with the calendar routes mounted if luxserv.app does not include them (yet)."""
    app = cast(FastAPI, app_client.app)
    if not any(getattr(route, "path", "") == "/calendars/{token}.ics" for route in app.routes):
        app.include_router(calendars_router)
    return app_client


@dataclass
class World:
    dana: int  # owner
    omar: int  # another owner
    condo: int  # Dana's
    villa: int  # Dana's too
    loft: int  # Omar's
    stay: int
    cancelled: int
    villa_stay: int
    tasks: dict[str, int]


def book(db: Database, property_id: int, external_id: str, name: str, guests: int, kind: EventKind) -> int:
    event = BookingEvent(
        kind=kind,
        provider="manual",
        external_id=external_id,
        listing=ListingRef(property_id=property_id),
        guest=GuestInfo(name=name),
        check_in=date(2027, 6, 15),
        check_out=date(2027, 6, 22),
        guest_count=guests,
        channel="airbnb",
    )
    with db.unit_of_work() as session:
        return apply(session, event, actor="test").booking.id


def task(db: Database, property_id: int, service_type: str, status: RequestStatus, day: date) -> int:
    with db.unit_of_work() as session:
        type_id = session.scalars(select(ServiceType.id).where(ServiceType.key == service_type)).one()
        row = ServiceRequest(
            property_id=property_id,
            service_type_id=type_id,
            origin=Origin.admin,
            scheduled_for=day,
            time_of_day=time(10, 30),
            status=status,
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.fixture
def world(db: Database) -> World:
    dana, omar = make_owner(db), make_owner(db, "Omar Haddad", "omar@example.com")
    condo = make_property(db, owner_id=dana)
    villa = make_property(db, owner_id=dana, name="Sunset Villa", address="1 Sunset Way")
    loft = make_property(db, owner_id=omar, name="Harbor Loft", address="9 Harbor St")
    return World(
        dana=dana,
        omar=omar,
        condo=condo,
        villa=villa,
        loft=loft,
        stay=book(db, condo, "S-1", "Zoë Ångström", 4, EventKind.created),
        cancelled=book(db, condo, "S-2", "Carl Cancelled", 2, EventKind.cancelled),
        villa_stay=book(db, villa, "S-3", "Vera Villa", 3, EventKind.created),
        tasks={
            "scheduled": task(db, condo, "grocery_stocking", RequestStatus.scheduled, date(2027, 6, 15)),
            "in_progress": task(db, condo, "celebration_setup", RequestStatus.in_progress, date(2027, 6, 16)),
            "completed": task(db, condo, "post_checkout_cleaning", RequestStatus.completed, date(2027, 6, 14)),
            "cancelled": task(db, condo, "private_chef", RequestStatus.cancelled, date(2027, 6, 17)),
            "villa": task(db, villa, "maintenance", RequestStatus.scheduled, date(2027, 6, 18)),
        },
    )


def url_for(db: Database, settings: Settings, owner_id: int, property_id: int) -> str:
    with db.unit_of_work() as session:
        return export_url(session, Vault(settings), BASE, owner_id=owner_id, property_id=property_id)


def path(url: str) -> str:
    return url.removeprefix(BASE)


def test_the_feed_has_the_stays_and_open_tasks_of_that_property_only(
    db: Database, settings: Settings, world: World, client: TestClient
) -> None:
    response = client.get(path(url_for(db, settings, world.dana, world.condo)))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert b"\r\n" in response.content
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == "Beach Condo 123 (LuxServ)"
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    with db.unit_of_work(write=False) as session:
        # The live stay's own automatic services (grocery, cleaning verification, post-checkout cleaning).
        automatic = {
            f"task-{request_id}@luxserv"
            for request_id in session.scalars(
                select(ServiceRequest.id).where(
                    ServiceRequest.property_id == world.condo,
                    ServiceRequest.origin == Origin.automation,
                    ServiceRequest.status == RequestStatus.scheduled,
                )
            )
        }
    assert len(automatic) == 3
    assert (
        set(events)
        == {
            f"booking-{world.stay}@luxserv",
            f"task-{world.tasks['scheduled']}@luxserv",
            f"task-{world.tasks['in_progress']}@luxserv",
        }
        | automatic
    )
    stay = events[f"booking-{world.stay}@luxserv"]
    assert str(stay["SUMMARY"]) == "Stay: Zoë (4 guests)"  # first name only: no surname, e-mail or phone
    assert (stay.decoded("DTSTART"), stay.decoded("DTEND")) == (date(2027, 6, 15), date(2027, 6, 22))
    assert stay["DTSTART"].params.get("VALUE") == "DATE"
    assert "DTSTAMP" in stay
    grocery = events[f"task-{world.tasks['scheduled']}@luxserv"]
    assert str(grocery["SUMMARY"]) == "Service: Grocery stocking at 10:30"
    assert (grocery.decoded("DTSTART"), grocery.decoded("DTEND")) == (date(2027, 6, 15), date(2027, 6, 16))


def test_the_same_url_is_shown_again_and_only_a_digest_finds_it(db: Database, settings: Settings, world: World) -> None:
    first = url_for(db, settings, world.dana, world.condo)
    assert url_for(db, settings, world.dana, world.condo) == first
    token = first.removeprefix(f"{BASE}/calendars/").removesuffix(".ics")
    assert len(token) >= 43  # 256 random bits, URL-safe base64
    assert url_for(db, settings, world.dana, world.villa) != first
    with db.unit_of_work(write=False) as session:
        row = session.scalars(select(CalendarToken).where(CalendarToken.property_id == world.condo)).one()
        assert row.token_digest == token_digest(token)
        assert token not in row.token_encrypted
        assert b"BEGIN:VCALENDAR" in render_calendar(session, token)


def test_a_rotated_url_stops_working(db: Database, settings: Settings, world: World, client: TestClient) -> None:
    old = url_for(db, settings, world.dana, world.condo)
    with db.unit_of_work() as session:
        new = rotate(session, Vault(settings), BASE, owner_id=world.dana, property_id=world.condo)
    assert new != old
    assert url_for(db, settings, world.dana, world.condo) == new
    gone = client.get(path(old))
    unknown = client.get("/calendars/" + "A" * 43 + ".ics")
    assert gone.status_code == unknown.status_code == 404
    assert gone.json() == unknown.json()
    assert client.get(path(new)).status_code == 200
    assert client.get("/calendars/x.ics").status_code == 404


def test_an_owner_cannot_get_a_url_for_another_owners_property(db: Database, settings: Settings, world: World) -> None:
    with db.unit_of_work() as session:
        with pytest.raises(NotFound):
            export_url(session, Vault(settings), BASE, owner_id=world.omar, property_id=world.condo)
        with pytest.raises(NotFound):
            rotate(session, Vault(settings), BASE, owner_id=world.omar, property_id=world.condo)
        with pytest.raises(NotFound):
            export_url(session, Vault(settings), BASE, owner_id=world.dana, property_id=world.loft + 100)
    with db.unit_of_work(write=False) as session:
        assert session.scalars(select(CalendarToken)).all() == []


def test_a_url_stops_working_when_the_property_changes_owner(
    db: Database, settings: Settings, world: World, client: TestClient
) -> None:
    url = url_for(db, settings, world.dana, world.condo)
    with db.unit_of_work() as session:
        prop = session.get(Property, world.condo)
        assert prop is not None
        prop.owner_id = world.omar
    assert client.get(path(url)).status_code == 404


def test_owners_and_admins_get_urls_through_the_api(
    db: Database, settings: Settings, world: World, client: TestClient
) -> None:
    make_user(db, "dana@login.example", Role.owner, owner_id=world.dana)
    make_user(db, "omar@login.example", Role.owner, owner_id=world.omar)
    make_user(db)  # admin
    tokens = {email: login(client, email)["token"] for email in ("dana@login.example", "omar@login.example")}
    tokens["admin"] = login(client)["token"]
    client.cookies.clear()

    def post(who: str, suffix: str = "") -> tuple[int, dict[str, str]]:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        response = client.post(f"/api/calendars/properties/{world.condo}{suffix}", headers=headers)
        return response.status_code, response.json()

    assert client.post(f"/api/calendars/properties/{world.condo}").status_code == 401
    status, body = post("dana@login.example")
    assert status == 200
    assert body["url"] == url_for(db, settings, world.dana, world.condo)
    assert post("admin") == (200, body)  # staff see the owner's URL
    assert post("omar@login.example")[0] == 404
    assert post("omar@login.example", "/rotate")[0] == 404
    status, rotated = post("dana@login.example", "/rotate")
    assert status == 200
    assert rotated["url"] != body["url"]
    assert client.get(path(body["url"])).status_code == 404
