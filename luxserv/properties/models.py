"""Owners, their properties, how channels name those properties, and maintenance due."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from luxserv.core.database import Base, UTCDateTime
from luxserv.core.models import created_at_column, str_enum

DEFAULT_TIME_ZONE = "America/Chicago"  # Panama City Beach


class Owner(Base):
    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = created_at_column()

    properties: Mapped[list[Property]] = relationship(back_populates="owner", order_by="Property.name")


class Property(Base):
    __tablename__ = "properties"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    state: Mapped[str] = mapped_column(String(60), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    bedrooms: Mapped[int | None] = mapped_column()
    max_guests: Mapped[int | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()

    owner: Mapped[Owner | None] = relationship(back_populates="properties")
    listings: Mapped[list[ChannelListing]] = relationship(
        back_populates="property", cascade="all, delete-orphan", order_by="ChannelListing.provider"
    )
    aliases: Mapped[list[PropertyAlias]] = relationship(back_populates="property", cascade="all, delete-orphan")


class ChannelListing(Base):
    """The id a provider (Guesty, Airbnb, …) gives this property. Matching uses it first."""

    __tablename__ = "channel_listings"
    __table_args__ = (UniqueConstraint("provider", "listing_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    listing_id: Mapped[str] = mapped_column(String(200))

    property: Mapped[Property] = relationship(back_populates="listings")


class PropertyAlias(Base):
    """A normalized name or address that identifies a property (derived from it, or learned when placed)."""

    __tablename__ = "property_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    learned: Mapped[bool] = mapped_column(default=False)  # added when an admin placed a booking by this name

    property: Mapped[Property] = relationship(back_populates="aliases")


class MaintenanceStatus(StrEnum):
    open = "open"
    done = "done"


class MaintenanceItem(Base):
    __tablename__ = "maintenance_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date] = mapped_column(Date, index=True)
    recurrence_months: Mapped[int | None] = mapped_column()
    status: Mapped[MaintenanceStatus] = mapped_column(
        str_enum(MaintenanceStatus, "maintenance_status"), default=MaintenanceStatus.open
    )
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
