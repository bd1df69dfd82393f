"""A guest mid-stay at Dana's condo with a portal code, the app, and helpers to read pages and forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from luxserv.accounts.models import Role
from luxserv.app import create_app
from luxserv.bookings.apply import apply
from luxserv.bookings.models import Booking
from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.portal.access import issue_code
from luxserv.properties.models import DEFAULT_TIME_ZONE
from tests.factories import make_owner, make_property, make_user


@dataclass(frozen=True)
class GuestStay:
    booking_id: int
    guest_id: int
    condo: int  # Dana's home, where the guest stays
    loft: int  # another owner's home
    code: str  # the guest's portal access code
    today: date  # at the property
    check_in: date
    check_out: date


def stay_event(
    property_id: int,
    external_id: str,
    check_in: date,
    check_out: date,
    *,
    name: str = "Sarah Johnson",
    email: str = "sarah@email.com",
    confirmation_code: str | None = None,
    kind: EventKind = EventKind.created,
) -> BookingEvent:
    return BookingEvent(
        kind=kind,
        provider="manual",
        external_id=external_id,
        listing=ListingRef(property_id=property_id),
        guest=GuestInfo(name=name, email=email),
        check_in=check_in,
        check_out=check_out,
        guest_count=4,
        special_requests="Celebrating anniversary",
        confirmation_code=confirmation_code,
    )


def book(db: Database, event: BookingEvent) -> tuple[int, str]:
    """Apply the booking event and issue a portal code for it: (booking id, code)."""
    with db.unit_of_work() as session:
        booking = apply(session, event, actor="test").booking
        assert isinstance(booking, Booking)
        return booking.id, issue_code(session, booking)


@pytest.fixture
def guest_stay(db: Database) -> GuestStay:
    dana, omar = make_owner(db), make_owner(db, "Omar Haddad", "omar@example.com")
    condo = make_property(db, owner_id=dana)
    loft = make_property(db, owner_id=omar, name="Harbor Loft", address="9 Harbor St")
    make_user(db, "admin@example.com", Role.admin)
    make_user(db, "dana@login.example", Role.owner, owner_id=dana)
    today = local_today(DEFAULT_TIME_ZONE)
    check_in, check_out = today - timedelta(days=2), today + timedelta(days=3)
    booking_id, code = book(db, stay_event(condo, "HM-SARAH", check_in, check_out, confirmation_code="HMABC12345"))
    with db.unit_of_work(write=False) as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        guest_id = booking.guest_id
    return GuestStay(booking_id, guest_id, condo, loft, code, today, check_in, check_out)


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, db, run_worker=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=("203.0.113.10", 50000)) as test_client:
        yield test_client


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


NOT_FOUND = {"success": False, "error": "We could not find an active stay for that code."}
