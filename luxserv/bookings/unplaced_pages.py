"""Admin page for unplaced bookings: each one with a form to place it on a property (and remember its listing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from luxserv.accounts.models import User
from luxserv.audit import queries as audit
from luxserv.bookings import service as bookings
from luxserv.bookings.models import Booking
from luxserv.core.errors import LuxServError, NotFound
from luxserv.properties import service as properties
from luxserv.services.models import ServiceRequest
from luxserv.services.requests import RequestFilter, list_requests
from luxserv.web import pagekit
from luxserv.web.errors import status_for
from luxserv.web.forms import FormFlag, FormText, Page, PageDep, actor, whole_number

router = APIRouter(include_in_schema=False)
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]  # ids are 32-bit integers in the database
PAGE_SIZE = 25


@dataclass(frozen=True)
class Placed:
    """What placing a booking did: where it went, what was learned, which services were planned."""

    booking: Booking
    learned: list[str]
    services: list[ServiceRequest]


@router.get("/admin/unplaced", response_class=HTMLResponse, response_model=None)
def unplaced_page(page: PageDep, placed: str = "", offset: int = 0) -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    confirmation = _placed(page.session, whole_number(placed))
    return _page(page, user, placed=confirmation, offset=pagekit.bounded_offset(offset))


@router.post("/admin/unplaced/{booking_id}/place", response_class=HTMLResponse, response_model=None)
def place_booking(
    booking_id: IdPath, page: PageDep, csrf_token: FormText = "", property_id: FormText = "", remember: FormFlag = False
) -> Response:
    """Place the booking (a checkbox left unticked sends nothing: `remember` is then off)."""
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    chosen = whole_number(property_id.strip())
    if chosen is None:
        errors = {booking_id: "choose the property this booking is for"}
        return _page(page, user, errors=errors, status_code=422)
    try:
        bookings.place(page.session, booking_id, chosen, remember=remember, actor=actor(user))
    except NotFound as error:
        if error.field == "property_id":
            return _page(page, user, errors={booking_id: error.message}, status_code=422)
        return _page(page, user, problem=error.message, status_code=404)
    except LuxServError as error:  # already placed (by someone else meanwhile)
        return _page(page, user, problem=error.message, status_code=status_for(error))
    return RedirectResponse(f"/admin/unplaced?placed={booking_id}", status_code=303)


def _page(
    page: Page,
    user: User,
    *,
    placed: Placed | None = None,
    errors: dict[int, str] | None = None,
    problem: str | None = None,
    offset: int = 0,
    status_code: int = 200,
) -> Response:
    session = page.session
    rows, total = bookings.list_bookings(session, bookings.BookingFilter(unplaced=True), limit=PAGE_SIZE, offset=offset)
    choices = properties.list_properties(session)
    return page.render(
        "admin/unplaced.html",
        user,
        status_code=status_code,
        rows=rows,
        total=total,
        limit=PAGE_SIZE,
        offset=offset,
        active=[p for p in choices if p.is_active],
        inactive=[p for p in choices if not p.is_active],
        placed=placed,
        errors=errors or {},
        problem=problem,
    )


def _placed(session: Session, booking_id: int | None) -> Placed | None:
    """The confirmation after a placement: read back from the booking, its audit entry and its requests."""
    if booking_id is None:
        return None
    try:
        booking = bookings.get_booking(session, booking_id)
    except NotFound:
        return None
    if booking.property is None:
        return None
    entry = audit.latest(session, entity_type="booking", entity_id=booking.id, action="booking.placed")
    learned = [str(item) for item in (entry.details.get("learned") or [])] if entry else []
    services, _ = list_requests(session, RequestFilter(booking_id=booking.id), limit=50)
    return Placed(booking, learned, services)
