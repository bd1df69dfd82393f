"""The generic booking webhook end to end: shapes, de-duplication, ordering, bad input, placement (signatures:
`test_generic_signatures.py`).

Every test runs on SQLite and PostgreSQL (the `db` fixture) and talks to the app only over HTTP, except the
audit-log check, which reads the table directly.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.audit.models import AuditEntry
from luxserv.core.database import Database
from tests.conftest import WEBHOOK_SECRET
from tests.factories import (
    flat_payload,
    make_property,
    nested_payload,
    sign,
)
from tests.webhooks.generic_support import (
    ALIAS,
    GENERIC,
    ONE_MIB,
    assert_kept_as_rejected,
    assert_nothing_stored,
    assert_rejected,
    booking,
    bookings,
    encode,
    get_json,
    inbox,
    post_raw,
    send,
    send_ok,
)

# --- 1. shapes and paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [GENERIC, ALIAS])
@pytest.mark.parametrize(
    ("payload", "channel"),
    [(flat_payload(), None), (nested_payload(), "airbnb")],
    ids=["flat", "nested"],
)
def test_both_shapes_create_a_visible_booking_on_both_paths(
    admin: TestClient, beach_condo: int, path: str, payload: dict[str, Any], channel: str | None
) -> None:
    body = encode(payload)
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET), path=path)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "success"
    assert answer["outcome"] == "created"
    assert isinstance(answer["booking_id"], int)
    assert isinstance(answer["inbox_id"], int)
    assert answer["event_id"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert "duplicate" not in answer

    listed = bookings(admin)
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["id"] == answer["booking_id"]
    assert item["provider"] == "generic"
    assert item["external_id"] == "HM123456789"
    assert item["status"] == "confirmed"
    assert item["unplaced"] is False
    assert item["property"]["id"] == beach_condo
    assert item["property"]["name"] == "Beach Condo 123"
    assert item["guest"]["full_name"] == "Sarah Johnson"
    assert item["guest"]["email"] == "sarah@email.com"
    assert item["check_in"] == "2026-06-15"
    assert item["check_out"] == "2026-06-22"
    assert item["nights"] == 7
    assert item["guest_count"] == 4
    assert item["special_requests"] == "Celebrating anniversary"
    assert item["channel"] == channel
    assert booking(admin, answer["booking_id"]) == item

    events = inbox(admin)
    assert events["total"] == 1
    assert events["items"][0]["id"] == answer["inbox_id"]
    assert events["items"][0]["status"] == "processed"
    assert events["items"][0]["booking_id"] == answer["booking_id"]


# --- 4. duplicates ------------------------------------------------------------------------------------------


def test_same_bytes_twice_is_one_booking(admin: TestClient, beach_condo: int) -> None:
    first = send(admin, flat_payload())
    second = send(admin, flat_payload())
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert "duplicate" not in first.json()
    assert second.json()["status"] == "success"
    assert second.json()["duplicate"] is True
    assert second.json()["booking_id"] == first.json()["booking_id"]
    assert second.json()["event_id"] == first.json()["event_id"]
    assert bookings(admin)["total"] == 1
    assert inbox(admin)["total"] == 1


def test_same_event_id_in_the_body_is_a_duplicate(admin: TestClient, beach_condo: int) -> None:
    first = send(admin, flat_payload(event_id="evt-77"))
    second = send(admin, flat_payload(event_id="evt-77", guest_count=2))
    assert first.status_code == 200, first.text
    assert first.json()["event_id"] == "evt-77"
    assert second.status_code == 200, second.text
    assert second.json()["duplicate"] is True
    assert second.json()["booking_id"] == first.json()["booking_id"]
    assert inbox(admin)["total"] == 1
    assert bookings(admin)["items"][0]["guest_count"] == 4


def burst(client: TestClient, body: bytes, *, senders: int = 8) -> list[httpx.Response]:
    """Deliver the same signed body from `senders` threads at once, each with its own TestClient on the app."""
    headers = {"Content-Type": "application/json", "X-Webhook-Signature": sign(body, WEBHOOK_SECRET)}
    clients = [TestClient(client.app) for _ in range(senders)]
    start = threading.Barrier(senders)

    def deliver(sender: TestClient) -> httpx.Response:
        start.wait()
        return sender.post(GENERIC, content=body, headers=headers)

    with ThreadPoolExecutor(max_workers=senders) as pool:
        return list(pool.map(deliver, clients))


def test_the_same_event_sent_concurrently_is_applied_once(admin: TestClient, beach_condo: int) -> None:
    rounds = 3
    for n in range(rounds):
        responses = burst(admin, encode(flat_payload(booking_id=f"RACE-{n}")))
        assert {r.status_code for r in responses} <= {200, 202}, [r.text for r in responses]
        answers = [r.json() for r in responses]
        firsts = [a for a in answers if not a.get("duplicate")]
        assert len(firsts) == 1, answers
        assert firsts[0]["status"] == "success"
        assert firsts[0]["outcome"] == "created"
        assert len({a["inbox_id"] for a in answers}) == 1
        assert {a["booking_id"] for a in answers} <= {firsts[0]["booking_id"], None}

    listed = bookings(admin)
    assert sorted(item["external_id"] for item in listed["items"]) == [f"RACE-{n}" for n in range(rounds)]
    events = inbox(admin)
    assert events["total"] == rounds
    assert {event["status"] for event in events["items"]} == {"processed"}


def test_every_concurrent_delivery_of_the_same_event_is_answered_200(admin: TestClient, beach_condo: int) -> None:
    # Several rounds, so that the race is reliably hit on SQLite too.
    for n in range(10):
        responses = burst(admin, encode(flat_payload(booking_id=f"RACE-{n}")))
        assert [r.status_code for r in responses] == [200] * len(responses), [r.text for r in responses]
        answers = [r.json() for r in responses]
        assert {a["status"] for a in answers} == {"success"}
        assert len({a["booking_id"] for a in answers}) == 1
        assert None not in {a["booking_id"] for a in answers}
    assert bookings(admin)["total"] == 10


# --- 5. ordering --------------------------------------------------------------------------------------------

T1 = "2026-05-01T10:00:00Z"
T2 = "2026-05-02T10:00:00Z"


def test_an_older_update_changes_nothing(admin: TestClient, beach_condo: int) -> None:
    booking_id = send_ok(admin, flat_payload(updated_at=T2))["booking_id"]
    stale = send_ok(
        admin, flat_payload(event="booking.updated", updated_at=T1, check_in="2026-07-01", check_out="2026-07-05")
    )
    assert stale["booking_id"] == booking_id
    assert stale["outcome"] == "stale"
    stored = booking(admin, booking_id)
    assert (stored["check_in"], stored["check_out"]) == ("2026-06-15", "2026-06-22")
    assert inbox(admin, status="ignored")["total"] == 1


def test_a_newer_update_moves_the_dates(admin: TestClient, beach_condo: int) -> None:
    booking_id = send_ok(admin, flat_payload(updated_at=T1))["booking_id"]
    newer = send_ok(
        admin, flat_payload(event="booking.updated", updated_at=T2, check_in="2026-07-01", check_out="2026-07-05")
    )
    assert newer["booking_id"] == booking_id
    assert newer["outcome"] == "updated"
    stored = booking(admin, booking_id)
    assert (stored["check_in"], stored["check_out"]) == ("2026-07-01", "2026-07-05")
    assert stored["status"] == "confirmed"
    assert bookings(admin)["total"] == 1


def test_a_cancellation_before_its_creation_leaves_a_cancelled_booking(admin: TestClient, beach_condo: int) -> None:
    cancelled = send_ok(admin, flat_payload(event="booking.cancelled", updated_at=T2))
    stored = booking(admin, cancelled["booking_id"])
    assert stored["status"] == "cancelled"
    assert stored["cancelled_at"] is not None

    late = send_ok(admin, flat_payload(event="booking.created", updated_at=T1))
    assert late["booking_id"] == cancelled["booking_id"]
    assert late["outcome"] == "stale"
    assert booking(admin, cancelled["booking_id"])["status"] == "cancelled"
    assert bookings(admin)["total"] == 1


@pytest.mark.parametrize("cancel_updated_at", [T2, None], ids=["timestamped-cancel", "untimed-cancel"])
def test_a_created_without_updated_at_does_not_revive_a_cancellation(
    admin: TestClient, beach_condo: int, cancel_updated_at: str | None
) -> None:
    first = send_ok(admin, flat_payload(updated_at=T1))
    cancel = flat_payload(event="booking.cancelled")
    if cancel_updated_at:
        cancel["updated_at"] = cancel_updated_at
    assert send_ok(admin, cancel)["outcome"] == "cancelled"

    late = send_ok(admin, flat_payload(event="booking.created", guest_count=5))
    assert late["booking_id"] == first["booking_id"]
    stored = booking(admin, first["booking_id"])
    assert stored["status"] == "cancelled"
    assert stored["cancelled_at"] is not None


# --- 6. bad input -------------------------------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A valid flat payload padded with JSON whitespace to exactly `size` bytes."""
    body = encode(flat_payload())
    return body + b" " * (size - len(body))


