"""The crash test's events: reservations, each with its stays, sent as created / updated / cancelled events with
versions, duplicates and out-of-order deliveries drawn from a seed."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

# --- the events -------------------------------------------------------------------------------------------------

CELEBRATING = "Celebrating our anniversary"
NOT_CELEBRATING = "Late arrival, around 9 pm"
SLOT_DAYS = 12  # each stay lives in its own slot of its home: updates move it, never onto another stay


@dataclass(frozen=True)
class Stay:
    check_in: date
    check_out: date
    guests: int
    celebrate: bool

    @property
    def special_requests(self) -> str:
        return CELEBRATING if self.celebrate else NOT_CELEBRATING


@dataclass(frozen=True)
class Event:
    """One signed delivery's content. `event_id` is the id LuxServ derives for it (see README, Webhooks)."""

    booking_id: str
    version: int
    kind: str  # created, updated, cancelled
    updated_at: datetime
    stay: Stay
    home: str
    signing: str  # hmac (id: hash of the body), event-id (id in the body), standard (webhook-id header)
    body: bytes
    event_id: str


@dataclass
class Reservation:
    booking_id: str
    home: str
    placed: bool  # the home is one LuxServ knows
    guest_name: str
    guest_email: str
    events: list[Event] = field(default_factory=list)

    def expected(self) -> tuple[Event, str]:
        """The newest event (by `updated_at`) and the status the booking must end with.

        LuxServ applies an event unless it is older than what is stored, and only a cancellation changes the
        status of a stored booking (a later created/updated keeps it cancelled). The scenario always makes the
        cancellation the newest event, so the final status does not depend on the order of arrival.
        """
        newest = max(self.events, key=lambda e: e.updated_at)
        cancelled = [e for e in self.events if e.kind == "cancelled"]
        if cancelled and newest.kind != "cancelled":
            raise ValueError(f"{self.booking_id}: a cancellation older than an update makes the outcome ambiguous")
        return newest, "cancelled" if cancelled else "confirmed"


@dataclass
class Scenario:
    seed: int
    homes: list[str]
    reservations: list[Reservation]
    deliveries: list[Event]  # in send order; a duplicate is the same Event again

    @property
    def distinct_events(self) -> dict[str, Event]:
        return {e.event_id: e for r in self.reservations for e in r.events}

    def out_of_order(self) -> int:
        """Deliveries queued after a newer event of the same booking had been queued."""
        newest: dict[str, datetime] = {}
        late = 0
        for event in self.deliveries:
            seen = newest.get(event.booking_id)
            if seen is not None and event.updated_at < seen:
                late += 1
            newest[event.booking_id] = max(seen or event.updated_at, event.updated_at)
        return late

    @classmethod
    def build(
        cls,
        seed: int,
        *,
        deliveries: int = 2000,
        reservations: int = 200,
        homes: int = 8,
        unplaced_every: int = 20,
        cancel_share: float = 0.3,
    ) -> Scenario:
        """Bookings with a create, 5-10 updates and sometimes a cancellation, sent out of order with exact
        re-deliveries (same bytes; same webhook-id) up to `deliveries` in all."""
        rng = random.Random(seed)
        home_names = [f"Crash Test Villa {n}" for n in range(1, homes + 1)]
        updates = [rng.randint(5, 10) for _ in range(reservations)]
        cancels = [rng.random() < cancel_share for _ in range(reservations)]
        most = int(deliveries * 0.92)  # leave room for at least 8% re-deliveries
        while sum(1 + u + c for u, c in zip(updates, cancels, strict=True)) > most:
            index = rng.randrange(reservations)
            updates[index] = max(1, updates[index] - 1)
        first_slot = date.today() + timedelta(days=40)
        slots: Counter[str] = Counter()
        booked: list[Reservation] = []
        for r in range(reservations):
            placed = r % unplaced_every != unplaced_every - 1
            home = home_names[r % homes] if placed else f"Unknown Cottage {r}"
            slot_start = first_slot + timedelta(days=SLOT_DAYS * slots[home])
            slots[home] += 1
            reservation = Reservation(f"CRASH-{r:03d}", home, placed, f"Guest {r:03d}", f"guest{r:03d}@example.com")
            stamp = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=r)
            stay = _random_stay(rng, slot_start)
            kinds = ["created"] + ["updated"] * updates[r] + (["cancelled"] if cancels[r] else [])
            for version, kind in enumerate(kinds):
                if kind != "cancelled":  # a cancellation carries the booking as last updated
                    stay = _random_stay(rng, slot_start) if version else stay
                stamp += timedelta(minutes=7, seconds=rng.randint(0, 300))
                reservation.events.append(_event(rng, reservation, version, kind, stamp, stay))
            reservation.expected()  # refuse an ambiguous scenario now
            booked.append(reservation)

        start = {r.booking_id: rng.uniform(0, 100) for r in booked}
        originals = [e for r in booked for e in r.events]
        first = {e.event_id: start[e.booking_id] + e.version + rng.gauss(0, 1.2) for e in originals}
        for event in originals:  # one cancellation in five overtakes everything, even the booking's creation
            if event.kind == "cancelled" and rng.random() < 0.2:
                first[event.event_id] = start[event.booking_id] - 1
        keyed = [(first[e.event_id], e) for e in originals]
        for event in rng.choices(originals, k=deliveries - len(originals)):
            # Two in five re-deliveries race the first (sent side by side); the rest come later.
            later = 1e-6 if rng.random() < 0.4 else rng.uniform(0.5, 20)
            keyed.append((first[event.event_id] + later, event))
        keyed.sort(key=lambda item: item[0])
        scenario = cls(seed, home_names, booked, [e for _, e in keyed])
        if len(scenario.distinct_events) != len(originals):
            raise ValueError("two events share an id")
        return scenario


def _random_stay(rng: random.Random, slot_start: date) -> Stay:
    check_in = slot_start + timedelta(days=rng.randint(0, 3))
    return Stay(check_in, check_in + timedelta(days=rng.randint(2, 6)), rng.randint(1, 8), rng.random() < 0.3)


def _event(rng: random.Random, r: Reservation, version: int, kind: str, stamp: datetime, stay: Stay) -> Event:
    payload: dict[str, Any] = {
        "event": f"booking.{kind}",
        "booking_id": r.booking_id,
        "property": r.home,
        "guest_name": r.guest_name,
        "guest_email": r.guest_email,
        "check_in": stay.check_in.isoformat(),
        "check_out": stay.check_out.isoformat(),
        "guest_count": stay.guests,
        "special_requests": stay.special_requests,
        "updated_at": stamp.isoformat().replace("+00:00", "Z"),
    }
    roll = rng.random()
    signing = "hmac" if roll < 0.7 else "event-id" if roll < 0.85 else "standard"
    if signing == "event-id":
        payload["event_id"] = f"crash-{r.booking_id}-v{version}"
    body = json.dumps(payload, separators=(",", ":")).encode()
    if signing == "standard":
        event_id = f"msg_{r.booking_id}_v{version}"
    elif signing == "event-id":
        event_id = payload["event_id"]
    else:
        event_id = "sha256:" + hashlib.sha256(body).hexdigest()
    return Event(r.booking_id, version, kind, stamp, stay, r.home, signing, body, event_id)
