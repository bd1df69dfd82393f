"""The admin calendar page: a timeline of every home, a week or a month at a time, 50 homes a page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from luxserv.accounts.models import User
from luxserv.calendars import timeline
from luxserv.core.clock import local_today
from luxserv.core.errors import LuxServError
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.web import pagekit
from luxserv.web.forms import PageDep

router = APIRouter(include_in_schema=False)


@router.get("/admin/calendar", response_class=HTMLResponse, response_model=None)
def calendar_page(
    page: PageDep,
    view: str = "",
    start: str = "",
    owner: str = "",
    q: str = "",
    page_number: Annotated[str, Query(alias="page")] = "",
) -> Response:
    """`?view=week|month&start=YYYY-MM-DD&owner=<id>&q=<name>&page=<n>`: the window that contains `start`."""
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    request = page.request
    today = local_today(DEFAULT_TIME_ZONE)
    try:
        chosen = pagekit.optional_choice(timeline.View, view, "view") or timeline.View.week
        window = timeline.Window.of(chosen, pagekit.optional_date(start, "start") or today)
        owner_id = pagekit.optional_int(owner, "owner")
        number = pagekit.page_number(page_number)
        model = timeline.build(page.session, window, today=today, owner_id=owner_id, query=q, page=number)
    except LuxServError as error:
        return pagekit.problem(request, page.settings, user, error)
    return page.render(
        "admin/calendar.html",
        user,
        tl=model,
        owners=timeline.owners(page.session),
        previous_url=pagekit.url_with(request, start=window.previous.isoformat(), page=None),
        next_url=pagekit.url_with(request, start=window.following.isoformat(), page=None),
        today_url=pagekit.url_with(request, start=None, page=None),
        week_url=pagekit.url_with(request, view="week", page=None),
        month_url=pagekit.url_with(request, view="month", page=None),
        page_url=lambda n: pagekit.url_with(request, page=n),
    )
