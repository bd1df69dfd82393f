"""Writing outbox rows in the caller's transaction, at most once per dedupe key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from luxserv.outbox.models import OutboxMessage

MAX_KEY_LENGTH = 200


def enqueue(
    session: Session, *, dedupe_key: str, channel: str, topic: str, recipient: str, payload: dict[str, Any]
) -> OutboxMessage | None:
    """Add a message unless one with this dedupe key exists; returns the new row, or None if it was known.

    Check first (cheap, the usual case), then insert in a savepoint: a concurrent transaction that inserted the
    same key first makes ours fail on the unique constraint, which is rolled back to the savepoint only.
    """
    if len(dedupe_key) > MAX_KEY_LENGTH:
        raise ValueError(f"dedupe key longer than {MAX_KEY_LENGTH} characters: {dedupe_key[:60]}…")
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None:
        return None
    message = OutboxMessage(dedupe_key=dedupe_key, channel=channel, topic=topic, recipient=recipient, payload=payload)
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None:
            return None
        raise
    return message
