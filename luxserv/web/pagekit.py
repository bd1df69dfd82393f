"""Small helpers for the admin pages: reading filter forms (where an empty field means "any"), links that keep the
current filters, the pager's context, a one-time message after a form post, and HTML pages for a domain error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from luxserv.accounts.models import User
from luxserv.core.errors import InvalidInput, LuxServError
from luxserv.core.settings import Settings
from luxserv.web.errors import status_for
from luxserv.web.rendering import render

FLASH_COOKIE = "luxserv_flash"
MAX_OFFSET = 10**9  # an offset past any table's size: larger ones are cut to it
_E = TypeVar("_E", bound=StrEnum)


def optional_int(value: str | None, field: str) -> int | None:
    """A whole number from a form field, or None when it was left empty."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a whole number, not {value[:40]!r}", field=field) from None


def page_number(value: str | None) -> int:
    """A page number from the query (1 when absent)."""
    number = optional_int(value, "page")
    if number is None:
        return 1
    if number < 1:
        raise InvalidInput("page must be 1 or more", field="page")
    return number


def offset_of(number: int, page_size: int) -> int:
    """How many rows come before page `number`."""
    return (number - 1) * page_size


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` rows fill (at least one, for an empty list)."""
    return max(1, -(-total // page_size))


def bounded_offset(offset: int) -> int:
    """An offset from the query, kept between 0 and `MAX_OFFSET`."""
    return min(max(offset, 0), MAX_OFFSET)


def paging(request: Request, number: int, total: int, page_size: int) -> dict[str, Any]:
    """The pager's context for page `number` of `total` rows: page, pages, first_index and page_url(n)."""
    return {
        "page": number,
        "pages": page_count(total, page_size),
        "first_index": offset_of(number, page_size) + 1,
        "page_url": lambda n: url_with(request, page=n),
    }


def optional_date(value: str | None, field: str) -> date | None:
    """A date (YYYY-MM-DD) from a form field, or None when it was left empty."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a date like 2026-06-15, not {value[:40]!r}", field=field) from None


def optional_choice(enum: type[_E], value: str | None, field: str) -> _E | None:
    """One of an enum's values, or None when the field was left empty."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(f"{field} must be one of {allowed}, not {value[:40]!r}", field=field) from None


def url_with(request: Request, **changes: object) -> str:
    """This page's URL with some query parameters changed (None removes one); empty values are left out."""
    params = {key: value for key, value in request.query_params.items() if value != ""}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def here(request: Request) -> str:
    """This page's path and query, to come back to after a form post."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def back_to(target: str | None, default: str) -> str:
    """Where to send the browser after a post: a page of the admin site, never another host."""
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@dataclass(frozen=True)
class Flash:
    """A message shown once on the page a form post redirects to."""

    kind: str  # "ok" or "error"
    text: str


def redirect_with(target: str, kind: str, text: str) -> RedirectResponse:
    """303 to `target`, carrying a one-time message."""
    response = RedirectResponse(target, status_code=303)
    value = quote(json.dumps({"kind": kind, "text": text[:500]}))
    response.set_cookie(FLASH_COOKIE, value, max_age=120, httponly=True, samesite="lax", path="/admin")
    return response


def take_flash(request: Request) -> Flash | None:
    """The message left by the last post, if any (`forget_flash` clears it once shown)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(unquote(raw))
        return Flash(kind="error" if data.get("kind") == "error" else "ok", text=str(data["text"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def forget_flash(request: Request, response: Response) -> Response:
    """`response`, clearing the one-time message once it has been shown."""
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/admin")
    return response


def render_with_flash(request: Request, name: str, settings: Settings, **context: Any) -> Response:
    """A page showing the message left by the last post (`flash` in its context), which is then forgotten."""
    response = render(request, name, settings, flash=take_flash(request), **context)
    return forget_flash(request, response)


def problem(request: Request, settings: Settings, user: User, error: LuxServError) -> HTMLResponse:
    """A page explaining what went wrong (a missing booking, a malformed filter…) with the right status code."""
    status = status_for(error)
    return render(
        request, "admin/problem.html", settings, status_code=status, user=user, status=status, message=error.message
    )


def missing(request: Request, settings: Settings, user: User, error: LuxServError) -> HTMLResponse:
    """The 404 page for something that does not exist (or no longer does), saying what."""
    return render(request, "admin/missing.html", settings, status_code=404, user=user, message=error.message)
