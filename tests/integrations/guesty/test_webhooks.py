"""Guesty end to end on SQLite and PostgreSQL: signed deliveries to /webhooks/guesty, v2 completion through the
(fake) API, syncs, replays, messages, and everything that must be refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.bookings.models import BookingMessage
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.inbox.models import InboxEvent
from luxserv.integrations.http import HttpOptions
from luxserv.integrations.models import ProviderAccount
from luxserv.integrations.registry import Providers
from luxserv.sync.service import sync_account
from tests.factories import admin_client, make_property
from tests.integrations.guesty.fake import FakeGuesty
from tests.integrations.guesty.helpers import (
    MAIN_ID,
    MAIN_LISTING,
    OLD_SECRET,
    OTHER_SECRET,
    SECRET,
    connect,
    encode,
    load,
    post_guesty,
    reservation,
)

EXPECTED = {
    "provider": "guesty",
    "external_id": MAIN_ID,
    "status": "confirmed",
    "unplaced": False,
    "listing_id": MAIN_LISTING,
    "listing_name": "Beach Condo 123",
    "check_in": "2026-07-10",
    "check_out": "2026-07-17",
    "nights": 7,
    "guest_count": 4,
    "special_requests": "A crib for our toddler, please\n\nArriving late, around 11pm",
    "channel": "airbnb",
    "cancelled_at": None,
}
EXPECTED_GUEST = {"full_name": "Sarah Johnson", "email": "sarah.johnson@guest.airbnb.com", "phone": "+1 850 555 0100"}
EXPECTED_SOURCE_TIME = datetime(2026, 5, 2, 14, 21, 11, 532000, tzinfo=UTC)


@pytest.fixture
def providers(settings: Settings, db: Database, fake: FakeGuesty) -> Providers:
    return Providers.from_settings(settings, db, http=HttpOptions(transport=fake.transport, sleep=lambda s: None))


@pytest.fixture
def setup(app_client: TestClient, db: Database, settings: Settings, providers: Providers) -> dict[str, int]:
    """The app using the fake Guesty API, a connection, a property linked to the main listing, an admin session."""
    cast(FastAPI, app_client.app).state.providers = providers
    account_id = connect(db, settings)
    property_id = make_property(db, listings={"guesty": MAIN_LISTING})
    admin_client(app_client, db)
    return {"account": account_id, "property": property_id}


def bookings(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/bookings", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def only_booking(client: TestClient) -> dict[str, Any]:
    found = bookings(client)
    assert len(found) == 1, found
    return found[0]


def inbox(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/admin/inbox", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def snapshot(booking: dict[str, Any]) -> dict[str, Any]:
    """What a booking says, without the row's own bookkeeping."""
    return {k: v for k, v in booking.items() if k not in ("updated_at",)}


def assert_main_booking(booking: dict[str, Any], property_id: int) -> None:
    assert {k: booking[k] for k in EXPECTED} == EXPECTED
    assert {k: booking["guest"][k] for k in EXPECTED_GUEST} == EXPECTED_GUEST
    assert booking["property"]["id"] == property_id
    assert datetime.fromisoformat(booking["source_updated_at"].replace("Z", "+00:00")) == EXPECTED_SOURCE_TIME


def ok(response: httpx.Response, outcome: str | None = None) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "success"
    if outcome is not None:
        assert body["outcome"] == outcome
    return body


# --- one reservation, three ways in -------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["legacy", "v2", "sync"])
def test_each_way_in_gives_the_same_booking(
    app_client: TestClient, db: Database, providers: Providers, fake: FakeGuesty, setup: dict[str, int], route: str
) -> None:
    fake.add_reservation(reservation())
    if route == "legacy":
        ok(post_guesty(app_client, load("legacy_new")), "created")
    elif route == "v2":
        ok(post_guesty(app_client, load("v2_created_lean")), "created")
    else:
        report = sync_account(db, providers, setup["account"])
        assert (report.pulled, report.error, report.statuses) == (1, "", {"created": 1})
    assert_main_booking(only_booking(app_client), setup["property"])
    if route == "legacy":
        assert fake.requests == []  # the legacy body is complete: no API call, no token


