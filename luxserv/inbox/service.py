"""The inbox: storing raw inbound events and turning them into booking changes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from luxserv.bookings.apply import ApplyResult, Outcome, apply
from luxserv.core.clock import utcnow
from luxserv.core.database import insert_once
from luxserv.core.errors import EventRejected, LuxServError, NotFound
from luxserv.inbox.models import InboxEvent, InboxStatus
from luxserv.integrations.base import EventSkipped, Provider

MAX_AUTOMATIC_ATTEMPTS = 8
# Headers worth keeping for admins; credentials are never stored.
_DROP_HEADERS = {"authorization", "cookie", "proxy-authorization"}


@dataclass(frozen=True)
class NewEvent:
    provider: str
    event_id: str
    source: str
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    account_id: int | None = None


def store(session: Session, new: NewEvent) -> tuple[int, bool]:
    """Insert the raw event: its id and True; or, if (provider, event id) is already there, that one's id and False."""
    values = {
        "provider": new.provider,
        "event_id": new.event_id,
        "source": new.source,
        "body": new.body,
        "content_type": new.content_type[:100],
        "headers": {k: v[:1000] for k, v in new.headers.items() if k.lower() not in _DROP_HEADERS},
        "status": InboxStatus.received,
        "account_id": new.account_id,
        "next_attempt_at": utcnow() + timedelta(seconds=30),  # the worker's safety net if the inline apply dies
    }
    inserted = insert_once(session, InboxEvent, ("provider", "event_id"), values)
    if inserted is not None:
        return inserted, True
    existing = session.scalar(
        select(InboxEvent.id).where(InboxEvent.provider == new.provider, InboxEvent.event_id == new.event_id)
    )
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish inside this transaction
        raise NotFound(f"inbox event {new.provider}/{new.event_id} vanished")
    return existing, False


@dataclass(frozen=True)
class Processed:
    """How applying an event ended, as recorded on its inbox row."""

    status: InboxStatus
    error: str = ""
    error_field: str | None = None
    result: ApplyResult | None = None


def apply_payload(
    session: Session, provider: Provider | None, payload: Any, *, actor: str, refusal: LuxServError | None = None
) -> Processed:
    """Map and apply a decoded (and enriched) payload in the caller's transaction, on a savepoint.

    `refusal` is a rejection or skip found while preparing the payload. A rejection ends as `rejected`, a skip
    as `ignored`; any other error propagates (with the savepoint rolled back) so the caller can record a failure.
    """
    try:
        if refusal is not None:
            raise refusal
        assert provider is not None
        with session.begin_nested():
            result = apply(session, provider.map(payload), actor=actor)
    except (EventRejected, EventSkipped) as error:
        rejected = isinstance(error, EventRejected)
        return Processed(
            InboxStatus.rejected if rejected else InboxStatus.ignored,
            error.message,
            error.field if rejected else None,
        )
    if result.outcome == Outcome.stale:
        return Processed(InboxStatus.ignored, "older than the stored booking; nothing changed", result=result)
    return Processed(InboxStatus.processed, result=result)


def process(
    session: Session,
    event: InboxEvent,
    provider: Provider | None,
    payload: Any,
    *,
    actor: str,
    refusal: LuxServError | None = None,
) -> ApplyResult | None:
    """`apply_payload`, with the outcome recorded on the (loaded, locked) event; None for a rejection or skip."""
    done = apply_payload(session, provider, payload, actor=actor, refusal=refusal)
    event.status = done.status
    event.error = done.error
    event.error_field = done.error_field
    event.processed_at = utcnow()
    event.next_attempt_at = None
    event.attempts += 1
    if done.result is not None:
        event.booking_id = done.result.booking.id
    return done.result


def finish(session: Session, inbox_id: int, done: Processed) -> None:
    """Record how applying ended on an event stored in this transaction, without loading its row."""
    session.flush()  # what comes before this statement in the transaction goes first
    session.connection().execute(
        _FINISH,
        {
            "inbox_id": inbox_id,
            "status": done.status,
            "error": done.error,
            "error_field": done.error_field,
            "processed_at": utcnow(),
            "booking_id": done.result.booking.id if done.result is not None else None,
        },
    )


_inbox = cast(Table, InboxEvent.__table__)
# Built once: a plain Core statement on the table skips the ORM's per-call statement work.
_FINISH = (
    update(_inbox)
    .where(_inbox.c.id == bindparam("inbox_id"))
    .values(
        status=bindparam("status", type_=_inbox.c.status.type),
        error=bindparam("error", type_=_inbox.c.error.type),
        error_field=bindparam("error_field", type_=_inbox.c.error_field.type),
        processed_at=bindparam("processed_at", type_=_inbox.c.processed_at.type),
        next_attempt_at=None,
        attempts=_inbox.c.attempts + 1,
        booking_id=func.coalesce(bindparam("booking_id", type_=_inbox.c.booking_id.type), _inbox.c.booking_id),
    )
)


def record_failure(session: Session, event_id: int, error: BaseException) -> InboxEvent:
    """Mark an event `failed` with its error and when the worker should try again (exponential, jittered)."""
    event = session.get(InboxEvent, event_id)
    if event is None:
        raise NotFound(f"inbox event {event_id} not found")
    event.status = InboxStatus.failed
    event.attempts += 1
    event.error = f"{type(error).__name__}: {error}"[:4000]
    if event.attempts >= MAX_AUTOMATIC_ATTEMPTS:
        event.next_attempt_at = None  # parked: an admin replays it once the cause is fixed
    else:
        delay = min(3600.0, 30.0 * 2 ** (event.attempts - 1))
        event.next_attempt_at = utcnow() + timedelta(seconds=delay * random.uniform(0.8, 1.2))  # noqa: S311
    return event


def due_event_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Events the worker should (re)try now: received but never applied, or failed and due."""
    query = (
        select(InboxEvent.id)
        .where(
            InboxEvent.status.in_([InboxStatus.received, InboxStatus.failed]),
            InboxEvent.next_attempt_at.is_not(None),
            InboxEvent.next_attempt_at <= now,
        )
        .order_by(InboxEvent.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def lock_for_processing(session: Session, event_id: int, *, skip_locked: bool) -> InboxEvent | None:
    """Take the event row for this transaction; None if another process holds it (PostgreSQL) or it is gone."""
    query = select(InboxEvent).where(InboxEvent.id == event_id).execution_options(populate_existing=True)
    query = query.with_for_update(skip_locked=True) if skip_locked else query.with_for_update()
    return session.scalar(query)


@dataclass(frozen=True)
class InboxFilter:
    status: InboxStatus | None = None
    provider: str | None = None


def list_events(session: Session, flt: InboxFilter, *, limit: int, offset: int) -> tuple[list[InboxEvent], int]:
    query = select(InboxEvent)
    if flt.status is not None:
        query = query.where(InboxEvent.status == flt.status)
    if flt.provider is not None:
        query = query.where(InboxEvent.provider == flt.provider)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(InboxEvent.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def count_needing_attention(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(InboxEvent)
            .where(or_(InboxEvent.status == InboxStatus.rejected, InboxEvent.status == InboxStatus.failed))
        )
        or 0
    )
