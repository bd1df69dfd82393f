from __future__ import annotations

from fastapi.testclient import TestClient

from luxserv.core.database import Database
from tests.conftest import WEBHOOK_SECRET
from tests.factories import admin_client, flat_payload, make_owner, make_property, post_signed


def test_signed_flat_webhook_creates_a_visible_booking(app_client: TestClient, db: Database) -> None:
    make_property(db, owner_id=make_owner(db))
    response = post_signed(app_client, flat_payload(), secret=WEBHOOK_SECRET)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["outcome"] == "created"

    client = admin_client(app_client, db)
    listed = client.get("/api/bookings").json()
    assert listed["total"] == 1
    booking = listed["items"][0]
    assert booking["id"] == body["booking_id"]
    assert booking["external_id"] == "HM123456789"
    assert booking["property"]["name"] == "Beach Condo 123"
    assert booking["guest"]["email"] == "sarah@email.com"
