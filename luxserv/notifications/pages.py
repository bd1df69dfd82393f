"""Pages for every signed-in person: their notification feed, and how they want to be told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from luxserv.accounts.models import User
from luxserv.core.errors import NotFound
from luxserv.notifications import feed
from luxserv.notifications.dispatch import TOPICS
from luxserv.notifications.models import EmailMode
from luxserv.outbox.models import Notification
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.web import csrf
from luxserv.web.forms import FormText, Page, PageDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
EMAIL_CHOICES = [(EmailMode.immediate, "Immediately"), (EmailMode.digest, "Daily digest"), (EmailMode.off, "Off")]
_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)


@dataclass(frozen=True)
class FeedItem:
    id: int
    topic: str
    title: str
    body: str
    has_link: bool
    unread: bool
    at_iso: str
    at_label: str


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


@router.get("/notifications", response_class=HTMLResponse, response_model=None)
def notifications_page(page: PageDep, unread: bool = False, offset: int = 0) -> Response:
    user = page.user()
    if not isinstance(user, User):
        return user
    offset = max(offset, 0)
    found = feed.feed(page.session, user.id, unread_only=unread, limit=PAGE_SIZE, offset=offset)
    return page.render(
        "notifications/feed.html",
        user,
        unread=found.unread,
        only_unread=unread,
        items=[_item(n) for n in found.notifications],
        total=found.total,
        offset=offset,
        page_size=PAGE_SIZE,
    )


@router.post("/notifications/read-all", response_model=None)
def read_all(page: PageDep, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token)
    if not isinstance(user, User):
        return user
    feed.mark_all_read(page.session, user.id)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/{notification_id}/open", response_model=None)
def open_notification(notification_id: int, page: PageDep, csrf_token: FormText = "") -> Response:
    """Mark the notification read, then follow its link (only paths on this site; else back to the feed)."""
    user = page.poster(csrf_token)
    if not isinstance(user, User):
        return user
    try:
        row = feed.mark_read(page.session, user.id, notification_id)
    except NotFound:
        return page.render("notifications/missing.html", user, status_code=404)
    return RedirectResponse(feed.safe_link(row.link) or "/notifications", status_code=303)


@router.get("/account/notifications", response_class=HTMLResponse, response_model=None)
def preferences_page(page: PageDep, saved: bool = False) -> Response:
    user = page.user()
    if not isinstance(user, User):
        return user
    return _preferences(page, user, saved=saved)


@router.post("/account/notifications", response_model=None)
def save_preferences(page: PageDep, form: FormDep) -> Response:
    user = page.poster(_text(form.get(csrf.CSRF_FIELD)))
    if not isinstance(user, User):
        return user
    changes: list[feed.ChoiceChange] = []
    for topic, label in TOPICS.items():
        chosen = form.get(f"email:{topic}")
        if chosen is None:  # not on the form that was sent: leave it as it is
            continue
        try:
            email = EmailMode(_text(chosen))
        except ValueError:
            error = f"Choose how to e-mail you about {label.lower()}: immediately, in a daily digest, or off."
            return _preferences(page, user, error=error, status_code=422)
        changes.append(feed.ChoiceChange(topic=topic, email=email, in_app=f"in_app:{topic}" in form))
    feed.save_choices(page.session, user.id, changes)
    return RedirectResponse("/account/notifications?saved=1", status_code=303)


def _preferences(page: Page, user: User, *, saved: bool = False, error: str = "", status_code: int = 200) -> Response:
    """The preferences page with the user's choices as stored."""
    return page.render(
        "notifications/preferences.html",
        user,
        status_code=status_code,
        choices=feed.choices(page.session, user.id),
        email_choices=EMAIL_CHOICES,
        saved=saved,
        error=error,
    )


def _item(row: Notification) -> FeedItem:
    at: datetime = row.created_at.astimezone(_ZONE)
    return FeedItem(
        id=row.id,
        topic=row.topic,
        title=row.title,
        body=row.body,
        has_link=feed.safe_link(row.link) is not None,
        unread=row.read_at is None,
        at_iso=row.created_at.isoformat(),
        at_label=f"{at:%b %d, %H:%M}",
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
