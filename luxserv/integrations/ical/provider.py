"""`IcalProvider`: maps the inbox events the feed sync writes (never a webhook) to booking events."""

from __future__ import annotations

from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import AccountConfig, BookingEvent, EventKind, GuestInfo, ListingRef, Provider
from luxserv.integrations.fields import optional_int, optional_str, parse_date, required_str
from luxserv.integrations.ical.parse import confirmation_code, guest_name

NAME = "ical"


class IcalProvider(Provider):
    """Body (written by `ical.service`, so `property_id` is trusted): feed_id, property_id, channel, uid, summary,
    description, start, end (YYYY-MM-DD, end = check-out day); optionally status ("cancelled" cancels,
    "confirmed" reinstates), guest_name, guest_count and special_requests (kept from the booking, since a feed
    has none)."""

    name = NAME
    accepts_webhooks = False

    @classmethod
    def create(cls) -> IcalProvider:
        return cls(AccountConfig(id=None, provider=cls.name, name="built-in"))

    def map(self, payload: Any) -> BookingEvent:
        if not isinstance(payload, dict):
            raise EventRejected("body must be a JSON object", field="body")
        feed_id = _whole(payload, "feed_id")
        property_id = _whole(payload, "property_id")
        channel = (optional_str(payload, "channel") or "other").lower()
        summary = optional_str(payload, "summary") or ""
        description = optional_str(payload, "description") or ""
        status = optional_str(payload, "status")
        if status not in (None, "cancelled", "confirmed"):
            raise EventRejected(f"unknown status {status!r}", field="status")
        return BookingEvent(
            kind=EventKind.cancelled if status == "cancelled" else EventKind.created,
            provider=self.name,
            external_id=f"{feed_id}:{required_str(payload, 'uid')}",
            listing=ListingRef(property_id=property_id),
            guest=GuestInfo(name=optional_str(payload, "guest_name") or guest_name(summary, description, channel)),
            check_in=parse_date(payload, "start"),
            check_out=parse_date(payload, "end"),
            guest_count=optional_int(payload, "guest_count", default=1),
            special_requests=optional_str(payload, "special_requests") or "",
            status="confirmed" if status == "confirmed" else None,
            confirmation_code=confirmation_code(description, channel),
            channel=channel,
            raw=payload,
        )


def _whole(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventRejected(f"{key} must be a whole number", field=key)
    return value
