"""Helpers shared by the generic webhook tests: sending signed bodies and reading back what the app kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from luxserv.app import create_app
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from tests.conftest import WEBHOOK_SECRET
from tests.factories import (
    post_signed,
)

GENERIC = "/webhooks/generic"
ALIAS = "/webhooks/booking-created"
ONE_MIB = 1024 * 1024
PREVIOUS_SECRET = "old-secret-value"


# --- helpers -------------------------------------------------------------------------------------------------


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def post_raw(
    client: TestClient,
    body: Any,
    *,
    signature: str | None = None,
    path: str = GENERIC,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST `body` exactly as given, with an optional X-Webhook-Signature and any extra headers."""
    sent = {"Content-Type": content_type, **(headers or {})}
    if signature is not None:
        sent["X-Webhook-Signature"] = signature
    return client.post(path, content=body, headers=sent)


def send(client: TestClient, payload: Any, *, path: str = GENERIC) -> httpx.Response:
    """POST a payload signed with the configured secret."""
    return post_signed(client, payload, secret=WEBHOOK_SECRET, path=path)


def send_ok(client: TestClient, payload: Any) -> dict[str, Any]:
    response = send(client, payload)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert isinstance(body["booking_id"], int)
    return dict(body)


def standard_headers(webhook: Webhook, body: bytes, *, msg_id: str, timestamp: int) -> dict[str, str]:
    """Standard Webhooks headers signed by the reference library."""
    at = datetime.fromtimestamp(timestamp, UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook.sign(msg_id, at, body.decode()),
    }


def now_ts() -> int:
    return int(datetime.now(UTC).timestamp())


def get_json(client: TestClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def bookings(client: TestClient, **params: Any) -> dict[str, Any]:
    return get_json(client, "/api/bookings", **params)


def booking(client: TestClient, booking_id: int) -> dict[str, Any]:
    return get_json(client, f"/api/bookings/{booking_id}")


def inbox(client: TestClient, **params: Any) -> dict[str, Any]:
    return get_json(client, "/api/admin/inbox", **params)


def assert_nothing_stored(client: TestClient) -> None:
    assert inbox(client)["total"] == 0
    assert bookings(client)["total"] == 0


def assert_kept_as_rejected(client: TestClient, body: bytes, field: str) -> None:
    events = inbox(client)
    assert events["total"] == 1
    event = events["items"][0]
    assert event["status"] == "rejected"
    assert event["error_field"] == field
    assert event["error"]
    assert event["booking_id"] is None
    assert event["body"] == body.decode("utf-8", errors="replace")
    assert bookings(client)["total"] == 0


def assert_rejected(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["field"] == field
    assert answer["detail"]
    assert answer["status"] == "rejected"


@contextmanager
def app_with(settings: Settings, db: Database, **changes: Any) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update=changes), db, run_worker=False)
    with TestClient(app) as client:
        yield client
