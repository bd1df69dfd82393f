"""Diffing one fetch of a feed against the bookings it made before: which inbox events to send (pure, no I/O).

Only what changes a booking is sent, and every event id names the booking version it applies to, so a
re-sent or re-planned event is a duplicate in the inbox while a real change (even back to earlier dates) is new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from luxserv.bookings.models import BookingStatus
from luxserv.core.errors import EventRejected
from luxserv.integrations.ical.parse import EntryKind, FeedEntry, confirmation_code
from luxserv.integrations.ical.provider import IcalProvider

MAX_EVENT_ID = 200
_ON_SITE = (BookingStatus.checked_in, BookingStatus.checked_out)


@dataclass(frozen=True)
class FeedInfo:
    id: int
    property_id: int
    channel: str


@dataclass(frozen=True)
class KnownBooking:
    """A booking an earlier sync of this feed made (external id `<feed id>:<uid>`)."""

    id: int
    uid: str
    status: BookingStatus
    check_in: date
    check_out: date
    guest_name: str
    guest_count: int
    special_requests: str
    updated_at: datetime
    confirmation_code: str | None = None
    cancelled_by_feed: bool = False  # its cancellation came from this feed (so a reappearance reinstates it)


@dataclass(frozen=True)
class Change:
    event_id: str
    body: dict[str, Any]


def plan(feed: FeedInfo, entries: Sequence[FeedEntry], known: Mapping[str, KnownBooking], today: date) -> list[Change]:
    """Creates and updates for current and future reservations, then cancellations for those that vanished."""
    reservations = [e for e in entries if e.kind == EntryKind.booking]
    present = {e.uid for e in reservations}
    missing = [
        k
        for k in known.values()
        if k.uid not in present and k.status != BookingStatus.cancelled and k.status not in _ON_SITE
    ]
    missing = [k for k in missing if k.check_out > today]  # a stay that ended leaves the feed: not a cancellation
    changes: list[Change] = []
    mapper = IcalProvider.create()
    for entry in reservations:
        if entry.end <= today:
            continue
        target = known.get(entry.uid)
        if target is None:
            # A new UID overlapping a vanished booking is the same stay re-issued (VRBO changes UIDs on edits),
            # unless both carry confirmation codes (Airbnb) and they differ: then it is another guest's stay.
            code = confirmation_code(entry.description, feed.channel)
            target = next(
                (
                    k
                    for k in missing
                    if k.check_in < entry.end
                    and entry.start < k.check_out
                    and not (code and k.confirmation_code and code != k.confirmation_code)
                ),
                None,
            )
            if target is not None:
                missing.remove(target)
        change = _upsert(feed, entry, target, mapper)
        if change is not None:
            changes.append(change)
    for booking in missing:
        body = _body(feed, booking.uid, booking.check_in, booking.check_out, "", "", booking) | {"status": "cancelled"}
        changes.append(Change(_event_id(feed.id, booking.uid, "cancel", booking.updated_at.isoformat()), body))
    return changes


def _upsert(feed: FeedInfo, entry: FeedEntry, known: KnownBooking | None, mapper: IcalProvider) -> Change | None:
    uid = known.uid if known is not None else entry.uid
    body = _body(feed, uid, entry.start, entry.end, entry.summary, entry.description, known)
    base = (uid, entry.start.isoformat(), entry.end.isoformat(), entry.summary)
    if known is None:
        return Change(_event_id(feed.id, *base), body)
    if known.status == BookingStatus.cancelled:
        if not known.cancelled_by_feed:
            return None  # cancelled by someone else: the feed does not overrule them
        body["status"] = "confirmed"
    else:
        try:
            wanted = mapper.map(body)
        except EventRejected:
            wanted = None  # sent anyway: the inbox keeps it as rejected, with the reason, for an admin
        if wanted is not None and (wanted.check_in, wanted.check_out, wanted.guest.name) == (
            known.check_in,
            known.check_out,
            known.guest_name,
        ):
            return None
    return Change(_event_id(feed.id, *base, f"after:{known.updated_at.isoformat()}"), body)


def _body(
    feed: FeedInfo, uid: str, start: date, end: date, summary: str, description: str, known: KnownBooking | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "feed_id": feed.id,
        "property_id": feed.property_id,
        "channel": feed.channel,
        "uid": uid,
        "summary": summary,
        "description": description,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    if known is not None:  # what a feed cannot say is kept as the booking has it
        body["guest_count"] = known.guest_count
        body["special_requests"] = known.special_requests
        if not summary:
            body["guest_name"] = known.guest_name
    return body


def _event_id(feed_id: int, *parts: str) -> str:
    text = ":".join(("ical", str(feed_id), *parts))
    if len(text) <= MAX_EVENT_ID:
        return text
    return f"ical:{feed_id}:sha256:{hashlib.sha256(text.encode()).hexdigest()}"
