"""OwnerRez end to end on both databases: webhook → inbox → booking, sync of the same booking, auth refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.bookings.models import Booking
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.accounts import create_account
from luxserv.integrations.http import HttpOptions
from luxserv.integrations.registry import Providers
from luxserv.sync.service import sync_account
from tests.factories import admin_client, make_property
from tests.integrations.ownerrez.fake_api import (
    CREDENTIALS,
    WEBHOOK_PASSWORD,
    WEBHOOK_USER,
    FakeOwnerRez,
    basic,
    payload,
)

GOOD_AUTH = basic(WEBHOOK_USER, WEBHOOK_PASSWORD)
HOSTAWAY_CREDENTIALS = {
    "webhook_username": "hostaway-hook",
    "webhook_password": "hostaway-only-secret",
    "account_id": "59808",
    "api_key": "hostaway-api-key",
}


@dataclass
class Env:
    client: TestClient
    db: Database
    fake: FakeOwnerRez
    providers: Providers
    account_id: int
    property_id: int


@pytest.fixture
def env(app_client: TestClient, db: Database, settings: Settings) -> Env:
    with db.unit_of_work() as session:
        vault = Vault(settings)
        account_id = create_account(
            session, vault, provider="ownerrez", name="Main", credentials=CREDENTIALS, options={}, actor="test"
        ).id
        create_account(session, vault, provider="hostaway", name="Main", credentials=HOSTAWAY_CREDENTIALS, actor="test")
    property_id = make_property(db, listings={"ownerrez": "474841"})
    fake = FakeOwnerRez()
    providers = Providers.from_settings(settings, db, http=HttpOptions(transport=fake.transport, sleep=lambda s: None))
    app_client.app.state.providers = providers  # type: ignore[attr-defined]
    return Env(admin_client(app_client, db), db, fake, providers, account_id, property_id)


def post(env: Env, body: Any, auth: str | None = GOOD_AUTH, path: str = "/webhooks/ownerrez") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    response: httpx.Response = env.client.post(path, content=json.dumps(body).encode(), headers=headers)
    return response


def post_ok(env: Env, body: Any) -> dict[str, Any]:
    response = post(env, body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def bookings(env: Env) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = env.client.get("/api/bookings").json()["items"]
    return items


def inbox(env: Env) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = env.client.get("/api/admin/inbox").json()["items"]
    return items


def stored(env: Env, external_id: str) -> Booking:
    with env.db.unit_of_work(write=False) as session:
        found = session.scalar(
            select(Booking).where(Booking.provider == "ownerrez", Booking.external_id == external_id)
        )
        assert found is not None
        return found


@pytest.mark.parametrize("order", ["webhook_first", "sync_first"])
def test_webhook_and_sync_of_one_booking_make_one_identical_booking(env: Env, order: str) -> None:
    created = payload("booking_created")
    env.fake.add_booking(created["entity"])

    def sync() -> None:
        report = sync_account(env.db, env.providers, env.account_id)
        assert report.error == ""
        assert report.pulled == 1

    if order == "webhook_first":
        assert post_ok(env, created)["outcome"] == "created"
        first = bookings(env)
        sync()
    else:
        sync()
        first = bookings(env)
        assert post_ok(env, created)["outcome"] == "unchanged"
    assert bookings(env) == first
    [booking] = first
    assert booking["external_id"] == "16879744"
    assert booking["property"]["id"] == env.property_id
    assert booking["listing_id"] == "474841"
    assert booking["listing_name"] == "S402 Ocean View"
    assert booking["guest"]["full_name"] == "Sarah Johnson"
    assert booking["guest"]["email"] == "sarah@example.com"
    assert booking["guest"]["phone"] == "+1 850 555 0100"
    assert (booking["check_in"], booking["check_out"]) == ("2026-06-15", "2026-06-22")
    assert booking["guest_count"] == 3
    assert booking["channel"] == "airbnb"
    assert booking["status"] == "confirmed"
    assert stored(env, "16879744").confirmation_code == "HMCFDR58EZ"
    assert "/v2/bookings" in env.fake.paths()


def test_date_change_moves_cancellation_cancels_and_replay_is_harmless(env: Env) -> None:
    first = post_ok(env, payload("booking_created"))
    moved = post_ok(env, payload("booking_updated_dates"))
    assert moved["outcome"] == "updated"
    assert moved["booking_id"] == first["booking_id"]
    [booking] = bookings(env)
    assert (booking["check_in"], booking["check_out"]) == ("2026-06-17", "2026-06-24")

    cancelled = post_ok(env, payload("booking_cancelled"))
    assert cancelled["outcome"] == "cancelled"
    [booking] = bookings(env)
    assert booking["status"] == "cancelled"
    assert booking["cancelled_at"] is not None

    # Replaying the older creation, then the cancellation itself, changes nothing.
    outcomes = []
    for inbox_id in (first["inbox_id"], cancelled["inbox_id"]):
        replayed = env.client.post(f"/api/admin/inbox/{inbox_id}/replay")
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["booking_id"] == first["booking_id"]
        outcomes.append(replayed.json()["outcome"])
    assert outcomes == ["stale", "unchanged"]
    assert bookings(env) == [booking]

    # A re-delivery of the same bytes is recognised as such.
    again = post_ok(env, payload("booking_cancelled"))
    assert again["duplicate"] is True
    assert bookings(env) == [booking]


@pytest.mark.parametrize(
    "auth",
    [
        None,
        basic(WEBHOOK_USER, "wrong-password"),
        basic("intruder", WEBHOOK_PASSWORD),
        basic(HOSTAWAY_CREDENTIALS["webhook_username"], HOSTAWAY_CREDENTIALS["webhook_password"]),
        "Bearer " + WEBHOOK_USER,
    ],
)
def test_wrong_or_missing_credentials_are_refused_and_nothing_is_stored(env: Env, auth: str | None) -> None:
    response = post(env, payload("booking_created"), auth=auth)
    assert response.status_code == 401
    assert response.json()["field"] == "signature"
    assert inbox(env) == []
    assert bookings(env) == []


def test_ownerrez_credentials_do_not_open_the_hostaway_webhook(env: Env) -> None:
    response = post(env, payload("booking_created"), path="/webhooks/hostaway")
    assert response.status_code == 401
    assert inbox(env) == []


def test_an_unknown_property_is_kept_unplaced(env: Env) -> None:
    body = post_ok(env, payload("unknown_property"))
    assert body["outcome"] == "created"
    [booking] = bookings(env)
    assert booking["unplaced"] is True
    assert booking["property"] is None
    assert (booking["listing_id"], booking["listing_name"]) == ("999001", "Mountain Cabin 7")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("block_created", "block"),
        ("webhook_test", "test webhook"),
        ("authorization_revoked", "revoked"),
        ("guest_updated", "guest"),
    ],
)
def test_deliveries_that_change_no_booking_are_ignored(env: Env, name: str, reason: str) -> None:
    assert post(env, payload(name)).status_code == 200
    [event] = inbox(env)
    assert event["status"] == "ignored"
    assert reason in event["error"]
    assert bookings(env) == []


def test_a_lean_delivery_is_completed_through_the_api(env: Env) -> None:
    entity = payload("multibyte_names")["entity"]
    env.fake.add_booking({**entity, "guest": None})
    env.fake.guests[620764100] = entity["guest"]
    body = payload("lean_update")
    body["entity_id"] = entity["id"]
    assert post_ok(env, body)["outcome"] == "created"
    [booking] = bookings(env)
    assert booking["guest"]["full_name"] == "Zoë Ñúñez"
    assert booking["special_requests"] == "Cuna para el bebé, por favor 🙏"
    assert env.fake.paths() == ["/v2/bookings/16879802", "/v2/guests/620764100"]


def test_a_deleted_booking_cancels_what_was_stored(env: Env) -> None:
    post_ok(env, payload("booking_created"))
    deleted = payload("booking_created")
    deleted["action"] = "entity_delete"
    deleted["id"] = "delete-delivery"
    assert post_ok(env, deleted)["outcome"] == "cancelled"
    assert bookings(env)[0]["status"] == "cancelled"


def test_a_deleted_booking_that_is_gone_is_ignored_with_a_reason(env: Env) -> None:
    assert post(env, payload("booking_deleted")).status_code == 200
    [event] = inbox(env)
    assert event["status"] == "ignored"
    assert "no longer exists" in event["error"]
