"""Connections to providers (credentials encrypted at rest), iCal feeds, calendar blocks and call budgets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from luxserv.core.database import Base, JSONType, UTCDateTime
from luxserv.core.models import created_at_column


class ProviderAccount(Base):
    """A connection to one provider (Guesty, OwnerRez, …) for the company (owner_id NULL) or one owner.

    `credentials_encrypted` holds API keys, OAuth client secrets and webhook secrets, encrypted with the
    instance key; `options` holds what is not secret (base URL, account id, sync interval).
    """

    __tablename__ = "provider_accounts"
    __table_args__ = (UniqueConstraint("provider", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    credentials_encrypted: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    sync_interval_minutes: Mapped[int | None] = mapped_column()
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sync_error: Mapped[str] = mapped_column(Text, default="")
    # An OAuth access token shared by every process (Guesty allows five a day), encrypted like the credentials.
    token_encrypted: Mapped[str] = mapped_column(Text, default="")
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()


class ApiCallBudget(Base):
    """Calls spent per account and UTC day, for providers that cap daily calls (Airbnb)."""

    __tablename__ = "api_call_budgets"
    __table_args__ = (UniqueConstraint("account_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("provider_accounts.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    calls: Mapped[int] = mapped_column(default=0)


class IcalFeed(Base):
    """An exported calendar (Airbnb, VRBO, Booking.com) LuxServ reads for one property."""

    __tablename__ = "ical_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(40))  # airbnb, vrbo, booking.com, other
    url_encrypted: Mapped[str] = mapped_column(Text)  # feed URLs embed a secret token
    enabled: Mapped[bool] = mapped_column(default=True)
    etag: Mapped[str] = mapped_column(String(200), default="")
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()


class PropertyBlock(Base):
    """Dates a property is unavailable without a guest stay (owner use, "Not available" in a feed)."""

    __tablename__ = "property_blocks"
    __table_args__ = (UniqueConstraint("source", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(60))  # "ical:<feed id>"
    uid: Mapped[str] = mapped_column(String(300))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(String(300), default="")


class CalendarToken(Base):
    """The secret of an owner's per-property iCal export URL (digest to look up, encrypted to show again)."""

    __tablename__ = "calendar_tokens"
    __table_args__ = (UniqueConstraint("owner_id", "property_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class PeriodicJob(Base):
    """When a periodic job (a provider sync, reminders…) may run next; claimed atomically by one worker."""

    __tablename__ = "periodic_jobs"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
