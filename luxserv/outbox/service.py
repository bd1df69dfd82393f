"""The outbox as admins see it: messages by status and search, one message in full, sending a dead letter again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from luxserv.accounts.reset import TOPIC as PASSWORD_RESET_TOPIC
from luxserv.audit.service import record
from luxserv.core.clock import utcnow
from luxserv.core.errors import Conflict, NotFound
from luxserv.core.settings import Settings
from luxserv.outbox.models import OutboxMessage, OutboxStatus
from luxserv.outbox.sender import FolderSender, email_sender_from_settings, message_id
from luxserv.outbox.worker import RETRIED_ACTION

# Messages carrying a secret (a sign-in or password-reset link) have their bodies withheld from the admin views,
# which staff can read too: reading another person's reset link would let them take over that login. Such a
# message is marked by its topic, or by this payload flag. The headers stay visible.
CONFIDENTIAL = "confidential"
CONFIDENTIAL_TOPICS = frozenset({PASSWORD_RESET_TOPIC})
_LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class MailFilter:
    """`status` narrows to one tab; `q` matches part of the topic or the recipient, in any case."""

    status: OutboxStatus | None = None
    q: str | None = None


@dataclass(frozen=True)
class MailView:
    """One message as shown to admins: the row plus what its payload and the sender make of it."""

    message: OutboxMessage
    subject: str
    text: str | None  # None when withheld (confidential)
    html: str | None  # None when withheld or when the message has no HTML part
    message_id: str | None  # the Message-ID header of an e-mail
    withheld: bool

    @classmethod
    def of(cls, message: OutboxMessage) -> MailView:
        payload: dict[str, Any] = message.payload or {}
        withheld = message.topic in CONFIDENTIAL_TOPICS or bool(payload.get(CONFIDENTIAL))
        text, html = payload.get("text"), payload.get("html")
        return cls(
            message=message,
            subject=str(payload.get("subject") or ""),
            text=None if withheld or not isinstance(text, str) else text,
            html=None if withheld or not isinstance(html, str) or not html else html,
            message_id=message_id(message.id) if message.channel == "email" else None,
            withheld=withheld,
        )


def _matches(flt: MailFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.q and flt.q.strip():
        needle = flt.q.strip().lower()
        for special in (_LIKE_ESCAPE, "%", "_"):
            needle = needle.replace(special, _LIKE_ESCAPE + special)
        pattern = f"%{needle}%"
        conditions.append(
            or_(
                func.lower(OutboxMessage.topic).like(pattern, escape=_LIKE_ESCAPE),
                func.lower(OutboxMessage.recipient).like(pattern, escape=_LIKE_ESCAPE),
            )
        )
    return conditions


def list_messages(session: Session, flt: MailFilter, *, limit: int, offset: int) -> tuple[list[OutboxMessage], int]:
    """Messages matching the filter, newest first, and how many match in all."""
    query = select(OutboxMessage).where(*_matches(flt))
    if flt.status is not None:
        query = query.where(OutboxMessage.status == flt.status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def counts(session: Session, q: str | None = None) -> dict[OutboxStatus, int]:
    """How many messages (matching `q`, when given) are in each status; every status is present."""
    found = dict.fromkeys(OutboxStatus, 0)
    query = (
        select(OutboxMessage.status, func.count(OutboxMessage.id))
        .where(*_matches(MailFilter(q=q)))
        .group_by(OutboxMessage.status)
    )
    for status, count in session.execute(query):
        found[OutboxStatus(status)] = int(count)
    return found


def get_message(session: Session, outbox_id: int) -> OutboxMessage:
    message = session.get(OutboxMessage, outbox_id)
    if message is None:
        raise NotFound(f"outbox message {outbox_id} not found")
    return message


def retry(session: Session, outbox_id: int, *, actor: str) -> OutboxMessage:
    """Put a dead letter back in the queue: pending, attempts from zero, due now. Anything else is a `Conflict`."""
    message = session.get(OutboxMessage, outbox_id, with_for_update=session.get_bind().dialect.name != "sqlite")
    if message is None:
        raise NotFound(f"outbox message {outbox_id} not found")
    if message.status != OutboxStatus.dead:
        raise Conflict(f"outbox message {outbox_id} is {message.status.value}; only a dead letter can be sent again")
    previous = message.attempts
    message.status = OutboxStatus.pending
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.locked_until = None
    record(
        session,
        actor=actor,
        action=RETRIED_ACTION,
        entity_type="outbox_message",
        entity_id=message.id,
        attempts=previous,
        error=message.last_error[:500],
    )
    session.flush()
    return message


def development_mail_folder(settings: Settings) -> Path | None:
    """Where e-mail goes instead of a mail server (no SMTP host configured), or None when SMTP is configured."""
    sender = email_sender_from_settings(settings)
    return sender.folder.resolve() if isinstance(sender, FolderSender) else None
