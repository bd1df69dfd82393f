"""Worker step: deliver due outbox messages, at least once, with backoff and dead letters.

1. Claim: in one short transaction, pick due pending rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and lease them
   (`locked_until`), so other workers leave them alone even after the transaction ends.
2. Send each outside any transaction (no row lock is held during network I/O).
3. Record the result per message in its own transaction: sent, retry later (exponential backoff with jitter),
   or dead (permanent failure, or attempts exhausted). One message failing never stops the others. A message
   becoming dead tells every active admin (`outbox.dead`) in that same transaction.
A worker that dies after sending leaves the lease to expire and the message is sent again (same Message-ID).
A worker asked to stop finishes the message in hand and releases the rest of its batch at once (see `StopSignal`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from luxserv.accounts.models import Role, User
from luxserv.audit.models import AuditEntry
from luxserv.audit.service import record
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.links import absolute
from luxserv.notifications.dispatch import Notice, to_user
from luxserv.outbox.models import OutboxMessage, OutboxStatus
from luxserv.outbox.sender import Outgoing, PermanentFailure, Sender, TemporaryFailure, one_line
from luxserv.worker.stop import StopSignal

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY_SECONDS = 60.0
MAX_DELAY_SECONDS = 6 * 3600.0
DEAD_TOPIC = "outbox.dead"
RETRIED_ACTION = "outbox_message.retried"
_ERROR_LIMIT = 2000
# Sent messages are recorded together at the end of a pass, or after this long (a slow SMTP server).
_RECORD_EVERY_SECONDS = 1.0
_SUBJECT_LIMIT = 250


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the given number of failed attempts: 1, 2, 4 … minutes up to 6 h, less up to half (jitter)."""
    ceiling = min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS)
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not security


@dataclass(frozen=True)
class Batch:
    """Messages leased to this worker until `lease_until` (the value written to their `locked_until`)."""

    messages: list[Outgoing]
    lease_until: datetime


def claim(db: Database, *, now: datetime, limit: int, lease_seconds: float) -> Batch:
    """Lease up to `limit` due pending messages to this worker; returns them detached."""
    lease = now + timedelta(seconds=lease_seconds)
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
        for row in rows:
            row.locked_until = lease
        messages = [
            Outgoing(id=r.id, channel=r.channel, topic=r.topic, recipient=r.recipient, payload=dict(r.payload or {}),
                     attempts=r.attempts)
            for r in rows
        ]  # fmt: skip
    return Batch(messages, lease)


