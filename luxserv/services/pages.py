"""The admin request queue (`/admin/requests`) and one request's page, with plain forms to move a request along
and to assign it: each posts, then sends the browser back to the same filtered list (no JavaScript needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from luxserv.accounts.models import User
from luxserv.core.clock import local_today
from luxserv.core.errors import InvalidInput, LuxServError
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services import queue, requests
from luxserv.services.models import OPEN_STATUSES, Origin, RequestStatus
from luxserv.web import csrf, pagekit
from luxserv.web.forms import FormText, PageDep, actor

router = APIRouter(include_in_schema=False)

STATUS_CHOICES = [("open", "Open (not finished)"), ("all", "Any status")] + [
    (s.value, s.value.replace("_", " ").capitalize()) for s in RequestStatus
]
SORTS = {"date": False, "-date": True}  # sort value → latest first


def _filter(
    user: User, status: str, prop: str, date_from: str, date_to: str, assignee: str, service: str, origin: str
) -> requests.RequestFilter:
    """The queue's filter from its form fields; an empty status means the open requests."""
    chosen = status.strip() or "open"
    statuses: tuple[RequestStatus, ...] = ()
    single = None
    if chosen == "open":
        statuses = OPEN_STATUSES
    elif chosen != "all":
        single = pagekit.optional_choice(RequestStatus, chosen, "status")
    assignee = assignee.strip()
    assignee_id = None
    if assignee == "me":
        assignee_id = user.id
    elif assignee != "unassigned":
        assignee_id = pagekit.optional_int(assignee, "assignee")
    return requests.RequestFilter(
        property_id=pagekit.optional_int(prop, "property"),
        status=single,
        statuses=statuses,
        date_from=pagekit.optional_date(date_from, "from"),
        date_to=pagekit.optional_date(date_to, "to"),
        assignee_id=assignee_id,
        unassigned=assignee == "unassigned",
        service_type_id=pagekit.optional_int(service, "service"),
        origin=pagekit.optional_choice(Origin, origin, "origin"),
    )


@router.get("/admin/requests", response_class=HTMLResponse, response_model=None)
def queue_page(
    page: PageDep,
    status: str = "",
    property: str = "",
    date_from: str = "",
    date_to: str = "",
    assignee: str = "",
    service: str = "",
    origin: str = "",
    sort: str = "date",
    home: str = "",
    page_number: Annotated[str, Query(alias="page")] = "",
) -> Response:
    """Requests by day, filtered by status (open ones unless asked), home (a choice, or a name when there are many
    homes), days, assignee, service and origin. Counted up to `queue.COUNT_CAP`."""
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    request, session = page.request, page.session
    try:
        flt = _filter(user, status, property, date_from, date_to, assignee, service, origin)
        if sort not in SORTS:
            raise InvalidInput("sort must be date or -date", field="sort")
        number = pagekit.page_number(page_number)
        offset = pagekit.offset_of(number, queue.PAGE_SIZE)
        found = queue.queue(session, flt, limit=queue.PAGE_SIZE, offset=offset, latest_first=SORTS[sort], home=home)
    except LuxServError as error:
        return pagekit.problem(request, page.settings, user, error)
    paging = pagekit.paging(request, number, found.total, queue.PAGE_SIZE)
    pages_label = None
    if found.capped:  # counting stopped at the cap: "of 200+" pages, and a next page while rows follow
        pages_label = f"{max(paging['pages'], number)}+"
        paging["pages"] = max(paging["pages"], number + 1 if found.more else number)
    return pagekit.render_with_flash(
        request,
        "admin/requests.html",
        page.settings,
        user=user,
        queue=found,
        today=local_today(DEFAULT_TIME_ZONE),
        **paging,
        pages_label=pages_label,
        chosen={
            "status": status.strip() or "open",
            "property": property.strip(),
            "date_from": date_from.strip(),
            "date_to": date_to.strip(),
            "assignee": assignee.strip(),
            "service": service.strip(),
            "origin": origin.strip(),
            "sort": sort,
            "home": home.strip(),
        },
        status_choices=STATUS_CHOICES,
        origins=list(Origin),
        homes=queue.home_choices(session),
        services=queue.service_types(session),
        assignees=queue.assignable_users(session),
        back=pagekit.here(request),
        sort_url=pagekit.url_with(request, sort="-date" if sort == "date" else "date", page=None),
        all_homes_url=pagekit.url_with(request, property=None, page=None),
    )


@router.get("/admin/requests/{request_id:int}", response_class=HTMLResponse, response_model=None)
def request_page(request_id: int, page: PageDep) -> Response:
    """One request: what, where, for whom, who does it, and every change so far."""
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    try:
        found = queue.request_page(page.session, request_id)
    except LuxServError as error:
        return pagekit.problem(page.request, page.settings, user, error)
    return pagekit.render_with_flash(
        page.request,
        "admin/request.html",
        page.settings,
        user=user,
        item=found.row,
        actors=found.actors,
        assignees=queue.assignable_users(page.session),
        back=pagekit.here(page.request),
    )


@router.post("/admin/requests/{request_id:int}/status", response_model=None)
def change_status(
    request_id: int,
    page: PageDep,
    csrf_token: FormText = "",
    status: FormText = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    next: FormText = "",
) -> Response:
    """Move a request along; back to the page it came from, with what happened (or why it could not)."""
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    csrf.check(page.request, csrf_token)
    back = pagekit.back_to(next, "/admin/requests")
    try:
        target = pagekit.optional_choice(RequestStatus, status, "status")
        if target is None:
            raise InvalidInput("choose the new status", field="status")
        changed = requests.change_status(page.session, request_id, target, actor=actor(user), note=note)
    except LuxServError as error:
        return pagekit.redirect_with(back, "error", error.message)
    what = f"{changed.service_type.name} (#{changed.id})"
    return pagekit.redirect_with(back, "ok", f"{what} is now {target.value.replace('_', ' ')}.")


@router.post("/admin/requests/{request_id:int}/assign", response_model=None)
def assign(
    request_id: int, page: PageDep, csrf_token: FormText = "", user_id: FormText = "", next: FormText = ""
) -> Response:
    """Give a request to an active admin or staff member, or to nobody (an empty choice)."""
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    csrf.check(page.request, csrf_token)
    back = pagekit.back_to(next, "/admin/requests")
    try:
        assignee_id = pagekit.optional_int(user_id, "user_id")
        changed = requests.assign(page.session, request_id, assignee_id, actor=actor(user))
    except LuxServError as error:
        return pagekit.redirect_with(back, "error", error.message)
    what = f"{changed.service_type.name} (#{changed.id})"
    if assignee_id is None:
        return pagekit.redirect_with(back, "ok", f"{what} is now unassigned.")
    name = queue.actor_labels(page.session, [f"user:{assignee_id}"])[f"user:{assignee_id}"]
    return pagekit.redirect_with(back, "ok", f"{what} is now assigned to {name}.")
