"""The generic webhook's signatures: the X-Webhook-Signature header (hex HMAC, secret rotation) and Standard
Webhooks (several signatures, the timestamp window, `whsec_` secrets, the webhook id as the event id).

Every test runs on SQLite and PostgreSQL (the `db` fixture) and talks to the app only over HTTP.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from luxserv.core.database import Database
from luxserv.core.settings import Settings
from tests.conftest import WEBHOOK_SECRET
from tests.factories import (
    admin_client,
    flat_payload,
    post_signed,
    sign,
)
from tests.webhooks.generic_support import (
    PREVIOUS_SECRET,
    app_with,
    assert_nothing_stored,
    bookings,
    encode,
    inbox,
    now_ts,
    post_raw,
    standard_headers,
)

# --- 2. the X-Webhook-Signature header ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "render",
    [
        lambda hexdigest: "sha256=" + hexdigest,
        lambda hexdigest: hexdigest,
        lambda hexdigest: "sha256=" + hexdigest.upper(),
        lambda hexdigest: hexdigest.upper(),
    ],
    ids=["prefixed", "bare", "prefixed-uppercase", "bare-uppercase"],
)
def test_hex_signature_forms_are_accepted(admin: TestClient, beach_condo: int, render: Any) -> None:
    body = encode(flat_payload())
    hexdigest = sign(body, WEBHOOK_SECRET).removeprefix("sha256=")
    response = post_raw(admin, body, signature=render(hexdigest))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "created"
    assert bookings(admin)["total"] == 1


def test_tampered_body_is_refused_and_nothing_is_stored(admin: TestClient, beach_condo: int) -> None:
    signed = encode(flat_payload())
    sent = encode(flat_payload(guest_count=12))
    response = post_raw(admin, sent, signature=sign(signed, WEBHOOK_SECRET))
    assert response.status_code == 401, response.text
    assert response.json()["field"] == "signature"
    assert_nothing_stored(admin)


@pytest.mark.parametrize("signature", [None, "", "sha256=", "sha256=zz"], ids=["absent", "empty", "prefix", "junk"])
def test_missing_signature_is_refused(admin: TestClient, beach_condo: int, signature: str | None) -> None:
    response = post_raw(admin, encode(flat_payload()), signature=signature)
    assert response.status_code == 401, response.text
    assert response.json()["field"] == "signature"
    assert_nothing_stored(admin)


def test_signature_with_a_wrong_secret_is_refused(admin: TestClient, beach_condo: int) -> None:
    response = post_signed(admin, flat_payload(), secret="not-the-webhook-secret")
    assert response.status_code == 401, response.text
    assert_nothing_stored(admin)


def test_previous_secret_is_accepted_while_rotating(settings: Settings, db: Database, beach_condo: int) -> None:
    with app_with(settings, db, webhook_previous_secret=SecretStr(PREVIOUS_SECRET)) as client:
        admin_client(client, db)
        old = post_signed(client, flat_payload(booking_id="OLD-1"), secret=PREVIOUS_SECRET)
        assert old.status_code == 200, old.text
        assert old.json()["outcome"] == "created"
        new = post_signed(client, flat_payload(booking_id="NEW-1"), secret=WEBHOOK_SECRET)
        assert new.status_code == 200, new.text
        other = post_signed(client, flat_payload(booking_id="BAD-1"), secret="some-third-secret")
        assert other.status_code == 401, other.text

        body = encode(flat_payload(booking_id="OLD-2"))
        headers = standard_headers(Webhook(PREVIOUS_SECRET.encode()), body, msg_id="msg_rot", timestamp=now_ts())
        standard = post_raw(client, body, headers=headers)
        assert standard.status_code == 200, standard.text

        listed = bookings(client)
        assert sorted(item["external_id"] for item in listed["items"]) == ["NEW-1", "OLD-1", "OLD-2"]


def test_previous_secret_is_refused_when_not_configured(admin: TestClient, beach_condo: int) -> None:
    response = post_signed(admin, flat_payload(), secret=PREVIOUS_SECRET)
    assert response.status_code == 401, response.text
    assert_nothing_stored(admin)


# --- 3. Standard Webhooks -----------------------------------------------------------------------------------


def test_standard_webhooks_signature_is_accepted(admin: TestClient, beach_condo: int) -> None:
    body = encode(flat_payload())
    headers = standard_headers(Webhook(WEBHOOK_SECRET.encode()), body, msg_id="msg_2a1b", timestamp=now_ts())
    response = post_raw(admin, body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "created"
    assert response.json()["event_id"] == "msg_2a1b"
    assert bookings(admin)["total"] == 1


def test_standard_webhooks_one_valid_signature_among_several_is_enough(admin: TestClient, beach_condo: int) -> None:
    body = encode(flat_payload())
    ts = now_ts()
    wrong = standard_headers(Webhook(b"some-other-secret"), body, msg_id="msg_multi", timestamp=ts)
    right = standard_headers(Webhook(WEBHOOK_SECRET.encode()), body, msg_id="msg_multi", timestamp=ts)
    headers = {**right, "webhook-signature": f"{wrong['webhook-signature']} {right['webhook-signature']}"}
    response = post_raw(admin, body, headers=headers)
    assert response.status_code == 200, response.text
    assert bookings(admin)["total"] == 1


def test_standard_webhooks_with_no_valid_signature_is_refused(admin: TestClient, beach_condo: int) -> None:
    body = encode(flat_payload())
    ts = now_ts()
    one = standard_headers(Webhook(b"some-other-secret"), body, msg_id="msg_bad", timestamp=ts)
    two = standard_headers(Webhook(b"yet-another-secret"), body, msg_id="msg_bad", timestamp=ts)
    headers = {**one, "webhook-signature": f"{one['webhook-signature']} {two['webhook-signature']}"}
    response = post_raw(admin, body, headers=headers)
    assert response.status_code == 401, response.text
    assert_nothing_stored(admin)


def test_standard_webhooks_tampered_body_is_refused(admin: TestClient, beach_condo: int) -> None:
    signed = encode(flat_payload())
    headers = standard_headers(Webhook(WEBHOOK_SECRET.encode()), signed, msg_id="msg_t", timestamp=now_ts())
    response = post_raw(admin, encode(flat_payload(guest_count=9)), headers=headers)
    assert response.status_code == 401, response.text
    assert_nothing_stored(admin)


@pytest.mark.parametrize("skew", [-301, 301], ids=["past", "future"])
def test_standard_webhooks_timestamp_outside_five_minutes_is_refused(
    admin: TestClient, beach_condo: int, skew: int
) -> None:
    body = encode(flat_payload())
    # Round away from now, so the skew is at least 301 s whatever fraction of a second it is.
    ts = now_ts() + skew + (1 if skew > 0 else 0)
    headers = standard_headers(Webhook(WEBHOOK_SECRET.encode()), body, msg_id="msg_skew", timestamp=ts)
    response = post_raw(admin, body, headers=headers)
    assert response.status_code == 401, response.text
    assert_nothing_stored(admin)


@pytest.mark.parametrize("skew", [-240, 240], ids=["past", "future"])
def test_standard_webhooks_timestamp_within_five_minutes_is_accepted(
    admin: TestClient, beach_condo: int, skew: int
) -> None:
    body = encode(flat_payload())
    headers = standard_headers(Webhook(WEBHOOK_SECRET.encode()), body, msg_id="msg_ok", timestamp=now_ts() + skew)
    response = post_raw(admin, body, headers=headers)
    assert response.status_code == 200, response.text


def test_standard_webhooks_timestamp_tolerance_follows_the_setting(
    settings: Settings, db: Database, beach_condo: int
) -> None:
    with app_with(settings, db, webhook_timestamp_tolerance_seconds=60) as client:
        body = encode(flat_payload())
        headers = standard_headers(Webhook(WEBHOOK_SECRET.encode()), body, msg_id="msg_tol", timestamp=now_ts() - 120)
        response = post_raw(client, body, headers=headers)
        assert response.status_code == 401, response.text


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp"])
def test_standard_webhooks_without_id_or_timestamp_is_refused(
    admin: TestClient, beach_condo: int, missing: str
) -> None:
    body = encode(flat_payload())
    headers = standard_headers(Webhook(WEBHOOK_SECRET.encode()), body, msg_id="msg_x", timestamp=now_ts())
    del headers[missing]
    response = post_raw(admin, body, headers=headers)
    assert response.status_code == 401, response.text
    assert_nothing_stored(admin)


def test_whsec_secret_is_decoded_as_the_spec_says(settings: Settings, db: Database, beach_condo: int) -> None:
    whsec = "whsec_" + base64.b64encode(b"luxserv-standard-webhooks-key-01").decode()
    with app_with(settings, db, webhook_secret=SecretStr(whsec)) as client:
        admin_client(client, db)
        body = encode(flat_payload())

        literal = standard_headers(Webhook(whsec.encode()), body, msg_id="msg_lit", timestamp=now_ts())
        refused = post_raw(client, body, headers=literal)
        assert refused.status_code == 401, refused.text

        decoded = standard_headers(Webhook(whsec), body, msg_id="msg_whsec", timestamp=now_ts())
        accepted = post_raw(client, body, headers=decoded)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["outcome"] == "created"
        assert bookings(client)["total"] == 1


def test_webhook_id_is_the_event_id(admin: TestClient, beach_condo: int) -> None:
    body = encode(flat_payload())
    webhook = Webhook(WEBHOOK_SECRET.encode())
    first = post_raw(admin, body, headers=standard_headers(webhook, body, msg_id="msg_same", timestamp=now_ts()))
    assert first.status_code == 200, first.text
    assert first.json()["event_id"] == "msg_same"

    again = standard_headers(webhook, body, msg_id="msg_same", timestamp=now_ts() - 30)
    second = post_raw(admin, body, headers=again)
    assert second.status_code == 200, second.text
    assert second.json()["duplicate"] is True
    assert second.json()["booking_id"] == first.json()["booking_id"]
    assert second.json()["inbox_id"] == first.json()["inbox_id"]

    # The same id with other content is still the same event: not applied.
    changed = encode(flat_payload(guest_count=2))
    third = post_raw(admin, changed, headers=standard_headers(webhook, changed, msg_id="msg_same", timestamp=now_ts()))
    assert third.status_code == 200, third.text
    assert third.json()["duplicate"] is True

    assert inbox(admin)["total"] == 1
    assert bookings(admin)["items"][0]["guest_count"] == 4
