"""Owner portal pages: the homes as cards (`/owner`), and one home's calendar, requests and request form.

Another owner's property answers the same 404 page as an unknown one. Admins and staff are sent to their own
dashboard from `/owner` but may open any home's page. Everything works without JavaScript.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from luxserv.accounts.models import Role, User
from luxserv.calendars.service import export_url, rotate
from luxserv.core.clock import local_today
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.errors import InvalidInput, NotFound
from luxserv.core.settings import Settings
from luxserv.owners import portal
from luxserv.owners import service_requests as asks
from luxserv.properties.models import Property
from luxserv.services.models import Origin, RequestStatus
from luxserv.web import csrf
from luxserv.web.deps import DatabaseDep, SessionDep, SettingsDep, owner_scope
from luxserv.web.rendering import page_user, render

router = APIRouter(include_in_schema=False)

CARDS_PER_PAGE = 30


@router.get("/owner", response_class=HTMLResponse, response_model=None)
def owner_portal(
    request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep, page: int = 1
) -> Response:
    user = page_user(request, db, settings, owner=True)
    if not isinstance(user, User):
        return user
    if user.is_staff_or_admin:
        return RedirectResponse("/admin", status_code=303)
    owner_id = owner_scope(user)
    total = portal.count_properties(session, owner_id)
    pages = max(1, -(-total // CARDS_PER_PAGE))
    page = min(max(page, 1), pages)
    cards = portal.property_cards(session, owner_id, limit=CARDS_PER_PAGE, offset=(page - 1) * CARDS_PER_PAGE)
    return render(request, "owner/portal.html", settings, user=user, cards=cards, total=total, page=page, pages=pages)


@router.get("/owner/properties/{property_id}", response_class=HTMLResponse, response_model=None)
def owner_property(
    property_id: int, request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep
) -> Response:
    user = page_user(request, db, settings, owner=True)
    if not isinstance(user, User):
        return user
    prop = _property_or_none(session, user, property_id)
    if prop is None:
        return _not_found(request, settings, user, property_id)
    context = _property_context(session, user, prop, request.query_params, filed=request.query_params.get("filed"))
    status = 422 if context["filter_errors"] else 200
    return render(request, "owner/property.html", settings, status_code=status, user=user, **context)


@router.post("/owner/properties/{property_id}/requests", response_class=HTMLResponse, response_model=None)
def owner_file_request(
    property_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
    service_type: Annotated[str, Form()] = "",
    scheduled_for: Annotated[str, Form()] = "",
    time_of_day: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = _form_user(request, db, settings, property_id)
    if not isinstance(user, User):
        return user
    prop = _property_or_none(session, user, property_id)
    if prop is None:
        return _not_found(request, settings, user, property_id)
    values = {"service_type": service_type, "scheduled_for": scheduled_for, "time_of_day": time_of_day, "notes": notes}
    errors: dict[str, str] = {}
    kind = _parse(int, service_type, "service_type", "pick a service", errors)
    day = _parse(date.fromisoformat, scheduled_for, "scheduled_for", "pick a date", errors)
    at = _parse(time.fromisoformat, time_of_day, "time_of_day", None, errors)
    if kind is not None and day is not None and not errors:
        try:
            asks.file_request(
                session, prop.id, owner_id=owner_scope(user), service_type_id=kind, day=day, time_of_day=at,
                notes=notes, origin=Origin.owner if user.role == Role.owner else Origin.admin,
                actor=f"user:{user.id}",
            )  # fmt: skip
        except (InvalidInput, NotFound) as error:
            errors[error.field or "service_type"] = error.message
    if errors:
        context = _property_context(session, user, prop, request.query_params, form=values, form_errors=errors)
        return render(request, "owner/property.html", settings, status_code=422, user=user, **context)
    return RedirectResponse(f"/owner/properties/{prop.id}?filed=1#requests", status_code=303)


@router.post("/owner/properties/{property_id}/calendar-link", response_class=HTMLResponse, response_model=None)
def owner_calendar_link(
    property_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "show",
) -> Response:
    """Show the home's calendar subscription URL (made on first use), or replace it. Shown, never redirected to:
    the URL is a secret and stays out of the browser's history."""
    csrf.check(request, csrf_token)
    user = _form_user(request, db, settings, property_id)
    if not isinstance(user, User):
        return user
    prop = _property_or_none(session, user, property_id)
    if prop is None or prop.owner_id is None:
        return _not_found(request, settings, user, property_id)
    make = rotate if action == "rotate" else export_url
    url = make(session, Vault(settings), settings.base_url, owner_id=prop.owner_id, property_id=prop.id)
    context = _property_context(session, user, prop, request.query_params, calendar_url=url)
    context["calendar_rotated"] = action == "rotate"
    return render(request, "owner/property.html", settings, user=user, **context)


# --- helpers -------------------------------------------------------------------------------------------------


def _property_or_none(session: Session, user: User, property_id: int) -> Property | None:
    try:
        return portal.get_property(session, property_id, owner_id=owner_scope(user))
    except NotFound:
        return None


def _not_found(request: Request, settings: Settings, user: User, property_id: int) -> Response:
    return render(request, "owner/not_found.html", settings, status_code=404, user=user, property_id=property_id)


def _form_user(request: Request, db: Database, settings: Settings, property_id: int) -> User | Response:
    """The signed-in user of a form post; an expired session signs in again and comes back to the home's page."""
    user = page_user(request, db, settings, owner=True)
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
