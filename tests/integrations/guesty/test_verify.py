"""Guesty webhooks are Svix deliveries: Standard Webhooks signatures, several secrets, a 300 s window."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest

from luxserv.core.clock import utcnow
from luxserv.integrations import signatures
from luxserv.integrations.base import ProviderDeps, SignatureInvalid, body_event_id
from tests.integrations.guesty.helpers import (
    OLD_SECRET,
    OTHER_SECRET,
    SECRET,
    encode,
    inbound,
    load,
    provider,
    svix_headers,
)

BODY = encode(load("legacy_new"))


def test_a_svix_signed_delivery_is_accepted(deps: ProviderDeps) -> None:
    provider(deps).verify(inbound(BODY, svix_headers(BODY)))


def test_white_labelled_webhook_headers_are_accepted(deps: ProviderDeps) -> None:
    provider(deps).verify(inbound(BODY, svix_headers(BODY, prefix="webhook")))


def test_the_signature_is_the_documented_hmac_by_hand(deps: ProviderDeps) -> None:
    """Independent of the reference library: HMAC-SHA256(base64-decoded secret, "id.timestamp.body"), base64."""
    stamp = str(int(utcnow().timestamp()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, b"msg_1." + stamp.encode() + b"." + BODY, hashlib.sha256).digest()
    headers = {"svix-id": "msg_1", "svix-timestamp": stamp, "svix-signature": "v1," + base64.b64encode(digest).decode()}
    provider(deps).verify(inbound(BODY, headers))


@pytest.mark.parametrize("signer", [SECRET, OLD_SECRET])
def test_either_secret_works_while_rotating(deps: ProviderDeps, signer: str) -> None:
    provider(deps, secrets=(SECRET, OLD_SECRET)).verify(inbound(BODY, svix_headers(BODY, secret=signer)))


def test_secrets_separated_by_blank_lines_and_spaces(deps: ProviderDeps) -> None:
    guesty = provider(deps, secrets=(f"  {SECRET}  ", "", f"{OLD_SECRET}\r"))
    assert guesty.webhook_secrets == [SECRET, OLD_SECRET]
    guesty.verify(inbound(BODY, svix_headers(BODY, secret=OLD_SECRET)))


def test_any_one_of_several_signatures_may_match(deps: ProviderDeps) -> None:
    headers = svix_headers(BODY, secret=OTHER_SECRET)
    good = svix_headers(BODY, msg_id=headers["svix-id"])["svix-signature"]
    headers["svix-signature"] = f"v1,bm90LWl0 {headers['svix-signature']} v2,ignored {good}"
    provider(deps).verify(inbound(BODY, headers))


@pytest.mark.parametrize(
    "case", ["wrong secret", "tampered body", "301 s old", "301 s ahead", "other message id", "no signature"]
)
def test_refused_deliveries(deps: ProviderDeps, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    now = utcnow().replace(microsecond=0)  # sender and verifier agree on "now": 301 s stays 301 s
    monkeypatch.setattr(signatures, "utcnow", lambda: now)
    body, headers = BODY, svix_headers(BODY, at=now)
    if case == "wrong secret":
        headers = svix_headers(BODY, secret=OTHER_SECRET)
    elif case == "tampered body":
        body = BODY.replace(b'"guestsCount": 4', b'"guestsCount": 9')
        assert body != BODY
    elif case == "301 s old":
        headers = svix_headers(BODY, at=now - timedelta(seconds=301))
    elif case == "301 s ahead":
        headers = svix_headers(BODY, at=now + timedelta(seconds=301))
    elif case == "other message id":
        headers["svix-id"] = "msg_someone_else"
    else:
        del headers["svix-signature"]
    with pytest.raises(SignatureInvalid):
        provider(deps).verify(inbound(body, headers))


def test_a_timestamp_299_s_old_is_still_accepted(deps: ProviderDeps) -> None:
    provider(deps).verify(inbound(BODY, svix_headers(BODY, at=utcnow() - timedelta(seconds=299))))


def test_a_hex_hmac_header_is_not_a_guesty_signature(deps: ProviderDeps) -> None:
    """Some third-party code checks `X-Guesty-Signature` (hex HMAC of the body); Guesty signs through Svix."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    hex_sig = hmac.new(key, BODY, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureInvalid, match="svix-signature"):
        provider(deps).verify(inbound(BODY, {"x-guesty-signature": hex_sig}))


def test_no_configured_secret_refuses_everything(deps: ProviderDeps) -> None:
    with pytest.raises(SignatureInvalid, match="no webhook secret"):
        provider(deps, secrets=()).verify(inbound(BODY, svix_headers(BODY)))


def test_event_id_is_the_svix_message_id_then_meta_event_id_then_the_body_hash(deps: ProviderDeps) -> None:
    guesty = provider(deps)
    lean = load("v2_created_lean")
    body = encode(lean)
    assert guesty.event_id(inbound(body, svix_headers(body, msg_id="msg_A")), lean) == "msg_A"
    assert guesty.event_id(inbound(body, svix_headers(body, msg_id="msg_B", prefix="webhook")), lean) == "msg_B"
    assert guesty.event_id(inbound(body, {}), lean) == "e7c1d7a2-0b55-4c1e-9f0a-5a1f2c3d4e01"
    legacy = load("legacy_new")
    assert guesty.event_id(inbound(BODY, {}), legacy) == body_event_id(BODY)
    assert guesty.event_id(inbound(b"not json", {}), None) == body_event_id(b"not json")
