"""Server-rendered pages: the home page, sign-in, and the admin overview."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import text

from luxserv import __version__
from luxserv.accounts import service as accounts
from luxserv.accounts.models import User
from luxserv.bookings import service as bookings
from luxserv.core.clock import local_today
from luxserv.core.errors import NotAuthenticated
from luxserv.inbox import service as inbox
from luxserv.inbox.models import InboxStatus
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services.requests import service_days
from luxserv.web import csrf
from luxserv.web.deps import SESSION_COOKIE, DatabaseDep, SessionDep, SettingsDep, get_current_user, set_session_cookie

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
router = APIRouter(include_in_schema=False)


def render(request: Request, name: str, settings: Any, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", None)
    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {"version": __version__, "csrf_token": csrf.csrf_token(request), **context},
        status_code=status_code,
    )
    csrf.set_cookie_if_new(request, response, secure=settings.base_url.startswith("https://"))
    return response


def _optional_user(request: Request, db: Any, settings: Any) -> User | None:
    try:
        return get_current_user(request, db, settings)
    except NotAuthenticated:
        return None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DatabaseDep, settings: SettingsDep) -> HTMLResponse:
    return render(request, "home.html", settings, user=_optional_user(request, db, settings))


@router.get("/healthz")
def health(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability, for load balancers."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, next: str = "/admin") -> HTMLResponse:
    return render(request, "login.html", settings, next=_safe_next(next), error=None, email="")


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    csrf.check(request, csrf_token)
    try:
        user = accounts.authenticate(session, email, password)
    except NotAuthenticated as error:
        return render(
            request,
            "login.html",
            settings,
            status_code=401,
            next=_safe_next(next),
            error=error.message,
            email=email,
        )
    token = accounts.start_session(session, user, settings, user_agent=request.headers.get("user-agent", ""))
    target = _safe_next(next) if user.is_staff_or_admin else "/"
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
    user = _optional_user(request, db, settings)
    if user is None:
        return RedirectResponse("/login?next=/admin", status_code=303)
    if not user.is_staff_or_admin:
        return render(request, "forbidden.html", settings, status_code=403, user=user)
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
