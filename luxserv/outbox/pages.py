"""Admin pages for outgoing mail: Sent / Pending / Dead letters, one message as it was sent, sending it again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from luxserv.accounts.models import User
from luxserv.core.errors import Conflict, NotFound
from luxserv.core.settings import Settings
from luxserv.outbox import service
from luxserv.outbox.models import OutboxStatus
from luxserv.web import csrf
from luxserv.web.deps import DatabaseDep, SessionDep, SettingsDep
from luxserv.web.rendering import page_user, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
TABS = ((OutboxStatus.sent, "Sent"), (OutboxStatus.pending, "Pending"), (OutboxStatus.dead, "Dead letters"))


@router.get("/admin/mail", response_class=HTMLResponse, response_model=None)
def mail_page(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    status: OutboxStatus = OutboxStatus.sent,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    query = q.strip()
    rows, total = service.list_messages(
        session, service.MailFilter(status=status, q=query or None), limit=PAGE_SIZE, offset=offset
    )
    return render(
        request,
        "admin/mail.html",
        settings,
        user=user,
        tabs=TABS,
        status=status,
        counts=service.counts(session, query or None),
        q=query,
        messages=[service.MailView.of(m) for m in rows],
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        folder=service.development_mail_folder(settings),
    )


@router.get("/admin/mail/{outbox_id}", response_class=HTMLResponse, response_model=None)
def mail_message_page(
    outbox_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    retried: bool = False,
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    return _message_page(request, session, settings, user, outbox_id, retried=retried)


@router.post("/admin/mail/{outbox_id}/retry", response_model=None)
def mail_retry(
    outbox_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        service.retry(session, outbox_id, actor=f"user:{user.id}")
    except Conflict as error:
        return _message_page(request, session, settings, user, outbox_id, error=error.message, status_code=409)
    return RedirectResponse(f"/admin/mail/{outbox_id}?retried=true", status_code=303)


def _message_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    outbox_id: int,
    *,
    retried: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        view: service.MailView | None = service.MailView.of(service.get_message(session, outbox_id))
    except NotFound:
        view = None
    return render(
        request,
        "admin/mail_message.html",
        settings,
        status_code=status_code if view is not None else 404,
        user=user,
        view=view,
        outbox_id=outbox_id,
        mail_from=settings.mail_from,
        folder=service.development_mail_folder(settings),
        retried=retried,
        error=error,
    )
