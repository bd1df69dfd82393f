"""Admin pages for the inbox: inbound events (filtered, newest first), one event in full, and replaying it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from luxserv.accounts.models import User
from luxserv.core.errors import NotFound
from luxserv.inbox import flows, queries, service
from luxserv.inbox.models import InboxStatus
from luxserv.web import csrf, pagekit
from luxserv.web.deps import DatabaseDep, ProvidersDep, SettingsDep
from luxserv.web.forms import FormText, PageDep, actor
from luxserv.web.rendering import page_user

router = APIRouter(include_in_schema=False)
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]  # ids are 32-bit integers in the database
PAGE_SIZE = 50


@router.get("/admin/inbox", response_class=HTMLResponse, response_model=None)
def inbox_page(page: PageDep, status: str = "", provider: str = "", offset: int = 0) -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    errors: dict[str, str] = {}
    chosen: InboxStatus | None = None
    if status:
        try:
            chosen = InboxStatus(status)
        except ValueError:
            errors["status"] = f"status must be one of {', '.join(s.value for s in InboxStatus)}"
    offset = pagekit.bounded_offset(offset)
    flt = service.InboxFilter(status=chosen, provider=provider.strip() or None)
    rows, total = service.list_events(page.session, flt, limit=PAGE_SIZE, offset=offset)
    return page.render(
        "admin/inbox.html",
        user,
        status_code=422 if errors else 200,
        rows=rows,
        total=total,
        limit=PAGE_SIZE,
        offset=offset,
        statuses=list(InboxStatus),
        providers=queries.providers_seen(page.session),
        status=status,
        provider=provider,
        errors=errors,
    )


@router.get("/admin/inbox/{inbox_id}", response_class=HTMLResponse, response_model=None)
def event_page(inbox_id: int, page: PageDep, done: str = "") -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    try:
        event = queries.get_event(page.session, inbox_id)
    except NotFound as error:
        return pagekit.missing(page.request, page.settings, user, error)
    body, is_json = queries.pretty_body(event)
    return page.render(
        "admin/inbox_event.html",
        user,
        event=event,
        body=body,
        is_json=is_json,
        headers=queries.shown_headers(event.headers or {}),
        replayed=done == "replayed",
    )


@router.post("/admin/inbox/{inbox_id}/replay", response_class=HTMLResponse, response_model=None)
def replay_event(
    inbox_id: IdPath,
    request: Request,
    db: DatabaseDep,
    providers: ProvidersDep,
    settings: SettingsDep,
    csrf_token: FormText = "",
) -> Response:
    """Apply the stored event again through the same path as the worker (it owns its transactions, so this handler
    takes no unit of work of its own)."""
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        flows.replay(db, providers, inbox_id, actor=actor(user))
    except NotFound as error:
        return pagekit.missing(request, settings, user, error)
    return RedirectResponse(f"/admin/inbox/{inbox_id}?done=replayed", status_code=303)
