"""Inbound events end to end, across transactions: persist first, then apply; failures kept for retry.

These functions own their commits (they are the unit of work), so webhook routes, sync jobs, the worker and
admin replay share one path.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from luxserv.bookings.apply import Outcome, apply_new, validate
from luxserv.bookings.models import Booking
from luxserv.core.clock import utcnow
from luxserv.core.database import Database, remember_reads
from luxserv.core.errors import EventRejected, LuxServError, NotFound
from luxserv.guests.models import Guest
from luxserv.guests.service import Profile, normalize_email, profile_after, profiles
from luxserv.inbox import service
from luxserv.inbox.models import InboxEvent, InboxStatus
from luxserv.integrations import http
from luxserv.integrations.base import BookingEvent, EventSkipped, GuestInfo, MessageEvent, Provider, decode_json
from luxserv.integrations.registry import Providers
from luxserv.properties.matching import look_up_listings, match_property
from luxserv.services.models import ServiceRequest

log = logging.getLogger(__name__)
_TRANSIENT_RETRIES = 3
_DUPLICATE_WAIT_SECONDS = 3.0
_PENDING = (InboxStatus.received, InboxStatus.failed)


class EventBusy(NotFound):
    """The event row is locked by another process (or was deleted): nothing to do here."""


@dataclass(frozen=True)
class Receipt:
    """What the sender is told about an event."""

    inbox_id: int
    event_id: str
    status: InboxStatus
    duplicate: bool
    booking_id: int | None
    outcome: str | None = None
    error: str = ""
    error_field: str | None = None


def receive(db: Database, providers: Providers, new: service.NewEvent, *, actor: str) -> Receipt:
    """Store a new event and apply it; a duplicate is not applied again.

    When the payload needs nothing from the provider's API, the raw event and its effects commit together in
    one transaction (one disk flush), or the raw event alone, marked failed, if applying it fails. Otherwise,
    or if that transaction hits a database error, the raw event is committed first and applied in a second
    transaction, with the outbound calls made in between (no database lock is held during them).
    """
    prepared = _prepare(providers, new.provider, new.account_id, new.body, offline=True)
    if not prepared.needs_call and prepared.error is None:
        try:
            with db.unit_of_work() as session:
                inbox_id, created = service.store(session, new)
                if created:
                    return _apply_one(session, inbox_id, new.event_id, prepared, actor=actor)
        except DBAPIError as error:
            log.warning(
                "event %s/%s: one-transaction apply failed, storing first: %s", new.provider, new.event_id, error
            )
        else:
            return _receipt_for_duplicate(db, providers, inbox_id)
    with db.unit_of_work() as session:
        inbox_id, created = service.store(session, new)
    if not created:
        return _receipt_for_duplicate(db, providers, inbox_id)
    if prepared.needs_call:
        prepared = _prepare(providers, new.provider, new.account_id, new.body)
    return _apply(db, inbox_id, prepared, actor=actor)


def receive_many(
    db: Database, providers: Providers, news: Sequence[service.NewEvent], *, actor: str | Sequence[str]
) -> list[Receipt]:
    """`receive` for a batch (a sync's page, the webhooks that arrived together): see `receive_together`.

    The events that need a call to the provider's API go through `receive` one by one afterwards. The order of
    the receipts is the order of `news`; `actor` is one for all, or one per event.
    """
    actors = _actors(actor, len(news))
    receipts = receive_together(db, providers, news, actor=actors)
    return [
        receipt if receipt is not None else receive(db, providers, new, actor=actors[n])
        for n, (new, receipt) in enumerate(zip(news, receipts, strict=True))
    ]


def receive_together(
    db: Database, providers: Providers, news: Sequence[service.NewEvent], *, actor: str | Sequence[str]
) -> list[Receipt | None]:
    """Store and apply the events that need no API call in one transaction (one disk flush for all of them).

    They are stored with one statement and applied as `_apply_stored` says: new bookings together, the others
    each on its own savepoint, so one that fails is recorded as failed without touching the others. The receipts
    come in the order of `news`, with None for each event left to the caller for `receive`: those that need the
    provider's API, and all of them if the transaction hit a database error.
    """
    actors = _actors(actor, len(news))
    prepared = [_prepare(providers, new.provider, new.account_id, new.body, offline=True) for new in news]
    receipts: list[Receipt | None] = [None] * len(news)
    together = [n for n, ready in enumerate(prepared) if not ready.needs_call and ready.error is None]
    if not together:
        return receipts
    duplicates: list[tuple[int, int]] = []
    try:
        with db.unit_of_work() as session:
            remember_reads(session)  # rules and listing matches: read once per batch
            fresh: list[tuple[int, int]] = []
            stored = service.store_many(session, [news[n] for n in together])
            for n, (inbox_id, created) in zip(together, stored, strict=True):
                (fresh if created else duplicates).append((n, inbox_id))
            for n, receipt in _apply_stored(session, fresh, news, prepared, actors).items():
                receipts[n] = receipt
            for n, receipt in _settled_duplicates(session, duplicates).items():
                receipts[n] = receipt
    except DBAPIError as error:
        log.warning("a batch of %d events failed to apply together, applying one by one: %s", len(news), error)
        return [None] * len(news)
    for n, inbox_id in duplicates:
        if receipts[n] is None:
            receipts[n] = _receipt_for_duplicate(db, providers, inbox_id)
    return receipts


def _settled_duplicates(session: Session, duplicates: Sequence[tuple[int, int]]) -> dict[int, Receipt]:
    """Receipts for re-delivered events (position, inbox id) whose first delivery is settled, read in one query.

    Those still `received` or `failed` (which the worker may be applying right now) are left to
    `_receipt_for_duplicate`, which waits for them, and guesses the booking of one that has none.
    """
    if not duplicates:
        return {}
    ids = list({inbox_id for _, inbox_id in duplicates})
    query = select(InboxEvent).where(InboxEvent.id.in_(ids)).execution_options(populate_existing=True)
    found = {event.id: event for event in session.scalars(query)}
    settled = {}
    for n, inbox_id in duplicates:
        event = found.get(inbox_id)
        if event is not None and event.status not in _PENDING:
            settled[n] = _receipt(event, duplicate=True)
    return settled


def _apply_stored(
    session: Session,
    fresh: Sequence[tuple[int, int]],
    news: Sequence[service.NewEvent],
    prepared: Sequence[_Prepared],
    actors: Sequence[str],
) -> dict[int, Receipt]:
    """Apply the events just stored: (position in `news`, inbox id) each, in order. Returns their receipts.

    New bookings (valid, not stored yet, each named once in the batch) are applied together by
    `bookings.apply_new`, in runs; any other event (an update, a cancellation, a message, an event to refuse)
    alone. What is written is what applying the events one at a time, in order, would write:
    - an event applied alone that shares no guest and no home with the current run waits until after it, so it
      does not cut the run in two; one that shares either, or whose effects cannot be told beforehand (a
      message, a booking named twice in the batch, no guest e-mail), ends the run and is applied in its place;
    - no two bookings of one guest share a run, and an event that changes a known guest's name or phone is
      applied in its place: notices name each guest as the events before them left that guest.
    """
    read = {n: _read(prepared[n]) for n, _ in fresh}
    bookings = [e for e in read.values() if isinstance(e, BookingEvent)]
    named = Counter((e.provider, e.external_id) for e in bookings)
    stored = _stored_bookings(session, list(named))
    look_up_listings(session, [(e.provider, e.listing) for e in bookings])
    guests = _Guests(session, bookings)
    receipts: dict[int, Receipt] = {}
    run: list[tuple[int, int, BookingEvent]] = []
    later: list[tuple[int, int, _Footprint]] = []  # applied alone, after the run
    touched = _Footprint(frozenset(), frozenset())  # the run's guests and homes

    def settle() -> None:
        nonlocal run, later, touched
        receipts.update(_apply_run(session, run, news, prepared, actors))
        for n, inbox_id, _ in later:
            receipts[n] = _apply_one(session, inbox_id, news[n].event_id, prepared[n], actor=actors[n])
        run, later, touched = [], [], _Footprint(frozenset(), frozenset())

    for n, inbox_id in fresh:
        event = read[n]
        footprint: _Footprint | None = None  # of an event applied alone; None: it must be applied in its place
        if isinstance(event, BookingEvent):
            key = (event.provider, event.external_id)
            once = named[key] == 1  # a booking named again in the batch may move home meanwhile
            renames = guests.changes(event.guest)
            if once and key not in stored and not renames:
                mine = _footprint_of_new(session, event)
                if mine.guests & touched.guests or any(mine.meets(waiting) for _, _, waiting in later):
                    settle()
                run.append((n, inbox_id, event))
                touched = touched.join(mine)
                guests.note(event.guest, sure=True)
                continue
            if once and not renames:
                footprint = _footprint_of_alone(session, event, stored.get(key))
            guests.note(event.guest, sure=False)  # an update may turn out stale, and leave the guest as it was
        elif event is None:
            footprint = _Footprint(frozenset(), frozenset())  # refused or failed: only its own inbox row
        if footprint is None or footprint.meets(touched):
            settle()
            receipts[n] = _apply_one(session, inbox_id, news[n].event_id, prepared[n], actor=actors[n])
        else:
            later.append((n, inbox_id, footprint))
    settle()
    return receipts


@dataclass(frozen=True)
class _Footprint:
    """What applying an event touches that another event may touch too: guests (by e-mail) and homes."""

    guests: frozenset[str]
    places: frozenset[int]

    def meets(self, other: _Footprint) -> bool:
        return bool(self.guests & other.guests or self.places & other.places)

    def join(self, other: _Footprint) -> _Footprint:
        return _Footprint(self.guests | other.guests, self.places | other.places)


class _Guests:
    """The guests a batch names, as the events before the current one leave them. An event that changes a known
    guest's name or phone is applied in its place: other stays' double-booking notices show that guest's name."""

    def __init__(self, session: Session, events: Sequence[BookingEvent]) -> None:
        keys = {normalize_email(event.guest.email) for event in events}
        self._known: dict[str, Profile] = profiles(session, [key for key in keys if key])
        self._unsure: set[str] = set()

    def changes(self, info: GuestInfo) -> bool:
        """Whether applying `info` changes a profile stored before it (a new guest's first event does not)."""
        key = normalize_email(info.email)
        if key is None:
            return False
        before = self._known.get(key)
        return key in self._unsure or (before is not None and profile_after(before, info) != before)

    def note(self, info: GuestInfo, *, sure: bool) -> None:
        """`info` was applied (`sure`), or may have been."""
        key = normalize_email(info.email)
        if key is not None and sure:
            self._known[key] = profile_after(self._known.get(key), info)
        elif key is not None:
            self._unsure.add(key)


def _read(prepared: _Prepared) -> BookingEvent | MessageEvent | None:
    """The prepared event as `apply` gets it, if valid. None when applying it writes nothing but its own inbox
    row: a refusal, an event `apply` rejects, or an error recorded as a failure."""
    if prepared.provider is None or prepared.refusal is not None:
        return None
    try:
        event = prepared.provider.map(prepared.payload)
        if isinstance(event, BookingEvent):
            validate(event)
    except Exception:  # applied alone, which records why
        return None
    return event


def _footprint_of_new(session: Session, event: BookingEvent) -> _Footprint:
    prop = match_property(session, event.provider, event.listing)
    guest = normalize_email(event.guest.email)
    return _Footprint(frozenset([guest] if guest else []), frozenset([prop.id] if prop else []))


def _footprint_of_alone(session: Session, event: BookingEvent, stored_at: int | None) -> _Footprint | None:
    """What a booking event applied alone touches, given the home its booking is stored at (if any); None when
    that cannot be told beforehand (no guest e-mail: it then refreshes whichever guest its booking has)."""
    guest = normalize_email(event.guest.email)
    if guest is None:
        return None
    prop = match_property(session, event.provider, event.listing)
    places = {place for place in (prop.id if prop else None, stored_at) if place is not None}
    return _Footprint(frozenset([guest]), frozenset(places))


def _stored_bookings(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """Which of these (provider, external id) bookings are stored, with the home each is at."""
    stored: dict[tuple[str, str], int | None] = {}
    for provider in {provider for provider, _ in keys}:
        ids = [external_id for p, external_id in keys if p == provider]
        found = select(Booking.external_id, Booking.property_id).where(
            Booking.provider == provider, Booking.external_id.in_(ids)
        )
        stored.update({(provider, external_id): home for external_id, home in session.execute(found)})
    return stored


def _apply_run(
    session: Session,
    run: Sequence[tuple[int, int, BookingEvent]],
    news: Sequence[service.NewEvent],
    prepared: Sequence[_Prepared],
    actors: Sequence[str],
) -> dict[int, Receipt]:
    """New bookings (position, inbox id, event) applied together on a savepoint; one by one if that fails."""
    if not run:
        return {}
    known = set(session.identity_map.keys())
    try:
        with session.begin_nested():
            results = apply_new(session, [event for _, _, event in run], [actors[n] for n, _, _ in run])
            done = [service.Processed(InboxStatus.processed, result=result) for result in results]
            service.finish_all(session, [(inbox_id, d) for (_, inbox_id, _), d in zip(run, done, strict=True)])
    except Exception as error:  # a booking or guest inserted meanwhile by another transaction, or a bug
        log.warning("%d new bookings failed to apply together, applying one by one: %s", len(run), error)
        # Rows written with INSERT … RETURNING are gone with the savepoint, but not their objects: forget them
        # (SQLite may give the same ids to the rows written next).
        for obj in list(session.identity_map.values()):
            if isinstance(obj, (Booking, Guest, ServiceRequest)) and identity_key(instance=obj) not in known:
                session.expunge(obj)
        return {
            n: _apply_one(session, inbox_id, news[n].event_id, prepared[n], actor=actors[n]) for n, inbox_id, _ in run
        }
    return {
        n: Receipt(inbox_id=inbox_id, event_id=news[n].event_id, status=InboxStatus.processed, duplicate=False,
                   booking_id=result.booking.id, outcome=result.outcome.value)
        for (n, inbox_id, _), result in zip(run, results, strict=True)
    }  # fmt: skip


def _actors(actor: str | Sequence[str], count: int) -> Sequence[str]:
    if isinstance(actor, str):
        return [actor] * count
    if len(actor) != count:
        raise ValueError(f"{len(actor)} actors for {count} events")
    return actor


def _apply_one(session: Session, inbox_id: int, event_id: str, prepared: _Prepared, *, actor: str) -> Receipt:
    """Apply an event stored in this transaction; an error other than the database's is recorded on it."""
    try:
        done = service.apply_payload(session, prepared.provider, prepared.payload, actor=actor,
                                     refusal=prepared.refusal)  # fmt: skip
    except DBAPIError:
        raise
    except Exception as error:  # a bug or bad data: the raw event is kept as failed, for the worker and admins
        log.error("inbox event %s failed: %s", inbox_id, error, exc_info=error)
        return _receipt(service.record_failure(session, inbox_id, error))
    service.finish(session, inbox_id, done)
    return Receipt(
        inbox_id=inbox_id,
        event_id=event_id,
        status=done.status,
        duplicate=False,
        booking_id=done.result.booking.id if done.result else None,
        outcome=done.result.outcome.value if done.result else None,
        error=done.error,
        error_field=done.error_field,
    )


def process(
    db: Database,
    providers: Providers,
    inbox_id: int,
    *,
    actor: str,
    skip_locked: bool = False,
    only_pending: bool = False,
) -> Receipt:
    """Apply one stored event; on error, record the failure in another transaction.

    The payload is decoded and enriched (possibly through the provider's API) before the transaction opens,
    so no database lock is held during an outbound call. With `only_pending` (the worker), an event another
    process finished meanwhile is left as it is.
    """
    with db.unit_of_work(write=False) as session:
        stored = session.get(InboxEvent, inbox_id)
        if stored is None:
            raise EventBusy(f"inbox event {inbox_id} is gone")
        if only_pending and stored.status not in _PENDING:
            return _receipt(stored)
        name, account_id, body = stored.provider, stored.account_id, stored.body
    prepared = _prepare(providers, name, account_id, body)
    return _apply(db, inbox_id, prepared, actor=actor, skip_locked=skip_locked, only_pending=only_pending)


@dataclass(frozen=True)
class _Prepared:
    """An event made ready to apply: its provider and decoded payload, or why it cannot be applied."""

    provider: Provider | None = None
    payload: Any = None
    refusal: LuxServError | None = None  # rejected or skipped: recorded as such
    error: Exception | None = None  # anything else: recorded as a failure, retried by the worker
    needs_call: bool = False  # prepared offline, and completing the payload needs the provider's API


def _prepare(
    providers: Providers, name: str, account_id: int | None, body: bytes, *, offline: bool = False
) -> _Prepared:
    try:
        provider = providers.for_event(name, account_id)
        payload = decode_json(body)
        if offline:
            with http.offline():
                return _Prepared(provider, provider.enrich(payload))
        return _Prepared(provider, provider.enrich(payload))
    except http.CallNeeded:
        return _Prepared(needs_call=True)
    except (EventRejected, EventSkipped) as error:
        return _Prepared(refusal=error)
    except Exception as error:
        return _Prepared(error=error)


def _apply(
    db: Database,
    inbox_id: int,
    prepared: _Prepared,
    *,
    actor: str,
    skip_locked: bool = False,
    only_pending: bool = False,
) -> Receipt:
    if prepared.error is not None:
        return _fail(db, inbox_id, prepared.error)
    last_error: BaseException | None = None
    for _attempt in range(_TRANSIENT_RETRIES):
        try:
            with db.unit_of_work() as session:
                event = service.lock_for_processing(session, inbox_id, skip_locked=skip_locked and not db.is_sqlite)
                if event is None:
                    raise EventBusy(f"inbox event {inbox_id} is gone or being processed elsewhere")
                if only_pending and event.status not in _PENDING:
                    return _receipt(event)
                result = service.process(
                    session, event, prepared.provider, prepared.payload, actor=actor, refusal=prepared.refusal
                )
                return _receipt(event, outcome=result.outcome if result else None)
        except EventBusy:
            raise
        except DBAPIError as error:
            # Serialization failures, deadlocks and lost connections are worth an immediate second try.
            last_error = error
            log.warning("inbox event %s: transient database error, retrying: %s", inbox_id, error)
            continue
        except Exception as error:
            last_error = error
            break
    assert last_error is not None
    return _fail(db, inbox_id, last_error)


def _fail(db: Database, inbox_id: int, error: BaseException) -> Receipt:
    log.error("inbox event %s failed: %s", inbox_id, error, exc_info=error)
    with db.unit_of_work() as session:
        event = service.record_failure(session, inbox_id, error)
        return _receipt(event)


def replay(db: Database, providers: Providers, inbox_id: int, *, actor: str) -> Receipt:
    """Apply a stored event again (after a fix, or to place it now that its property exists)."""
    return process(db, providers, inbox_id, actor=actor)


def process_due(db: Database, providers: Providers, *, limit: int = 50) -> int:
    """Worker step: retry events that were never applied or failed and are due. Returns how many were tried."""
    with db.unit_of_work(write=False) as session:
        ids = service.due_event_ids(session, now=utcnow(), limit=limit)
    done = 0
    for inbox_id in ids:
        try:
            process(db, providers, inbox_id, actor="worker", skip_locked=True, only_pending=True)
            done += 1
        except EventBusy:
            continue
    return done


def _receipt(event: InboxEvent, *, duplicate: bool = False, outcome: Outcome | None = None) -> Receipt:
    return Receipt(
        inbox_id=event.id,
        event_id=event.event_id,
        status=event.status,
        duplicate=duplicate,
        booking_id=event.booking_id,
        outcome=outcome.value if outcome else None,
        error=event.error,
        error_field=event.error_field,
    )


def _receipt_for_duplicate(db: Database, providers: Providers, inbox_id: int) -> Receipt:
    """What to tell a re-delivery. If the first delivery is still being applied, wait for it (briefly).

    Taking the row lock (a writer's lock on SQLite) waits out an apply in progress; the short poll covers the
    moment between the first delivery's two transactions.
    """
    deadline = time.monotonic() + _DUPLICATE_WAIT_SECONDS
    while True:
        with db.unit_of_work() as session:
            event = service.lock_for_processing(session, inbox_id, skip_locked=False)
            if event is None:
                raise EventBusy(f"inbox event {inbox_id} is gone")
            receipt = _receipt(event, duplicate=True)
            if event.status != InboxStatus.received or time.monotonic() >= deadline:
                if receipt.booking_id is None and event.status in (InboxStatus.received, InboxStatus.failed):
                    receipt = _with_booking_guess(session, providers, event, receipt)
                return receipt
        time.sleep(0.02)


def _with_booking_guess(session: Session, providers: Providers, event: InboxEvent, receipt: Receipt) -> Receipt:
    try:
        mapped = providers.mapper(event.provider).map(decode_json(event.body))
    except Exception:
        return receipt
    booking_id = session.scalar(
        select(Booking.id).where(Booking.provider == mapped.provider, Booking.external_id == mapped.external_id)
    )
    return dataclasses.replace(receipt, booking_id=booking_id)
