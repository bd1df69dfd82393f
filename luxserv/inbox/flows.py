"""Inbound events end to end, across transactions: persist first, then apply; failures kept for retry.

These functions own their commits (they are the unit of work), so webhook routes, sync jobs, the worker and
admin replay share one path.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from luxserv.bookings.apply import Outcome
from luxserv.bookings.models import Booking
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.errors import EventRejected, LuxServError, NotFound
from luxserv.inbox import service
from luxserv.inbox.models import InboxEvent, InboxStatus
from luxserv.integrations.base import EventSkipped, Provider, decode_json
from luxserv.integrations.registry import Providers

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
    """Commit the raw event, then apply it in a second transaction. A duplicate is not applied again."""
    with db.unit_of_work() as session:
        event, created = service.store(session, new)
        inbox_id = event.id
    if not created:
        return _receipt_for_duplicate(db, providers, inbox_id)
    return process(db, providers, inbox_id, actor=actor)


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

    provider: Provider | None = None
    payload: Any = None
    refusal: LuxServError | None = None
    try:
        provider = providers.for_event(name, account_id)
        payload = provider.enrich(decode_json(body))
    except (EventRejected, EventSkipped) as error:
        refusal = error
    except Exception as error:
        return _fail(db, inbox_id, error)

    last_error: BaseException | None = None
    for _attempt in range(_TRANSIENT_RETRIES):
        try:
            with db.unit_of_work() as session:
                event = service.lock_for_processing(session, inbox_id, skip_locked=skip_locked and not db.is_sqlite)
                if event is None:
                    raise EventBusy(f"inbox event {inbox_id} is gone or being processed elsewhere")
                if only_pending and event.status not in _PENDING:
                    return _receipt(event)
                result = service.process(session, event, provider, payload, actor=actor, refusal=refusal)
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
