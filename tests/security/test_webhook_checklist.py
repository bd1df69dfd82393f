"""The webhook checklist in one place: every forged, stale, oversized or malformed delivery is refused, stores
nothing, and creates no booking; a rotated secret keeps working while both are configured."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from luxserv.app import create_app
from luxserv.bookings.models import Booking
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.inbox.models import InboxEvent
from luxserv.integrations import signatures
from tests.conftest import WEBHOOK_SECRET
from tests.factories import flat_payload, make_property, sign
from tests.integrations.guesty.helpers import SECRET as GUESTY_SECRET
from tests.integrations.guesty.helpers import connect, load, post_guesty

PREVIOUS = "the-secret-before-rotation"
BODY = json.dumps(flat_payload()).encode()
JSON = {"Content-Type": "application/json"}


def standard(body: bytes, *, secret: str = WEBHOOK_SECRET, age: int = 0) -> dict[str, str]:
    ts = _now() - age
    msg_id = "msg_" + hashlib.sha256(body).hexdigest()[:20]
    signature = Webhook(secret.encode()).sign(msg_id, _dt(ts), body.decode())
    return {**JSON, "webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def _now() -> int:
    return int(time.time())


def _dt(ts: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC)


def hmac_headers(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {**JSON, "X-Webhook-Signature": sign(body, secret)}


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


CASES: dict[str, tuple[Callable[[], tuple[bytes, dict[str, str]]], int]] = {
    "missing signature": (lambda: (BODY, JSON), 401),
    "tampered body": (lambda: (BODY.replace(b"Sarah", b"Sarra"), hmac_headers(BODY)), 401),
    "wrong secret": (lambda: (BODY, hmac_headers(BODY, "not-the-secret")), 401),
    "retired secret": (lambda: (BODY, hmac_headers(BODY, "a-secret-no-longer-configured")), 401),
    "timestamp 301 s old": (lambda: (BODY, standard(BODY, age=301)), 401),
    "timestamp 301 s ahead": (lambda: (BODY, standard(BODY, age=-301)), 401),
    "body over 1 MiB": (lambda: (b" " * (1024 * 1024 + 1), JSON), 413),
    "deeply nested JSON": (lambda: (nested(100_000), hmac_headers(nested(100_000))), 400),
    "wrong content type": (lambda: (BODY, {**hmac_headers(BODY), "Content-Type": "text/plain"}), 415),
}


@pytest.fixture
def client(settings: Settings, db: Database) -> Any:
    make_property(db)
    rotated = settings.model_copy(update={"webhook_previous_secret": SecretStr(PREVIOUS)})
    with TestClient(create_app(rotated, db, run_worker=False)) as test_client:
        yield test_client


def stored(db: Database) -> tuple[int, int]:
    with db.unit_of_work(write=False) as session:
        events = session.scalar(select(func.count(InboxEvent.id))) or 0
        bookings = session.scalar(select(func.count(Booking.id))) or 0
    return int(events), int(bookings)


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_delivery_is_refused_and_creates_no_booking(
    client: TestClient, db: Database, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sender and server agree on "now" to the second: 301 s ahead stays 301 s however slow the machine is.
    stamp = _now()
    monkeypatch.setattr(sys.modules[__name__], "_now", lambda: stamp)
    monkeypatch.setattr(signatures, "utcnow", lambda: _dt(stamp))
    make, expected = CASES[case]
    body, headers = make()
    response = client.post("/webhooks/generic", content=body, headers=headers)
    if case == "deeply nested JSON":
        assert response.status_code in (400, 422), response.text
    else:
        assert response.status_code == expected, response.text
    assert response.json()["detail"]
    assert stored(db)[1] == 0


def test_timestamps_within_the_window_and_a_rotated_secret_are_accepted(client: TestClient, db: Database) -> None:
    signers: list[Callable[[bytes], dict[str, str]]] = [
        lambda body: standard(body, age=290),  # inside the 300 s window, with room for a slow machine
        lambda body: standard(body, age=-290),
        lambda body: hmac_headers(body, PREVIOUS),
        lambda body: hmac_headers(body),
    ]
    for n, signer in enumerate(signers):
        body = json.dumps(flat_payload(special_requests=f"delivery {n}")).encode()
        response = client.post("/webhooks/generic", content=body, headers=signer(body))
        assert response.status_code == 200, (n, response.text)
    assert stored(db) == (4, 1)


def test_a_secret_of_one_provider_opens_no_other(client: TestClient, db: Database, settings: Settings) -> None:
    connect(db, settings)
    # A Guesty-signed delivery at the generic endpoint, both header families.
    for prefix in ("svix", "webhook"):
        assert post_guesty(client, load("legacy_new"), path="/webhooks/generic", prefix=prefix).status_code == 401
    # The generic secret used to sign a Guesty-shaped delivery.
    forged = post_guesty(client, load("legacy_new"), secret="whsec_" + "Z2VuZXJpYw==")
    assert forged.status_code == 401
    body = json.dumps(load("legacy_new")).encode()
    assert client.post("/webhooks/guesty", content=body, headers=hmac_headers(body)).status_code == 401
    # And Guesty's own secret still works there, so the refusals above are about the secret.
    accepted = post_guesty(client, load("legacy_new"), secret=GUESTY_SECRET, age=timedelta(seconds=1))
    assert accepted.status_code in (200, 202), accepted.text
    assert stored(db)[1] <= 1
