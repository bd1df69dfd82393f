"""Every inbound event, raw, committed before we answer the sender."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from luxserv.core.database import Base, JSONType, UTCDateTime
from luxserv.core.models import created_at_column, str_enum

if TYPE_CHECKING:
    from luxserv.bookings.models import Booking


class InboxStatus(StrEnum):
    received = "received"  # stored, not applied yet
    processed = "processed"  # applied: a booking was created or changed
    ignored = "ignored"  # applied and changed nothing (stale or identical)
    rejected = "rejected"  # cannot be applied as sent (invalid dates, missing field…); kept for admins
    failed = "failed"  # applying raised; the worker retries with backoff, admins can replay


class InboxEvent(Base):
    __tablename__ = "inbox_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_inbox_events_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # webhook, sync, manual
    status: Mapped[InboxStatus] = mapped_column(str_enum(InboxStatus, "inbox_status"), default=InboxStatus.received)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100), default="application/json")
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    received_at: Mapped[datetime] = created_at_column()
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str] = mapped_column(Text, default="")
    error_field: Mapped[str | None] = mapped_column(String(100))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"), index=True)
    # Which provider connection sent it (its API client enriches lean payloads); NULL for env-configured sources.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("provider_accounts.id", ondelete="SET NULL"))

    booking: Mapped[Booking | None] = relationship()