def test_legacy_then_v2_then_sync_is_one_unchanged_booking(
    app_client: TestClient, db: Database, providers: Providers, fake: FakeGuesty, setup: dict[str, int]
) -> None:
    fake.add_reservation(reservation())
    first = ok(post_guesty(app_client, load("legacy_new")), "created")
    before = snapshot(only_booking(app_client))
    second = ok(post_guesty(app_client, load("v2_created_lean")), "unchanged")
    report = sync_account(db, providers, setup["account"])
    assert report.statuses == {"unchanged": 1}
    assert first["booking_id"] == second["booking_id"]
    assert snapshot(only_booking(app_client)) == before
    assert_main_booking(only_booking(app_client), setup["property"])
    assert fake.tokens_issued == 1  # the v2 completion and the sync shared one token, kept in the database
    with db.unit_of_work(write=False) as session:
        account = session.get(ProviderAccount, setup["account"])
        assert account is not None and account.token_encrypted and "fake-token" not in account.token_encrypted


def test_a_date_change_moves_the_booking_legacy_and_v2(
    app_client: TestClient, fake: FakeGuesty, setup: dict[str, int]
) -> None:
    fake.add_reservation(reservation())
    ok(post_guesty(app_client, load("legacy_new")), "created")
    ok(post_guesty(app_client, load("legacy_updated_dates")), "updated")
    moved = only_booking(app_client)
    assert (moved["check_in"], moved["check_out"], moved["status"]) == ("2026-07-12", "2026-07-19", "confirmed")

    # The v2 event of the same change, arriving late, finds nothing more to do.
    fake.add_reservation(reservation("legacy_updated_dates"))
    ok(post_guesty(app_client, load("v2_updated_lean")), "unchanged")
    assert snapshot(only_booking(app_client)) == snapshot(moved)


def test_a_v2_update_alone_moves_the_booking(app_client: TestClient, fake: FakeGuesty, setup: dict[str, int]) -> None:
    fake.add_reservation(reservation())
    ok(post_guesty(app_client, load("v2_created_lean")), "created")
    fake.add_reservation(reservation("legacy_updated_dates"))
    ok(post_guesty(app_client, load("v2_updated_lean")), "updated")
    moved = only_booking(app_client)
    assert (moved["check_in"], moved["check_out"]) == ("2026-07-12", "2026-07-19")


def test_an_older_legacy_event_after_a_newer_one_changes_nothing(app_client: TestClient, setup: dict[str, int]) -> None:
    ok(post_guesty(app_client, load("legacy_updated_dates")), "created")
    stale = post_guesty(app_client, load("legacy_new"))
    assert stale.status_code == 200
    assert only_booking(app_client)["check_in"] == "2026-07-12"
    ignored = inbox(app_client, status="ignored")
    assert [e["error"] for e in ignored] == ["older than the stored booking; nothing changed"]


def test_a_cancellation_cancels(app_client: TestClient, setup: dict[str, int]) -> None:
    ok(post_guesty(app_client, load("legacy_new")), "created")
    ok(post_guesty(app_client, load("legacy_canceled")), "cancelled")
    cancelled = only_booking(app_client)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] is not None
    assert bookings(app_client, status="confirmed") == []


def test_replaying_is_harmless(app_client: TestClient, setup: dict[str, int]) -> None:
    created = ok(post_guesty(app_client, load("legacy_new")), "created")
    before = snapshot(only_booking(app_client))
    for _ in range(2):
        replay = app_client.post(f"/api/admin/inbox/{created['inbox_id']}/replay")
        assert replay.status_code == 200, replay.text
        assert (replay.json()["status"], replay.json()["outcome"]) == ("processed", "unchanged")
    assert snapshot(only_booking(app_client)) == before


def test_a_redelivery_with_the_same_svix_id_is_a_duplicate(app_client: TestClient, setup: dict[str, int]) -> None:
    first = ok(post_guesty(app_client, load("legacy_new"), msg_id="msg_same"))
    again = ok(post_guesty(app_client, load("legacy_new"), msg_id="msg_same"))
    assert again["duplicate"] is True
    assert again["inbox_id"] == first["inbox_id"]
    assert [e["event_id"] for e in inbox(app_client)] == ["msg_same"]


# --- signatures -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signer", [SECRET, OLD_SECRET])
@pytest.mark.parametrize("prefix", ["svix", "webhook"])
def test_rotation_either_secret_works(
    app_client: TestClient, db: Database, settings: Settings, providers: Providers, signer: str, prefix: str
) -> None:
    cast(FastAPI, app_client.app).state.providers = providers
    connect(db, settings, secrets=(SECRET, OLD_SECRET))
    make_property(db, listings={"guesty": MAIN_LISTING})
    ok(post_guesty(app_client, load("legacy_new"), secret=signer, prefix=prefix), "created")


