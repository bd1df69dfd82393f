"""The OwnerRez provider: HTTP Basic webhooks, enrichment of lean payloads, and sync through API v2."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import (
    ApiProvider,
    BookingEvent,
    EventSkipped,
    InboundRequest,
    Pulled,
)
from luxserv.integrations.ownerrez import mapping
from luxserv.integrations.ownerrez.client import OwnerRezClient
from luxserv.integrations.signatures import check_account_basic_auth


class OwnerRezProvider(ApiProvider[OwnerRezClient]):
    """Credentials: `webhook_username`, `webhook_password` (webhooks); `access_token` (OAuth app) or
    `api_username` + `api_token` (personal access token) for the API. Options: `base_url`."""

    name = "ownerrez"

    def make_client(self) -> OwnerRezClient:
        return OwnerRezClient(self.account, self.deps)

    def verify(self, request: InboundRequest) -> None:
        check_account_basic_auth(self.account, request.headers, provider="OwnerRez")

    def enrich(self, payload: Any) -> Any:
        """Fetch the booking when the delivery lacks its dates, and the guest when only its id is given."""
        if not isinstance(payload, dict) or mapping.skip_reason(payload) is not None:
            return payload
        entity = payload.get("entity")
        booking: dict[str, Any] = dict(entity) if isinstance(entity, dict) else {}
        if not mapping.has_dates(booking):
            booking_id = booking.get("id") or payload.get("entity_id")
            if booking_id is None:
                raise EventRejected("missing field: entity_id", field="entity_id")
            fetched = self.client.booking(str(booking_id))
            if fetched is None:
                raise EventSkipped(
                    f"OwnerRez booking {booking_id} no longer exists and the delivery does not say which stay it "
                    "was; cancel it by hand in LuxServ if it was stored"
                )
            booking = {**booking, **fetched}
        if not mapping.is_block(booking) and mapping.needs_guest(booking):
            guest_ref = booking.get("guest")
            guest_id = booking.get("guest_id") or (guest_ref.get("id") if isinstance(guest_ref, dict) else None)
            guest = self.client.guest(str(guest_id))
            if guest is not None:
                booking["guest"] = {**(guest_ref if isinstance(guest_ref, dict) else {}), **guest}
        return {**payload, "entity": booking}

    def map(self, payload: Any) -> BookingEvent:
        if not isinstance(payload, dict):
            raise EventRejected("body must be a JSON object", field="body")
        reason = mapping.skip_reason(payload)
        if reason is not None:
            raise EventSkipped(reason)
        return mapping.to_event(payload)

    def pull(self, since: datetime | None, listing_ids: Sequence[str] | None = None) -> Iterator[Pulled]:
        for booking in self.client.bookings(since, listing_ids):
            if not isinstance(booking, dict) or booking.get("id") is None:
                continue
            yield Pulled(
                event_id=f"sync:{booking['id']}:{booking.get('updated_utc') or ''}",
                body={
                    "action": "entity_update",
                    "entity_type": "booking",
                    "entity_id": booking["id"],
                    "entity": booking,
                },
            )
