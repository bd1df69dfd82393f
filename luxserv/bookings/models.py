"""Bookings: one row per (provider, external id), whatever channel or source told us."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from luxserv.core.database import Base, UTCDateTime
from luxserv.core.models import created_at_column, str_enum, updated_at_column
from luxserv.guests.models import Guest
from luxserv.properties.models import Property


class BookingStatus(StrEnum):
    confirmed = "confirmed"
    checked_in = "checked_in"
    checked_out = "checked_out"
    cancelled = "cancelled"


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        CheckConstraint("check_out > check_in", name="dates_in_order"),
        CheckConstraint("guest_count >= 1", name="guest_count_positive"),
        Index("ix_bookings_property_dates", "property_id", "check_in", "check_out"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    # The code the guest knows from the platform (Airbnb "HM…", Guesty confirmationCode), when it differs.
    confirmation_code: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus, "booking_status"), index=True)
    # NULL while unplaced: no listing id or name matched a property. Admins place it later.
    property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id", ondelete="RESTRICT"))
    listing_id: Mapped[str | None] = mapped_column(String(200))
    listing_name: Mapped[str | None] = mapped_column(String(400))
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="RESTRICT"), index=True)
    check_in: Mapped[date] = mapped_column(Date)
    check_out: Mapped[date] = mapped_column(Date)
    guest_count: Mapped[int] = mapped_column()
    special_requests: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str | None] = mapped_column(String(40))  # where the guest booked: airbnb, vrbo, direct…
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_version: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @property
    def is_unplaced(self) -> bool:
        return self.property_id is None

    # Declared last: the attribute name `property` would shadow the builtin decorator above it.
    property: Mapped[Property | None] = relationship()
    guest: Mapped[Guest] = relationship(back_populates="bookings")


class BookingMessage(Base):
    """A guest/host message about a booking, as the channel relayed it."""

    __tablename__ = "booking_messages"
    __table_args__ = (UniqueConstraint("booking_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
