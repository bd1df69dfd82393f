"""Owner portal pages: the homes as cards (`/owner`), and one home's calendar, requests and request form.

Another owner's property answers the same 404 page as an unknown one. Admins and staff are sent to their own
dashboard from `/owner` but may open any home's page. Everything works without JavaScript.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from luxserv.accounts.models import Role, User
from luxserv.calendars.service import export_url, rotate
from luxserv.core.clock import local_today
from luxserv.core.crypto import Vault
from luxserv.core.errors import InvalidInput, NotFound
from luxserv.owners import portal
from luxserv.owners import service_requests as asks
from luxserv.properties.models import Property
from luxserv.services.models import Origin, RequestStatus
from luxserv.web import pagekit
from luxserv.web.deps import owner_scope
from luxserv.web.forms import FormText, Page, PageDep, actor

router = APIRouter(include_in_schema=False)

CARDS_PER_PAGE = 30


@router.get("/owner", response_class=HTMLResponse, response_model=None)
def owner_portal(page: PageDep, page_number: Annotated[int, Query(alias="page")] = 1) -> Response:
    user = page.user(owner=True)
    if not isinstance(user, User):
        return user
    if user.is_staff_or_admin:
        return RedirectResponse("/admin", status_code=303)
    owner_id = owner_scope(user)
    number = max(page_number, 1)
    # The homes are counted in the query that reads them; only a page past the end needs a second look (the last).
    cards, total = portal.cards_and_total(
        page.session, owner_id, limit=CARDS_PER_PAGE, offset=pagekit.offset_of(number, CARDS_PER_PAGE)
    )
    pages = pagekit.page_count(total, CARDS_PER_PAGE)
    if number > pages:
        number = pages
        cards, total = portal.cards_and_total(
            page.session, owner_id, limit=CARDS_PER_PAGE, offset=pagekit.offset_of(number, CARDS_PER_PAGE)
        )
    return page.render("owner/portal.html", user, cards=cards, total=total, page=number, pages=pages)


@router.get("/owner/properties/{property_id}", response_class=HTMLResponse, response_model=None)
def owner_property(property_id: int, page: PageDep) -> Response:
    user = page.user(owner=True)
    if not isinstance(user, User):
        return user
    prop = _property_or_none(page.session, user, property_id)
    if prop is None:
        return _not_found(page, user, property_id)
    params = page.request.query_params
    context = _property_context(page.session, user, prop, params, filed=params.get("filed"))
    status = 422 if context["filter_errors"] else 200
    return page.render("owner/property.html", user, status_code=status, **context)


@router.post("/owner/properties/{property_id}/requests", response_class=HTMLResponse, response_model=None)
def owner_file_request(
    property_id: int,
    page: PageDep,
    csrf_token: FormText = "",
    service_type: FormText = "",
    scheduled_for: FormText = "",
    time_of_day: FormText = "",
    notes: FormText = "",
) -> Response:
    user = _poster(page, csrf_token, property_id)
    if not isinstance(user, User):
        return user
    prop = _property_or_none(page.session, user, property_id)
    if prop is None:
        return _not_found(page, user, property_id)
    values = {"service_type": service_type, "scheduled_for": scheduled_for, "time_of_day": time_of_day, "notes": notes}
    errors: dict[str, str] = {}
    kind = _parse(int, service_type, "service_type", "pick a service", errors)
    day = _parse(date.fromisoformat, scheduled_for, "scheduled_for", "pick a date", errors)
    at = _parse(time.fromisoformat, time_of_day, "time_of_day", None, errors)
    if kind is not None and day is not None and not errors:
        try:
            asks.file_request(
                page.session, prop.id, owner_id=owner_scope(user), service_type_id=kind, day=day, time_of_day=at,
                notes=notes, origin=Origin.owner if user.role == Role.owner else Origin.admin, actor=actor(user),
            )  # fmt: skip
        except (InvalidInput, NotFound) as error:
            errors[error.field or "service_type"] = error.message
    if errors:
        params = page.request.query_params
        context = _property_context(page.session, user, prop, params, form=values, form_errors=errors)
        return page.render("owner/property.html", user, status_code=422, **context)
    return RedirectResponse(f"/owner/properties/{prop.id}?filed=1#requests", status_code=303)


@router.post("/owner/properties/{property_id}/calendar-link", response_class=HTMLResponse, response_model=None)
def owner_calendar_link(
    property_id: int, page: PageDep, csrf_token: FormText = "", action: FormText = "show"
) -> Response:
    """Show the home's calendar subscription URL (made on first use), or replace it. Shown, never redirected to:
    the URL is a secret and stays out of the browser's history."""
    user = _poster(page, csrf_token, property_id)
    if not isinstance(user, User):
        return user
    prop = _property_or_none(page.session, user, property_id)
    if prop is None or prop.owner_id is None:
        return _not_found(page, user, property_id)
    make = rotate if action == "rotate" else export_url
    settings = page.settings
    url = make(page.session, Vault(settings), settings.base_url, owner_id=prop.owner_id, property_id=prop.id)
    context = _property_context(page.session, user, prop, page.request.query_params, calendar_url=url)
    context["calendar_rotated"] = action == "rotate"
    return page.render("owner/property.html", user, **context)


