"""After a run: does the database hold every acknowledged booking exactly once, in its newest acknowledged state?"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from bench.webhooks.load import Sample
from bench.webhooks.traffic import Expected
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.database import Database
from luxserv.inbox.models import InboxEvent, InboxStatus

Key = tuple[str, str]


@dataclass
class Verdict:
    """What the oracle found. `passed` needs every acknowledged booking present once and in the expected state."""

    acknowledged_bookings: int = 0
    found_once: int = 0
    missing: list[Key] = field(default_factory=list)
    duplicated: list[Key] = field(default_factory=list)
    wrong_state: list[str] = field(default_factory=list)
    state_checked: int = 0
    unexpected: int = 0  # bookings in the database that no delivery named
    pending_events: int = 0  # inbox events still waiting for the worker when the check ran
    unplaced: int = 0

    @property
    def passed(self) -> bool:
        return not (self.missing or self.duplicated or self.wrong_state or self.unexpected or self.pending_events)

    def summary(self) -> str:
        text = f"{self.found_once:,}/{self.acknowledged_bookings:,} acknowledged bookings found exactly once"
        text += f", {self.state_checked:,} in their newest acknowledged state"
        problems = [
            f"{len(self.missing)} missing" if self.missing else "",
            f"{len(self.duplicated)} duplicated" if self.duplicated else "",
            f"{len(self.wrong_state)} in another state" if self.wrong_state else "",
            f"{self.unexpected} unexpected" if self.unexpected else "",
            f"{self.pending_events} inbox events still pending" if self.pending_events else "",
        ]
        found = [p for p in problems if p]
        return text + (f"; {', '.join(found)}" if found else "")

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "acknowledged_bookings": self.acknowledged_bookings,
            "found_once": self.found_once,
            "state_checked": self.state_checked,
            "missing": [list(k) for k in self.missing[:20]],
            "duplicated": [list(k) for k in self.duplicated[:20]],
            "wrong_state": self.wrong_state[:20],
            "unexpected": self.unexpected,
            "pending_events": self.pending_events,
            "unplaced": self.unplaced,
        }


def wait_for_worker(db: Database, timeout: float) -> int:
    """Wait until no inbox event waits to be applied (202s are applied by the worker); returns how many still do."""
    deadline = time.monotonic() + timeout
    while True:
        with db.unit_of_work(write=False) as session:
            pending = session.scalar(
                select(func.count())
                .select_from(InboxEvent)
                .where(InboxEvent.status.in_([InboxStatus.received, InboxStatus.failed]))
            )
        if not pending or time.monotonic() > deadline:
            return int(pending or 0)
        time.sleep(0.5)


def check(db: Database, samples: Iterable[Sample], pending_events: int) -> Verdict:
    """Compare the bookings table with what LuxServ acknowledged."""
    events: dict[Key, list[tuple[Expected, bool]]] = defaultdict(list)
    for sample in samples:
        events[sample.delivery.key].append((sample.delivery.expected, sample.acknowledged))
    with db.unit_of_work(write=False) as session:
        rows = session.execute(
            select(Booking.provider, Booking.external_id, Booking.guest_count, Booking.status, Booking.property_id)
        ).all()
    stored: dict[Key, list[tuple[int, BookingStatus]]] = defaultdict(list)
    verdict = Verdict(pending_events=pending_events)
    for provider, external_id, guest_count, status, property_id in rows:
        stored[(provider, external_id)].append((guest_count, status))
        verdict.unplaced += property_id is None
    verdict.unexpected = sum(1 for key in stored if key not in events)
    for key, seen in events.items():
        if not any(acknowledged for _, acknowledged in seen):
            continue
        verdict.acknowledged_bookings += 1
        found = stored.get(key, [])
        if not found:
            verdict.missing.append(key)
            continue
        if len(found) > 1:
            verdict.duplicated.append(key)
            continue
        verdict.found_once += 1
        if not all(acknowledged for _, acknowledged in seen):
            continue  # an unanswered delivery may or may not have been applied: the state is not determined
        verdict.state_checked += 1
        newest = max((expected for expected, _ in seen), key=lambda e: e.stamp)
        cancelled = any(expected.cancelled for expected, _ in seen)
        guest_count, status = found[0]
        if cancelled != (status == BookingStatus.cancelled) or (not cancelled and guest_count != newest.guest_count):
            verdict.wrong_state.append(
                f"{key[0]} {key[1]}: expected {'cancelled' if cancelled else 'guest_count=' + str(newest.guest_count)}"
                f", found {status.value} guest_count={guest_count}"
            )
    return verdict
