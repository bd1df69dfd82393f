"""Reading the audit log: filtered, newest first, and who the actors are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from luxserv.accounts.models import User
from luxserv.audit.models import AuditEntry
from luxserv.core.errors import InvalidInput


@dataclass(frozen=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: int | None = None
    actor: str | None = None  # exact: "user:3", "worker", "webhook:generic"
    action_prefix: str | None = None  # "booking." or "booking.placed"
    date_from: date | None = None  # UTC days, both included
    date_to: date | None = None


def list_entries(session: Session, flt: AuditFilter, *, limit: int, offset: int) -> tuple[list[AuditEntry], int]:
    """A page of entries, newest first, and how many match."""
    if flt.date_from and flt.date_to and flt.date_to < flt.date_from:
        raise InvalidInput("date_to must not be before date_from", field="date_to")
    query = select(AuditEntry)
    if flt.entity_type:
        query = query.where(AuditEntry.entity_type == flt.entity_type)
    if flt.entity_id is not None:
        query = query.where(AuditEntry.entity_id == flt.entity_id)
    if flt.actor:
        query = query.where(AuditEntry.actor == flt.actor)
    if flt.action_prefix:
        escaped = flt.action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(AuditEntry.action.like(f"{escaped}%", escape="\\"))
    if flt.date_from:
        query = query.where(AuditEntry.at >= _start_of(flt.date_from))
    if flt.date_to:
        query = query.where(AuditEntry.at < _start_of(flt.date_to + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def latest(session: Session, *, entity_type: str, entity_id: int, action: str) -> AuditEntry | None:
    """The newest entry of exactly this action about this entity."""
    return session.scalar(
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id, AuditEntry.action == action)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )


def entity_types(session: Session) -> list[str]:
    """Every entity type the log mentions, for a filter's choices."""
    return list(session.scalars(select(AuditEntry.entity_type).distinct().order_by(AuditEntry.entity_type)))


def actor_labels(session: Session, entries: Iterable[AuditEntry]) -> dict[str, str]:
    """{"user:3": "admin@example.com", …} for the user actors among `entries` (one query)."""
    ids = {int(e.actor[5:]) for e in entries if e.actor.startswith("user:") and e.actor[5:].isdecimal()}
    if not ids:
        return {}
    return {f"user:{u.id}": u.email for u in session.scalars(select(User).where(User.id.in_(ids)))}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