# --- helpers -------------------------------------------------------------------------------------------------


def _property_or_none(session: Session, user: User, property_id: int) -> Property | None:
    try:
        return portal.get_property(session, property_id, owner_id=owner_scope(user))
    except NotFound:
        return None


def _not_found(page: Page, user: User, property_id: int) -> Response:
    return page.render("owner/not_found.html", user, status_code=404, property_id=property_id)


def _poster(page: Page, csrf_token: str, property_id: int) -> User | Response:
    """The signed-in user of a form post; an expired session signs in again and comes back to the home's page."""
    user = page.poster(csrf_token, owner=True)
    if isinstance(user, RedirectResponse):
        return RedirectResponse(f"/login?next=/owner/properties/{property_id}", status_code=303)
    return user


def _parse(parse: Any, raw: str, field: str, missing: str | None, errors: dict[str, str]) -> Any:
    """`parse(raw)`, or None: empty is an error when `missing` says what to ask for; bad input always is."""
    raw = raw.strip()
    if not raw:
        if missing:
            errors[field] = missing
        return None
    try:
        return parse(raw)
    except ValueError:
        errors[field] = f"{raw!r} is not valid here"
        return None


def _filters(params: QueryParams, today: date) -> tuple[asks.RequestQuery, dict[str, str], dict[str, str], int]:
    """The request list's filters as typed. Without a `from` at all the list starts today; an empty one: no limit."""
    values = {key: params.get(key, "") for key in ("from", "to", "service", "guest", "status")}
    if "from" not in params:
        values["from"] = today.isoformat()
    errors: dict[str, str] = {}
    date_from = _parse(date.fromisoformat, values["from"], "from", None, errors)
    date_to = _parse(date.fromisoformat, values["to"], "to", None, errors)
    service = _parse(int, values["service"], "service", None, errors)
    status = _parse(RequestStatus, values["status"], "status", None, errors)
    offset = _parse(int, params.get("offset", ""), "offset", None, errors) or 0
    if offset < 0:
        errors["offset"] = "offset must not be negative"
        offset = 0
    query = asks.RequestQuery(date_from, date_to, service, values["guest"].strip(), status)
    return query, values, errors, offset


def _property_context(
    session: Session,
    user: User,
    prop: Property,
    params: QueryParams,
    *,
    filed: str | None = None,
    form: dict[str, str] | None = None,
    form_errors: dict[str, str] | None = None,
    calendar_url: str | None = None,
) -> dict[str, Any]:
    owner_id = owner_scope(user)
    today = local_today(prop.time_zone)
    card = portal.property_cards(session, owner_id, property_ids=[prop.id])[0]
    filter_errors: dict[str, str] = {}
    month = today.replace(day=1)
    if params.get("month"):
        try:
            month = portal.parse_month(params["month"])
        except InvalidInput as error:
            filter_errors["month"] = error.message
    month_view = portal.month_calendar(session, prop.id, month, owner_id=owner_id, today=today)
    query, filter_values, errors, offset = _filters(params, today)
    filter_errors.update(errors)
    rows: list[asks.RequestRow] = []
    total = 0
    if not errors:
        try:
            rows, total = asks.property_requests(session, prop.id, query, owner_id=owner_id, offset=offset)
        except InvalidInput as error:
            filter_errors[error.field or "from"] = error.message
    here = {**filter_values, "month": month.strftime("%Y-%m")}
    more = urlencode({**here, "offset": offset + asks.PAGE_SIZE}) if offset + len(rows) < total else None
    return {
        "prop": prop,
        "card": card,
        "today": today,
        "cal": month_view,
        "requests": rows,
        "requests_total": total,
        "offset": offset,
        "more": more,
        "month_links": {
            "previous": urlencode({**here, "month": month_view.previous.strftime("%Y-%m")}),
            "following": urlencode({**here, "month": month_view.following.strftime("%Y-%m")}),
            "current": urlencode({**here, "month": today.strftime("%Y-%m")}),
        },
        "month_param": month.strftime("%Y-%m"),
        "filters": filter_values,
        "filter_errors": filter_errors,
        "services": asks.service_choices(session),
        "statuses": list(RequestStatus),
        "requestable": asks.requestable_services(session),
        "form": form or {"service_type": "", "scheduled_for": "", "time_of_day": "", "notes": ""},
        "form_errors": form_errors or {},
        "filed": bool(filed),
        "calendar_url": calendar_url,
        "calendar_rotated": False,
        "can_export": prop.owner_id is not None,
        "max_notes": asks.MAX_NOTES,
    }
