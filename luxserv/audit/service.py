"""Writing audit entries (in the caller's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from luxserv.audit.models import AuditEntry

_INSERT = insert(cast(Table, AuditEntry.__table__))


def record(
    session: Session, *, actor: str, action: str, entity_type: str, entity_id: int | None, **details: Any
) -> None:
    """Write an audit entry in the current transaction (at once, with Core: nothing for the ORM to track)."""
    session.connection().execute(_INSERT, entry(actor=actor, action=action, entity_type=entity_type,
                                                entity_id=entity_id, **details))  # fmt: skip


def entry(*, actor: str, action: str, entity_type: str, entity_id: int | None, **details: Any) -> dict[str, Any]:
    """The row `record` writes, for `record_all`."""
    return {"actor": actor, "action": action, "entity_type": entity_type, "entity_id": entity_id, "details": details}


def record_all(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Write several audit entries (`entry` rows) in one statement, in their order."""
    if entries:
        session.connection().execute(_INSERT, list(entries))
