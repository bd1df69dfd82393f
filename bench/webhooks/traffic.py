"""The webhook traffic: a reproducible mix of signed generic and Guesty deliveries, and what each should leave.

Mix (per delivery): 40 % a new booking by generic webhook (flat shape, `tests/factories.py: flat_payload`,
1 in 20 naming a home LuxServ does not know), 30 % a new Guesty reservation (`reservation.new`, the full
reservation in the body, Svix-signed), 15 % an update of an earlier booking (newer `updated_at` /
`lastUpdatedAt`, another guest count), 5 % a cancellation, 10 % a re-delivery of an earlier delivery (the same
bytes; for Guesty the same `svix-id`, signed again as Svix does). One guest in ten books again.
Each home gets its own non-overlapping stays, so no overlap alerts are raised.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

CITY = "Panama City Beach"
GUESTY_ACCOUNT = "62a8a2be2e53190032102a6e"
FIRST_STAY = date(2027, 1, 1)
SLOT_DAYS = 5  # a stay lasts 2 to 4 nights: slots of 5 days on one home never overlap
NEW_GENERIC, NEW_GUESTY, UPDATE, CANCEL = 0.40, 0.70, 0.85, 0.90  # cumulative; the rest are re-deliveries
MIX_SUMMARY = (
    "40% new bookings by generic webhook (5% of them for an unknown home), 30% new Guesty reservations, "
    "15% updates, 5% cancellations, 10% re-deliveries"
)
FIRST_NAMES = ("Sarah", "Mike", "Olivia", "Grace", "Noah", "Emma", "Liam", "Ava", "Lucas", "Mia", "Ethan", "Zoe")
LAST_NAMES = ("Johnson", "Chen", "Martinez", "Lee", "Smith", "Garcia", "Brown", "Nguyen", "Patel", "Kim")
REQUESTS = ("Celebrating anniversary", "Arriving late, around 11pm", "A crib for our toddler, please", "", "")


@dataclass(frozen=True)
class Home:
    name: str
    address: str
    guesty_listing: str


def homes(count: int) -> list[Home]:
    return [
        Home(name=f"Bench Villa {i:02d}", address=f"{17700 + i} Front Beach Rd", guesty_listing=f"65b0{i:020x}")
        for i in range(1, count + 1)
    ]


@dataclass(frozen=True)
class Expected:
    """The booking state one delivery describes; the newest acknowledged one is what the database must hold."""

    stamp: datetime
    guest_count: int
    cancelled: bool


@dataclass(frozen=True)
class Delivery:
    path: str
    body: bytes
    headers: dict[str, str]
    key: tuple[str, str]  # (provider, external booking id)
    kind: str  # created, updated, cancelled, redelivered
    expected: Expected


@dataclass
class _Booking:
    key: tuple[str, str]
    payload: dict[str, Any]
    cancelled: bool = False
    deliveries: list[Delivery] = field(default_factory=list)


class Traffic:
    """Makes deliveries one at a time, signed when they are made (Svix timestamps must be fresh)."""

    def __init__(self, *, webhook_secret: str, svix_secret: str, homes: list[Home], tag: str, seed: int = 7) -> None:
        self._webhook_secret = webhook_secret.encode()
        self._svix_key = base64.b64decode(svix_secret.removeprefix("whsec_"))
        self._homes = homes
        self._tag = tag
        self._rng = random.Random(seed)
        self._slot = 0
        self._stamp = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
        self._bookings: list[_Booking] = []
        self._open: list[_Booking] = []  # not cancelled: may still be updated or cancelled
        self._guests: list[tuple[str, str]] = []

    def next(self) -> Delivery:
        roll = self._rng.random()
        if roll >= NEW_GUESTY and self._open:
            booking = self._rng.choice(self._open)
            if roll < UPDATE:
                return self._change(booking, cancel=False)
            if roll < CANCEL:
                return self._change(booking, cancel=True)
            return self._redeliver(self._rng.choice(self._bookings))
        return self._new(guesty=roll >= NEW_GENERIC)

    # --- new bookings -------------------------------------------------------------------------------------------

    def _new(self, *, guesty: bool) -> Delivery:
        number = self._slot
        self._slot += 1
        home = self._homes[number % len(self._homes)]
        check_in = FIRST_STAY + timedelta(days=SLOT_DAYS * (number // len(self._homes)))
        check_out = check_in + timedelta(days=2 + number % 3)
        name, email = self._guest(number)
        count = self._rng.randint(1, 6)
        notes = self._rng.choice(REQUESTS)
        stamp = self._tick()
        if guesty:
            external = f"{self._tag}{number:016x}"[-24:]
            payload: dict[str, Any] = {
                "event": "reservation.new",
                "reservation": _reservation(external, home, name, email, check_in, check_out, count, notes, stamp),
            }
            booking = _Booking(("guesty", external), payload)
        else:
            unknown = number % 20 == 19
            payload = {
                "booking_id": f"BN-{self._tag}-{number:06d}",
                "event": "booking.created",
                "property": f"Gulf View Cottage {number}" if unknown else f"{home.name}, {CITY}",
                "guest_name": name,
                "guest_email": email,
                "guest_phone": f"+1 850 555 {number % 10_000:04d}",
                "check_in": check_in.isoformat(),
                "check_out": check_out.isoformat(),
                "guest_count": count,
                "special_requests": notes,
                "updated_at": _iso(stamp),
            }
            booking = _Booking(("generic", payload["booking_id"]), payload)
        self._bookings.append(booking)
        self._open.append(booking)
        return self._deliver(booking, "created", Expected(stamp, count, cancelled=False))

    def _guest(self, number: int) -> tuple[str, str]:
        if self._guests and self._rng.random() < 0.1:
            return self._rng.choice(self._guests)
        first, last = self._rng.choice(FIRST_NAMES), self._rng.choice(LAST_NAMES)
        guest = (f"{first} {last}", f"{first}.{last}.{self._tag}{number}@guest.example".lower())
        self._guests.append(guest)
        return guest

    # --- changes and re-deliveries ----------------------------------------------------------------------------

    def _change(self, booking: _Booking, *, cancel: bool) -> Delivery:
        stamp = self._tick()
        count = self._rng.randint(1, 6)
        if booking.key[0] == "guesty":
            reservation = {**booking.payload["reservation"], "guestsCount": count, "lastUpdatedAt": _iso(stamp)}
            if cancel:
                reservation["status"] = "canceled"
            booking.payload = {"event": "reservation.updated", "reservation": reservation}
        else:
            event = "booking.cancelled" if cancel else "booking.updated"
            booking.payload = {**booking.payload, "event": event, "guest_count": count, "updated_at": _iso(stamp)}
        if cancel:
            booking.cancelled = True
            self._open.remove(booking)  # nothing is sent about a booking after its cancellation
        return self._deliver(booking, "cancelled" if cancel else "updated", Expected(stamp, count, cancel))

    def _redeliver(self, booking: _Booking) -> Delivery:
        earlier = self._rng.choice(booking.deliveries)
        headers = earlier.headers
        if booking.key[0] == "guesty":
            headers = self._svix_headers(earlier.headers["svix-id"], earlier.body)
        return replace(earlier, headers=headers, kind="redelivered")

    # --- signing ------------------------------------------------------------------------------------------------

    def _deliver(self, booking: _Booking, kind: str, expected: Expected) -> Delivery:
        body = json.dumps(booking.payload, separators=(",", ":")).encode()
        if booking.key[0] == "guesty":
            path, headers = "/webhooks/guesty", self._svix_headers(f"msg_{secrets.token_hex(12)}", body)
        else:
            signature = hmac.new(self._webhook_secret, body, hashlib.sha256).hexdigest()
            path, headers = "/webhooks/generic", {"X-Webhook-Signature": f"sha256={signature}"}
        delivery = Delivery(
            path=path,
            body=body,
            headers={"Content-Type": "application/json", **headers},
            key=booking.key,
            kind=kind,
            expected=expected,
        )
        booking.deliveries.append(delivery)
        return delivery

    def _svix_headers(self, msg_id: str, body: bytes) -> dict[str, str]:
        """What Svix sends: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the decoded secret."""
        stamp = str(int(time.time()))
        digest = hmac.new(self._svix_key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        return {
            "Content-Type": "application/json",
            "svix-id": msg_id,
            "svix-timestamp": stamp,
            "svix-signature": "v1," + base64.b64encode(digest).decode(),
        }

    def _tick(self) -> datetime:
        self._stamp += timedelta(seconds=1)
        return self._stamp


def _reservation(
    external: str,
    home: Home,
    name: str,
    email: str,
    check_in: date,
    check_out: date,
    count: int,
    notes: str,
    stamp: datetime,
) -> dict[str, Any]:
    """A reservation as Guesty's legacy `reservation.new` webhook carries it (see the Guesty test payloads)."""
    first, _, last = name.partition(" ")
    return {
        "_id": external,
        "accountId": GUESTY_ACCOUNT,
        "confirmationCode": f"GY{external[-8:].upper()}",
        "integration": {"platform": "airbnb2"},
        "source": "Airbnb",
        "status": "confirmed",
        "listingId": home.guesty_listing,
        "listing": {
            "_id": home.guesty_listing,
            "nickname": home.name,
            "title": f"{home.name}, gulf-front",
            "address": {"full": f"{home.address}, {CITY}, FL 32413, USA", "city": CITY, "state": "FL"},
        },
        "guestId": f"g{external}"[:24],
        "guest": {"fullName": name, "firstName": first, "lastName": last, "email": email, "phone": "+1 850 555 0100"},
        "checkIn": f"{check_in.isoformat()}T20:00:00.000Z",
        "checkOut": f"{check_out.isoformat()}T15:00:00.000Z",
        "checkInDateLocalized": check_in.isoformat(),
        "checkOutDateLocalized": check_out.isoformat(),
        "nightsCount": (check_out - check_in).days,
        "guestsCount": count,
        "notes": {"guest": "", "specialRequests": notes},
        "money": {"currency": "USD", "fareAccommodation": 350 * (check_out - check_in).days, "fareCleaning": 175},
        "createdAt": _iso(stamp),
        "lastUpdatedAt": _iso(stamp),
    }


def _iso(moment: datetime) -> str:
    """Guesty's format, also valid ISO 8601 for the generic webhook: `2026-06-01T10:00:00.000Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
