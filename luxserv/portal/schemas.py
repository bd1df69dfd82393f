"""JSON shapes of the guest portal API. Only what the guest needs: no ids of bookings, guests, staff or homes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from luxserv.bookings.models import BookingStatus
from luxserv.portal.service import MAX_NOTES, GuestRequest, Phase, Stay
from luxserv.services.models import RequestStatus


class PropertyInfo(BaseModel):
    name: str
    address: str


class ServiceInfo(BaseModel):
    key: str
    name: str


class StatusStepRead(BaseModel):
    at: dt.datetime
    status: RequestStatus


class GuestRequestRead(BaseModel):
    id: int = Field(description="the request's reference, to quote when talking to the concierge team")
    service: ServiceInfo
    date: dt.date
    time: dt.time | None
    notes: str
    status: RequestStatus
    created_at: dt.datetime
    history: list[StatusStepRead]


class StayRead(BaseModel):
    property: PropertyInfo
    check_in: dt.date
    check_out: dt.date
    nights: int
    guests: int
    guest_name: str
    guest_email: str
    status: BookingStatus
    stay: Phase = Field(description="upcoming, current or recent, by the property's local date")
    requests: list[GuestRequestRead]


class StayAnswer(BaseModel):
    success: Literal[True] = True
    booking: StayRead


class StayAnswerWithCode(StayAnswer):
    access_code: str = Field(description="a fresh portal code: open /portal?booking=<access_code>")


class RequestAnswer(BaseModel):
    success: Literal[True] = True
    request: GuestRequestRead


class LookupFailure(BaseModel):
    success: Literal[False] = False
    error: str


class ConfirmationLookup(BaseModel):
    confirmation_code: str = Field(max_length=200, description="the platform's confirmation code (e.g. HM…)")
    email: str = Field(max_length=320, description="the e-mail on the booking")


class GuestRequestCreate(BaseModel):
    service_type: int | str = Field(description="a guest-requestable service's key (beach_gear_delivery) or id")
    date: dt.date = Field(description="a day of the stay, from today to check-out day")
    time: dt.time | None = Field(default=None, description="defaults to the service's usual time")
    notes: str = Field(default="", max_length=MAX_NOTES)


def request_read(request: GuestRequest) -> GuestRequestRead:
    return GuestRequestRead(
        id=request.id,
        service=ServiceInfo(key=request.service_key, name=request.service_name),
        date=request.day,
        time=request.time_of_day,
        notes=request.notes,
        status=request.status,
        created_at=request.created_at,
        history=[StatusStepRead(at=step.at, status=step.status) for step in request.history],
    )


def stay_read(stay: Stay) -> StayRead:
    return StayRead(
        property=PropertyInfo(name=stay.property_name, address=stay.property_address),
        check_in=stay.check_in,
        check_out=stay.check_out,
        nights=stay.nights,
        guests=stay.guests,
        guest_name=stay.guest_name,
        guest_email=stay.guest_email,
        status=stay.status,
        stay=stay.phase,
        requests=[request_read(r) for r in stay.requests],
    )
