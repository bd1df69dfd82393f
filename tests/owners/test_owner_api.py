"""The owner portal JSON API: card and booking shapes, query parameters, and who may call it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.integrations.base import EventKind
from luxserv.properties.models import DEFAULT_TIME_ZONE
from tests.factories import login
from tests.owners.conftest import Logins, World, add_maintenance, book, settle


def today() -> date:
    return local_today(DEFAULT_TIME_ZONE)


@pytest.fixture
def scene(db: Database, world: World) -> dict[str, int]:
    """Sarah mid-stay at the condo (checks out in 2 days), Mike next; the villa free until Olivia comes."""
    t = today()
    sarah = book(
        db, world.condo, "SARAH", t - timedelta(days=5), t + timedelta(days=2), special="Celebrating anniversary"
    )
    mike = book(db, world.condo, "MIKE", t + timedelta(days=4), t + timedelta(days=9), guest="Mike Chen", guests=2,
                channel="vrbo")  # fmt: skip
    olivia = book(db, world.villa, "OLIVIA", t + timedelta(days=9), t + timedelta(days=15), guest="Olivia Martinez",
                  guests=8, channel="direct")  # fmt: skip
    gone = book(db, world.condo, "GONE", t + timedelta(days=20), t + timedelta(days=22), guest="Carl Cancelled",
                kind=EventKind.cancelled)  # fmt: skip
    settle(db, world.condo, keep=((sarah, "grocery_stocking"), (sarah, "celebration_setup")))
    settle(db, world.villa)
    item = add_maintenance(db, world.condo, "AC service due", t + timedelta(days=3))
    return {"sarah": sarah, "mike": mike, "olivia": olivia, "gone": gone, "item": item}


def test_the_cards_as_json(client: TestClient, world: World, logins: Logins, scene: dict[str, int]) -> None:
    login(client, logins.email("dana"))
    response = client.get("/api/owner/properties")
    assert response.status_code == 200
    body = response.json()
    t = today()
    assert body["total"] == 2 and [p["name"] for p in body["properties"]] == ["Beach Condo 123", "Sea Breeze Villa"]
    condo, villa = body["properties"]
    assert condo == {
        "id": world.condo,
        "name": "Beach Condo 123",
        "address": "17751 Front Beach Rd, Unit 123",
        "city": "Panama City Beach",
        "time_zone": "America/Chicago",
        "today": t.isoformat(),
        "available": False,
        "current": {
            "booking_id": scene["sarah"],
            "guest_name": "Sarah Johnson",
            "guests": 4,
            "check_in": (t - timedelta(days=5)).isoformat(),
            "check_out": (t + timedelta(days=2)).isoformat(),
            "days_left": 2,
            "days_left_label": "2 days",
        },
        "next": {
            "booking_id": scene["mike"],
            "guest_name": "Mike Chen",
            "guests": 2,
            "check_in": (t + timedelta(days=4)).isoformat(),
            "check_out": (t + timedelta(days=9)).isoformat(),
        },
        "active_requests": 2,
        "active_services": ["Grocery stocking", "Celebration setup"],
        "maintenance": [
            {
                "id": scene["item"],
                "title": "AC service due",
                "due_on": (t + timedelta(days=3)).isoformat(),
                "state": "due",
            },
        ],
    }
    assert villa["available"] is True and villa["current"] is None
    assert (villa["next"]["guest_name"], villa["next"]["check_in"]) == (
        "Olivia Martinez",
        (t + timedelta(9)).isoformat(),
    )
    assert (villa["active_requests"], villa["active_services"], villa["maintenance"]) == (0, [], [])


def test_admins_see_every_home_paginated(client: TestClient, world: World, logins: Logins) -> None:
    login(client, logins.email("admin"))
    body = client.get("/api/owner/properties", params={"limit": 2}).json()
    assert body["total"] == 3 and [p["name"] for p in body["properties"]] == ["Beach Condo 123", "Harbor Loft"]
    body = client.get("/api/owner/properties", params={"limit": 2, "offset": 2}).json()
    assert [p["name"] for p in body["properties"]] == ["Sea Breeze Villa"]
    assert client.get("/api/owner/properties", params={"limit": 0}).status_code == 422


def test_a_homes_bookings_as_json(client: TestClient, world: World, logins: Logins, scene: dict[str, int]) -> None:
    login(client, logins.email("dana"))
    path = f"/api/owner/properties/{world.condo}/bookings"
    body = client.get(path).json()
    assert body["total"] == 3
    assert [b["id"] for b in body["bookings"]] == [scene["sarah"], scene["mike"], scene["gone"]]
    assert body["bookings"][1] == {
        "id": scene["mike"],
        "guest_name": "Mike Chen",
        "check_in": (today() + timedelta(days=4)).isoformat(),
        "check_out": (today() + timedelta(days=9)).isoformat(),
        "guests": 2,
        "status": "confirmed",
        "channel": "vrbo",
        "special_requests": "",
    }
    t = today()
    upcoming = client.get(
        path, params={"from": (t + timedelta(days=2)).isoformat(), "to": (t + timedelta(30)).isoformat()}
    )
    assert [b["guest_name"] for b in upcoming.json()["bookings"]] == ["Mike Chen", "Carl Cancelled"]
    cancelled = client.get(path, params={"status": "cancelled"}).json()
    assert [b["id"] for b in cancelled["bookings"]] == [scene["gone"]]
    backwards = client.get(path, params={"from": t.isoformat(), "to": (t - timedelta(days=1)).isoformat()})
    assert backwards.status_code == 422 and backwards.json()["field"] == "to"
    assert client.get(path, params={"status": "sleeping"}).status_code == 422
    assert client.get(path, params={"from": "June 1"}).status_code == 422


def test_staff_may_read_any_homes_bookings(
    client: TestClient, world: World, logins: Logins, scene: dict[str, int]
) -> None:
    login(client, logins.email("staff"))
    assert client.get(f"/api/owner/properties/{world.villa}/bookings").json()["total"] == 1
    assert client.get(f"/api/owner/properties/{world.loft}/bookings").json() == {"bookings": [], "total": 0}
    assert client.get("/api/owner/properties/9999/bookings").status_code == 404


def test_the_owner_routes_are_in_the_openapi_with_stable_ids(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/api/owner/properties"]["get"]["operationId"] == "list_owner_properties"
    bookings = paths["/api/owner/properties/{property_id}/bookings"]["get"]
    assert bookings["operationId"] == "list_owner_property_bookings"
    assert {p["name"] for p in bookings["parameters"]} >= {"from", "to", "status"}
    assert not any(path.startswith("/owner") for path in paths)
