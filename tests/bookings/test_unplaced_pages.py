"""The unplaced bookings page: placing a booking with the form plans its services and (with "remember")
teaches its listing, so the next event for that listing lands on the property by itself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.accounts.models import Role
from luxserv.app import create_app
from luxserv.bookings.models import Booking
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.services.models import ServiceRequest
from tests.conftest import WEBHOOK_SECRET
from tests.factories import flat_payload, login, make_owner, make_property, make_user, post_signed

PAGE = "/admin/unplaced"


def send(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = post_signed(client, flat_payload(**overrides), secret=WEBHOOK_SECRET)
    assert response.status_code == 200, response.text
    return dict(response.json())


def grace(client: TestClient, booking_id: str = "B4", **overrides: Any) -> dict[str, Any]:
    """Grace Lee's booking for a cottage no property answers to, with the channel's listing id."""
    fields: dict[str, Any] = {
        "booking_id": booking_id,
        "property": "Gulf View Cottage, Panama City Beach",
        "property_id": "GVC-77",
        "guest_name": "Grace Lee",
        "guest_email": "grace.lee@example.com",
        "check_in": "2026-06-10",
        "check_out": "2026-06-15",
        "guest_count": 2,
        "special_requests": "",
    }
    return send(client, **{**fields, **overrides})


def token(client: TestClient) -> str:
    page = client.get(PAGE)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def requests_of(db: Database, booking_id: int) -> list[ServiceRequest]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(ServiceRequest).where(ServiceRequest.booking_id == booking_id)))


def property_of(db: Database, booking_id: int) -> int | None:
    with db.unit_of_work(write=False) as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        return booking.property_id


@pytest.fixture
def admin(app_client: TestClient, db: Database) -> TestClient:
    make_user(db)
    login(app_client)
    return app_client


def test_the_page_lists_each_unplaced_booking_with_a_place_form(admin: TestClient, db: Database) -> None:
    make_property(db)
    make_property(db, name="Old Shack", address="9 Gone Rd")
    placed = send(admin)  # matches the condo by name
    unplaced = grace(admin)
    html = admin.get(PAGE).text
    assert "Grace Lee" in html and "“Gulf View Cottage, Panama City Beach”" in html and "GVC-77" in html
    assert "Sarah Johnson" not in html
    assert f'action="/admin/unplaced/{unplaced["booking_id"]}/place"' in html
    assert f"/admin/unplaced/{placed['booking_id']}/place" not in html
    assert re.search(r'<input type="checkbox" name="remember" value="true" checked>', html)
    assert "Beach Condo 123" in html and "Old Shack" in html


def test_placing_plans_services_and_remembers_the_listing(admin: TestClient, db: Database) -> None:
    owner = make_owner(db)
    condo = make_property(db, owner_id=owner)
    booking_id = grace(admin)["booking_id"]
    assert property_of(db, booking_id) is None
    assert requests_of(db, booking_id) == []

    done = admin.post(
        f"{PAGE}/{booking_id}/place",
        data={"csrf_token": token(admin), "property_id": str(condo), "remember": "true"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{PAGE}?placed={booking_id}"
    assert property_of(db, booking_id) == condo
    planned = requests_of(db, booking_id)
    assert planned, "placing must plan the booking's services"

    html = admin.get(done.headers["location"]).text
    assert "Placed Grace Lee\N{RIGHT SINGLE QUOTATION MARK}s booking on" in html
    assert "generic listing GVC-77" in html and "name &#39;Gulf View Cottage, Panama City Beach&#39;" in html
    assert f"{len(planned)} service{'s' if len(planned) != 1 else ''} planned" in html
    assert f'action="{PAGE}/{booking_id}/place"' not in html  # no longer listed

    # The listing is remembered: Grace's next booking for it (under another name) lands on the condo directly.
    again = grace(admin, booking_id="B5", property="Cottage by the Gulf", check_in="2026-08-01", check_out="2026-08-04")
    assert property_of(db, again["booking_id"]) == condo
    assert requests_of(db, again["booking_id"])


def test_without_remember_nothing_is_learned(admin: TestClient, db: Database) -> None:
    condo = make_property(db)
    booking_id = grace(admin)["booking_id"]
    done = admin.post(
        f"{PAGE}/{booking_id}/place",
        data={"csrf_token": token(admin), "property_id": str(condo)},  # the box unticked: not sent
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert property_of(db, booking_id) == condo
    assert "Nothing new was learned" in admin.get(done.headers["location"]).text
    later = grace(admin, booking_id="B6", check_in="2026-09-01", check_out="2026-09-04")
    assert property_of(db, later["booking_id"]) is None


def test_a_refused_placement_says_why_next_to_the_booking(admin: TestClient, db: Database) -> None:
    condo = make_property(db)
    booking_id = grace(admin)["booking_id"]
    csrf = token(admin)
    unchosen = admin.post(f"{PAGE}/{booking_id}/place", data={"csrf_token": csrf, "property_id": ""})
    assert unchosen.status_code == 422
    assert re.search(rf'id="property-{booking_id}-error" class="field-error">choose the property', unchosen.text)
    missing = admin.post(f"{PAGE}/{booking_id}/place", data={"csrf_token": csrf, "property_id": "999"})
    assert missing.status_code == 422 and "property 999 not found" in missing.text
    assert property_of(db, booking_id) is None

    first = admin.post(f"{PAGE}/{booking_id}/place", data={"csrf_token": csrf, "property_id": str(condo)})
    assert first.status_code == 200  # followed the redirect
    twice = admin.post(f"{PAGE}/{booking_id}/place", data={"csrf_token": csrf, "property_id": str(condo)})
    assert twice.status_code == 409 and "already on property" in twice.text
    no_token = admin.post(f"{PAGE}/{booking_id}/place", data={"property_id": str(condo)})
    assert no_token.status_code == 403


def test_owners_may_not_place(app_client: TestClient, db: Database) -> None:
    owner = make_owner(db)
    condo = make_property(db, owner_id=owner)
    make_user(db, "dana@login.example", Role.owner, owner_id=owner)
    booking_id = grace(app_client)["booking_id"]
    login(app_client, "dana@login.example")
    assert app_client.get(PAGE).status_code == 403
    csrf = app_client.cookies.get("luxserv_csrf") or ""
    refused = app_client.post(f"{PAGE}/{booking_id}/place", data={"csrf_token": csrf, "property_id": str(condo)})
    assert refused.status_code == 403
    assert property_of(db, booking_id) is None


def test_an_impossible_booking_id_is_not_a_server_error(db: Database, settings: Settings) -> None:
    with TestClient(create_app(settings, db, run_worker=False), raise_server_exceptions=False) as client:
        make_user(db)
        login(client)
        for too_big in ("99999999999999999999", "2147483648"):  # beyond 64 bits; beyond PostgreSQL's integer
            response = client.get(f"/api/bookings/{too_big}")
            assert response.status_code == 404, response.text
            assert "out of range" in response.json()["detail"] or "not found" in response.json()["detail"]
