"""Lookups are rate limited per client address: failures quickly, every lookup more loosely; 429 + Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from luxserv.accounts.models import RateLimitBucket
from luxserv.core.database import Database
from luxserv.core.ratelimit import Limit
from luxserv.portal import throttle
from tests.portal.conftest import NOT_FOUND, GuestStay, csrf_from

TOO_MANY = {"success": False, "error": "Too many attempts. Please wait a few minutes and try again."}


def test_failed_lookups_are_bounded_per_client(
    app: FastAPI, client: TestClient, db: Database, guest_stay: GuestStay
) -> None:
    allowed = throttle.FAILED_LOOKUPS.hits
    for attempt in range(allowed):
        wrong = client.get(f"/api/bookings/lookup/guess{attempt:011d}")
        assert (wrong.status_code, wrong.json()) == (404, NOT_FOUND)
    # Now even the right code is refused from this address, and so are the other ways in.
    refused = client.get(f"/api/bookings/lookup/{guest_stay.code}")
    assert (refused.status_code, refused.json()) == (429, TOO_MANY)
    assert 0 < int(refused.headers["retry-after"]) <= throttle.FAILED_LOOKUPS.seconds
    by_confirmation = client.post(
        "/api/bookings/lookup", json={"confirmation_code": "HMABC12345", "email": "sarah@email.com"}
    )
    assert by_confirmation.status_code == 429
    filing = client.post(
        f"/api/bookings/lookup/{guest_stay.code}/service-requests",
        json={"service_type": "beach_gear_delivery", "date": guest_stay.today.isoformat()},
    )
    assert filing.status_code == 429
    page = client.get("/portal", params={"booking": guest_stay.code})
    assert page.status_code == 429 and "Too many attempts" in page.text and page.headers["retry-after"]

    # Another client is not affected.
    other = TestClient(app, client=("198.51.100.7", 40000))
    assert other.get(f"/api/bookings/lookup/{guest_stay.code}").status_code == 200

    # When the window has passed, the first client may try again.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with db.unit_of_work() as session:
        session.execute(update(RateLimitBucket).values(window_started_at=an_hour_ago))
    assert client.get(f"/api/bookings/lookup/{guest_stay.code}").status_code == 200


def test_confirmation_lookups_and_pages_count_as_failures_too(client: TestClient, guest_stay: GuestStay) -> None:
    token = csrf_from(client.get("/portal").text)
    for attempt in range(throttle.FAILED_LOOKUPS.hits):
        if attempt % 2:
            wrong = client.post(
                "/api/bookings/lookup", json={"confirmation_code": f"HM{attempt}", "email": "sarah@email.com"}
            )
        else:
            wrong = client.post(
                "/portal/find",
                data={"csrf_token": token, "confirmation_code": f"HM{attempt}", "email": "sarah@email.com"},
            )
        assert wrong.status_code == 404
    refused = client.post(
        "/portal/find", data={"csrf_token": token, "confirmation_code": "HMABC12345", "email": "sarah@email.com"}
    )
    assert refused.status_code == 429 and "Too many attempts" in refused.text


def test_every_lookup_counts_toward_a_larger_allowance(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, guest_stay: GuestStay
) -> None:
    monkeypatch.setattr(throttle, "LOOKUPS", Limit("portal.lookup", hits=3, seconds=600))
    for _ in range(3):
        assert client.get(f"/api/bookings/lookup/{guest_stay.code}").status_code == 200
    refused = client.get(f"/api/bookings/lookup/{guest_stay.code}")
    assert (refused.status_code, refused.json()) == (429, TOO_MANY)
    assert int(refused.headers["retry-after"]) > 0
