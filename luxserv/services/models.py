"""Service tasks: concrete work at a property on a day (grocery stocking, cleaning, celebration setup…)."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from luxserv.core.database import Base, UTCDateTime
from luxserv.core.models import created_at_column, str_enum, updated_at_column


class TaskStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class ServiceTask(Base):
    __tablename__ = "service_tasks"
    __table_args__ = (
        # An automation rule makes at most one task per booking; re-planning never duplicates.
        UniqueConstraint("booking_id", "rule_key"),
        Index("ix_service_tasks_property_day", "property_id", "scheduled_for"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    service_type: Mapped[str] = mapped_column(String(80))
    rule_key: Mapped[str | None] = mapped_column(String(80))
    scheduled_for: Mapped[date] = mapped_column(Date)
    time_of_day: Mapped[time | None] = mapped_column(Time)
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus, "task_status"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
