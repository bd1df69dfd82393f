"""Admin pages for outgoing mail: Sent / Pending / Dead letters, one message as it was sent, sending it again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from luxserv.accounts.models import User
from luxserv.core.errors import Conflict, NotFound
from luxserv.outbox import service
from luxserv.outbox.models import OutboxStatus
from luxserv.web.forms import FormText, Page, PageDep, actor

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
TABS = ((OutboxStatus.sent, "Sent"), (OutboxStatus.pending, "Pending"), (OutboxStatus.dead, "Dead letters"))


@router.get("/admin/mail", response_class=HTMLResponse, response_model=None)
def mail_page(
    page: PageDep,
    status: OutboxStatus = OutboxStatus.sent,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    query = q.strip()
    rows, total = service.list_messages(
        page.session, service.MailFilter(status=status, q=query or None), limit=PAGE_SIZE, offset=offset
    )
    return page.render(
        "admin/mail.html",
        user,
        tabs=TABS,
        status=status,
        counts=service.counts(page.session, query or None),
        q=query,
        messages=[service.MailView.of(m) for m in rows],
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        folder=service.development_mail_folder(page.settings),
    )


@router.get("/admin/mail/{outbox_id}", response_class=HTMLResponse, response_model=None)
def mail_message_page(outbox_id: int, page: PageDep, retried: bool = False) -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    return _message_page(page, user, outbox_id, retried=retried)


@router.post("/admin/mail/{outbox_id}/retry", response_model=None)
def mail_retry(outbox_id: int, page: PageDep, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        service.retry(page.session, outbox_id, actor=actor(user))
    except Conflict as error:
        return _message_page(page, user, outbox_id, error=error.message, status_code=409)
    return RedirectResponse(f"/admin/mail/{outbox_id}?retried=true", status_code=303)


def _message_page(
    page: Page,
    user: User,
    outbox_id: int,
    *,
    retried: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        view: service.MailView | None = service.MailView.of(service.get_message(page.session, outbox_id))
    except NotFound:
        view = None
    return page.render(
        "admin/mail_message.html",
        user,
        status_code=status_code if view is not None else 404,
        view=view,
        outbox_id=outbox_id,
        mail_from=page.settings.mail_from,
        folder=service.development_mail_folder(page.settings),
        retried=retried,
        error=error,
    )
