"""Guesty payloads -> `BookingEvent` / `MessageEvent`. The only module that knows Guesty's reservation fields.

Every reservation, whichever way it reached us (legacy webhook, v2 webhook completed through the API, or a sync),
goes through `map_reservation`, so the same reservation always gives the same event.
Field names and the documentation they come from are listed in this package's `__init__` docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import BookingEvent, EventKind, EventSkipped, GuestInfo, ListingRef, MessageEvent
from luxserv.integrations.fields import optional_int, optional_str, parse_datetime

PROVIDER_NAME = "guesty"

LEGACY_EVENTS = {"reservation.new": EventKind.created, "reservation.updated": EventKind.updated}
V2_EVENTS = {"reservation.created.v2": EventKind.created, "reservation.updated.v2": EventKind.updated}
# The body our own `pull` produces: a reservation as the API returned it, a snapshot of its current state.
SYNC_EVENT = "reservation.sync"
MESSAGE_EVENTS = {"reservation.messageReceived": "guest", "reservation.messageSent": "host"}

# Statuses compared lower-cased, without "_" or "-" (so checked_in, checkedIn and checked-in are one status).
_CANCELLED = {"canceled", "cancelled", "declined", "expired", "closed"}
_BOOKED = {"confirmed", "reserved"}
_CHANNELS = {
    "airbnb2": "airbnb",
    "airbnb": "airbnb",
    "homeaway2": "vrbo",
    "homeaway": "vrbo",
    "vrbo": "vrbo",
    "bookingcom": "booking.com",
    "manual": "direct",
    "direct": "direct",
    "website": "direct",
}


def event_name(payload: Mapping[str, Any]) -> str:
    name = payload.get("event")
    if name is None:
        raise EventRejected("missing field: event", field="event")
    if not isinstance(name, str):
        raise EventRejected("event must be a string", field="event")
    return name.strip()


def map_payload(payload: Any, *, account_id: str | None = None) -> BookingEvent | MessageEvent:
    """Map a decoded (and, for v2 events, enriched) Guesty body.

    `account_id` is the Guesty account this connection is for; a body naming another account is rejected.
    """
    if not isinstance(payload, dict):
        raise EventRejected("body must be a JSON object", field="body")
    name = event_name(payload)
    if name in MESSAGE_EVENTS:
        _check_account(payload.get("conversation"), account_id, "conversation.accountId")
        return map_message(payload, sender=MESSAGE_EVENTS[name])
    if name in LEGACY_EVENTS or name == SYNC_EVENT:
        kind = LEGACY_EVENTS.get(name, EventKind.updated)
        reservation = _object(payload, "reservation", "reservation")
        _check_account(reservation, account_id, "reservation.accountId")
        return map_reservation(reservation, kind)
    if name in V2_EVENTS:
        # `enrich` put the reservation fetched from the API here; the lean body alone names only ids.
        fetched = payload.get("reservation")
        if not isinstance(fetched, dict) or "status" not in fetched:
            raise EventRejected(
                "a v2 reservation event must be completed from the Guesty API before mapping", field="reservation"
            )
        _check_account(fetched, account_id, "reservation.accountId")
        return map_reservation(fetched, V2_EVENTS[name], published_at=_published_at(payload))
    raise EventSkipped(f"Guesty event {name!r} does not change a booking")


def v2_reservation_id(payload: Mapping[str, Any]) -> str:
    """The reservation a lean v2 event is about (its field name is not documented; accept the plausible ones)."""
    data = payload.get("data")
    data = data if isinstance(data, dict) else {}
    nested = data.get("reservation")
    nested = nested if isinstance(nested, dict) else {}
    candidates = [
        (data, "reservationId"),
        (nested, "_id"),
        (nested, "id"),
        (data, "_id"),
        (data, "id"),
        (payload, "reservationId"),
    ]
    for source, key in candidates:
        value = source.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise EventRejected("missing field: data.reservationId", field="data.reservationId")


def booking_status(reservation: Mapping[str, Any]) -> str:
    """The reservation's status, normalized for comparison (see `_CANCELLED`)."""
    raw = optional_str(dict(reservation), "status", "reservation.status")
    if raw is None:
        raise EventRejected("missing field: reservation.status", field="reservation.status")
    return raw.lower().replace("_", "").replace("-", "")


