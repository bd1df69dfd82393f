"""Admin pages for guests: finding one (`/admin/guests`) and their profile with every stay and request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from luxserv.accounts.models import User
from luxserv.core.clock import local_today
from luxserv.core.errors import LuxServError
from luxserv.guests.profiles import guest_profile, search_guests
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.web import pagekit
from luxserv.web.forms import PageDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/admin/guests", response_class=HTMLResponse, response_model=None)
def guests_page(page: PageDep, q: str = "", page_number: Annotated[str, Query(alias="page")] = "") -> Response:
    """Guests by name, found by part of their name, e-mail or phone."""
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    today = local_today(DEFAULT_TIME_ZONE)
    try:
        number = pagekit.page_number(page_number)
        offset = pagekit.offset_of(number, PAGE_SIZE)
        rows, total = search_guests(page.session, q, today=today, limit=PAGE_SIZE, offset=offset)
    except LuxServError as error:
        return pagekit.problem(page.request, page.settings, user, error)
    return page.render(
        "admin/guests.html",
        user,
        guests=rows,
        total=total,
        q=q.strip(),
        today=today,
        **pagekit.paging(page.request, number, total, PAGE_SIZE),
    )


@router.get("/admin/guests/{guest_id:int}", response_class=HTMLResponse, response_model=None)
def guest_page(guest_id: int, page: PageDep) -> Response:
    """One guest: how to reach them, their stays (now, coming, past) and the services they asked for or received."""
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    try:
        profile = guest_profile(page.session, guest_id, today=local_today(DEFAULT_TIME_ZONE))
    except LuxServError as error:
        return pagekit.problem(page.request, page.settings, user, error)
    return page.render("admin/guest.html", user, p=profile, g=profile.guest)
