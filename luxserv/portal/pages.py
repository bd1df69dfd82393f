"""Guest portal pages: `/portal` to open a stay (by access code, or confirmation code + e-mail), the stay itself
with a service request form pre-filled from the booking, and the guest's requests with their status.

No sign-in: the access code in the URL is the credential, so these pages are never cached and never send a
referrer. The bell counts status changes made by the concierge team since the guest last opened the page on this
device (kept in a cookie scoped to /portal; nothing is stored on the server for it).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from luxserv.bookings.models import Booking
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.errors import InvalidInput
from luxserv.core.settings import Settings
from luxserv.portal import service, throttle
from luxserv.portal.api import PRIVATE, TOO_MANY
from luxserv.services.models import RequestStatus
from luxserv.web import csrf
from luxserv.web.deps import DatabaseDep, SessionDep, SettingsDep
from luxserv.web.rendering import render

router = APIRouter(include_in_schema=False)

SEEN_COOKIE = "luxserv_portal_seen"
SEEN_MAX_AGE = 60 * 60 * 24 * 120  # seconds; longer than any stay plus its grace period
THANKS = "Thank you — we received your request."
STATUS_LABELS = {
    RequestStatus.requested: "Received",
    RequestStatus.scheduled: "Scheduled",
    RequestStatus.in_progress: "In progress",
    RequestStatus.completed: "Completed",
    RequestStatus.cancelled: "Cancelled",
}
_FIELDS = ("service_type", "date", "time", "notes")


def _client(request: Request) -> str:
    return throttle.client_address(request.client.host if request.client else None)


def _private(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response


def _start(request: Request, settings: Settings, *, gate: throttle.Gate | None = None, **context: Any) -> Response:
    """The page to open a stay; with a failed `gate`, the neutral error (404) or the wait (429)."""
    status, error, headers = 200, None, {}
    if gate is not None and gate.refused:
        status, error, headers = 429, TOO_MANY, {"Retry-After": str(gate.retry_after)}
    elif gate is not None:
        status, error = 404, service.NOT_FOUND_MESSAGE
    context.setdefault("confirmation_code", "")
    context.setdefault("email", "")
    response = render(request, "portal/start.html", settings, status_code=status, error=error, stay=None, **context)
    response.headers.update(headers)
    return _private(response)


def _open_stay(request: Request, db: Database, session: Session, settings: Settings, code: str) -> Booking | Response:
    """The booking an access code opens, or the page to find a stay (the neutral 404, or 429 while throttled)."""
    gate = throttle.check(db, _client(request), lambda s: service.open_stay(s, code))
    if not gate.found:
        return _start(request, settings, gate=gate)
    try:
        return service.open_stay(session, code)
    except service.StayNotFound:
        return _start(request, settings, gate=throttle.Gate(found=False))


def _seen_since(request: Request) -> dt.datetime | None:
    raw = request.cookies.get(SEEN_COOKIE, "")
    try:
        return dt.datetime.fromtimestamp(int(raw) / 1000, tz=dt.UTC) if raw else None
    except (ValueError, OverflowError, OSError):
        return None


def _stay_page(
    request: Request,
    session: Session,
    settings: Settings,
    stay: service.Stay,
    code: str,
    *,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    thanks: bool = False,
) -> Response:
    zone = ZoneInfo(stay.time_zone)
    default_day = stay.default_day
    values = {"service_type": "", "date": default_day.isoformat() if default_day else "", "time": "", "notes": ""}
    values.update(form or {})
    response = render(
        request,
        "portal/stay.html",
        settings,
        status_code=status_code,
        stay=stay,
        code=code,
        services=service.requestable_services(session),
        form=values,
        errors=errors or {},
        thanks=thanks,
        thanks_message=THANKS,
        labels=STATUS_LABELS,
        local=lambda moment: moment.astimezone(zone),
    )
    return _private(response)


@router.get("/portal", response_class=HTMLResponse, response_model=None)
def portal(
    request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep, booking: str = "", sent: str = ""
) -> Response:
    """The stay for `?booking=<access code>`, or the page to find one."""
    code = booking.strip()
    if not code:
        return _start(request, settings)
    found = _open_stay(request, db, session, settings, code)
    if not isinstance(found, Booking):
        return found
    stay = service.stay_for(session, found, seen_since=_seen_since(request))
    response = _stay_page(request, session, settings, stay, code, thanks=sent == "1")
    response.set_cookie(
        SEEN_COOKIE,
        str(int(utcnow().timestamp() * 1000)),
        max_age=SEEN_MAX_AGE,
        path="/portal",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )
    return response


@router.post("/portal/find", response_class=HTMLResponse, response_model=None)
def find_stay(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
    confirmation_code: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Find a stay by the platform's confirmation code and the guest's e-mail; open it with a fresh code."""
    csrf.check(request, csrf_token)
    gate = throttle.check(db, _client(request), lambda s: service.find_by_confirmation(s, confirmation_code, email))
    retry = {"confirmation_code": confirmation_code, "email": email}
    if not gate.found:
        return _start(request, settings, gate=gate, **retry)
    try:
        _, code = service.open_by_confirmation(session, confirmation_code, email)
    except service.StayNotFound:
        return _start(request, settings, gate=throttle.Gate(found=False), **retry)
    return _private(RedirectResponse("/portal?" + urlencode({"booking": code}), status_code=303))


@router.post("/portal/requests", response_class=HTMLResponse, response_model=None)
def file_request(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
    booking: Annotated[str, Form(max_length=200)] = "",
    service_type: Annotated[str, Form(max_length=120)] = "",
    day: Annotated[str, Form(alias="date", max_length=40)] = "",
    time_of_day: Annotated[str, Form(alias="time", max_length=40)] = "",
    notes: Annotated[str, Form(max_length=service.MAX_NOTES * 2)] = "",
) -> Response:
    """File the guest's request; back to the stay with a thank-you, or the form again with what to fix."""
    csrf.check(request, csrf_token)
    code = booking.strip()
    found = _open_stay(request, db, session, settings, code)
    if not isinstance(found, Booking):
        return found
    form = {"service_type": service_type.strip(), "date": day.strip(), "time": time_of_day.strip(), "notes": notes}
    errors = _form_errors(form)
    if not errors:
        try:
            service.file_request(
                session,
                found,
                service_type=form["service_type"],
                day=dt.date.fromisoformat(form["date"]),
                time_of_day=dt.time.fromisoformat(form["time"]) if form["time"] else None,
                notes=notes,
            )
        except InvalidInput as error:
            errors[error.field if error.field in _FIELDS else "service_type"] = error.message
        else:
            target = "/portal?" + urlencode({"booking": code, "sent": "1"})
            return _private(RedirectResponse(target, status_code=303))
    stay = service.stay_for(session, found, seen_since=_seen_since(request))
    return _stay_page(request, session, settings, stay, code, status_code=422, form=form, errors=errors)


def _form_errors(form: dict[str, str]) -> dict[str, str]:
    """What is wrong with the form's own fields, before the stay's rules are checked."""
    errors = {}
    if not form["service_type"]:
        errors["service_type"] = "choose a service"
    try:
        dt.date.fromisoformat(form["date"])
    except ValueError:
        errors["date"] = "choose a day" if not form["date"] else "enter the day as YYYY-MM-DD"
    if form["time"]:
        try:
            dt.time.fromisoformat(form["time"])
        except ValueError:
            errors["time"] = "enter the time as HH:MM, or leave it empty"
    if len(form["notes"]) > service.MAX_NOTES:
        errors["notes"] = f"notes can be at most {service.MAX_NOTES} characters"
    return errors
