"""Admin page for the audit log: who changed what, when; filtered and paginated, newest first."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from luxserv.accounts.models import User
from luxserv.audit import queries
from luxserv.audit.models import AuditEntry
from luxserv.core.errors import InvalidInput
from luxserv.web.deps import DatabaseDep, SessionDep, SettingsDep
from luxserv.web.rendering import page_user, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
MAX_OFFSET = 10**9
# Pages that show an entity, for links from its entries.
ENTITY_PAGES = {
    "property": "/admin/properties/{}",
    "owner": "/admin/owners/{}",
    "booking": "/admin/bookings/{}",
    "guest": "/admin/guests/{}",
    "inbox_event": "/admin/inbox/{}",
}


@router.get("/admin/audit", response_class=HTMLResponse, response_model=None)
def audit_page(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    entity_type: str = "",
    entity_id: str = "",
    actor: str = "",
    action: str = "",
    date_from: str = "",
    date_to: str = "",
    offset: int = 0,
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = {"entity_type": entity_type, "entity_id": entity_id, "actor": actor, "action": action,
            "date_from": date_from, "date_to": date_to}  # fmt: skip
    errors: dict[str, str] = {}
    entity = _whole_number(entity_id, "entity_id", errors)
    start = _day(date_from, "date_from", errors)
    end = _day(date_to, "date_to", errors)
    rows: list[AuditEntry] = []
    total = 0
    offset = min(max(offset, 0), MAX_OFFSET)
    if not errors:
        flt = queries.AuditFilter(
            entity_type=entity_type.strip() or None,
            entity_id=entity,
            actor=actor.strip() or None,
            action_prefix=action.strip() or None,
            date_from=start,
            date_to=end,
        )
        try:
            rows, total = queries.list_entries(session, flt, limit=PAGE_SIZE, offset=offset)
        except InvalidInput as error:
            errors[error.field or "_"] = error.message
    return render(
        request,
        "admin/audit.html",
        settings,
        status_code=422 if errors else 200,
        user=user,
        rows=rows,
        total=total,
        limit=PAGE_SIZE,
        offset=offset,
        form=form,
        errors=errors,
        entity_types=queries.entity_types(session),
        actors=queries.actor_labels(session, rows),
        entity_links={e.id: ENTITY_PAGES[e.entity_type].format(e.entity_id) for e in rows
               if e.entity_type in ENTITY_PAGES and e.entity_id is not None},
        filtered=any(value.strip() for value in form.values()),
    )  # fmt: skip


def _whole_number(text: str, field: str, errors: dict[str, str]) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 10 or int(text) > 2**31 - 1:
        errors[field] = "enter a whole number (the id of the thing changed)"
        return None
    return int(text)


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = "enter a date as YYYY-MM-DD"
        return None
