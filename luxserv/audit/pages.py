"""Admin page for the audit log: who changed what, when; filtered and paginated, newest first."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from luxserv.accounts.models import User
from luxserv.audit import queries
from luxserv.audit.models import AuditEntry
from luxserv.core.errors import InvalidInput
from luxserv.web import pagekit
from luxserv.web.forms import PageDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
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
    page: PageDep,
    entity_type: str = "",
    entity_id: str = "",
    actor: str = "",
    action: str = "",
    date_from: str = "",
    date_to: str = "",
    offset: int = 0,
) -> Response:
    user = page.user(staff=True)
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
    offset = pagekit.bounded_offset(offset)
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
            rows, total = queries.list_entries(page.session, flt, limit=PAGE_SIZE, offset=offset)
        except InvalidInput as error:
            errors[error.field or "_"] = error.message
    return page.render(
        "admin/audit.html",
        user,
        status_code=422 if errors else 200,
        rows=rows,
        total=total,
        limit=PAGE_SIZE,
        offset=offset,
        form=form,
        errors=errors,
        entity_types=queries.entity_types(page.session),
        actors=queries.actor_labels(page.session, rows),
        entity_links={e.id: ENTITY_PAGES[e.entity_type].format(e.entity_id) for e in rows
               if e.entity_type in ENTITY_PAGES and e.entity_id is not None},
        filtered=any(value.strip() for value in form.values()),
    )  # fmt: skip


def _whole_number(text: str, field: str, errors: dict[str, str]) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdecimal() or len(text) > 10 or int(text) > 2**31 - 1:
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
