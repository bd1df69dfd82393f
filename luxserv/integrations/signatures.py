"""Webhook authentication schemes shared by providers: hex HMAC-SHA256, Standard Webhooks, HTTP Basic."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from luxserv.core.clock import utcnow
from luxserv.core.security import constant_time_equals, hmac_sha256_hex
from luxserv.integrations.base import AccountConfig, SignatureInvalid


def verify_hex_hmac(header_value: str, body: bytes, secrets: Sequence[str]) -> None:
    """Accept `sha256=<hex>` or bare `<hex>` made with any of the secrets (rotation); constant-time compare."""
    given = header_value.strip()
    if given.lower().startswith("sha256="):
        given = given[len("sha256=") :]
    given = given.lower()
    matches = [constant_time_equals(hmac_sha256_hex(s.encode(), body), given) for s in secrets if s]
    if not any(matches):
        raise SignatureInvalid("signature does not match the body")


def verify_standard_webhooks(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    *,
    tolerance_seconds: int = 300,
    prefix: str = "webhook",
) -> None:
    """Standard Webhooks: `<prefix>-id`, `<prefix>-timestamp`, `<prefix>-signature` (several `v1,<base64>`).

    The signature format is computed by the `standardwebhooks` reference library; the timestamp window is ours so
    it follows LUXSERV_WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS. Svix (prefix "svix") signs the same way.
    Secrets written as `whsec_<base64>` are decoded as the spec says; any other secret is used as raw bytes.
    """
    msg_id = headers.get(f"{prefix}-id", "")
    stamp = headers.get(f"{prefix}-timestamp", "")
    given = headers.get(f"{prefix}-signature", "")
    if not (msg_id and stamp and given):
        raise SignatureInvalid(f"missing {prefix}-id, {prefix}-timestamp or {prefix}-signature header")
    try:
        sent_at = datetime.fromtimestamp(int(stamp), tz=UTC)
        text = body.decode("utf-8")
    except (ValueError, OverflowError, UnicodeDecodeError) as error:
        raise SignatureInvalid("webhook timestamp or body cannot be verified") from error
    if abs((utcnow() - sent_at).total_seconds()) > tolerance_seconds:
        raise SignatureInvalid(f"webhook timestamp is more than {tolerance_seconds} seconds away from now")
    offered = [part.split(",", 1)[1] for part in given.split() if part.startswith("v1,")]
    for secret in secrets:
        if not secret:
            continue
        key: str | bytes = secret if secret.startswith("whsec_") else secret.encode()
        try:
            expected = Webhook(key).sign(msg_id=msg_id, timestamp=sent_at, data=text).split(",", 1)[1]
        except (ValueError, binascii.Error):  # an undecodable whsec_ secret: not this one
            continue
        if any(constant_time_equals(expected, candidate) for candidate in offered):
            return
    raise SignatureInvalid("webhook signature does not match")


def check_basic_auth(headers: Mapping[str, str], username: str, password: str, *, provider: str) -> None:
    """Raise `SignatureInvalid` unless `Authorization: Basic` carries exactly this user and password.

    A connection without webhook credentials refuses everything: unauthenticated webhooks are never accepted.
    Both halves are compared in constant time, and both are always compared.
    """
    if not (username and password):
        raise SignatureInvalid(
            f"this {provider} connection has no webhook_username/webhook_password: set them here and in {provider}"
        )
    scheme, _, encoded = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise SignatureInvalid(f"missing HTTP Basic credentials (the {provider} webhook user and password)")
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise SignatureInvalid("malformed HTTP Basic credentials") from error
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")
    given_user, colon, given_password = decoded.partition(":")
    user_ok = constant_time_equals(given_user, username)
    password_ok = constant_time_equals(given_password, password)
    if not (colon and user_ok and password_ok):
        raise SignatureInvalid(f"wrong {provider} webhook user or password")


def check_account_basic_auth(account: AccountConfig, headers: Mapping[str, str], *, provider: str) -> None:
    """HTTP Basic webhooks checked against a connection's `webhook_username` / `webhook_password`."""
    check_basic_auth(
        headers,
        account.credentials.get("webhook_username", ""),
        account.credentials.get("webhook_password", ""),
        provider=provider,
    )
