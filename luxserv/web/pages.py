"""Server-rendered pages: the home page, sign-in, and the admin overview."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import text

from luxserv import __version__
from luxserv.accounts import flows
from luxserv.accounts import service as accounts
from luxserv.accounts.api import client_address
from luxserv.accounts.models import User
from luxserv.accounts.pages import LOGIN_NOTICES
from luxserv.accounts.throttle import Throttled
from luxserv.bookings import service as bookings
from luxserv.core.clock import local_today
from luxserv.core.errors import NotAuthenticated
from luxserv.inbox import service as inbox
from luxserv.inbox.models import InboxStatus
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services.requests import service_days
from luxserv.web import csrf
from luxserv.web.deps import SESSION_COOKIE, DatabaseDep, SessionDep, SettingsDep, set_session_cookie
from luxserv.web.rendering import optional_user, page_user, render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DatabaseDep, settings: SettingsDep) -> HTMLResponse:
    return render(request, "home.html", settings, user=optional_user(request, db, settings))


@router.get("/healthz")
def health(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability, for load balancers."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, next: str = "/admin", done: str = "") -> HTMLResponse:
    notice = LOGIN_NOTICES.get(done)
    return render(request, "login.html", settings, next=_safe_next(next), error=None, email="", notice=notice)


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login_submit(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    """Sign in (always a new session id); failed attempts are limited per e-mail and per client address."""
    csrf.check(request, csrf_token)
    try:
        signed_in = flows.sign_in(
            db,
            settings,
            email=email,
            password=password,
            client=client_address(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except (NotAuthenticated, Throttled) as error:
        page = render(
            request,
            "login.html",
            settings,
            status_code=429 if isinstance(error, Throttled) else 401,
            next=_safe_next(next),
            error=error.message,
            email=email,
        )
        if isinstance(error, Throttled):
            page.headers["Retry-After"] = str(error.retry_after)
        return page
    user, token = signed_in.user, signed_in.token
    if user.is_staff_or_admin:
        target = _safe_next(next)
    else:  # owners land on their homes unless they were sent here from one of their own pages
        target = _safe_next(next) if next.startswith(("/owner", "/notifications", "/account")) else "/owner"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token, settings)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, csrf_token: Annotated[str, Form()] = "") -> RedirectResponse:
    csrf.check(request, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(session, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/admin", response_class=HTMLResponse, response_model=None)
def admin_overview(request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    today = local_today(DEFAULT_TIME_ZONE)
    upcoming, upcoming_total = bookings.list_bookings(
        session,
        bookings.BookingFilter(date_from=today, date_to=today + timedelta(days=60), unplaced=False),
        limit=50,
        offset=0,
    )
    unplaced, _ = bookings.list_bookings(session, bookings.BookingFilter(unplaced=True), limit=50, offset=0)
    problems, problems_total = inbox.list_events(
        session, inbox.InboxFilter(status=InboxStatus.failed), limit=20, offset=0
    )
    rejected, rejected_total = inbox.list_events(
        session, inbox.InboxFilter(status=InboxStatus.rejected), limit=20, offset=0
    )
    visits = service_days(session, today, today + timedelta(days=7))
    return render(
        request,
        "admin.html",
        settings,
        user=user,
        today=today,
        visits=visits,
        upcoming=upcoming,
        upcoming_total=upcoming_total,
        unplaced=unplaced,
        inbox_events=problems + rejected,
        inbox_total=problems_total + rejected_total,
    )


def _safe_next(target: str) -> str:
    """Only same-site paths: never redirect to another host after sign-in."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin"
