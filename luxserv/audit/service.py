"""Writing audit entries (in the caller's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from luxserv.audit.models import AuditEntry


def record(
    session: Session, *, actor: str, action: str, entity_type: str, entity_id: int | None, **details: Any
) -> AuditEntry:
    """Add an audit entry to the current transaction."""
    entry = AuditEntry(actor=actor, action=action, entity_type=entity_type, entity_id=entity_id, details=details)
    session.add(entry)
    return entry
