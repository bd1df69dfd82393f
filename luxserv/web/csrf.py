"""CSRF protection for HTML forms: a random per-browser token in a cookie, echoed in a hidden field."""

from __future__ import annotations

from fastapi import Request, Response

from luxserv.core.errors import PermissionDenied
from luxserv.core.security import constant_time_equals, new_token

CSRF_COOKIE = "luxserv_csrf"
CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The browser's token, or a fresh one (remembered on the request so `set_cookie` can store it)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = new_token(24)
        request.state.new_csrf = token
    return str(token)


def set_cookie_if_new(request: Request, response: Response, *, secure: bool) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")


def check(request: Request, submitted: str | None) -> None:
    """Refuse a form whose token does not match the browser's cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not constant_time_equals(cookie, submitted):
        raise PermissionDenied("the form expired or came from another site; reload the page and try again")