def test_a_body_over_the_limit_is_refused_with_413(admin: TestClient, beach_condo: int) -> None:
    body = padded(ONE_MIB + 1)
    assert len(body) == 1_048_577
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET))
    assert response.status_code == 413, response.text
    assert_nothing_stored(admin)


def test_a_streamed_body_over_the_limit_is_refused_with_413(admin: TestClient, beach_condo: int) -> None:
    body = padded(ONE_MIB + 1)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = post_raw(admin, chunks(), signature=sign(body, WEBHOOK_SECRET))
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413, response.text
    assert_nothing_stored(admin)


def test_a_body_of_exactly_the_limit_is_accepted(admin: TestClient, beach_condo: int) -> None:
    body = padded(ONE_MIB)
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET))
    assert response.status_code == 200, response.text
    assert bookings(admin)["total"] == 1


@pytest.mark.parametrize(
    "body",
    [b'{"booking_id": "HM1", "property": ', b"not json at all", b'{"booking_id": "\xff\xfe"}'],
    ids=["truncated", "text", "not-utf8"],
)
def test_malformed_json_is_400_and_kept_as_rejected(admin: TestClient, body: bytes) -> None:
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET))
    assert_rejected(response, 400, "body")
    assert_kept_as_rejected(admin, body, "body")


