"""What a server-rendered page handler works with, in one dependency: the request, the database, the request's unit
of work and the settings, with the user the page may be shown to (a form post's CSRF token checked first).

Plus the small readers that turn form text into what a service checks, so each handler reads in a few lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from luxserv.accounts.models import User
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.web import csrf
from luxserv.web.deps import DatabaseDep, SessionDep, SettingsDep
from luxserv.web.rendering import page_user, render

FormText = Annotated[str, Form()]
FormFlag = Annotated[bool, Form()]


@dataclass(frozen=True)
class Page:
    """The request being answered, its database and unit of work (`session`), and the settings."""

    request: Request
    db: Database
    session: Session
    settings: Settings

    def user(self, *, staff: bool = False, owner: bool = False) -> User | Response:
        """The user this page may be shown to, or the response to send instead (see `page_user`)."""
        return page_user(self.request, self.db, self.settings, staff=staff, owner=owner)

    def poster(self, csrf_token: str, *, staff: bool = False, owner: bool = False) -> User | Response:
        """The user sending a form, or the response to send instead; a form without the browser's token is refused
        (403) before anything else."""
        csrf.check(self.request, csrf_token)
        return self.user(staff=staff, owner=owner)

    def render(self, name: str, user: User, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        """`name` in the shared layout for `user`."""
        return render(self.request, name, self.settings, status_code=status_code, user=user, **context)


def _page(request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep) -> Page:
    return Page(request, db, session, settings)


PageDep = Annotated[Page, Depends(_page)]


def actor(user: User) -> str:
    """How the audit log names a change made through a page."""
    return f"user:{user.id}"


def whole_number(text: str) -> int | None:
    """Digits that fit a 32-bit id as an int; None for anything else (absent or malformed is simply no choice)."""
    return int(text) if text.isdecimal() and len(text) < 10 else None


def number_or_text(text: str, *, signed: bool = False) -> int | str | None:
    """A number field for a service to check: blank is None, a number an int, anything else the text as sent (for
    the service to refuse by name). `signed` allows a leading + or -."""
    text = text.strip()
    if not text:
        return None
    digits = text[1:] if signed and text[:1] in "+-" else text
    return int(text) if digits.isdecimal() and len(digits) < 10 else text