@pytest.mark.parametrize("case", ["wrong secret", "tampered body", "301 s old"])
def test_refused_deliveries_store_nothing(app_client: TestClient, setup: dict[str, int], case: str) -> None:
    payload = load("legacy_new")
    if case == "wrong secret":
        response = post_guesty(app_client, payload, secret=OTHER_SECRET)
    elif case == "tampered body":
        tampered = dict(payload, reservation={**payload["reservation"], "guestsCount": 12})
        response = post_guesty(app_client, tampered, signed_body=encode(payload))
    else:
        response = post_guesty(app_client, payload, age=timedelta(seconds=301))
    assert response.status_code == 401, response.text
    assert response.json()["field"] == "signature"
    assert inbox(app_client) == []
    assert bookings(app_client) == []


def test_a_guesty_delivery_is_not_accepted_as_generic(app_client: TestClient, setup: dict[str, int]) -> None:
    for prefix in ("svix", "webhook"):
        response = post_guesty(app_client, load("legacy_new"), path="/webhooks/generic", prefix=prefix)
        assert response.status_code == 401, response.text
    assert inbox(app_client) == []


def test_a_second_connection_verifies_with_its_own_secret(
    app_client: TestClient, db: Database, settings: Settings, setup: dict[str, int]
) -> None:
    second = connect(db, settings, secrets=(OTHER_SECRET,), name="Second")
    body = ok(post_guesty(app_client, load("legacy_new"), secret=OTHER_SECRET), "created")
    events = inbox(app_client)
    assert [e["id"] for e in events] == [body["inbox_id"]]
    with db.unit_of_work(write=False) as session:
        row = session.get(InboxEvent, body["inbox_id"])
        assert row is not None and row.account_id == second


# --- placement, guests, non-bookings ----------------------------------------------------------------------------


def test_an_unknown_listing_is_kept_unplaced(app_client: TestClient, setup: dict[str, int]) -> None:
    ok(post_guesty(app_client, load("unknown_listing")), "created")
    booking = only_booking(app_client)
    assert booking["unplaced"] is True
    assert booking["property"] is None
    assert (booking["listing_id"], booking["listing_name"]) == ("64f1c0ffee0000000000aa99", "Lake Cabin 7")
    assert booking["channel"] == "booking.com"
    assert booking["special_requests"] == "Two dogs, both small"
    assert bookings(app_client, unplaced=True) == [booking]


def test_a_guest_without_email_and_multibyte_names(app_client: TestClient, setup: dict[str, int]) -> None:
    for name in ("no_guest_email", "multibyte_zoe", "multibyte_yamada"):
        ok(post_guesty(app_client, load(name)), "created")
    guests = {b["external_id"]: b["guest"] for b in bookings(app_client)}
    assert guests["6650b1f0a1b2c3d4e5f60003"]["full_name"] == "Marcus Bell"
    assert guests["6650b1f0a1b2c3d4e5f60003"]["email"] is None
    assert guests["6650b1f0a1b2c3d4e5f60004"]["full_name"] == "Zoë Ñúñez"
    assert guests["6650b1f0a1b2c3d4e5f60004"]["phone"] == "+34 612 345 678"
    assert guests["6650b1f0a1b2c3d4e5f60005"]["full_name"] == "山田太郎"
    by_id = {b["external_id"]: b for b in bookings(app_client)}
    assert by_id["6650b1f0a1b2c3d4e5f60005"]["special_requests"] == "静かな部屋をお願いします"
    assert by_id["6650b1f0a1b2c3d4e5f60004"]["channel"] == "vrbo"


def test_an_inquiry_is_ignored(app_client: TestClient, setup: dict[str, int]) -> None:
    response = ok(post_guesty(app_client, load("inquiry")))
    assert response["booking_id"] is None
    [event] = inbox(app_client)
    assert (event["status"], event["error"]) == ("ignored", "inquiry is not a booking")
    assert bookings(app_client) == []


def test_an_unknown_event_is_ignored(app_client: TestClient, setup: dict[str, int]) -> None:
    ok(post_guesty(app_client, {"event": "listing.updated", "listing": {"_id": MAIN_LISTING}}))
    [event] = inbox(app_client)
    assert event["status"] == "ignored"
    assert "listing.updated" in event["error"]


def test_a_reservation_missing_its_dates_is_rejected_with_the_field(
    app_client: TestClient, setup: dict[str, int]
) -> None:
    payload = load("legacy_new")
    for key in ("checkOutDateLocalized", "checkOut"):
        del payload["reservation"][key]
    response = post_guesty(app_client, payload)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "reservation.checkOutDateLocalized"
    assert inbox(app_client)[0]["status"] == "rejected"


# --- messages ---------------------------------------------------------------------------------------------------


def messages(db: Database) -> list[tuple[str, str, str]]:
    with db.unit_of_work(write=False) as session:
        rows = session.scalars(select(BookingMessage).order_by(BookingMessage.id))
        return [(m.message_id, m.sender, m.body) for m in rows]


