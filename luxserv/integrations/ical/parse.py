"""Reading an exported rental calendar: VEVENTs → reservations and blocks (rules in the package docstring)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from icalendar import Calendar

from luxserv.core.errors import LuxServError

MAX_UID_LENGTH = 150  # longer UIDs are replaced by a digest, so "<feed id>:<uid>" fits a booking's external id
CHANNEL_GUEST = {"airbnb": "Airbnb guest", "vrbo": "VRBO guest", "booking.com": "Booking.com guest"}
BOOKING_COM_CLOSED = "closed - not available"
_BLOCK_PREFIXES = ("blocked", "unavailable", "closed", "not available")
_GENERIC = {"", "reserved", "booked", "reservation", "booking", "airbnb", "vrbo", "unavailable", BOOKING_COM_CLOSED}
_NAMED = re.compile("^(?:reserved|booked|reservation|booking)\\s*[-\u2013\u2014:]\\s*(?P<name>.+)$", re.IGNORECASE)
_PHONE_LAST4 = re.compile(r"last\s*4\s*digits\)?\s*:\s*(\d{4})", re.IGNORECASE)
_AIRBNB_CODE = re.compile(r"/reservations/details/([A-Z0-9]{6,20})")
_FOLD = re.compile(rb"\r?\n[ \t]")
_DESCRIPTION_FIELD = r"^\s*{}\s*:\s*(?P<value>\S.*?)\s*$"


class FeedInvalid(LuxServError):
    """The feed's body is not an iCalendar we can read; nothing is changed."""


class EntryKind(StrEnum):
    booking = "booking"
    block = "block"


@dataclass(frozen=True)
class FeedEntry:
    """One VEVENT: a guest reservation or a block, with all-day dates (end exclusive: the check-out day)."""

    uid: str
    kind: EntryKind
    summary: str
    description: str
    start: date
    end: date


def parse_feed(raw: bytes, channel: str) -> list[FeedEntry]:
    """Every usable VEVENT. Cancelled (STATUS:CANCELLED), undated or zero-length events are left out."""
    # Unfold on bytes first: a fold inside a multi-byte UTF-8 character must restore it (RFC 5545 §3.1).
    unfolded = _FOLD.sub(b"", raw.removeprefix(b"\xef\xbb\xbf"))
    try:
        calendar = Calendar.from_ical(unfolded)
    except (ValueError, IndexError, KeyError) as error:
        raise FeedInvalid(f"the feed is not a valid iCalendar: {str(error)[:200]}") from None
    if getattr(calendar, "name", None) != "VCALENDAR":
        raise FeedInvalid("the feed is not a VCALENDAR")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for event in calendar.walk("VEVENT"):
        entry = _entry(event, channel)
        if entry is None:
            continue
        if entry.uid in seen:  # a repeated UID (a recurrence override): keyed by its start day too
            entry = dataclasses.replace(entry, uid=uid_key(f"{entry.uid}#{entry.start.isoformat()}"))
        seen.add(entry.uid)
        entries.append(entry)
    return entries


def _entry(event: Any, channel: str) -> FeedEntry | None:
    if str(event.get("STATUS", "")).strip().upper() == "CANCELLED":
        return None
    start = _day(event, "DTSTART")
    if start is None:
        return None
    end = _day(event, "DTEND")
    if end is None:
        duration = _decoded(event, "DURATION")
        end = start + (timedelta(days=duration.days) if isinstance(duration, timedelta) else timedelta(days=1))
    if end <= start:
        return None
    summary = " ".join(str(event.get("SUMMARY", "")).split())
    description = str(event.get("DESCRIPTION", "")).replace("\r\n", "\n").strip()
    raw_uid = str(event.get("UID", "")).strip()
    uid = uid_key(raw_uid or f"no-uid:{start.isoformat()}:{end.isoformat()}:{summary}")
    return FeedEntry(uid, classify(summary, channel), summary, description, start, end)


def _decoded(event: Any, name: str) -> Any:
    try:
        return event.decoded(name) if name in event else None
    except (ValueError, TypeError, KeyError):
        return None


def _day(event: Any, name: str) -> date | None:
    value = _decoded(event, name)
    if isinstance(value, datetime):
        return value.date()  # the calendar date as the feed wrote it (in its own time zone)
    return value if isinstance(value, date) else None


def uid_key(uid: str) -> str:
    return uid if len(uid) <= MAX_UID_LENGTH else "sha256:" + hashlib.sha256(uid.encode()).hexdigest()[:48]


def classify(summary: str, channel: str) -> EntryKind:
    """A block when the summary says the dates are unavailable, else a reservation (see the package docstring)."""
    text = summary.casefold()
    if channel == "booking.com" and text == BOOKING_COM_CLOSED:
        return EntryKind.booking  # Booking.com writes this for stays and closures alike: export booked dates only
    if text.startswith(_BLOCK_PREFIXES) or "not available" in text:
        return EntryKind.block
    return EntryKind.booking


def guest_name(summary: str, description: str, channel: str) -> str:
    """The guest's name when the feed gives one ("Reserved - Jane Doe", VRBO "Sarah J.", Booking.com NAME:),
    else "<Channel> guest"; with the phone's last 4 digits when Airbnb gives them."""
    named = _NAMED.match(summary)
    name = named.group("name").strip() if named else ""
    if not name and channel == "booking.com":
        name = description_field(description, "NAME") or ""
    if not name and summary.casefold() not in _GENERIC:
        name = summary
    name = name or CHANNEL_GUEST.get(channel, "Guest")
    last4 = _PHONE_LAST4.search(description)
    return f"{name} (phone …{last4.group(1)})" if last4 else name


def confirmation_code(description: str, channel: str) -> str | None:
    """Airbnb's HM… code from the Reservation URL; Booking.com's BOOKING ID line when present."""
    found = _AIRBNB_CODE.search(description)
    if found:
        return found.group(1)
    if channel == "booking.com":
        return description_field(description, "BOOKING ID")
    return None


def description_field(description: str, label: str) -> str | None:
    found = re.search(_DESCRIPTION_FIELD.format(re.escape(label)), description, re.IGNORECASE | re.MULTILINE)
    return found.group("value")[:100] if found else None
