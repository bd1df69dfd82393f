"""The service requests JSON API: admin and staff routes, service days, and the owner routes' access rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.app import create_app
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.outbox.models import Notification
from luxserv.services.models import Origin
from tests.factories import login
from tests.services.test_requests import World, book, new_request, world

__all__ = ["world"]  # the fixture, shared with the service tests


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_app(settings, db, run_worker=False)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def tokens(client: TestClient, world: World) -> dict[str, dict[str, str]]:
    """Bearer headers per login (the client keeps no cookie, so an empty header is anonymous)."""
    found = {}
    for who in ("admin", "staff", "dana", "omar"):
        email = f"{who}@example.com" if who in ("admin", "staff") else f"{who}@login.example"
        found[who] = {"Authorization": f"Bearer {login(client, email)['token']}"}
    client.cookies.clear()
    found["anonymous"] = {}
    return found


def call(client: TestClient, headers: dict[str, str], method: str, path: str, **kw: Any) -> tuple[int, Any]:
    response = client.request(method, path, headers=headers, **kw)
    return response.status_code, response.json()


def test_the_owner_route_shows_an_owners_own_homes_only(
    client: TestClient, db: Database, world: World, tokens: dict[str, dict[str, str]]
) -> None:
    book(db, world.condo, "B1", date(2026, 6, 15), date(2026, 6, 22))
    new_request(db, world.condo, date(2026, 6, 18), origin=Origin.guest, notes="4 chairs")
    new_request(db, world.loft, date(2026, 6, 18))
    path = f"/api/owner/properties/{world.condo}/service-requests"
    status, body = call(client, tokens["dana"], "GET", path)
    assert status == 200 and body["total"] == 4
    assert [(r["service_type"]["key"], r["origin"], r["status"]) for r in body["requests"]] == [
        ("grocery_stocking", "automation", "scheduled"),
        ("cleaning_verification", "automation", "scheduled"),
        ("beach_gear_delivery", "guest", "requested"),
        ("post_checkout_cleaning", "automation", "scheduled"),
    ]
    guest_made = body["requests"][2]
    assert guest_made["guest"]["name"] == "Sarah Johnson" and guest_made["booking_id"] is not None
    assert guest_made["property"] == {"id": world.condo, "name": "Beach Condo 123"}
    assert guest_made["history"][0]["to_status"] == "requested" and guest_made["notes"] == "4 chairs"
    status, body = call(client, tokens["dana"], "GET", path, params={"status": "requested"})
    assert [r["service_type"]["key"] for r in body["requests"]] == ["beach_gear_delivery"]
    status, body = call(
        client, tokens["dana"], "GET", path, params={"date_from": "2026-06-15", "date_to": "2026-06-21"}
    )
    assert [r["scheduled_for"] for r in body["requests"]] == ["2026-06-15", "2026-06-18"]
    for who, prop, expected in [
        ("dana", world.loft, 404),  # another owner's home
        ("omar", world.condo, 404),
        ("dana", world.loft + 100, 404),  # unknown
        ("anonymous", world.condo, 401),
        ("staff", world.condo, 200),
        ("admin", world.loft, 200),
        ("omar", world.loft, 200),
    ]:
        status, _ = call(client, tokens[who], "GET", f"/api/owner/properties/{prop}/service-requests")
        assert status == expected, (who, prop)


def test_an_owner_files_a_request_for_their_home(
    client: TestClient, db: Database, world: World, tokens: dict[str, dict[str, str]]
) -> None:
    path = f"/api/owner/properties/{world.condo}/service-requests"
    ask = {"service_type": "maintenance", "scheduled_for": "2026-06-20", "notes": "Dishwasher leaks"}
    status, made = call(client, tokens["dana"], "POST", path, json=ask)
    assert status == 201, made
    assert (made["origin"], made["status"], made["time_of_day"], made["created_by"]) == (
        "owner", "requested", None, f"user:{world.dana}"
    )  # fmt: skip
    assert call(client, tokens["omar"], "POST", path, json=ask)[0] == 404
    assert call(client, tokens["anonymous"], "POST", path, json=ask)[0] == 401
    assert call(client, tokens["dana"], "POST", path, json={**ask, "service_type": "yacht"})[0] == 404
    status, by_staff = call(client, tokens["staff"], "POST", path, json=ask)
    assert (status, by_staff["origin"], by_staff["status"]) == (201, "admin", "scheduled")
    with db.unit_of_work(write=False) as session:
        told = session.scalars(select(Notification).where(Notification.topic == "service_request.created")).all()
    # Dana's second login and the admin hear of both; Dana only of the one staff filed.
    assert sorted(n.user_id for n in told) == sorted([world.dana2, world.dana, world.dana2, world.admin, world.admin])


def test_admins_create_list_move_and_assign_requests(
    client: TestClient, db: Database, world: World, tokens: dict[str, dict[str, str]]
) -> None:
    admin = tokens["admin"]
    booking, guest = book(db, world.condo, "B1", date(2026, 6, 15), date(2026, 6, 22))
    ask = {"property_id": world.condo, "service_type": "private_chef", "scheduled_for": "2026-06-18",
           "booking_id": booking, "time_of_day": "19:30"}  # fmt: skip
    status, made = call(client, admin, "POST", "/api/service-requests", json=ask)
    assert status == 201, made
    assert (made["origin"], made["status"], made["time_of_day"], made["guest"]["id"]) == (
        "admin", "scheduled", "19:30:00", guest
    )  # fmt: skip
    assert call(client, admin, "POST", "/api/service-requests", json={**ask, "property_id": world.loft})[0] == 422
    rid = made["id"]
    status, moved = call(client, admin, "POST", f"/api/service-requests/{rid}/status", json={"status": "in_progress"})
    assert status == 200 and moved["status"] == "in_progress"
    status, moved = call(client, admin, "POST", f"/api/service-requests/{rid}/status",
                         json={"status": "completed", "note": "great dinner"})  # fmt: skip
    assert moved["completed_at"] is not None
    assert [(h["from_status"], h["to_status"], h["actor"]) for h in moved["history"]][-1] == (
        "in_progress", "completed", f"user:{world.admin}"
    )  # fmt: skip
    status, refused = call(client, admin, "POST", f"/api/service-requests/{rid}/status", json={"status": "scheduled"})
    assert status == 409 and "already completed" in refused["detail"]
    assert call(client, admin, "POST", f"/api/service-requests/{rid}/status", json={"status": "done"})[0] == 422
    other = new_request(db, world.villa, date(2026, 6, 19))
    status, assigned = call(
        client, admin, "POST", f"/api/service-requests/{other}/assign", json={"user_id": world.staff}
    )
    assert status == 200 and assigned["assigned_to"] == {"id": world.staff, "name": "staff@example.com"}
    status, refused = call(client, admin, "POST", f"/api/service-requests/{other}/assign", json={"user_id": world.dana})
    assert (status, refused["field"]) == (422, "user_id")
    assert call(client, tokens["staff"], "GET", f"/api/service-requests/{other}")[1]["assigned_to"]["id"] == world.staff
    assert call(client, admin, "GET", "/api/service-requests/999999")[0] == 404

    status, page = call(client, admin, "GET", "/api/service-requests",
                        params={"property_id": world.condo, "limit": 2, "offset": 1})  # fmt: skip
    assert status == 200 and (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [i["service_type"]["key"] for i in page["items"]] == ["cleaning_verification", "private_chef"]
    for params, total in [
        ({"booking_id": booking}, 4),
        ({"status": "completed"}, 1),
        ({"assignee_id": world.staff}, 1),
        ({"origin": "automation"}, 3),
        ({"date_from": "2026-06-18", "date_to": "2026-06-19"}, 2),
    ]:
        assert call(client, admin, "GET", "/api/service-requests", params=params)[1]["total"] == total, params
    assert call(client, admin, "GET", "/api/service-requests", params={"limit": 501})[0] == 422
    for who, expected in [("dana", 403), ("anonymous", 401)]:
        assert call(client, tokens[who], "GET", "/api/service-requests")[0] == expected
        assert call(client, tokens[who], "POST", "/api/service-requests", json=ask)[0] == expected


def test_service_days_for_staff(
    client: TestClient, db: Database, world: World, tokens: dict[str, dict[str, str]]
) -> None:
    book(db, world.condo, "B1", date(2026, 6, 15), date(2026, 6, 22))
    new_request(db, world.condo, date(2026, 6, 15), service_type="private_chef")
    new_request(db, world.loft, date(2026, 6, 15))
    window = {"date_from": "2026-06-14", "date_to": "2026-06-16"}
    status, days = call(client, tokens["staff"], "GET", "/api/admin/service-days", params=window)
    assert status == 200
    assert [(d["day"], d["property"]["name"], [r["service_type"]["key"] for r in d["requests"]]) for d in days] == [
        ("2026-06-15", "Beach Condo 123", ["cleaning_verification", "private_chef"]),
        ("2026-06-15", "Harbor Loft", ["beach_gear_delivery"]),
    ]
    status, days = call(client, tokens["admin"], "GET", "/api/admin/service-days",
                        params={**window, "property_id": world.loft})  # fmt: skip
    assert [d["property"]["id"] for d in days] == [world.loft]
    status, refused = call(client, tokens["admin"], "GET", "/api/admin/service-days",
                           params={"date_from": "2026-06-16", "date_to": "2026-06-14"})  # fmt: skip
    assert (status, refused["field"]) == (422, "date_to")
    assert call(client, tokens["dana"], "GET", "/api/admin/service-days", params=window)[0] == 403


def test_every_route_has_an_explicit_operation_id(client: TestClient) -> None:
    """Stable, readable operation ids (clients generate code from them): never FastAPI's generated path names."""
    schema = client.get("/openapi.json").json()
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    generated = [i for i in ids if re.search(r"_(get|post|put|patch|delete)$", i) or "__" in i]
    assert generated == []
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids)
    assert {"assign_service_request", "change_service_request_status", "list_owner_service_requests"} <= set(ids)
