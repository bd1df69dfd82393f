"""Bookings JSON API (admin and staff for now)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from luxserv.bookings import service
from luxserv.bookings.models import BookingStatus
from luxserv.bookings.schemas import BookingPlace, BookingRead, Page
from luxserv.core.errors import InvalidInput
from luxserv.web.deps import AdminUser, SessionDep

router = APIRouter(prefix="/api", tags=["bookings"])


@router.get("/bookings", operation_id="list_bookings", response_model=Page[BookingRead])
def list_bookings(
    session: SessionDep,
    user: AdminUser,
    property_id: int | None = None,
    status: BookingStatus | None = None,
    date_from: Annotated[date | None, Query(description="stays ending after this day")] = None,
    date_to: Annotated[date | None, Query(description="stays starting on or before this day")] = None,
    guest_id: int | None = None,
    unplaced: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[BookingRead]:
    """Bookings by check-in date, filtered and paginated."""
    if date_from and date_to and date_to < date_from:
        raise InvalidInput("date_to must not be before date_from", field="date_to")
    flt = service.BookingFilter(
        property_id=property_id,
        status=status,
        date_from=date_from,
        date_to=date_to,
        guest_id=guest_id,
        unplaced=unplaced,
    )
    rows, total = service.list_bookings(session, flt, limit=limit, offset=offset)
    return Page(items=[BookingRead.model_validate(b) for b in rows], total=total, limit=limit, offset=offset)


@router.get("/bookings/{booking_id}", operation_id="get_booking", response_model=BookingRead)
def get_booking(booking_id: int, session: SessionDep, user: AdminUser) -> BookingRead:
    return BookingRead.model_validate(service.get_booking(session, booking_id))


@router.post("/admin/bookings/{booking_id}/place", operation_id="place_booking", response_model=BookingRead)
def place_booking(booking_id: int, body: BookingPlace, session: SessionDep, user: AdminUser) -> BookingRead:
    """Put an unplaced booking on a property, without the sender re-sending anything."""
    booking = service.place(session, booking_id, body.property_id, remember=body.remember, actor=f"user:{user.id}")
    return BookingRead.model_validate(booking)
