"""OwnerRez webhook envelopes and v2 booking objects → `BookingEvent`. Pure functions: no I/O here."""

from __future__ import annotations

from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.integrations.fields import optional_int, optional_str, parse_date, parse_datetime

PROVIDER_NAME = "ownerrez"
CREATE_ACTIONS = frozenset({"entity_create", "entity_insert"})  # both spellings are seen in the wild
BOOKING_ACTIONS = CREATE_ACTIONS | {"entity_update", "entity_delete"}
_CANCELLED = frozenset({"canceled", "cancelled"})
_CHANNELS = (  # (fragment of listing_site/source, normalized channel); the first match wins
    ("airbnb", "airbnb"),
    ("vrbo", "vrbo"),
    ("homeaway", "vrbo"),
    ("booking.com", "booking.com"),
    ("bookingcom", "booking.com"),
    ("direct", "direct"),
    ("ownerrez", "direct"),
)


def skip_reason(payload: dict[str, Any]) -> str | None:
    """Why this delivery changes no booking (test ping, revocation, other entities, blocks), or None."""
    action = payload.get("action")
    if action == "webhook_test":
        return "OwnerRez test webhook: nothing to apply"
    if action == "application_authorization_revoked":
        return (
            f"OwnerRez user {payload.get('user_id')} revoked LuxServ's access: webhooks and sync for this "
            "connection stop working until it is authorized again (disable the connection or reconnect it)"
        )
    if action not in BOOKING_ACTIONS:
        return f"OwnerRez action {action!r} is not a booking change"
    if payload.get("entity_type") != "booking":
        return f"OwnerRez {payload.get('entity_type')!r} changes do not change a booking"
    entity = payload.get("entity")
    if isinstance(entity, dict) and is_block(entity):
        return "an OwnerRez block (owner stay or hold), not a guest booking"
    return None


def is_block(entity: dict[str, Any]) -> bool:
    return entity.get("is_block") is True or str(entity.get("type") or "").lower() == "block"


def has_dates(entity: Any) -> bool:
    return isinstance(entity, dict) and bool(entity.get("arrival")) and bool(entity.get("departure"))


def needs_guest(entity: dict[str, Any]) -> bool:
    """The booking names a guest only by id, or carries a summary without e-mail addresses and phones."""
    guest = entity.get("guest")
    if not isinstance(guest, dict):
        return entity.get("guest_id") is not None
    has_name = bool(guest.get("first_name") or guest.get("last_name"))
    has_contacts = any(key in guest for key in ("email_addresses", "email", "phones"))
    return (guest.get("id") or entity.get("guest_id")) is not None and not (has_name and has_contacts)


def to_event(payload: dict[str, Any]) -> BookingEvent:
    """Map a (possibly enriched) booking envelope; call `skip_reason` first."""
    entity = payload.get("entity")
    if not isinstance(entity, dict):
        raise EventRejected("missing field: entity (the booking)", field="entity")
    external_id = optional_str(entity, "id", "entity.id") or optional_str(payload, "entity_id")
    if not external_id:
        raise EventRejected("missing field: entity_id", field="entity_id")
    raw_prop = entity.get("property")
    prop: dict[str, Any] = raw_prop if isinstance(raw_prop, dict) else {}
    return BookingEvent(
        kind=_kind(payload, entity),
        provider=PROVIDER_NAME,
        external_id=external_id,
        listing=ListingRef(
            listing_id=optional_str(entity, "property_id", "entity.property_id")
            or optional_str(prop, "id", "entity.property.id"),
            name=optional_str(prop, "name", "entity.property.name")
            or optional_str(prop, "external_name", "entity.property.external_name"),
        ),
        guest=_guest(entity),
        check_in=parse_date(entity, "arrival"),
        check_out=parse_date(entity, "departure"),
        guest_count=max(1, optional_int(entity, "adults", default=0) + optional_int(entity, "children", default=0)),
        special_requests=optional_str(entity, "notes", "entity.notes") or "",
        confirmation_code=optional_str(entity, "platform_reservation_number", "entity.platform_reservation_number"),
        channel=normalize_channel(
            optional_str(entity, "listing_site", "entity.listing_site") or optional_str(entity, "source")
        ),
        occurred_at=parse_datetime(entity, "updated_utc")
        or parse_datetime(entity, "created_utc")
        or parse_datetime(entity, "booked_utc"),
        raw=payload,
    )


def _kind(payload: dict[str, Any], entity: dict[str, Any]) -> EventKind:
    action = payload.get("action")
    status = str(entity.get("status") or "").lower()
    if action == "entity_delete" or status in _CANCELLED or entity.get("canceled_utc"):
        return EventKind.cancelled
    return EventKind.created if action in CREATE_ACTIONS else EventKind.updated


def _guest(entity: dict[str, Any]) -> GuestInfo:
    raw = entity.get("guest")
    guest: dict[str, Any] = raw if isinstance(raw, dict) else {}
    parts = [optional_str(guest, "first_name", "guest.first_name"), optional_str(guest, "last_name", "guest.last_name")]
    name = " ".join(p for p in parts if p) or optional_str(guest, "name", "guest.name")
    if not name:
        raise EventRejected("missing field: guest first_name/last_name", field="guest.first_name")
    email = _default_entry(guest.get("email_addresses"), "address") or optional_str(guest, "email", "guest.email")
    return GuestInfo(name=name, email=email, phone=_default_entry(guest.get("phones"), "number"))


def _default_entry(entries: Any, key: str) -> str | None:
    """The `is_default` entry of a list like `email_addresses[{address,is_default}]`, else the first usable one."""
    if not isinstance(entries, list):
        return None
    usable = [e for e in entries if isinstance(e, dict) and isinstance(e.get(key), str) and e[key].strip()]
    usable.sort(key=lambda e: e.get("is_default") is not True)
    return str(usable[0][key]).strip() if usable else None


def normalize_channel(value: str | None) -> str | None:
    """Airbnb → airbnb, VRBO/HomeAway → vrbo, Booking.com → booking.com, Direct/OwnerRez → direct."""
    if not value:
        return None
    folded = value.casefold()
    for fragment, channel in _CHANNELS:
        if fragment in folded:
            return channel
    return folded[:40]
