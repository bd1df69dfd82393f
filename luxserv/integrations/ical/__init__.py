"""iCal import: the calendars Airbnb, VRBO and Booking.com export, read per property (`ical_feeds`).

Feeds carry no event types: each fetch is diffed against what earlier fetches made (`plan.py`). Rules:

- Dates: `DTSTART`/`DTEND` (VALUE=DATE; a date-time counts by its calendar date as written), `DTEND` exclusive —
  it is the check-out day. No `DTEND`: `DURATION`, else one day. Zero-length, undated and `STATUS:CANCELLED`
  events are left out. `RRULE`s are not expanded (rental exports have none): the first occurrence counts.
- Block or stay, by `SUMMARY` (case-insensitive):
  - Airbnb: "Reserved" is a stay; "Airbnb (Not available)" is a block (host block or Airbnb rules).
  - VRBO: "Reserved - <name>" (or a bare guest-style name such as "Sarah J.") is a stay; "Blocked" is a block.
  - Any channel: a summary starting with "Blocked", "Unavailable", "Closed" or "Not available", or containing
    "not available", is a block; anything else is a stay.
  - Booking.com writes "CLOSED - Not available" for stays and closed dates alike. On a feed whose channel is
    "booking.com" every such event with at least one night is taken as a **stay**, because a missed guest costs
    more than a phantom one (which an admin can cancel; the feed will not revive it). Set the Booking.com export
    to "only booked dates" so closures are not exported at all.
- Stays become bookings **through the inbox** (provider "ical", source "sync"; `IcalProvider` maps them): external
  id `<feed id>:<UID>`, the feed's property, guest name from the summary ("Reserved - Jane Doe" → Jane Doe;
  Booking.com `NAME:` in DESCRIPTION when present) or "<Channel> guest", plus Airbnb's "Phone Number (Last 4
  Digits)" as "(phone …1234)" in the name (never as a phone number: four digits identify no one); Airbnb's
  confirmation code from the Reservation URL; channel = the feed's channel. Only stays not over yet (check-out
  after today, in the property's time zone) are imported.
- Blocks go to `property_blocks` (source `ical:<feed id>`, keyed by UID), updated in place, removed when they
  leave the feed.
- A booking whose UID leaves the feed, and whose check-out is still ahead, is cancelled (through the inbox);
  one already over, or checked in, is left alone. A new UID overlapping a vanished booking of the same feed is the
  same stay re-issued (VRBO changes UIDs when dates change): the booking is moved, not cancelled and re-made —
  unless both carry confirmation codes (Airbnb's Reservation URL) and they differ.
- There is no grace period: one successful, readable fetch without a stay cancels it (a failed or unreadable
  fetch changes nothing, and a stay this feed cancelled is reinstated if it comes back).
- UIDs and versioned event ids keep syncs idempotent: the same feed twice changes nothing. ETags are honoured
  (If-None-Match; 304 changes nothing). A failed fetch or an unreadable body changes nothing and is recorded on
  the feed as `last_error`.
"""

from __future__ import annotations

from luxserv.integrations.ical.provider import IcalProvider

__all__ = ["IcalProvider"]
