"""Hostaway unified-webhook envelopes and reservation objects → `BookingEvent`. Pure functions: no I/O here."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.integrations.fields import optional_int, optional_str, parse_date, parse_datetime

PROVIDER_NAME = "hostaway"
# Event names compared without case or punctuation: "reservation.created" and "reservationCreated" are one.
_EVENTS = {"reservationcreated": EventKind.created, "reservationupdated": EventKind.updated}
_ACTIVE = frozenset({"new", "modified", "confirmed"})
_CANCELLED = frozenset({"cancelled", "canceled", "declined", "expired"})
_CHANNELS = (  # (fragment of channelName, normalized channel); the first match wins
    ("airbnb", "airbnb"),
    ("homeaway", "vrbo"),
    ("vrbo", "vrbo"),
    ("bookingcom", "booking.com"),
    ("booking.com", "booking.com"),
    ("direct", "direct"),
)


def event_kind(payload: dict[str, Any]) -> EventKind | None:
    name = payload.get("event")
    if not isinstance(name, str):
        return None
    return _EVENTS.get(re.sub(r"[^a-z]", "", name.lower()))


def skip_reason(payload: dict[str, Any]) -> str | None:
    """Why this delivery changes no booking (a test ping, another object or event), or None."""
    data = payload.get("data")
    if data == "test":
        return "Hostaway test webhook: nothing to apply"
    obj = payload.get("object")
    if obj is not None and obj != "reservation":
        return f"Hostaway {obj!r} events do not change a booking"
    if event_kind(payload) is None:
        return f"Hostaway event {payload.get('event')!r} is not a reservation change"
    if not isinstance(data, dict):
        return None  # `to_event` rejects it with the field's name
    return status_skip_reason(data)


def status_skip_reason(reservation: dict[str, Any]) -> str | None:
    status = str(reservation.get("status") or "")
    if status.lower() in _ACTIVE | _CANCELLED:
        return None
    if status.lower() == "ownerstay":
        return "a Hostaway owner stay (a block), not a guest booking"
    return f"Hostaway status {status or '(none)'!r} is not a confirmed stay (inquiry, pending or awaiting payment)"


def is_complete(reservation: Any) -> bool:
    """The webhook carried what a booking needs (Hostaway may send some details only later)."""
    return isinstance(reservation, dict) and all(
        reservation.get(key) for key in ("arrivalDate", "departureDate", "status", "listingMapId")
    )


def to_event(payload: dict[str, Any]) -> BookingEvent:
    """Map a (possibly enriched) reservation envelope; call `skip_reason` first."""
    data = payload.get("data")
    if not isinstance(data, dict):
        raise EventRejected("missing field: data (the reservation)", field="data")
    external_id = optional_str(data, "id", "data.id")
    if not external_id:
        raise EventRejected("missing field: data.id", field="data.id")
    cancelled = str(data.get("status") or "").lower() in _CANCELLED
    return BookingEvent(
        kind=EventKind.cancelled if cancelled else (event_kind(payload) or EventKind.updated),
        provider=PROVIDER_NAME,
        external_id=external_id,
        listing=ListingRef(
            listing_id=optional_str(data, "listingMapId", "data.listingMapId"),
            name=optional_str(data, "listingName", "data.listingName"),
        ),
        guest=GuestInfo(
            name=_guest_name(data),
            email=optional_str(data, "guestEmail", "data.guestEmail"),
            phone=optional_str(data, "phone", "data.phone"),
        ),
        check_in=parse_date(data, "arrivalDate"),
        check_out=parse_date(data, "departureDate"),
        guest_count=_guest_count(data),
        special_requests=_requests(data),
        confirmation_code=optional_str(data, "reservationId", "data.reservationId")
        or optional_str(data, "channelReservationId", "data.channelReservationId")
        or optional_str(data, "confirmationCode", "data.confirmationCode"),
        channel=normalize_channel(optional_str(data, "channelName", "data.channelName")),
        occurred_at=parse_datetime(data, "updatedOn") or parse_datetime(data, "insertedOn"),
        raw=payload,
    )


def activity_time(reservation: dict[str, Any]) -> datetime | None:
    """When the reservation last changed (`latestActivityOn`, else `updatedOn`), or None if unreadable."""
    for key in ("latestActivityOn", "updatedOn"):
        value = reservation.get(key)
        if isinstance(value, str) and value.strip():
            try:
                moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _guest_name(data: dict[str, Any]) -> str:
    name = optional_str(data, "guestName", "data.guestName")
    if name:
        return name
    parts = [optional_str(data, "guestFirstName", "data.guestFirstName"), optional_str(data, "guestLastName")]
    joined = " ".join(p for p in parts if p)
    if not joined:
        raise EventRejected("missing field: data.guestName", field="data.guestName")
    return joined


def _guest_count(data: dict[str, Any]) -> int:
    total = optional_int(data, "numberOfGuests", default=0)
    if total < 1:
        total = optional_int(data, "adults", default=0) + optional_int(data, "children", default=0)
    return max(1, total)


def _requests(data: dict[str, Any]) -> str:
    notes = [optional_str(data, key, f"data.{key}") for key in ("guestNote", "bookingcomSpecialRequests")]
    text = "\n".join(dict.fromkeys(n for n in notes if n))
    return text or optional_str(data, "comment", "data.comment") or ""


def normalize_channel(value: str | None) -> str | None:
    """airbnbOfficial/airbnb → airbnb, homeaway/vrbo… → vrbo, bookingcom → booking.com, direct → direct."""
    if not value:
        return None
    folded = value.casefold()
    for fragment, channel in _CHANNELS:
        if fragment in folded:
            return channel
    return folded[:40]
