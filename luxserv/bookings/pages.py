"""Admin pages for bookings: the list (`/admin/bookings`) with its filters, and one booking's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from luxserv.accounts.models import User
from luxserv.bookings.detail import booking_detail
from luxserv.bookings.models import BookingStatus
from luxserv.bookings.search import BookingSearch, search
from luxserv.core.clock import local_today
from luxserv.core.errors import InvalidInput, LuxServError
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services import queue
from luxserv.web import pagekit
from luxserv.web.forms import PageDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
PLACEMENTS = {"": None, "placed": False, "unplaced": True}
SORTS = {"-check_in": True, "check_in": False}  # sort value → latest first


@router.get("/admin/bookings", response_class=HTMLResponse, response_model=None)
def bookings_page(
    page: PageDep,
    date_from: str = "",
    date_to: str = "",
    property: str = "",
    status: str = "",
    placement: str = "",
    q: str = "",
    sort: str = "-check_in",
    page_number: Annotated[str, Query(alias="page")] = "",
) -> Response:
    """Bookings by check-in, filtered by stay dates, home, status and placement, or found by guest or code."""
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    request = page.request
    try:
        if placement not in PLACEMENTS:
            raise InvalidInput("placement must be placed or unplaced", field="placement")
        if sort not in SORTS:
            raise InvalidInput("sort must be check_in or -check_in", field="sort")
        flt = BookingSearch(
            date_from=pagekit.optional_date(date_from, "from"),
            date_to=pagekit.optional_date(date_to, "to"),
            property_id=pagekit.optional_int(property, "property"),
            status=pagekit.optional_choice(BookingStatus, status, "status"),
            unplaced=PLACEMENTS[placement],
            query=q,
        )
        number = pagekit.page_number(page_number)
        offset = pagekit.offset_of(number, PAGE_SIZE)
        rows, total = search(page.session, flt, limit=PAGE_SIZE, offset=offset, latest_first=SORTS[sort])
    except LuxServError as error:
        return pagekit.problem(request, page.settings, user, error)
    return page.render(
        "admin/bookings.html",
        user,
        bookings=rows,
        total=total,
        **pagekit.paging(request, number, total, PAGE_SIZE),
        chosen={
            "date_from": date_from.strip(),
            "date_to": date_to.strip(),
            "property": property.strip(),
            "status": status.strip(),
            "placement": placement,
            "q": q.strip(),
            "sort": sort,
        },
        statuses=list(BookingStatus),
        properties=queue.property_choices(page.session),
        sort_url=pagekit.url_with(request, sort="check_in" if sort == "-check_in" else "-check_in", page=None),
    )


@router.get("/admin/bookings/{booking_id:int}", response_class=HTMLResponse, response_model=None)
def booking_page(booking_id: int, page: PageDep) -> Response:
    """One booking: guest and their history, the home around these dates, services, messages, source, audit."""
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    try:
        detail = booking_detail(page.session, booking_id, today=local_today(DEFAULT_TIME_ZONE))
    except LuxServError as error:
        return pagekit.problem(page.request, page.settings, user, error)
    return pagekit.render_with_flash(
        page.request,
        "admin/booking.html",
        page.settings,
        user=user,
        d=detail,
        b=detail.booking,
        assignees=queue.assignable_users(page.session),
        back=pagekit.here(page.request),
    )
