"""The audit log: who changed what, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from luxserv.core.database import Base, JSONType
from luxserv.core.models import created_at_column


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = created_at_column()
    actor: Mapped[str] = mapped_column(String(120))  # "user:3", "webhook:generic", "cli", "worker"
    action: Mapped[str] = mapped_column(String(80))  # dotted, past tense: booking.created
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column()
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