def test_a_json_array_is_rejected(admin: TestClient, beach_condo: int) -> None:
    body = encode([flat_payload()])
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET))
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == "body"
    assert_kept_as_rejected(admin, body, "body")


@pytest.mark.parametrize("field", ["booking_id", "property", "guest_name", "check_in", "check_out"])
def test_a_missing_required_field_is_422_naming_it(admin: TestClient, beach_condo: int, field: str) -> None:
    payload = flat_payload()
    del payload[field]
    body = encode(payload)
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET))
    assert_rejected(response, 422, field)
    assert_kept_as_rejected(admin, body, field)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"check_in": "2026-06-22", "check_out": "2026-06-15"}, "check_out"),
        ({"check_in": "2026-06-15", "check_out": "2026-06-15"}, "check_out"),
        ({"guest_count": 0}, "guest_count"),
        ({"guest_email": "sarah-at-email"}, "guest_email"),
        ({"event": "booking.exploded"}, "event"),
    ],
    ids=["check-out-before-check-in", "zero-nights", "no-guests", "bad-email", "unknown-event"],
)
def test_an_invalid_field_is_422_naming_it(
    admin: TestClient, beach_condo: int, overrides: dict[str, Any], field: str
) -> None:
    body = encode(flat_payload(**overrides))
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET))
    assert_rejected(response, 422, field)
    assert_kept_as_rejected(admin, body, field)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_a_body_that_is_not_json_is_415(admin: TestClient, beach_condo: int, content_type: str) -> None:
    body = encode(flat_payload())
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET), content_type=content_type)
    assert response.status_code == 415, response.text
    assert response.json()["field"] == "content-type"
    assert_nothing_stored(admin)


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
    ids=["lists", "objects"],
)
def test_deeply_nested_json_is_a_client_error(admin: TestClient, body: bytes) -> None:
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET))
    assert 400 <= response.status_code < 500, response.text
    assert bookings(admin)["total"] == 0
    # The admin inbox still lists whatever was kept.
    for event in inbox(admin)["items"]:
        assert event["status"] == "rejected"


