"""The generic booking webhook: what a channel-manager relay or a Zapier-style bridge sends.

Two shapes are accepted (see README):
- flat:   booking_id, property, guest_name, guest_email, guest_phone, check_in, check_out, guest_count,
          special_requests
- nested: booking_id, source, property{address|name|id}, guest{name,email,phone}, check_in_date, check_out_date,
          guest_count, special_requests
Both may carry `event` (booking.created | booking.updated | booking.cancelled | booking.checked_in |
booking.checked_out), `status` ("cancelled" cancels), `updated_at` (ISO 8601, orders updates) and `event_id`.

Authentication: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>` (bare hex accepted), or the
Standard Webhooks headers. Secrets: LUXSERV_WEBHOOK_SECRET (and LUXSERV_WEBHOOK_PREVIOUS_SECRET while rotating).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import (
    AccountConfig,
    BookingEvent,
    EventKind,
    GuestInfo,
    InboundRequest,
    ListingRef,
    Provider,
    SignatureInvalid,
    body_event_id,
)
from luxserv.integrations.fields import optional_int, optional_str, parse_date, parse_datetime, required_str
from luxserv.integrations.signatures import verify_hex_hmac, verify_standard_webhooks

_EVENTS = {
    "booking.created": EventKind.created,
    "booking.updated": EventKind.updated,
    "booking.cancelled": EventKind.cancelled,
    "booking.canceled": EventKind.cancelled,
    "booking.checked_in": EventKind.checked_in,
    "booking.checked_out": EventKind.checked_out,
}


class GenericProvider(Provider):
    """Credentials: `secrets` (newline-separated: current first, previous during rotation).
    Options: `tolerance_seconds` for signed timestamps."""

    name = "generic"

    @classmethod
    def from_secrets(cls, secrets: Sequence[str], *, tolerance_seconds: int = 300) -> GenericProvider:
        account = AccountConfig(
            id=None,
            provider=cls.name,
            name="environment",
            credentials={"secrets": "\n".join(secrets)},
            options={"tolerance_seconds": tolerance_seconds},
        )
        return cls(account)

    @property
    def _secrets(self) -> list[str]:
        return [s for s in self.account.credentials.get("secrets", "").split("\n") if s]

    @property
    def _tolerance(self) -> int:
        return int(self.account.options.get("tolerance_seconds", 300))

    def verify(self, request: InboundRequest) -> None:
        signature = request.headers.get("x-webhook-signature")
        if signature is not None:
            verify_hex_hmac(signature, request.body, self._secrets)
        elif "webhook-signature" in request.headers:
            verify_standard_webhooks(request.headers, request.body, self._secrets, tolerance_seconds=self._tolerance)
        else:
            raise SignatureInvalid("missing signature: send X-Webhook-Signature or Standard Webhooks headers")

    def event_id(self, request: InboundRequest, payload: Any) -> str:
        if request.headers.get("webhook-id"):
            return request.headers["webhook-id"][:200]
        if isinstance(payload, dict) and isinstance(payload.get("event_id"), str | int):
            return str(payload["event_id"])[:200]
        # No id given: the same bytes re-sent are the same event.
        return body_event_id(request.body)

    def map(self, payload: Any) -> BookingEvent:
        if not isinstance(payload, dict):
            raise EventRejected("body must be a JSON object", field="body")
        kind = _event_kind(payload)
        prop = payload.get("property")
        if isinstance(prop, dict):
            listing = ListingRef(
                listing_id=optional_str(prop, "id", "property.id"),
                name=optional_str(prop, "name", "property.name"),
                address=optional_str(prop, "address", "property.address"),
            )
        else:
            listing = ListingRef(
                listing_id=optional_str(payload, "property_id"), name=optional_str(payload, "property")
            )
        if not (listing.listing_id or listing.name or listing.address):
            raise EventRejected("missing field: property", field="property")

        guest = payload.get("guest")
        if isinstance(guest, dict):
            guest_info = GuestInfo(
                name=required_str(guest, "name", "guest.name"),
                email=optional_str(guest, "email", "guest.email"),
                phone=optional_str(guest, "phone", "guest.phone"),
            )
        else:
            guest_info = GuestInfo(
                name=required_str(payload, "guest_name"),
                email=optional_str(payload, "guest_email"),
                phone=optional_str(payload, "guest_phone"),
            )

        check_in_key = "check_in_date" if "check_in_date" in payload else "check_in"
        check_out_key = "check_out_date" if "check_out_date" in payload else "check_out"
        return BookingEvent(
            kind=kind,
            provider=self.name,
            external_id=required_str(payload, "booking_id"),
            listing=listing,
            guest=guest_info,
            check_in=parse_date(payload, check_in_key),
            check_out=parse_date(payload, check_out_key),
            guest_count=optional_int(payload, "guest_count", default=1),
            special_requests=optional_str(payload, "special_requests") or "",
            channel=(optional_str(payload, "source") or "").lower() or None,
            occurred_at=parse_datetime(payload, "updated_at"),
            raw=payload,
        )


def _event_kind(payload: dict[str, Any]) -> EventKind:
    name = payload.get("event")
    status = str(payload.get("status") or "").lower()
    if name is None:
        return EventKind.cancelled if status in ("cancelled", "canceled") else EventKind.created
    if not isinstance(name, str) or name.lower() not in _EVENTS:
        raise EventRejected(f"event must be one of {', '.join(sorted(_EVENTS))}", field="event")
    kind = _EVENTS[name.lower()]
    if status in ("cancelled", "canceled"):
        return EventKind.cancelled
    return kind
