"""Rendering pages: the shared layout's context (signed-in user, unread count for the bell, CSRF token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from luxserv import __version__
from luxserv.accounts.models import User
from luxserv.core.database import Database
from luxserv.core.errors import NotAuthenticated
from luxserv.core.settings import Settings
from luxserv.outbox.models import Notification
from luxserv.web import csrf
from luxserv.web.deps import get_current_user

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def unread_count(db: Database, user_id: int) -> int:
    """How many in-app notifications the user has not read (the bell's badge)."""
    with db.unit_of_work(write=False) as session:
        count = session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
    return int(count or 0)


def render(request: Request, name: str, settings: Settings, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page in the shared layout. Pass `user=` for a signed-in page: the bell then shows their unread count."""
    context.setdefault("user", None)
    user = context["user"]
    if user is not None and "unread" not in context:
        context["unread"] = unread_count(request.app.state.db, user.id)
    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {"version": __version__, "csrf_token": csrf.csrf_token(request), "path": request.url.path, **context},
        status_code=status_code,
    )
    csrf.set_cookie_if_new(request, response, secure=settings.base_url.startswith("https://"))
    return response


def optional_user(request: Request, db: Database, settings: Settings) -> User | None:
    """The signed-in user, or None."""
    try:
        return get_current_user(request, db, settings)
    except NotAuthenticated:
        return None


def sign_in_redirect(request: Request) -> RedirectResponse:
    """Send an anonymous visitor to the sign-in page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={target}", status_code=303)


def page_user(
    request: Request, db: Database, settings: Settings, *, staff: bool = False, owner: bool = False
) -> User | Response:
    """The user a page may be shown to, or the response to send instead (sign in, or 403).

    `staff`: admins and staff only. `owner`: owner logins (admins and staff may also look). Neither: anyone signed in.
    """
    user = optional_user(request, db, settings)
    if user is None:
        return sign_in_redirect(request)
    allowed = True
    if staff:
        allowed = user.is_staff_or_admin
    elif owner:
        allowed = user.is_staff_or_admin or user.owner_id is not None
    if not allowed:
        return render(request, "forbidden.html", settings, status_code=403, user=user)
    return user
