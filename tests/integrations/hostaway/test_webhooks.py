"""Hostaway end to end on both databases: webhook → inbox → booking, sync of the same reservation, refusals."""

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
from tests.integrations.hostaway.fake_api import (
    CREDENTIALS,
    WEBHOOK_PASSWORD,
    WEBHOOK_USER,
    FakeHostaway,
    basic,
    payload,
)

GOOD_AUTH = basic(WEBHOOK_USER, WEBHOOK_PASSWORD)
OWNERREZ_CREDENTIALS = {
    "webhook_username": "ownerrez-hook",
    "webhook_password": "ownerrez-only-secret",
    "api_username": "owner@example.com",
    "api_token": "pt_abc",
}


@dataclass
class Env:
    client: TestClient
    db: Database
    settings: Settings
    fake: FakeHostaway
    providers: Providers
    account_id: int
    property_id: int


def providers_for(settings: Settings, db: Database, fake: FakeHostaway) -> Providers:
    return Providers.from_settings(settings, db, http=HttpOptions(transport=fake.transport, sleep=lambda s: None))


@pytest.fixture
def env(app_client: TestClient, db: Database, settings: Settings) -> Env:
    with db.unit_of_work() as session:
        vault = Vault(settings)
        account_id = create_account(
            session, vault, provider="hostaway", name="Main", credentials=CREDENTIALS, options={}, actor="test"
        ).id
        create_account(session, vault, provider="ownerrez", name="Main", credentials=OWNERREZ_CREDENTIALS, actor="test")
    property_id = make_property(db, listings={"hostaway": "218666"})
    fake = FakeHostaway()
    providers = providers_for(settings, db, fake)
    app_client.app.state.providers = providers  # type: ignore[attr-defined]
    return Env(admin_client(app_client, db), db, settings, fake, providers, account_id, property_id)


def post(env: Env, body: Any, auth: str | None = GOOD_AUTH, path: str = "/webhooks/hostaway") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    response: httpx.Response = env.client.post(
        path, content=json.dumps(body, ensure_ascii=False).encode(), headers=headers
    )
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


def confirmation_code(env: Env, external_id: str) -> str | None:
    with env.db.unit_of_work(write=False) as session:
        return session.scalar(
            select(Booking.confirmation_code).where(Booking.provider == "hostaway", Booking.external_id == external_id)
        )


@pytest.mark.parametrize("order", ["webhook_first", "sync_first"])
def test_webhook_and_sync_of_one_reservation_make_one_identical_booking(env: Env, order: str) -> None:
    created = payload("reservation_created")
    env.fake.add(created["data"])

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
    assert booking["provider"] == "hostaway"
    assert booking["external_id"] == "49264388"
    assert booking["property"]["id"] == env.property_id
    assert (booking["listing_id"], booking["listing_name"]) == ("218666", "211 N Wilbur Ave")
    assert booking["guest"]["full_name"] == "Logan Pierce"
    assert booking["guest"]["email"] == "logan.pierce@example.com"
    assert booking["guest"]["phone"] == "+1 208 555 0147"
    assert (booking["check_in"], booking["check_out"]) == ("2026-06-15", "2026-06-22")
    assert booking["guest_count"] == 3
    assert booking["special_requests"] == "We will arrive late, around 10pm"
    assert booking["channel"] == "airbnb"
    assert booking["status"] == "confirmed"
    assert confirmation_code(env, "49264388") == "HMQ4XK2N8P"
    assert len(env.fake.token_requests()) == 1


def test_date_change_moves_cancellation_cancels_and_replay_is_harmless(env: Env) -> None:
    first = post_ok(env, payload("reservation_created"))
    moved = post_ok(env, payload("reservation_updated_dates"))
    assert (moved["outcome"], moved["booking_id"]) == ("updated", first["booking_id"])
    [booking] = bookings(env)
    assert (booking["check_in"], booking["check_out"]) == ("2026-06-17", "2026-06-24")

    cancelled = post_ok(env, payload("reservation_cancelled"))
    assert cancelled["outcome"] == "cancelled"
    [booking] = bookings(env)
    assert booking["status"] == "cancelled"

    outcomes = []
    for inbox_id in (first["inbox_id"], moved["inbox_id"], cancelled["inbox_id"]):
        replayed = env.client.post(f"/api/admin/inbox/{inbox_id}/replay")
        assert replayed.status_code == 200, replayed.text
        outcomes.append(replayed.json()["outcome"])
    assert outcomes == ["stale", "stale", "unchanged"]
    assert bookings(env) == [booking]


@pytest.mark.parametrize(
    "auth",
    [
        None,
        basic(WEBHOOK_USER, "wrong-password"),
        basic("intruder", WEBHOOK_PASSWORD),
        basic(OWNERREZ_CREDENTIALS["webhook_username"], OWNERREZ_CREDENTIALS["webhook_password"]),
    ],
)
def test_wrong_missing_or_other_providers_credentials_are_refused(env: Env, auth: str | None) -> None:
    response = post(env, payload("reservation_created"), auth=auth)
    assert response.status_code == 401
    assert response.json()["field"] == "signature"
    assert inbox(env) == []
    assert bookings(env) == []


def test_hostaway_credentials_do_not_open_the_ownerrez_webhook(env: Env) -> None:
    assert post(env, payload("reservation_created"), path="/webhooks/ownerrez").status_code == 401
    assert inbox(env) == []


def test_an_unknown_listing_is_kept_unplaced(env: Env) -> None:
    assert post_ok(env, payload("unknown_listing"))["outcome"] == "created"
    [booking] = bookings(env)
    assert booking["unplaced"] is True
    assert (booking["listing_id"], booking["listing_name"]) == ("777777", "Lakeside Loft 4B")


def test_multi_byte_names_are_stored_as_sent(env: Env) -> None:
    post_ok(env, payload("multibyte_names"))
    post_ok(env, payload("split_name"))
    names = {b["guest"]["full_name"] for b in bookings(env)}
    assert names == {"山田太郎", "Zoë Ñúñez"}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("owner_stay", "owner stay"),
        ("inquiry", "'inquiry'"),
        ("test_ping", "test webhook"),
        ("message_received", "conversationMessage"),
    ],
)
def test_deliveries_that_are_not_stays_are_ignored(env: Env, name: str, reason: str) -> None:
    assert post(env, payload(name)).status_code == 200
    [event] = inbox(env)
    assert event["status"] == "ignored"
    assert reason in event["error"]
    assert bookings(env) == []


def test_a_partial_reservation_is_completed_and_the_token_is_kept_in_the_database(env: Env) -> None:
    env.fake.add(payload("reservation_created")["data"])
    assert post_ok(env, payload("lean_created"))["outcome"] == "created"
    assert bookings(env)[0]["guest"]["full_name"] == "Logan Pierce"
    assert len(env.fake.token_requests()) == 1

    # Another process (a fresh registry) reuses the stored token instead of asking for a new one.
    report = sync_account(env.db, providers_for(env.settings, env.db, env.fake), env.account_id)
    assert (report.error, report.pulled) == ("", 1)
    assert len(env.fake.token_requests()) == 1
    assert {r.headers["authorization"] for r in env.fake.api_requests()} == {"Bearer jwt-1"}
