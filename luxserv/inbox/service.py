"""The inbox: storing raw inbound events and turning them into booking changes."""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from luxserv.bookings.apply import ApplyResult, Outcome, apply
from luxserv.core.clock import utcnow
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
    return store_many(session, [new])[0]


def store_many(session: Session, news: Sequence[NewEvent]) -> list[tuple[int, bool]]:
    """`store` for several events, in order, with one INSERT (and a SELECT per provider for those already there).

    An event given twice is stored once: the second gets the first one's id and False, as `store` would.
    """
    if not news:
        return []
    session.flush()
    connection = session.connection()
    statement = _store_many_statement(connection.dialect.name)
    rows = [_row(new) for new in news]
    inserted = {(p, e): i for i, p, e in connection.execute(statement, rows[0] if len(rows) == 1 else rows)}
    missing = {(new.provider, new.event_id) for new in news} - inserted.keys()
    known: dict[tuple[str, str], int] = {}
    for provider in {provider for provider, _ in missing}:
        ids = [event_id for p, event_id in missing if p == provider]
        found = select(InboxEvent.id, InboxEvent.event_id).where(
            InboxEvent.provider == provider, InboxEvent.event_id.in_(ids)
        )
        known.update({(provider, event_id): i for i, event_id in session.execute(found)})
    stored = []
    for new in news:
        key = (new.provider, new.event_id)
        if key in inserted:
            stored.append((inserted.pop(key), True))
            known[key] = stored[-1][0]
        elif key in known:
            stored.append((known[key], False))
        else:  # pragma: no cover - the conflicting row cannot vanish inside this transaction
            raise NotFound(f"inbox event {new.provider}/{new.event_id} vanished")
    return stored


@functools.cache
def _store_many_statement(dialect: str) -> Any:
    table = cast(Table, InboxEvent.__table__)
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(table.c.id, table.c.provider, table.c.event_id)
    )


def _row(new: NewEvent) -> dict[str, Any]:
    return {
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
    finish_all(session, [(inbox_id, done)])


def finish_all(session: Session, finished: Sequence[tuple[int, Processed]]) -> None:
    """`finish` for several events (inbox id, how it ended), in one statement."""
    if not finished:
        return
    session.flush()  # what comes before this statement in the transaction goes first
    now = utcnow()
    rows = [
        {"inbox_id": inbox_id, "status": done.status, "error": done.error, "error_field": done.error_field,
         "processed_at": now, "booking_id": done.result.booking.id if done.result is not None else None}
        for inbox_id, done in finished
    ]  # fmt: skip
    session.connection().execute(_FINISH, rows[0] if len(rows) == 1 else rows)


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
