"""The admin JSON API: who may call it, bookings, guests, properties, placing and the inbox."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from luxserv.accounts.models import Role
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.inbox import flows
from luxserv.inbox.service import NewEvent
from luxserv.integrations.registry import Providers
from tests.conftest import WEBHOOK_SECRET
from tests.factories import flat_payload, login, make_owner, make_property, make_user, post_signed, sign


@dataclass
class Seeded:
    condo: int
    villa: int
    b1: int  # Sarah, condo, 06-15 → 06-22
    b2: int  # Mike, villa, 06-22 → 06-25
    b3: int  # Sarah, condo, 07-01 → 07-05, cancelled
    b4: int  # Grace, unplaced ("Gulf View Cottage"), 06-10 → 06-15
    sarah: int
    mike: int
    grace: int
    rejected_inbox: int
    rejected_body: bytes


def send(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = post_signed(client, flat_payload(**overrides), secret=WEBHOOK_SECRET)
    assert response.status_code == 200, response.text
    return dict(response.json())


def seed(client: TestClient, db: Database) -> Seeded:
    """Two homes and four bookings, all through the signed webhook; one rejected event."""
    owner = make_owner(db)
    condo = make_property(db, owner_id=owner, listings={"airbnb": "AIR-123"})
    villa = make_property(db, owner_id=owner, name="Sea Breeze Villa", address="20 Sea Breeze Ct")
    b1 = send(client, booking_id="B1")
    b2 = send(
        client,
        booking_id="B2",
        property="Sea Breeze Villa, Panama City Beach",
        guest_name="Mike Chen",
        guest_email="mike.chen@example.com",
        check_in="2026-06-22",
        check_out="2026-06-25",
        guest_count=2,
        special_requests="Early check-in if possible",
    )
    b3 = send(client, booking_id="B3", check_in="2026-07-01", check_out="2026-07-05", guest_email="SARAH@email.com")
    cancelled = send(client, booking_id="B3", check_in="2026-07-01", check_out="2026-07-05", event="booking.cancelled")
    assert cancelled["outcome"] == "cancelled"
    assert cancelled["booking_id"] == b3["booking_id"]
    b4 = send(
        client,
        booking_id="B4",
        property="Gulf View Cottage, Panama City Beach",
        guest_name="Grace Lee",
        guest_email="grace.lee@example.com",
        check_in="2026-06-10",
        check_out="2026-06-15",
        guest_count=2,
    )
    assert [b["outcome"] for b in (b1, b2, b3, b4)] == ["created"] * 4
    bad = json.dumps(flat_payload(booking_id="BAD", check_in="2026-08-05", check_out="2026-08-01")).encode()
    rejected = post_signed(client, None, secret=WEBHOOK_SECRET, raw=bad)
    assert rejected.status_code == 422, rejected.text

    make_user(db)
    login(client)
    guests = {
        b["external_id"]: b["guest"]["id"] for b in client.get("/api/bookings", params={"limit": 500}).json()["items"]
    }
    return Seeded(
        condo=condo,
        villa=villa,
        b1=b1["booking_id"],
        b2=b2["booking_id"],
        b3=b3["booking_id"],
        b4=b4["booking_id"],
        sarah=guests["B1"],
        mike=guests["B2"],
        grace=guests["B4"],
        rejected_inbox=rejected.json()["inbox_id"],
        rejected_body=bad,
    )


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# --- who may call what ------------------------------------------------------------------------------------------

PROTECTED = [
    ("GET", "/api/bookings", None),
    ("GET", "/api/bookings/{b1}", None),
    ("GET", "/api/guests/{sarah}", None),
    ("GET", "/api/properties", None),
    ("GET", "/api/admin/inbox", None),
    ("POST", "/api/admin/inbox/{rejected_inbox}/replay", None),
    ("POST", "/api/admin/bookings/{b4}/place", {"property_id": "{condo}"}),
]


def _fill(path: str, body: dict[str, Any] | None, seeded: Seeded) -> tuple[str, dict[str, Any] | None]:
    values = vars(seeded)
    path = path.format(**values)
    if body is not None:
        body = {k: int(v.format(**values)) if isinstance(v, str) else v for k, v in body.items()}
    return path, body


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_protected_endpoints_need_an_admin_or_staff_session(
    app_client: TestClient, db: Database, method: str, path: str, body: dict[str, Any] | None
) -> None:
    seeded = seed(app_client, db)
    url, payload = _fill(path, body, seeded)
    app_client.cookies.clear()

    anonymous = app_client.request(method, url, json=payload)
    assert anonymous.status_code == 401, anonymous.text
    assert set(anonymous.json()) == {"detail"}

    forged = app_client.request(method, url, json=payload, headers={"Authorization": "Bearer not-a-session"})
    assert forged.status_code == 401, forged.text

    owner_id = make_owner(db, name="Other Owner", email="other@example.com")
    make_user(db, email="owner@example.com", role=Role.owner, owner_id=owner_id)
    login(app_client, email="owner@example.com")
    denied = app_client.request(method, url, json=payload)
    assert denied.status_code == 403, denied.text
    assert set(denied.json()) == {"detail"}

    # Nothing changed behind the refusals.
    app_client.cookies.clear()
    login(app_client)
    assert app_client.get(f"/api/bookings/{seeded.b4}").json()["unplaced"] is True
    inbox = app_client.get("/api/admin/inbox", params={"status": "rejected"}).json()["items"]
    assert [(e["id"], e["attempts"]) for e in inbox] == [(seeded.rejected_inbox, 1)]


def test_staff_may_use_the_admin_api(app_client: TestClient, db: Database) -> None:
    seeded = seed(app_client, db)
    app_client.cookies.clear()
    make_user(db, email="staff@example.com", role=Role.staff)
    login(app_client, email="staff@example.com")
    assert app_client.get("/api/bookings").status_code == 200
    assert app_client.get(f"/api/guests/{seeded.sarah}").status_code == 200
    assert app_client.get("/api/properties").status_code == 200
    assert app_client.get("/api/admin/inbox").status_code == 200


# --- bookings ---------------------------------------------------------------------------------------------------


def test_bookings_are_listed_by_check_in(app_client: TestClient, db: Database) -> None:
    s = seed(app_client, db)
    response = app_client.get("/api/bookings")
    assert ids(response) == [s.b4, s.b1, s.b2, s.b3]
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (4, 50, 0)
    first = body["items"][1]
    assert first["external_id"] == "B1"
    assert first["provider"] == "generic"
    assert first["status"] == "confirmed"
    assert first["unplaced"] is False
    assert first["property"]["id"] == s.condo
    assert first["property"]["name"] == "Beach Condo 123"
    assert first["guest"] == {"id": s.sarah, "full_name": "Sarah Johnson", "email": "sarah@email.com", "phone": None}
    assert (first["check_in"], first["check_out"], first["nights"]) == ("2026-06-15", "2026-06-22", 7)
    assert first["guest_count"] == 4
    assert first["special_requests"] == "Celebrating anniversary"
    unplaced = body["items"][0]
    assert unplaced["unplaced"] is True
    assert unplaced["property"] is None
    assert unplaced["listing_name"] == "Gulf View Cottage, Panama City Beach"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"property_id": "{condo}"}, ["b1", "b3"]),
        ({"property_id": "{villa}"}, ["b2"]),
        ({"property_id": "999999"}, []),
        ({"status": "cancelled"}, ["b3"]),
        ({"status": "confirmed"}, ["b4", "b1", "b2"]),
        ({"status": "checked_in"}, []),
        ({"unplaced": "true"}, ["b4"]),
        ({"unplaced": "false"}, ["b1", "b2", "b3"]),
        ({"guest_id": "{sarah}"}, ["b1", "b3"]),
        ({"guest_id": "{grace}"}, ["b4"]),
        # Overlap: a stay ending on date_from is out, one starting on date_to is in.
        ({"date_from": "2026-06-15", "date_to": "2026-06-22"}, ["b1", "b2"]),
        ({"date_from": "2026-06-14", "date_to": "2026-06-14"}, ["b4"]),
        ({"date_from": "2026-06-15", "date_to": "2026-06-15"}, ["b1"]),
        ({"date_from": "2026-06-22"}, ["b2", "b3"]),
        ({"date_to": "2026-06-10"}, ["b4"]),
        ({"date_to": "2026-06-09"}, []),
        ({"date_from": "2026-07-05"}, []),
        ({"property_id": "{condo}", "status": "confirmed"}, ["b1"]),
        ({"guest_id": "{sarah}", "date_from": "2026-06-23"}, ["b3"]),
        ({"unplaced": "false", "date_to": "2026-06-22", "date_from": "2026-06-22"}, ["b2"]),
    ],
)
def test_booking_filters(app_client: TestClient, db: Database, params: dict[str, str], expected: list[str]) -> None:
    s = seed(app_client, db)
    values = {k: str(v) for k, v in vars(s).items()}
    query = {k: v.format(**values) for k, v in params.items()}
    response = app_client.get("/api/bookings", params=query)
    assert ids(response) == [getattr(s, name) for name in expected]
    assert response.json()["total"] == len(expected)


def test_booking_pagination(app_client: TestClient, db: Database) -> None:
    s = seed(app_client, db)
    pages = []
    for offset in (0, 2, 4):
        response = app_client.get("/api/bookings", params={"limit": 2, "offset": offset})
        body = response.json()
        assert (body["total"], body["limit"], body["offset"]) == (4, 2, offset)
        pages.append(ids(response))
    assert pages == [[s.b4, s.b1], [s.b2, s.b3], []]
    filtered = app_client.get("/api/bookings", params={"unplaced": "false", "limit": 1, "offset": 1})
    assert ids(filtered) == [s.b2]
    assert filtered.json()["total"] == 3
    assert ids(app_client.get("/api/bookings", params={"limit": 500})) == [s.b4, s.b1, s.b2, s.b3]


def test_pagination_is_stable_for_equal_check_in_dates(app_client: TestClient, db: Database) -> None:
    make_property(db, owner_id=make_owner(db))
    created = [
        send(app_client, booking_id=f"SAME-{n}", guest_email=f"g{n}@example.com")["booking_id"] for n in range(5)
    ]
    make_user(db)
    login(app_client)
    seen = []
    for offset in range(5):
        seen += ids(app_client.get("/api/bookings", params={"limit": 1, "offset": offset}))
    assert seen == sorted(created)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-06-22", "date_to": "2026-06-21"}, "date_to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"status": "lost"}, "status"),
        ({"date_from": "June 1st"}, "date_from"),
        ({"unplaced": "perhaps"}, "unplaced"),
        ({"property_id": "abc"}, "property_id"),
    ],
)
def test_bad_booking_queries_are_422_naming_the_field(
    app_client: TestClient, db: Database, params: dict[str, str], field: str
) -> None:
    make_user(db)
    login(app_client)
    response = app_client.get("/api/bookings", params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field
    assert field in body["detail"]


def test_date_range_of_one_day_is_allowed(app_client: TestClient, db: Database) -> None:
    make_user(db)
    login(app_client)
    response = app_client.get("/api/bookings", params={"date_from": "2026-06-22", "date_to": "2026-06-22"})
    assert response.status_code == 200
    assert response.json()["total"] == 0


def test_one_booking(app_client: TestClient, db: Database) -> None:
    s = seed(app_client, db)
    response = app_client.get(f"/api/bookings/{s.b3}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == s.b3
    assert body["status"] == "cancelled"
    assert body["cancelled_at"] is not None
    assert body["guest"]["id"] == s.sarah
    assert body["property"] == {"id": s.condo, "name": "Beach Condo 123", "time_zone": "America/Chicago"}
    assert app_client.get(f"/api/bookings/{s.b1}").json()["cancelled_at"] is None


@pytest.mark.parametrize("path", ["/api/bookings/999999", "/api/guests/999999"])
def test_unknown_booking_or_guest_is_404(app_client: TestClient, db: Database, path: str) -> None:
    make_user(db)
    login(app_client)
    response = app_client.get(path)
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"detail"}
    assert "999999" in body["detail"]
    assert "not found" in body["detail"]


def test_non_numeric_id_is_422(app_client: TestClient, db: Database) -> None:
    make_user(db)
    login(app_client)
    assert app_client.get("/api/bookings/abc").status_code == 422


# --- guests -----------------------------------------------------------------------------------------------------


def test_guest_has_every_stay_newest_first(app_client: TestClient, db: Database) -> None:
    s = seed(app_client, db)
    response = app_client.get(f"/api/guests/{s.sarah}")
    assert response.status_code == 200, response.text
    guest = response.json()
    assert guest["id"] == s.sarah
    assert guest["full_name"] == "Sarah Johnson"
    assert guest["email"].lower() == "sarah@email.com"
    stays = guest["stays"]
    assert [stay["id"] for stay in stays] == [s.b3, s.b1]
    assert [stay["status"] for stay in stays] == ["cancelled", "confirmed"]
    assert [stay["check_in"] for stay in stays] == ["2026-07-01", "2026-06-15"]
    assert stays[0]["property"]["id"] == s.condo
    grace = app_client.get(f"/api/guests/{s.grace}").json()
    assert [stay["id"] for stay in grace["stays"]] == [s.b4]
    assert grace["stays"][0]["property"] is None


# --- properties -------------------------------------------------------------------------------------------------


def test_properties_with_owner_and_listings(app_client: TestClient, db: Database) -> None:
    s = seed(app_client, db)
    response = app_client.get("/api/properties")
    assert response.status_code == 200, response.text
    by_id = {p["id"]: p for p in response.json()}
    assert set(by_id) == {s.condo, s.villa}
    condo = by_id[s.condo]
    assert condo["name"] == "Beach Condo 123"
    assert condo["owner"]["name"] == "Dana Whitfield"
    assert condo["listings"] == [{"provider": "airbnb", "listing_id": "AIR-123"}]
    assert by_id[s.villa]["listings"] == []
    assert by_id[s.villa]["owner"]["id"] == condo["owner"]["id"]


# --- placing ----------------------------------------------------------------------------------------------------


def test_place_an_unplaced_booking_and_remember_its_name(app_client: TestClient, db: Database) -> None:
    s = seed(app_client, db)
    cottage = make_property(db, name="Seaside Cottage", address="1 Cottage Ln")
    placed = app_client.post(f"/api/admin/bookings/{s.b4}/place", json={"property_id": cottage, "remember": True})
    assert placed.status_code == 200, placed.text
    assert placed.json()["property"]["id"] == cottage
    assert placed.json()["unplaced"] is False
    assert ids(app_client.get("/api/bookings", params={"unplaced": "true"})) == []

    again = app_client.post(f"/api/admin/bookings/{s.b4}/place", json={"property_id": s.condo})
    assert again.status_code == 409
    assert app_client.get(f"/api/bookings/{s.b4}").json()["property"]["id"] == cottage

    later = send(
        app_client,
        booking_id="B5",
        property="Gulf View Cottage, Panama City Beach",
        guest_name="Grace Lee",
        guest_email="grace.lee@example.com",
        check_in="2026-09-01",
        check_out="2026-09-03",
    )
    assert app_client.get(f"/api/bookings/{later['booking_id']}").json()["property"]["id"] == cottage


def test_place_errors(app_client: TestClient, db: Database) -> None:
    s = seed(app_client, db)
    missing_property = app_client.post(f"/api/admin/bookings/{s.b4}/place", json={"property_id": 999999})
    assert missing_property.status_code == 404
    assert missing_property.json()["field"] == "property_id"
    missing_booking = app_client.post("/api/admin/bookings/999999/place", json={"property_id": s.condo})
    assert missing_booking.status_code == 404
    no_body = app_client.post(f"/api/admin/bookings/{s.b4}/place", json={})
    assert no_body.status_code == 422
    assert no_body.json()["field"] == "property_id"
    assert app_client.get(f"/api/bookings/{s.b4}").json()["unplaced"] is True


# --- inbox ------------------------------------------------------------------------------------------------------


def manual_event(db: Database, settings: Settings, property_id: int) -> int:
    payload = {
        "external_id": "MANUAL-1",
        "kind": "created",
        "property_id": property_id,
        "guest": {"name": "Walk In", "email": "walk.in@example.com"},
        "check_in": "2026-10-01",
        "check_out": "2026-10-03",
        "guest_count": 1,
    }
    new = NewEvent(
        provider="manual",
        event_id="manual:MANUAL-1",
        source="manual",
        body=json.dumps(payload).encode(),
        content_type="application/json",
        headers={},
    )
    receipt = flows.receive(db, Providers.from_settings(settings), new, actor="test")
    assert receipt.status == "processed"
    return receipt.inbox_id


def test_inbox_lists_and_filters_events_with_the_raw_body(
    app_client: TestClient, db: Database, settings: Settings
) -> None:
    s = seed(app_client, db)
    manual = manual_event(db, settings, s.villa)

    everything = app_client.get("/api/admin/inbox")
    assert everything.status_code == 200, everything.text
    body = everything.json()
    assert body["total"] == 7  # 5 booking events + 1 rejected webhook + 1 manual
    listed = [e["id"] for e in body["items"]]
    assert listed == sorted(listed, reverse=True)  # newest first
    assert listed[0] == manual

    rejected = app_client.get("/api/admin/inbox", params={"status": "rejected"}).json()
    assert rejected["total"] == 1
    event = rejected["items"][0]
    assert event["id"] == s.rejected_inbox
    assert event["status"] == "rejected"
    assert event["provider"] == "generic"
    assert event["source"] == "webhook"
    assert event["body"] == s.rejected_body.decode()
    assert event["error"]
    assert event["error_field"] == "check_out"
    assert event["booking_id"] is None
    assert "x-webhook-signature" in event["headers"]

    processed = app_client.get("/api/admin/inbox", params={"status": "processed"}).json()
    assert processed["total"] == 6
    assert {e["status"] for e in processed["items"]} == {"processed"}

    manual_only = app_client.get("/api/admin/inbox", params={"provider": "manual"}).json()
    assert [e["id"] for e in manual_only["items"]] == [manual]
    assert json.loads(manual_only["items"][0]["body"])["external_id"] == "MANUAL-1"
    generic = app_client.get("/api/admin/inbox", params={"provider": "generic"}).json()
    assert generic["total"] == 6
    assert manual not in [e["id"] for e in generic["items"]]
    both = app_client.get("/api/admin/inbox", params={"provider": "generic", "status": "rejected"}).json()
    assert [e["id"] for e in both["items"]] == [s.rejected_inbox]
    assert app_client.get("/api/admin/inbox", params={"provider": "nobody"}).json()["total"] == 0
    assert app_client.get("/api/admin/inbox", params={"status": "lost"}).status_code == 422

    paged = app_client.get("/api/admin/inbox", params={"limit": 2, "offset": 1}).json()
    assert [e["id"] for e in paged["items"]] == listed[1:3]
    assert paged["total"] == 7


def test_inbox_never_stores_credentials(app_client: TestClient, db: Database) -> None:
    make_property(db, owner_id=make_owner(db))
    body = json.dumps(flat_payload()).encode()
    response = app_client.post(
        "/webhooks/generic",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Webhook-Signature": sign(body, WEBHOOK_SECRET),
            "Authorization": "Bearer relay-credential",
            "Cookie": "relay=secret-cookie",
        },
    )
    assert response.status_code == 200, response.text
    make_user(db)
    login(app_client)
    headers = app_client.get("/api/admin/inbox").json()["items"][0]["headers"]
    assert "authorization" not in {k.lower() for k in headers}
    assert "cookie" not in {k.lower() for k in headers}


def test_replay_returns_status_and_booking(app_client: TestClient, db: Database) -> None:
    s = seed(app_client, db)
    events = app_client.get("/api/admin/inbox", params={"status": "processed"}).json()["items"]
    first_b1 = next(e for e in events if e["booking_id"] == s.b1)

    replayed = app_client.post(f"/api/admin/inbox/{first_b1['id']}/replay")
    assert replayed.status_code == 200, replayed.text
    body = replayed.json()
    assert body["inbox_id"] == first_b1["id"]
    assert body["booking_id"] == s.b1
    assert body["status"] in ("processed", "ignored")
    assert body["outcome"] == "unchanged"
    assert body["error"] == ""
    assert app_client.get("/api/bookings").json()["total"] == 4  # harmless: nothing new

    rejected = app_client.post(f"/api/admin/inbox/{s.rejected_inbox}/replay").json()
    assert rejected["status"] == "rejected"
    assert rejected["booking_id"] is None
    assert rejected["error_field"] == "check_out"
    assert rejected["error"]

    missing = app_client.post("/api/admin/inbox/999999/replay")
    assert missing.status_code == 404
    assert "999999" in missing.json()["detail"]


def test_replay_places_a_booking_once_its_home_exists(app_client: TestClient, db: Database) -> None:
    s = seed(app_client, db)
    event = next(e for e in app_client.get("/api/admin/inbox").json()["items"] if e["booking_id"] == s.b4)
    cottage = make_property(db, name="Gulf View Cottage", address="3 Gulf View Dr")
    replayed = app_client.post(f"/api/admin/inbox/{event['id']}/replay")
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "processed"
    assert replayed.json()["outcome"] == "updated"
    assert replayed.json()["booking_id"] == s.b4
    booking = app_client.get(f"/api/bookings/{s.b4}").json()
    assert booking["unplaced"] is False
    assert booking["property"]["id"] == cottage
