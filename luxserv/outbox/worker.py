"""Worker step: deliver due outbox messages, at least once, with backoff and dead letters.

1. Claim: in one short transaction, pick due pending rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and lease them
   (`locked_until`), so other workers leave them alone even after the transaction ends.
2. Send each outside any transaction (no row lock is held during network I/O).
3. Record the result per message in its own transaction: sent, retry later (exponential backoff with jitter),
   or dead (permanent failure, or attempts exhausted). One message failing never stops the others.
A worker that dies after sending leaves the lease to expire and the message is sent again (same Message-ID).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.outbox.models import OutboxMessage, OutboxStatus
from luxserv.outbox.sender import Outgoing, PermanentFailure, Sender, TemporaryFailure

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY_SECONDS = 60.0
MAX_DELAY_SECONDS = 6 * 3600.0
_ERROR_LIMIT = 2000


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the given number of failed attempts: 1, 2, 4 … minutes up to 6 h, less up to half (jitter)."""
    ceiling = min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS)
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not security


def claim(db: Database, *, now: datetime, limit: int, lease_seconds: float) -> list[Outgoing]:
    """Lease up to `limit` due pending messages to this worker; returns them detached."""
    with db.unit_of_work() as session:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.pending,
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if not db.is_sqlite:  # SQLite's write transactions are already serialized (BEGIN IMMEDIATE)
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        lease = now + timedelta(seconds=lease_seconds)
        for row in rows:
            row.locked_until = lease
        return [
            Outgoing(id=r.id, channel=r.channel, topic=r.topic, recipient=r.recipient, payload=dict(r.payload or {}),
                     attempts=r.attempts)
            for r in rows
        ]  # fmt: skip


def deliver_due(
    db: Database, sender: Sender, *, now: datetime | None = None, limit: int = 50, lease_seconds: float = 120
) -> int:
    """Send what is due; returns how many messages were tried (sent, retried or parked as dead)."""
    now = now or utcnow()
    claimed = claim(db, now=now, limit=limit, lease_seconds=lease_seconds)
    for message in claimed:
        error: BaseException | None = None
        try:
            sender.send(message)
        except Exception as failure:  # a bug in a sender is a failure of this message, not of the pass
            error = failure
        try:
            _record(db, message, error, now=now)
        except Exception:
            log.exception("outbox %s: could not record the delivery result; the lease will expire", message.id)
    return len(claimed)


def _record(db: Database, message: Outgoing, error: BaseException | None, *, now: datetime) -> None:
    with db.unit_of_work() as session:
        row = session.get(OutboxMessage, message.id, with_for_update=not db.is_sqlite)
        if row is None or row.status != OutboxStatus.pending:
            return
        row.attempts += 1
        row.locked_until = None
        if error is None:
            row.status = OutboxStatus.sent
            row.sent_at = utcnow()
            row.last_error = ""
            return
        row.last_error = f"{type(error).__name__}: {error}"[:_ERROR_LIMIT]
        if isinstance(error, PermanentFailure) or row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.dead
            log.error("outbox %s (%s to %s) is dead: %s", row.id, row.topic, row.recipient, row.last_error)
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)
            level = logging.WARNING if isinstance(error, TemporaryFailure) else logging.ERROR
            log.log(level, "outbox %s: attempt %s failed, retrying at %s: %s", row.id, row.attempts,
                    row.next_attempt_at.isoformat(), row.last_error)  # fmt: skip
