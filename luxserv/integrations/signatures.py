"""Webhook signature schemes shared by providers: a hex HMAC-SHA256 header, and Standard Webhooks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from standardwebhooks.webhooks import Webhook

from luxserv.core.security import constant_time_equals, hmac_sha256_hex
from luxserv.integrations.base import SignatureInvalid


def verify_hex_hmac(header_value: str, body: bytes, secrets: Sequence[str]) -> None:
    """Accept `sha256=<hex>` or bare `<hex>` made with any of the secrets (rotation); constant-time compare."""
    given = header_value.strip()
    if given.lower().startswith("sha256="):
        given = given[len("sha256=") :]
    given = given.lower()
    matches = [constant_time_equals(hmac_sha256_hex(s.encode(), body), given) for s in secrets if s]
    if not any(matches):
        raise SignatureInvalid("signature does not match the body")


def verify_standard_webhooks(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> None:
    """Standard Webhooks (webhook-id / webhook-timestamp / webhook-signature, ±5 minutes, several `v1,` sigs).

    Secrets written as `whsec_<base64>` are decoded as the spec says; any other secret is used as raw bytes.
    """
    for secret in secrets:
        if not secret:
            continue
        key: str | bytes = secret if secret.startswith("whsec_") else secret.encode()
        try:
            Webhook(key).verify(body, dict(headers), json_parse=False)
        except Exception:  # noqa: S112 - any failure (bad base64, stale timestamp, mismatch) means "not this secret"
            continue
        return
    raise SignatureInvalid("Standard Webhooks signature or timestamp is not valid")
