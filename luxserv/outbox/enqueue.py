"""Writing outbox rows in the caller's transaction, at most once per dedupe key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from luxserv.core.database import insert_all_once, insert_once
from luxserv.outbox.models import OutboxMessage

MAX_KEY_LENGTH = 200


def enqueue(
    session: Session, *, dedupe_key: str, channel: str, topic: str, recipient: str, payload: dict[str, Any]
) -> int | None:
    """Add a message unless one with this dedupe key exists; returns the new row's id, or None if it was known.

    A concurrent transaction that inserted the same key first makes this one wait for its outcome, then do nothing.
    """
    if len(dedupe_key) > MAX_KEY_LENGTH:
        raise ValueError(f"dedupe key longer than {MAX_KEY_LENGTH} characters: {dedupe_key[:60]}…")
    values = {"dedupe_key": dedupe_key, "channel": channel, "topic": topic, "recipient": recipient, "payload": payload}
    return insert_once(session, OutboxMessage, ("dedupe_key",), values)


def enqueue_many(session: Session, messages: Sequence[dict[str, Any]]) -> set[str]:
    """`enqueue` for several messages (dicts of its keyword arguments) in one statement; returns the dedupe keys
    of the messages that were new. A key given twice is written once (the first)."""
    for message in messages:
        if len(message["dedupe_key"]) > MAX_KEY_LENGTH:
            raise ValueError(f"dedupe key longer than {MAX_KEY_LENGTH} characters: {message['dedupe_key'][:60]}…")
    return insert_all_once(session, OutboxMessage, "dedupe_key", messages)
