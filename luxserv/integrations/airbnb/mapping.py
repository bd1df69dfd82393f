"""An Airbnb partner-API reservation → `BookingEvent` (see the package docstring for the shape and its caveats)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import BookingEvent, EventKind, EventSkipped, GuestInfo, ListingRef
from luxserv.integrations.fields import optional_int, optional_str, parse_date, parse_datetime

CHANNEL = "airbnb"
PLACEHOLDER_GUEST = "Airbnb guest"

_CONFIRMED = {"accepted", "confirmed", "active", "booked", "approved"}
_CANCELLED = {"denied", "declined", "rejected"}  # plus anything starting with "cancel"
_NOT_YET = {
    "pending",
    "pending_payment",
    "pending_verification",
    "awaiting_payment",
    "inquiry",
    "request",
    "requested",
    "preapproved",
    "special_offer",
    "expired",
    "timedout",
    "withdrawn",
}
_CHECKED_IN = {"checked_in", "checkedin", "in_progress"}
_CHECKED_OUT = {"checked_out", "checkedout", "completed"}


def unwrap(payload: Any) -> dict[str, Any]:
    """The reservation object, whether sent bare or as `{"reservation": {...}}`."""
    if not isinstance(payload, dict):
        raise EventRejected("body must be a JSON object", field="body")
    inner = payload.get("reservation")
    return inner if isinstance(inner, dict) else payload


def confirmation_code(reservation: dict[str, Any]) -> str | None:
    return optional_str(reservation, "confirmation_code") or optional_str(reservation, "code", "confirmation_code")


def event_kind(reservation: dict[str, Any]) -> EventKind:
    """What the reservation's `status` means for the booking; raises `EventSkipped` for requests and inquiries."""
    status = (optional_str(reservation, "status") or "").lower().replace("-", "_").replace(" ", "_")
    if not status or status in _CONFIRMED:
        created, updated = reservation.get("created_at"), reservation.get("updated_at")
        return EventKind.updated if created and updated and created != updated else EventKind.created
    if status.startswith(("cancel", "canceled")) or status in _CANCELLED:
        return EventKind.cancelled
    if status in _NOT_YET:
        raise EventSkipped(f"Airbnb reservation is {status}: not a booking yet")
    if status in _CHECKED_IN:
        return EventKind.checked_in
    if status in _CHECKED_OUT:
        return EventKind.checked_out
    raise EventRejected(f"unknown Airbnb reservation status {status!r}", field="status")


def map_reservation(payload: Any, *, provider: str) -> BookingEvent:
    reservation = unwrap(payload)
    code = confirmation_code(reservation)
    if not code:
        raise EventRejected("missing field: confirmation_code", field="confirmation_code")
    kind = event_kind(reservation)
    check_in, check_out = _stay(reservation)
    listing = ListingRef(
        listing_id=optional_str(reservation, "listing_id"),
        name=optional_str(reservation, "listing_name") or optional_str(reservation, "listing_title"),
    )
    if not (listing.listing_id or listing.name):
        raise EventRejected("missing field: listing_id", field="listing_id")
    return BookingEvent(
        kind=kind,
        provider=provider,
        external_id=code,
        confirmation_code=code,
        listing=listing,
        guest=_guest(reservation),
        check_in=check_in,
        check_out=check_out,
        guest_count=_guest_count(reservation),
        channel=CHANNEL,
        occurred_at=parse_datetime(reservation, "updated_at"),
        raw=reservation,
    )


def _stay(reservation: dict[str, Any]) -> tuple[date, date]:
    start_key = "start_date" if "start_date" in reservation else "check_in"
    check_in = parse_date(reservation, start_key)
    for end_key in ("end_date", "check_out"):
        if end_key in reservation:
            return check_in, parse_date(reservation, end_key)
    nights = optional_int(reservation, "nights", default=0)
    if nights < 1:
        raise EventRejected("missing field: end_date", field="end_date")
    return check_in, check_in + timedelta(days=nights)


def _guest(reservation: dict[str, Any]) -> GuestInfo:
    """`guest{first_name,last_name,email,phone}` or flat `guest_first_name`, `guest_email`…; a placeholder name."""
    nested = reservation.get("guest")
    source, key_format = (nested, "{}") if isinstance(nested, dict) else (reservation, "guest_{}")
    label_format = "guest.{}" if isinstance(nested, dict) else "guest_{}"

    def field(name: str) -> str | None:
        return optional_str(source, key_format.format(name), label_format.format(name))

    name = " ".join(part for part in (field("first_name"), field("last_name")) if part)
    name = name or field("name") or field("full_name") or PLACEHOLDER_GUEST
    phone = field("phone")
    numbers = source.get(key_format.format("phone_numbers"))
    if phone is None and isinstance(numbers, list) and numbers and isinstance(numbers[0], str):
        phone = numbers[0].strip() or None
    return GuestInfo(name=name, email=field("email"), phone=phone)


def _guest_count(reservation: dict[str, Any]) -> int:
    for key in ("number_of_guests", "guests_count", "guest_count"):
        if reservation.get(key) is not None:
            return optional_int(reservation, key, default=1)
    if isinstance(reservation.get("guests"), int | str):
        return optional_int(reservation, "guests", default=1)
    details = reservation.get("guest_details")
    if isinstance(details, dict):
        adults = _first_int(details, "number_of_adults", "adults")
        children = _first_int(details, "number_of_children", "children")
        if adults or children:
            return adults + children  # infants and pets do not count towards Airbnb's guest count
    return 1


def _first_int(data: dict[str, Any], *keys: str) -> int:
    for key in keys:
        if data.get(key) is not None:
            return optional_int(data, key, default=0)
    return 0
