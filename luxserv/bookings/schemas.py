"""JSON shapes of bookings, guests and properties as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from luxserv.bookings.models import BookingStatus

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PropertyRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    time_zone: str


class GuestRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str
    email: str | None
    phone: str | None


class BookingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    external_id: str
    confirmation_code: str | None
    status: BookingStatus
    unplaced: bool = Field(validation_alias="is_unplaced")
    property: PropertyRef | None
    listing_id: str | None
    listing_name: str | None
    guest: GuestRef
    check_in: date
    check_out: date
    nights: int
    guest_count: int
    special_requests: str
    channel: str | None
    source_updated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None


class BookingPlace(BaseModel):
    property_id: int
    remember: bool = Field(
        default=True, description="Also link this listing id / name to the property, so later events match."
    )


class StayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: BookingStatus
    property: PropertyRef | None
    check_in: date
    check_out: date
    guest_count: int
    channel: str | None


class GuestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str
    email: str | None
    phone: str | None
    notes: str
    created_at: datetime
    stays: list[StayRead] = Field(validation_alias="bookings")
