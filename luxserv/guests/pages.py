"""Admin pages for guests: finding one (`/admin/guests`) and their profile with every stay and request."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from luxserv.accounts.models import User
from luxserv.core.clock import local_today
from luxserv.core.errors import LuxServError
from luxserv.guests.profiles import guest_profile, search_guests
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.web import pagekit
from luxserv.web.deps import DatabaseDep, SessionDep, SettingsDep
from luxserv.web.rendering import page_user, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/admin/guests", response_class=HTMLResponse, response_model=None)
def guests_page(
    request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep, q: str = "", page: str = ""
) -> Response:
    """Guests by name, found by part of their name, e-mail or phone."""
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    today = local_today(DEFAULT_TIME_ZONE)
    try:
        number = pagekit.page_number(page)
        rows, total = search_guests(session, q, today=today, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    except LuxServError as error:
        return pagekit.problem(request, settings, user, error)
    return render(
        request,
        "admin/guests.html",
        settings,
        user=user,
        guests=rows,
        total=total,
        q=q.strip(),
        today=today,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        first_index=(number - 1) * PAGE_SIZE + 1,
        page_url=lambda n: pagekit.url_with(request, page=n),
    )


@router.get("/admin/guests/{guest_id:int}", response_class=HTMLResponse, response_model=None)
def guest_page(
    request: Request, guest_id: int, db: DatabaseDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """One guest: how to reach them, their stays (now, coming, past) and the services they asked for or received."""
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        profile = guest_profile(session, guest_id, today=local_today(DEFAULT_TIME_ZONE))
    except LuxServError as error:
        return pagekit.problem(request, settings, user, error)
    return render(request, "admin/guest.html", settings, user=user, p=profile, g=profile.guest)
