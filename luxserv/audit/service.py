"""Writing audit entries (in the caller's transaction)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from luxserv.audit.models import AuditEntry

_INSERT = insert(cast(Table, AuditEntry.__table__))


def record(
    session: Session, *, actor: str, action: str, entity_type: str, entity_id: int | None, **details: Any
) -> None:
    """Write an audit entry in the current transaction (at once, with Core: nothing for the ORM to track)."""
    values = {"actor": actor, "action": action, "entity_type": entity_type, "entity_id": entity_id, "details": details}
    session.connection().execute(_INSERT, values)