def test_messages_for_a_known_booking_are_stored(app_client: TestClient, db: Database, setup: dict[str, int]) -> None:
    created = ok(post_guesty(app_client, load("legacy_new")), "created")
    received = ok(post_guesty(app_client, load("message_received")))
    ok(post_guesty(app_client, load("message_sent")))
    assert received["booking_id"] == created["booking_id"]
    assert messages(db) == [
        ("665101aa9dcce60032d93b10", "guest", "Hi! Is early check-in possible? Our flight lands at 10am."),
        ("665101ff9dcce60032d93b22", "host", "Hi Sarah, yes: the condo will be ready at 1pm."),
    ]
    # Svix re-sending under a new id does not store the message twice.
    ok(post_guesty(app_client, load("message_received")), "unchanged")
    assert len(messages(db)) == 2


def test_a_message_before_its_booking_fails_then_succeeds_on_replay(
    app_client: TestClient, db: Database, setup: dict[str, int]
) -> None:
    early = post_guesty(app_client, load("message_received"))
    assert early.status_code == 202, early.text
    [event] = inbox(app_client)
    assert event["status"] == "failed"
    assert "BookingNotYetKnown" in event["error"]
    assert messages(db) == []

    ok(post_guesty(app_client, load("legacy_new")), "created")
    replay = app_client.post(f"/api/admin/inbox/{event['id']}/replay")
    assert replay.status_code == 200, replay.text
    assert replay.json()["status"] == "processed"
    assert replay.json()["booking_id"] == only_booking(app_client)["id"]
    assert [m[0] for m in messages(db)] == ["665101aa9dcce60032d93b10"]


# --- the API behind v2 and syncs --------------------------------------------------------------------------------


def test_v2_while_the_api_is_down_is_kept_and_applied_on_replay(
    app_client: TestClient, fake: FakeGuesty, setup: dict[str, int]
) -> None:
    fake.add_reservation(reservation())
    fake.script = [httpx.Response(503) for _ in range(5)]  # the token request itself fails every attempt
    accepted = post_guesty(app_client, load("v2_created_lean"))
    assert accepted.status_code == 202, accepted.text
    [event] = inbox(app_client)
    assert event["status"] == "failed"
    assert "guesty" in event["error"]
    assert bookings(app_client) == []

    replay = app_client.post(f"/api/admin/inbox/{event['id']}/replay")
    assert (replay.json()["status"], replay.json()["outcome"]) == ("processed", "created")
    assert_main_booking(only_booking(app_client), setup["property"])


def test_sync_applies_what_changed_and_skips_inquiries(
    app_client: TestClient,
    db: Database,
    settings: Settings,
    fake: FakeGuesty,
    providers: Providers,
    setup: dict[str, int],
) -> None:
    for name in ("legacy_new", "inquiry", "unknown_listing", "multibyte_yamada"):
        fake.add_reservation(reservation(name))
    report = sync_account(db, providers, setup["account"])
    assert (report.pulled, report.error) == (4, "")
    assert report.statuses == {"created": 3, "ignored": 1}
    assert len(bookings(app_client)) == 3

    # The next sync asks only for what changed since the last one (minus the overlap), with the stored token:
    # a fresh process (new Providers) does not ask Guesty for another token.
    fake.add_reservation(reservation("legacy_updated_dates"))
    fresh = Providers.from_settings(settings, db, http=HttpOptions(transport=fake.transport, sleep=lambda s: None))
    again = sync_account(db, fresh, setup["account"], since=datetime(2026, 5, 10, tzinfo=UTC))
    assert (again.pulled, again.statuses) == (1, {"updated": 1})
    assert fake.tokens_issued == 1
    last = fake.api_requests()[-1]
    assert "2026-05-10T00:00:00.000Z" in last.url.params["filters"]
    assert {b["external_id"]: b["check_in"] for b in bookings(app_client)}[MAIN_ID] == "2026-07-12"


def test_a_sync_stops_at_an_api_error_and_records_it(
    app_client: TestClient, db: Database, fake: FakeGuesty, providers: Providers, setup: dict[str, int]
) -> None:
    fake.script = [lambda r: fake.issue_token(r), httpx.Response(403, json={"error": "forbidden"})]
    report = sync_account(db, providers, setup["account"])
    assert report.pulled == 0
    assert "403" in report.error
    with db.unit_of_work(write=False) as session:
        account = session.get(ProviderAccount, setup["account"])
        assert account is not None
        assert "403" in account.last_sync_error
        assert account.last_synced_at is None
