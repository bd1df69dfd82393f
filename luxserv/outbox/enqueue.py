"""Writing outbox rows in the caller's transaction, at most once per dedupe key."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from luxserv.core.database import Base, insert_once
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


def insert_all_once(session: Session, model: type[Base], key: str, rows: Sequence[dict[str, Any]]) -> set[str]:
    """`core.database.insert_once` for several rows of one table with a unique `key` column: one multi-row
    `INSERT … ON CONFLICT DO NOTHING RETURNING key`; returns the keys of the rows written, in no order.

    Every row must name the same columns. Rows whose key exists already, or came earlier in `rows`, are skipped,
    as `insert_once` one row at a time would. The statement is built once per table, key and database; with
    several rows SQLAlchemy sends them as one multi-row INSERT ("insertmanyvalues").
    """
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row[key], row)
    if not unique:
        return set()
    session.flush()  # what an ORM query would do first: pending rows these may refer to
    connection = session.connection()
    statement = _insert_all_once_statement(model.__table__, key, connection.dialect.name)
    values = list(unique.values())
    return set(connection.execute(statement, values[0] if len(values) == 1 else values).scalars())


@functools.cache
def _insert_all_once_statement(table: Any, key: str, dialect: str) -> Any:
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