def is_booking(reservation: Mapping[str, Any]) -> bool:
    """False for inquiries and other statuses that are not a stay (mapping them is skipped)."""
    try:
        status = booking_status(reservation)
    except EventRejected:
        return False
    return status in _CANCELLED or status in _BOOKED or status in ("checkedin", "checkedout")


def map_reservation(
    reservation: dict[str, Any], kind: EventKind, *, published_at: datetime | None = None
) -> BookingEvent:
    """One Guesty reservation object (legacy webhook body, or the API's) as a booking event."""
    external_id = optional_str(reservation, "_id", "reservation._id") or optional_str(reservation, "id")
    if not external_id:
        raise EventRejected("missing field: reservation._id", field="reservation._id")
    raw_status = reservation.get("status")
    status_key = booking_status(reservation)
    status: str | None = None
    if status_key in _CANCELLED:
        kind, status = EventKind.cancelled, "cancelled"
    elif status_key == "checkedin":
        kind = EventKind.checked_in
    elif status_key == "checkedout":
        kind = EventKind.checked_out
    elif status_key == "inquiry":
        raise EventSkipped("inquiry is not a booking")
    elif status_key not in _BOOKED:
        raise EventSkipped(f"a reservation with status {raw_status!r} is not a booking")

    guest_count = optional_int(reservation, "guestsCount", default=1)
    return BookingEvent(
        kind=kind,
        provider=PROVIDER_NAME,
        external_id=external_id,
        listing=_listing(reservation),
        guest=_guest(reservation),
        check_in=_stay_date(reservation, "checkInDateLocalized", "checkIn"),
        check_out=_stay_date(reservation, "checkOutDateLocalized", "checkOut"),
        # Guesty keeps 0 on some channel imports; a stay has at least one guest.
        guest_count=max(guest_count, 1),
        special_requests=_special_requests(reservation),
        status=status,
        confirmation_code=optional_str(reservation, "confirmationCode", "reservation.confirmationCode"),
        channel=_channel(reservation),
        occurred_at=_last_change(reservation) or published_at,
        raw=reservation,
    )


def map_message(payload: dict[str, Any], *, sender: str) -> MessageEvent:
    """`reservation.messageReceived` (from the guest) / `reservation.messageSent` (from the host)."""
    reservation_id = optional_str(payload, "reservationId")
    if not reservation_id:
        raise EventRejected("missing field: reservationId", field="reservationId")
    message = _object(payload, "message", "message")
    message_id = optional_str(message, "_id", "message._id") or optional_str(message, "id", "message.id")
    if not message_id:
        raise EventRejected("missing field: message._id", field="message._id")
    body = None
    for key in ("body", "text", "content"):
        body = optional_str(message, key, f"message.{key}")
        if body:
            break
    if not body:
        raise EventRejected("missing field: message.body", field="message.body")
    sent_at = parse_datetime(message, "createdAt") or parse_datetime(message, "sentAt")
    return MessageEvent(
        provider=PROVIDER_NAME,
        external_id=reservation_id,
        message_id=message_id,
        body=body,
        sender=sender,
        sent_at=sent_at,
        raw=payload,
    )


def normalize_channel(value: str | None) -> str | None:
    """Guesty's platform/source names as LuxServ channels: airbnb2 -> airbnb, homeaway2 -> vrbo, ..."""
    if not value or not value.strip():
        return None
    key = value.strip().lower()
    return _CHANNELS.get(key, key)


