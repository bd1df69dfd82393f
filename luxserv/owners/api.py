"""Owner portal JSON API: an owner's homes as cards, and one home's bookings.

An owner login sees only its own homes: any other property id answers 404, exactly like an unknown one.
Admins and staff may ask about any property.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.owners import portal
from luxserv.properties.maintenance import MaintenanceState
from luxserv.web.deps import OwnerOrStaffUser, SessionDep, owner_scope

router = APIRouter(prefix="/api/owner", tags=["owner portal"])


class CurrentStayRead(BaseModel):
    booking_id: int
    guest_name: str
    guests: int
    check_in: date
    check_out: date
    days_left: int
    days_left_label: str


class NextStayRead(BaseModel):
    booking_id: int
    guest_name: str
    guests: int
    check_in: date
    check_out: date


class MaintenanceDueRead(BaseModel):
    id: int
    title: str
    due_on: date
    state: MaintenanceState


class PropertyCardRead(BaseModel):
    id: int
    name: str
    address: str
    city: str
    time_zone: str
    today: date
    available: bool
    current: CurrentStayRead | None
    next: NextStayRead | None
    active_requests: int
    active_services: list[str]
    maintenance: list[MaintenanceDueRead]


class OwnerProperties(BaseModel):
    properties: list[PropertyCardRead]
    total: int


class OwnerBookingRead(BaseModel):
    id: int
    guest_name: str
    check_in: date
    check_out: date
    guests: int
    status: BookingStatus
    channel: str | None
    special_requests: str


class OwnerBookings(BaseModel):
    bookings: list[OwnerBookingRead]
    total: int


def _card(card: portal.PropertyCard) -> PropertyCardRead:
    current = card.current
    upcoming = card.next
    return PropertyCardRead(
        id=card.property_id,
        name=card.name,
        address=card.address,
        city=card.city,
        time_zone=card.time_zone,
        today=card.today,
        available=card.available,
        current=CurrentStayRead(
            booking_id=current.booking_id, guest_name=current.guest_name, guests=current.guests,
            check_in=current.check_in, check_out=current.check_out, days_left=current.days_left,
            days_left_label=current.days_left_label,
        ) if current else None,
        next=NextStayRead(
            booking_id=upcoming.booking_id, guest_name=upcoming.guest_name, guests=upcoming.guests,
            check_in=upcoming.check_in, check_out=upcoming.check_out,
        ) if upcoming else None,
        active_requests=card.active_requests,
        active_services=list(card.active_services),
        maintenance=[MaintenanceDueRead(id=m.item_id, title=m.title, due_on=m.due_on, state=m.state)
                     for m in card.maintenance],
    )  # fmt: skip


def _booking(booking: Booking) -> OwnerBookingRead:
    return OwnerBookingRead(
        id=booking.id,
        guest_name=booking.guest.full_name,
        check_in=booking.check_in,
        check_out=booking.check_out,
        guests=booking.guest_count,
        status=booking.status,
        channel=booking.channel,
        special_requests=booking.special_requests,
    )


@router.get("/properties", operation_id="list_owner_properties", response_model=OwnerProperties)
def list_owner_properties(
    session: SessionDep,
    user: OwnerOrStaffUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OwnerProperties:
    """A card per home, by name: who is staying and until when, who comes next, open requests, maintenance due."""
    owner_id = owner_scope(user)
    cards, total = portal.cards_and_total(session, owner_id, limit=limit, offset=offset)
    return OwnerProperties(properties=[_card(c) for c in cards], total=total)


@router.get(
    "/properties/{property_id}/bookings", operation_id="list_owner_property_bookings", response_model=OwnerBookings
)
def list_owner_property_bookings(
    property_id: int,
    session: SessionDep,
    user: OwnerOrStaffUser,
    date_from: Annotated[date | None, Query(alias="from", description="stays ending after this day")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="stays starting on or before this day")] = None,
    status: BookingStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=portal.MAX_BOOKINGS)] = 200,
) -> OwnerBookings:
    """The bookings of one of the signed-in owner's homes, by check-in (404 for anyone else's)."""
    rows, total = portal.property_bookings(
        session, property_id, date_from, date_to, status, owner_id=owner_scope(user), limit=limit
    )
    return OwnerBookings(bookings=[_booking(b) for b in rows], total=total)
