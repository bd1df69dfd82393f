"""Bookings entered inside LuxServ (admin form, CSV import, demo data). The payload is the normalized event.

Fields: external_id, kind (created|updated|cancelled|checked_in|checked_out), property_id or listing{name,address},
guest{name,email,phone}, check_in, check_out, guest_count, special_requests, channel, occurred_at, status.
"""

from __future__ import annotations

from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import AccountConfig, BookingEvent, EventKind, GuestInfo, ListingRef, Provider
from luxserv.integrations.fields import optional_int, optional_str, parse_date, parse_datetime, required_str


class ManualProvider(Provider):
    name = "manual"
    accepts_webhooks = False

    @classmethod
    def create(cls) -> ManualProvider:
        return cls(AccountConfig(id=None, provider=cls.name, name="built-in"))

    def map(self, payload: Any) -> BookingEvent:
        if not isinstance(payload, dict):
            raise EventRejected("body must be a JSON object", field="body")
        kind_text = optional_str(payload, "kind") or "created"
        if kind_text not in EventKind.__members__:
            raise EventRejected(f"unknown kind {kind_text!r}", field="kind")
        raw_listing = payload.get("listing")
        listing: dict[str, Any] = raw_listing if isinstance(raw_listing, dict) else {}
        guest = payload.get("guest")
        if not isinstance(guest, dict):
            raise EventRejected("missing field: guest", field="guest")
        property_id = payload.get("property_id")
        if property_id is not None and (isinstance(property_id, bool) or not isinstance(property_id, int)):
            raise EventRejected("property_id must be a whole number", field="property_id")
        return BookingEvent(
            kind=EventKind(kind_text),
            provider=self.name,
            external_id=required_str(payload, "external_id"),
            listing=ListingRef(
                name=optional_str(listing, "name", "listing.name"),
                address=optional_str(listing, "address", "listing.address"),
                property_id=property_id,
            ),
            guest=GuestInfo(
                name=required_str(guest, "name", "guest.name"),
                email=optional_str(guest, "email", "guest.email"),
                phone=optional_str(guest, "phone", "guest.phone"),
            ),
            check_in=parse_date(payload, "check_in"),
            check_out=parse_date(payload, "check_out"),
            guest_count=optional_int(payload, "guest_count", default=1),
            special_requests=optional_str(payload, "special_requests") or "",
            status=optional_str(payload, "status"),
            channel=optional_str(payload, "channel") or "direct",
            occurred_at=parse_datetime(payload, "occurred_at"),
            raw=payload,
        )
