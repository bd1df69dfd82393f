"""What each person wants to hear about, and how: immediately, in a daily digest, or not by e-mail."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from luxserv.core.database import Base, UTCDateTime
from luxserv.core.models import created_at_column, str_enum


class EmailMode(StrEnum):
    immediate = "immediate"
    digest = "digest"
    off = "off"


class NotificationPreference(Base):
    """One user's choice for one topic (`booking.created`, `service_request.created`, …).

    No row means the default: e-mail immediately and show it in the app.
    """

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(80))
    email: Mapped[EmailMode] = mapped_column(str_enum(EmailMode, "email_mode"), default=EmailMode.immediate)
    in_app: Mapped[bool] = mapped_column(default=True)


class DigestEntry(Base):
    """A notice held for the user's next daily digest e-mail (written instead of an immediate e-mail)."""

    __tablename__ = "digest_entries"
    __table_args__ = (Index("ix_digest_entries_pending", "user_id", "digested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    topic: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = created_at_column()
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