NAME = "Zoë Ñúñez 山田太郎"


@pytest.mark.parametrize("ensure_ascii", [False, True], ids=["utf8", "escaped"])
def test_multibyte_guest_names_are_stored_exactly(admin: TestClient, beach_condo: int, ensure_ascii: bool) -> None:
    payload = flat_payload(guest_name=NAME, special_requests="Café au lait ☕, 静かな部屋")
    body = json.dumps(payload, ensure_ascii=ensure_ascii).encode("utf-8")
    response = post_raw(admin, body, signature=sign(body, WEBHOOK_SECRET))
    assert response.status_code == 200, response.text
    stored = booking(admin, response.json()["booking_id"])
    assert stored["guest"]["full_name"] == NAME
    assert stored["special_requests"] == "Café au lait ☕, 静かな部屋"
    assert get_json(admin, f"/api/guests/{stored['guest']['id']}")["full_name"] == NAME
    assert inbox(admin)["items"][0]["body"] == body.decode("utf-8")


# --- 7. unknown properties ----------------------------------------------------------------------------------


def unplaced(client: TestClient, **overrides: Any) -> int:
    answer = send_ok(client, flat_payload(property="Gulf View Cottage", **overrides))
    assert answer["outcome"] == "created"
    return int(answer["booking_id"])


def test_a_booking_for_an_unknown_home_is_kept_placed_and_remembered(admin: TestClient, beach_condo: int) -> None:
    booking_id = unplaced(admin)

    waiting = bookings(admin, unplaced="true")
    assert waiting["total"] == 1
    item = waiting["items"][0]
    assert item["id"] == booking_id
    assert item["unplaced"] is True
    assert item["property"] is None
    assert item["listing_name"] == "Gulf View Cottage"
    assert bookings(admin, unplaced="false")["total"] == 0

    placed = admin.post(f"/api/admin/bookings/{booking_id}/place", json={"property_id": beach_condo})
    assert placed.status_code == 200, placed.text
    assert placed.json()["property"]["id"] == beach_condo
    assert placed.json()["unplaced"] is False
    assert bookings(admin, unplaced="true")["total"] == 0
    assert booking(admin, booking_id)["property"]["id"] == beach_condo

    later = send_ok(admin, flat_payload(booking_id="GV-2", property="Gulf View Cottage", event="booking.updated"))
    assert later["booking_id"] != booking_id
    assert booking(admin, later["booking_id"])["property"]["id"] == beach_condo
    assert bookings(admin, unplaced="true")["total"] == 0
    assert bookings(admin, property_id=beach_condo)["total"] == 2


def test_placing_without_remember_learns_nothing(admin: TestClient, beach_condo: int) -> None:
    booking_id = unplaced(admin)
    placed = admin.post(f"/api/admin/bookings/{booking_id}/place", json={"property_id": beach_condo, "remember": False})
    assert placed.status_code == 200, placed.text
    assert placed.json()["property"]["id"] == beach_condo
    later = unplaced(admin, booking_id="GV-2")
    assert booking(admin, later)["unplaced"] is True


