"""Admin pages for the inbox: inbound events (filtered, newest first), one event in full, and replaying it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from luxserv.accounts.models import User
from luxserv.core.errors import NotFound
from luxserv.inbox import flows, queries, service
from luxserv.inbox.models import InboxStatus
from luxserv.web import csrf
from luxserv.web.deps import DatabaseDep, ProvidersDep, SessionDep, SettingsDep
from luxserv.web.rendering import page_user, render

router = APIRouter(include_in_schema=False)
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]  # ids are 32-bit integers in the database
PAGE_SIZE = 50
MAX_OFFSET = 10**9


@router.get("/admin/inbox", response_class=HTMLResponse, response_model=None)
def inbox_page(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    status: str = "",
    provider: str = "",
    offset: int = 0,
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    errors: dict[str, str] = {}
    chosen: InboxStatus | None = None
    if status:
        try:
            chosen = InboxStatus(status)
        except ValueError:
            errors["status"] = f"status must be one of {', '.join(s.value for s in InboxStatus)}"
    offset = min(max(offset, 0), MAX_OFFSET)
    flt = service.InboxFilter(status=chosen, provider=provider.strip() or None)
    rows, total = service.list_events(session, flt, limit=PAGE_SIZE, offset=offset)
    return render(
        request,
        "admin/inbox.html",
        settings,
        status_code=422 if errors else 200,
        user=user,
        rows=rows,
        total=total,
        limit=PAGE_SIZE,
        offset=offset,
        statuses=list(InboxStatus),
        providers=queries.providers_seen(session),
        status=status,
        provider=provider,
        errors=errors,
    )


@router.get("/admin/inbox/{inbox_id}", response_class=HTMLResponse, response_model=None)
def event_page(
    inbox_id: int, request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep, done: str = ""
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        event = queries.get_event(session, inbox_id)
    except NotFound as error:
        return render(request, "admin/missing.html", settings, status_code=404, user=user, message=error.message)
    body, is_json = queries.pretty_body(event)
    return render(
        request,
        "admin/inbox_event.html",
        settings,
        user=user,
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
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Apply the stored event again through the same path as the worker (it owns its transactions)."""
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        flows.replay(db, providers, inbox_id, actor=f"user:{user.id}")
    except NotFound as error:
        return render(request, "admin/missing.html", settings, status_code=404, user=user, message=error.message)
    return RedirectResponse(f"/admin/inbox/{inbox_id}?done=replayed", status_code=303)