def release(db: Database, messages: Sequence[Outgoing], *, lease_until: datetime) -> int:
    """Hand leased, unsent messages back (one transaction) so any worker may take them now; returns how many.

    Only rows still carrying this worker's lease are touched: one whose lease expired and that another worker
    claimed since is left to that worker.
    """
    if not messages:
        return 0
    with db.unit_of_work() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_([m.id for m in messages]),
                OutboxMessage.status == OutboxStatus.pending,
                OutboxMessage.locked_until == lease_until,
            )
            .values(locked_until=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def deliver_due(
    db: Database,
    sender: Sender,
    *,
    now: datetime | None = None,
    limit: int = 50,
    lease_seconds: float = 120,
    stop: StopSignal | None = None,
) -> int:
    """Send what is due; returns how many messages were tried (sent, retried or parked as dead).

    `stop` is looked at before each message: once set, the messages not yet started are released in one
    transaction and counted on the signal. Messages whose lease ran out before their turn (a batch slower than
    `lease_seconds`) are released the same way, since another worker may already be sending them.
    """
    if stop is not None and stop.is_set():
        return 0
    now = now or utcnow()
    started = time.monotonic()
    batch = claim(db, now=now, limit=limit, lease_seconds=lease_seconds)
    tried = 0
    sent: list[int] = []  # recorded together: one transaction (one disk flush) for many e-mails
    recorded_at = time.monotonic()

    def record_sent() -> None:
        nonlocal recorded_at
        if sent:
            try:
                _record_sent(db, sent)
            except Exception:
                log.exception("outbox: could not record %s sent messages; their lease will expire", len(sent))
            sent.clear()
        recorded_at = time.monotonic()

    for index, message in enumerate(batch.messages):
        rest = batch.messages[index:]
        if stop is not None and stop.is_set():
            record_sent()
            released = release(db, rest, lease_until=batch.lease_until)
            stop.handed_back(released)
            log.info("outbox: stopping; released %s of %s unsent messages", released, len(rest))
            break
        if time.monotonic() - started >= lease_seconds:
            record_sent()
            released = release(db, rest, lease_until=batch.lease_until)
            log.warning("outbox: the %.0fs lease ran out with %s messages unsent (%s released); "
                        "raise LUXSERV_OUTBOX_LEASE_SECONDS", lease_seconds, len(rest), released)  # fmt: skip
            break
        error: BaseException | None = None
        try:
            sender.send(message)
        except Exception as failure:  # a bug in a sender is a failure of this message, not of the pass
            error = failure
        tried += 1
        if error is None:
            sent.append(message.id)
            if time.monotonic() - recorded_at >= _RECORD_EVERY_SECONDS:
                record_sent()
            continue
        try:
            _record(db, message, error, now=now)
        except Exception:
            log.exception("outbox %s: could not record the delivery result; the lease will expire", message.id)
    record_sent()
    return tried


def _record_sent(db: Database, ids: list[int]) -> None:
    """Mark delivered messages sent. A crash before this resends them, with the same Message-ID (at least once)."""
    with db.unit_of_work() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.pending)
            .values(
                status=OutboxStatus.sent,
                sent_at=utcnow(),
                last_error="",
                locked_until=None,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )


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
            record(session, actor="worker", action="outbox_message.dead", entity_type="outbox_message",
                   entity_id=row.id, attempts=row.attempts, error=row.last_error[:500])  # fmt: skip
            tell_admins_of_dead_letter(session, row)
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)
            level = logging.WARNING if isinstance(error, TemporaryFailure) else logging.ERROR
            log.log(level, "outbox %s: attempt %s failed, retrying at %s: %s", row.id, row.attempts,
                    row.next_attempt_at.isoformat(), row.last_error)  # fmt: skip


def tell_admins_of_dead_letter(session: Session, row: OutboxMessage) -> int:
    """Tell every active admin that `row` became a dead letter (in the caller's transaction); returns how many.

    Fires once per death: the key holds the message, its attempts and how often it was retried by hand, so a
    retried message that dies again is told again. Never fires for a notice of this kind itself (when mail is
    down those die too, and must not breed more).
    """
    if row.topic == DEAD_TOPIC:
        return 0
    retries = session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.entity_type == "outbox_message",
            AuditEntry.entity_id == row.id,
            AuditEntry.action == RETRIED_ACTION,
        )
    )
    payload = row.payload or {}
    original = str(payload.get("subject") or row.topic)
    kind = "e-mail" if row.channel == "email" else row.channel
    subject = one_line(f"Undeliverable {kind} to {row.recipient}: {original}")[:_SUBJECT_LIMIT]
    path = f"/admin/mail/{row.id}"
    link = absolute(session, path)
    text = (
        f"LuxServ gave up on a message after {row.attempts} attempt(s).\n\n"
        f"To:      {row.recipient}\nSubject: {one_line(original)}\nTopic:   {row.topic}\n"
        f"Error:   {row.last_error}\n\nSee it and send it again once the cause is fixed: {link}\n"
    )
    html = (
        f"<p>LuxServ gave up on a message after {row.attempts} attempt(s).</p>"
        f'<table><tr><th align="left">To</th><td>{escape(row.recipient)}</td></tr>'
        f'<tr><th align="left">Subject</th><td>{escape(original)}</td></tr>'
        f'<tr><th align="left">Topic</th><td>{escape(row.topic)}</td></tr>'
        f'<tr><th align="left">Error</th><td>{escape(row.last_error)}</td></tr></table>'
        f'<p><a href="{escape(link)}">See it and send it again</a> once the cause is fixed.</p>'
    )
    admins = session.execute(
        select(User.id, User.email).where(User.role == Role.admin, User.is_active.is_(True)).order_by(User.id)
    ).all()
    told = 0
    for user_id, email in admins:
        notice = Notice(
            key=f"{DEAD_TOPIC}:{row.id}:{row.attempts}:{retries or 0}:user-{user_id}",
            topic=DEAD_TOPIC,
            subject=subject,
            text=text,
            html=html,
            link=path,
            payload={"outbox_id": row.id},
        )
        told += to_user(session, user_id, email, notice)
    return told