def test_a_later_event_for_a_placed_booking_keeps_its_placement(admin: TestClient, beach_condo: int) -> None:
    booking_id = unplaced(admin, updated_at=T1)
    placed = admin.post(f"/api/admin/bookings/{booking_id}/place", json={"property_id": beach_condo, "remember": False})
    assert placed.status_code == 200, placed.text
    moved = send_ok(
        admin,
        flat_payload(property="Gulf View Cottage", event="booking.updated", updated_at=T2, check_out="2026-06-25"),
    )
    assert moved["outcome"] == "updated"
    stored = booking(admin, booking_id)
    assert stored["check_out"] == "2026-06-25"
    assert stored["property"]["id"] == beach_condo


def test_placing_an_already_placed_booking_is_409(admin: TestClient, db: Database, beach_condo: int) -> None:
    booking_id = send_ok(admin, flat_payload())["booking_id"]
    other = make_property(db, name="Gulf View Cottage", address="1 Gulf Dr")
    response = admin.post(f"/api/admin/bookings/{booking_id}/place", json={"property_id": other})
    assert response.status_code == 409, response.text
    assert booking(admin, booking_id)["property"]["id"] == beach_condo


def test_placing_on_an_unknown_property_is_404(admin: TestClient, beach_condo: int) -> None:
    booking_id = unplaced(admin)
    response = admin.post(f"/api/admin/bookings/{booking_id}/place", json={"property_id": beach_condo + 999})
    assert response.status_code == 404, response.text
    assert response.json()["field"] == "property_id"
    assert booking(admin, booking_id)["unplaced"] is True

    missing = admin.post(f"/api/admin/bookings/{booking_id + 999}/place", json={"property_id": beach_condo})
    assert missing.status_code == 404, missing.text


# --- 8. channel listing ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        flat_payload(property_id="L-42", property="Somewhere Nobody Knows"),
        nested_payload(property={"id": "L-42", "address": "Somewhere Nobody Knows"}),
    ],
    ids=["flat", "nested"],
)
def test_a_channel_listing_id_places_the_booking(admin: TestClient, db: Database, payload: dict[str, Any]) -> None:
    make_property(db, name="Beach Condo 123")
    listed = make_property(db, name="Dune House", address="9 Dune Ln", listings={"generic": "L-42"})
    answer = send_ok(admin, payload)
    stored = booking(admin, answer["booking_id"])
    assert stored["unplaced"] is False
    assert stored["property"]["id"] == listed
    assert stored["listing_id"] == "L-42"


def test_a_listing_id_of_another_provider_does_not_match(admin: TestClient, db: Database) -> None:
    make_property(db, name="Dune House", address="9 Dune Ln", listings={"airbnb": "L-42"})
    answer = send_ok(admin, flat_payload(property_id="L-42", property="Somewhere Nobody Knows"))
    assert booking(admin, answer["booking_id"])["unplaced"] is True


# --- 9. audit -----------------------------------------------------------------------------------------------


def test_a_created_booking_is_in_the_audit_log(admin: TestClient, db: Database, beach_condo: int) -> None:
    booking_id = send_ok(admin, flat_payload())["booking_id"]
    with db.session(write=False) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "booking", AuditEntry.entity_id == booking_id)
        ).all()
    created = [e for e in entries if e.action == "booking.created"]
    assert len(created) == 1
    entry = created[0]
    assert entry.actor == "webhook:generic"
    assert entry.details["external_id"] == "HM123456789"
    assert entry.details["property_id"] == beach_condo
    assert entry.details["check_in"] == "2026-06-15"
    assert entry.details["check_out"] == "2026-06-22"
    assert [e.action for e in entries] == ["booking.created"]
