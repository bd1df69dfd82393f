"""Two owners with homes of their own, logins for each role, and helpers that book stays through the real
services (so automation plans their service requests as in production)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from luxserv.accounts.models import Role
from luxserv.app import create_app
from luxserv.bookings.apply import apply
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.properties.models import MaintenanceItem, Property
from luxserv.services.models import RequestStatus, ServiceRequest, ServiceType
from tests.factories import PASSWORD, make_owner, make_property, make_user


@dataclass(frozen=True)
class World:
    dana: int  # owner
    omar: int  # another owner
    condo: int  # Dana's
    villa: int  # Dana's
    loft: int  # Omar's


@pytest.fixture
def world(db: Database) -> World:
    dana, omar = make_owner(db), make_owner(db, "Omar Haddad", "omar@example.com")
    return World(
        dana=dana,
        omar=omar,
        condo=make_property(db, owner_id=dana),
        villa=make_property(db, owner_id=dana, name="Sea Breeze Villa", address="20 Sea Breeze Ct"),
        loft=make_property(db, owner_id=omar, name="Harbor Loft", address="9 Harbor St"),
    )


LOGINS = {"dana": "dana@login.example", "omar": "omar@login.example", "admin": "admin@example.com",
          "staff": "staff@example.com"}  # fmt: skip


class Logins:
    """A login per name in LOGINS (each owner's, an admin's, a staff member's), made when first asked for:
    hashing passwords is slow, so a test pays only for those it uses."""

    def __init__(self, db: Database, world: World) -> None:
        self.db, self.world, self.ids = db, world, dict[str, int]()

    def __getitem__(self, who: str) -> int:
        if who not in self.ids:
            role = {"admin": Role.admin, "staff": Role.staff}.get(who, Role.owner)
            owner = {"dana": self.world.dana, "omar": self.world.omar}.get(who)
            self.ids[who] = make_user(self.db, LOGINS[who], role, owner_id=owner)
        return self.ids[who]

    def email(self, who: str) -> str:
        self[who]
        return LOGINS[who]


@pytest.fixture
def logins(db: Database, world: World) -> Logins:
    return Logins(db, world)


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_app(settings, db, run_worker=False)
    with TestClient(app) as test_client:
        yield test_client


def book(
    db: Database,
    property_id: int,
    external_id: str,
    check_in: date,
    check_out: date,
    *,
    guest: str = "Sarah Johnson",
    guests: int = 4,
    special: str = "",
    kind: EventKind = EventKind.created,
    channel: str | None = "airbnb",
) -> int:
    """A booking applied like any channel's event; returns its id."""
    event = BookingEvent(
        kind=kind,
        provider="manual",
        external_id=external_id,
        listing=ListingRef(property_id=property_id),
        guest=GuestInfo(name=guest, email=f"{guest.split()[0].lower()}.{external_id.lower()}@example.com"),
        check_in=check_in,
        check_out=check_out,
        guest_count=guests,
        special_requests=special,
        channel=channel,
    )
    with db.unit_of_work() as session:
        return apply(session, event, actor="test").booking.id


def settle(db: Database, property_id: int, *, keep: tuple[tuple[int, str], ...] = ()) -> None:
    """Complete every open request at the property but those given as (booking id, service type key)."""
    with db.unit_of_work() as session:
        rows = session.execute(
            select(ServiceRequest.id, ServiceRequest.booking_id, ServiceType.key)
            .join(ServiceType, ServiceType.id == ServiceRequest.service_type_id)
            .where(ServiceRequest.property_id == property_id)
        ).all()
        done = [row.id for row in rows if (row.booking_id, row.key) not in keep]
        if done:
            session.execute(
                update(ServiceRequest).where(ServiceRequest.id.in_(done)).values(status=RequestStatus.completed)
            )


def set_time_zone(db: Database, property_id: int, time_zone: str) -> None:
    with db.unit_of_work() as session:
        session.execute(update(Property).where(Property.id == property_id).values(time_zone=time_zone))


def add_maintenance(db: Database, property_id: int, title: str, due: date) -> int:
    with db.unit_of_work() as session:
        item = MaintenanceItem(property_id=property_id, title=title, due_on=due)
        session.add(item)
        session.flush()
        return item.id


def sign_in(client: TestClient, email: str) -> None:
    """Sign in through the HTML form, as a browser does (cookie session + CSRF cookie)."""
    client.cookies.clear()
    token = form_token(client, "/login")
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/owner"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303, response.text


def form_token(client: TestClient, path: str) -> str:
    """The CSRF token of the form on a page (fetching the page sets the matching cookie)."""
    page = client.get(path)
    assert page.status_code in (200, 422), page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)
