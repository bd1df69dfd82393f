"""The guest portal JSON API: opening a stay by access code or by confirmation code + e-mail, the neutral 404,
the answer's shape, and filing service requests that land in the admin queue and the owner's list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from luxserv.accounts.models import User
from luxserv.bookings.apply import apply
from luxserv.core.database import Database
from luxserv.integrations.base import EventKind
from luxserv.outbox.models import Notification, OutboxMessage
from luxserv.portal.access import revoke_codes
from luxserv.portal.models import GuestAccessCode
from luxserv.services.models import Origin, ServiceRequest
from tests.factories import login
from tests.portal.conftest import NOT_FOUND, GuestStay, book, stay_event


def lookup(client: TestClient, code: str) -> tuple[int, Any]:
    response = client.get(f"/api/bookings/lookup/{code}")
    return response.status_code, response.json()


def test_a_code_opens_the_stay_with_only_what_the_guest_needs(client: TestClient, guest_stay: GuestStay) -> None:
    response = client.get(f"/api/bookings/lookup/{guest_stay.code}")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers.get_list("referrer-policy") == ["no-referrer"]
    assert response.json() == {
        "success": True,
        "booking": {
            "property": {"name": "Beach Condo 123", "address": "17751 Front Beach Rd, Unit 123, Panama City Beach, FL"},
            "check_in": guest_stay.check_in.isoformat(),
            "check_out": guest_stay.check_out.isoformat(),
            "nights": 5,
            "guests": 4,
            "guest_name": "Sarah Johnson",
            "guest_email": "sarah@email.com",
            "status": "confirmed",
            "stay": "current",
            "requests": [],  # the team's own planned work (cleanings, groceries) is not listed
        },
    }


def test_every_failure_gets_the_same_answer(client: TestClient, db: Database, guest_stay: GuestStay) -> None:
    failures = {"wrong": lookup(client, "x" * 16), "too long": lookup(client, "a" * 65)}
    # Expired: the code's time is up.
    expiring_id, expiring = book(
        db, stay_event(guest_stay.loft, "B-EXPIRED", guest_stay.today, guest_stay.today + timedelta(3), email="e@x.io")
    )
    assert lookup(client, expiring)[0] == 200
    with db.unit_of_work() as session:
        session.execute(
            update(GuestAccessCode)
            .where(GuestAccessCode.booking_id == expiring_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    failures["expired"] = lookup(client, expiring)
    # A stay that ended longer ago than the grace period.
    old_in, old_out = guest_stay.today - timedelta(days=20), guest_stay.today - timedelta(days=4)
    _, past = book(db, stay_event(guest_stay.condo, "B-PAST", old_in, old_out, email="past@example.com"))
    failures["past the grace period"] = lookup(client, past)
    # Revoked.
    revoked_id, revoked = book(
        db, stay_event(guest_stay.loft, "B-REVOKED", guest_stay.today + timedelta(5), guest_stay.today + timedelta(7))
    )
    with db.unit_of_work() as session:
        assert revoke_codes(session, revoked_id) >= 1
    failures["revoked"] = lookup(client, revoked)
    # The booking was cancelled.
    assert lookup(client, guest_stay.code)[0] == 200
    with db.unit_of_work() as session:
        event = stay_event(guest_stay.condo, "HM-SARAH", guest_stay.check_in, guest_stay.check_out,
                           kind=EventKind.cancelled)  # fmt: skip
        apply(session, event, actor="test")
    failures["cancelled"] = lookup(client, guest_stay.code)
    assert failures == {reason: (404, NOT_FOUND) for reason in failures}


def test_a_confirmation_code_and_the_booking_email_find_the_stay(client: TestClient, guest_stay: GuestStay) -> None:
    response = client.post(
        "/api/bookings/lookup", json={"confirmation_code": " hmabc12345 ", "email": "SARAH@Email.COM"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["booking"]["guest_name"] == "Sarah Johnson"
    assert body["access_code"] != guest_stay.code and len(body["access_code"]) >= 16
    assert response.headers["cache-control"] == "no-store"
    assert lookup(client, body["access_code"]) == (200, {"success": True, "booking": body["booking"]})
    # The booking's own id at the channel works too.
    by_external = client.post(
        "/api/bookings/lookup", json={"confirmation_code": "hm-sarah", "email": "sarah@email.com"}
    )
    assert by_external.status_code == 200
    for attempt in (
        {"confirmation_code": "HMABC12345", "email": "someone@else.com"},
        {"confirmation_code": "HMABC12346", "email": "sarah@email.com"},
        {"confirmation_code": "", "email": "sarah@email.com"},
        {"confirmation_code": "HMABC12345", "email": ""},
    ):
        refused = client.post("/api/bookings/lookup", json=attempt)
        assert (refused.status_code, refused.json()) == (404, NOT_FOUND), attempt


def test_a_confirmation_lookup_of_a_cancelled_or_past_stay_is_refused(
    client: TestClient, db: Database, guest_stay: GuestStay
) -> None:
    old_in, old_out = guest_stay.today - timedelta(days=20), guest_stay.today - timedelta(days=4)
    book(db, stay_event(guest_stay.loft, "B-OLD", old_in, old_out, email="old@example.com", confirmation_code="OLD1"))
    with db.unit_of_work() as session:
        event = stay_event(guest_stay.condo, "HM-SARAH", guest_stay.check_in, guest_stay.check_out,
                           kind=EventKind.cancelled)  # fmt: skip
        apply(session, event, actor="test")
    for code, email in (("HMABC12345", "sarah@email.com"), ("OLD1", "old@example.com")):
        refused = client.post("/api/bookings/lookup", json={"confirmation_code": code, "email": email})
        assert (refused.status_code, refused.json()) == (404, NOT_FOUND)


def test_a_request_filed_by_the_guest_reaches_the_admins_and_the_owner(
    client: TestClient, db: Database, guest_stay: GuestStay
) -> None:
    day = guest_stay.today + timedelta(days=1)
    response = client.post(
        f"/api/bookings/lookup/{guest_stay.code}/service-requests",
        json={"service_type": "beach_gear_delivery", "date": day.isoformat(), "time": "10:30", "notes": "4 chairs"},
    )
    assert response.status_code == 201, response.text
    made = response.json()["request"]
    assert response.json()["success"] is True
    assert made["service"] == {"key": "beach_gear_delivery", "name": "Beach gear delivery"}
    assert (made["date"], made["time"], made["notes"], made["status"]) == (
        day.isoformat(),
        "10:30:00",
        "4 chairs",
        "requested",
    )
    assert [step["status"] for step in made["history"]] == ["requested"]
    assert lookup(client, guest_stay.code)[1]["booking"]["requests"] == [made]

    with db.unit_of_work(write=False) as session:
        row = session.get(ServiceRequest, made["id"])
        assert row is not None
        assert (row.booking_id, row.guest_id, row.origin, row.property_id) == (
            guest_stay.booking_id, guest_stay.guest_id, Origin.guest, guest_stay.condo
        )  # fmt: skip
        dana = session.scalars(select(User.id).where(User.email == "dana@login.example")).one()
        owner_told = session.scalars(
            select(Notification.title).where(
                Notification.user_id == dana, Notification.topic == "service_request.created"
            )
        ).all()
        assert owner_told == ["Service request from current guest at Beach Condo 123"]
        receipt = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "guest.request_received")).one()
        assert receipt.recipient == "sarah@email.com"

    admin = {"Authorization": f"Bearer {login(client, 'admin@example.com')['token']}"}
    owner = {"Authorization": f"Bearer {login(client, 'dana@login.example')['token']}"}
    client.cookies.clear()
    queue = client.get("/api/service-requests", params={"origin": "guest"}, headers=admin).json()
    assert [(r["id"], r["booking_id"], r["guest"]["name"]) for r in queue["items"]] == [
        (made["id"], guest_stay.booking_id, "Sarah Johnson")
    ]
    listed = client.get(f"/api/owner/properties/{guest_stay.condo}/service-requests", headers=owner).json()
    assert [(r["id"], r["origin"]) for r in listed["requests"] if r["origin"] == "guest"] == [(made["id"], "guest")]


def test_the_guest_may_ask_only_for_offered_services_on_days_of_the_stay(
    client: TestClient, db: Database, guest_stay: GuestStay
) -> None:
    path = f"/api/bookings/lookup/{guest_stay.code}/service-requests"
    tomorrow = (guest_stay.today + timedelta(days=1)).isoformat()
    for body, field in [
        ({"service_type": "beach_gear_delivery", "date": (guest_stay.check_out + timedelta(1)).isoformat()}, "date"),
        ({"service_type": "beach_gear_delivery", "date": (guest_stay.check_in - timedelta(1)).isoformat()}, "date"),
        ({"service_type": "beach_gear_delivery", "date": (guest_stay.today - timedelta(1)).isoformat()}, "date"),
        ({"service_type": "post_checkout_cleaning", "date": tomorrow}, "service_type"),  # not guest-requestable
        ({"service_type": "helicopter", "date": tomorrow}, "service_type"),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field
    refused = client.post("/api/bookings/lookup/not-a-real-code/service-requests",
                          json={"service_type": "beach_gear_delivery", "date": tomorrow})  # fmt: skip
    assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    # Check-out day is still part of the stay.
    last = client.post(path, json={"service_type": "airport_transfer", "date": guest_stay.check_out.isoformat()})
    assert last.status_code == 201, last.text
    with db.unit_of_work(write=False) as session:
        guest_made = session.scalars(select(ServiceRequest.id).where(ServiceRequest.origin == Origin.guest)).all()
    assert guest_made == [last.json()["request"]["id"]]


def test_the_lookup_endpoints_are_in_the_openapi(client: TestClient) -> None:
    operations = {
        (method.upper(), path): op["operationId"]
        for path, item in client.get("/openapi.json").json()["paths"].items()
        for method, op in item.items()
    }
    assert operations[("GET", "/api/bookings/lookup/{code}")] == "lookup_booking"
    assert operations[("POST", "/api/bookings/lookup")] == "lookup_booking_by_confirmation"
    assert operations[("POST", "/api/bookings/lookup/{code}/service-requests")] == "create_guest_service_request"