def _object(data: Mapping[str, Any], key: str, label: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        raise EventRejected(f"missing field: {label}", field=label)
    if not isinstance(value, dict):
        raise EventRejected(f"{label} must be an object", field=label)
    return value


def _check_account(data: Any, account_id: str | None, label: str) -> None:
    if not account_id or not isinstance(data, dict):
        return
    given = data.get("accountId")
    if isinstance(given, str) and given and given != account_id:
        raise EventRejected(f"{label} {given!r} is not this connection's Guesty account", field=label)


def _guest(reservation: dict[str, Any]) -> GuestInfo:
    guest = reservation.get("guest")
    if not isinstance(guest, dict):
        raise EventRejected("missing field: reservation.guest", field="reservation.guest")
    name = optional_str(guest, "fullName", "reservation.guest.fullName")
    if not name:
        parts = [
            optional_str(guest, "firstName", "reservation.guest.firstName"),
            optional_str(guest, "lastName", "reservation.guest.lastName"),
        ]
        name = " ".join(p for p in parts if p)
    if not name:
        raise EventRejected("missing field: reservation.guest.fullName", field="reservation.guest.fullName")
    return GuestInfo(
        name=name,
        email=optional_str(guest, "email", "reservation.guest.email") or _first(guest, "emails"),
        phone=optional_str(guest, "phone", "reservation.guest.phone") or _first(guest, "phones"),
    )


def _first(data: dict[str, Any], key: str) -> str | None:
    values = data.get(key)
    if not isinstance(values, list):
        return None
    for value in values:
        if isinstance(value, str) and value.replace("\x00", "").strip():
            return value.replace("\x00", "").strip()
    return None


def _listing(reservation: dict[str, Any]) -> ListingRef:
    listing = reservation.get("listing")
    listing = listing if isinstance(listing, dict) else {}
    listing_id = optional_str(reservation, "listingId", "reservation.listingId") or optional_str(
        listing, "_id", "reservation.listing._id"
    )
    if not listing_id:
        raise EventRejected("missing field: reservation.listingId", field="reservation.listingId")
    name = optional_str(listing, "nickname", "reservation.listing.nickname") or optional_str(
        listing, "title", "reservation.listing.title"
    )
    address = listing.get("address")
    if isinstance(address, dict):
        full = optional_str(address, "full", "reservation.listing.address.full")
    elif isinstance(address, str):
        full = optional_str(listing, "address", "reservation.listing.address")
    else:
        full = None
    return ListingRef(listing_id=listing_id, name=name, address=full)


def _stay_date(reservation: dict[str, Any], local_key: str, instant_key: str) -> date:
    """The listing-local date (`checkInDateLocalized`), else the date part of the UTC instant (`checkIn`)."""
    for key in (local_key, instant_key):
        value = optional_str(reservation, key, f"reservation.{key}")
        if value:
            try:
                return date.fromisoformat(value[:10])
            except ValueError as error:
                raise EventRejected(
                    f"reservation.{key} must be a date like 2026-06-15", field=f"reservation.{key}"
                ) from error
    raise EventRejected(f"missing field: reservation.{local_key}", field=f"reservation.{local_key}")


def _special_requests(reservation: dict[str, Any]) -> str:
    notes = reservation.get("notes")
    if isinstance(notes, str):
        return optional_str(reservation, "notes", "reservation.notes") or ""
    if isinstance(notes, dict):
        parts: list[str] = []
        for key in ("specialRequests", "guest"):
            text = optional_str(notes, key, f"reservation.notes.{key}")
            if text and text not in parts:
                parts.append(text)
        return "\n\n".join(parts)
    return ""


def _channel(reservation: dict[str, Any]) -> str | None:
    integration = reservation.get("integration")
    platform = None
    if isinstance(integration, dict):
        platform = optional_str(integration, "platform", "reservation.integration.platform")
    return normalize_channel(platform or optional_str(reservation, "source", "reservation.source"))


def _last_change(reservation: dict[str, Any]) -> datetime | None:
    for key in ("lastUpdatedAt", "updatedAt", "createdAt"):
        value = parse_datetime(reservation, key)
        if value is not None:
            return value
    return None


def _published_at(payload: dict[str, Any]) -> datetime | None:
    if payload.get("publishedAt") is not None:
        return parse_datetime(payload, "publishedAt")
    data = payload.get("data")
    if isinstance(data, dict) and data.get("publishedAt") is not None:
        return parse_datetime(data, "publishedAt")
    return None
