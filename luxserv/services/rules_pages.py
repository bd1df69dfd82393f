"""Admin page for automation rules and the service catalogue: edit forms, enable/disable, and re-planning.

Editing a rule re-plans nothing by itself; the page shows what re-planning future bookings would change
(`replan.preview`) with a button to apply it (`replan.apply_replan`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from luxserv.accounts.models import User
from luxserv.core.clock import local_today
from luxserv.core.errors import LuxServError, NotFound
from luxserv.core.settings import Settings
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services import catalog, replan
from luxserv.services.models import Anchor, Condition
from luxserv.web import csrf
from luxserv.web.deps import DatabaseDep, SessionDep, SettingsDep
from luxserv.web.errors import status_for
from luxserv.web.rendering import page_user, render

router = APIRouter(include_in_schema=False)
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]  # ids are 32-bit integers in the database
FormText = Annotated[str, Form()]
FormFlag = Annotated[bool, Form()]

NOTICES = {
    "rule_created": "Rule created. It applies to bookings planned from now on; re-plan below to extend it.",
    "rule_saved": "Rule saved. Re-plan below to apply it to bookings already planned.",
    "rule_enabled": "Rule switched on. Re-plan below to apply it to bookings already planned.",
    "rule_disabled": "Rule switched off. Re-plan below to cancel its pending requests.",
    "type_created": "Service added to the catalogue.",
    "type_saved": "Service saved.",
}


@router.get("/admin/rules", response_class=HTMLResponse, response_model=None)
def rules_page(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    done: str = "",
    changes: str = "",
    replan_rule: str = "",
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    notice = NOTICES.get(done)
    if done == "replanned" and changes.isdigit():
        count = int(changes)
        notice = (
            f"Re-planned: {count} change{'s' if count != 1 else ''} made." if count else "Nothing needed to change."
        )
    scope = int(replan_rule) if replan_rule.isdigit() and len(replan_rule) < 10 else None
    return _page(request, session, settings, user, notice=notice, scope=scope)


@router.post("/admin/rules/new", response_class=HTMLResponse, response_model=None)
def create_rule(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: FormText = "",
    key: FormText = "",
    name: FormText = "",
    service_type_id: FormText = "",
    anchor: FormText = "",
    offset_days: FormText = "0",
    time_of_day: FormText = "",
    condition: FormText = "always",
    condition_value: FormText = "",
    enabled: FormFlag = False,
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = {"key": key, "name": name, "service_type_id": service_type_id, "anchor": anchor,
            "offset_days": offset_days, "time_of_day": time_of_day, "condition": condition,
            "condition_value": condition_value, "enabled": enabled}  # fmt: skip
    try:
        catalog.create_rule(session, _rule_values(form), actor=f"user:{user.id}")
    except LuxServError as error:
        return _refused(request, session, settings, user, "new-rule", form, error)
    return RedirectResponse("/admin/rules?done=rule_created#rules", status_code=303)


@router.post("/admin/rules/replan", response_class=HTMLResponse, response_model=None)
def apply_replan(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: FormText = "",
    rule_id: FormText = "",
) -> Response:
    """Re-plan the bookings not yet ended (only `rule_id`'s requests' bookings when given)."""
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    scope = int(rule_id) if rule_id.isdigit() and len(rule_id) < 10 else None
    try:
        done = replan.apply_replan(session, scope, today=local_today(DEFAULT_TIME_ZONE), actor=f"user:{user.id}")
    except NotFound as error:
        return _page(request, session, settings, user, problem=error.message, status_code=404)
    return RedirectResponse(f"/admin/rules?done=replanned&changes={len(done)}#replan", status_code=303)


@router.post("/admin/rules/service-types/new", response_class=HTMLResponse, response_model=None)
def create_service_type(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: FormText = "",
    key: FormText = "",
    name: FormText = "",
    default_time: FormText = "",
    guest_requestable: FormFlag = False,
    active: FormFlag = False,
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = {"key": key, "name": name, "default_time": default_time, "guest_requestable": guest_requestable,
            "active": active}  # fmt: skip
    try:
        catalog.create_service_type(session, _type_values(form), actor=f"user:{user.id}")
    except LuxServError as error:
        return _refused(request, session, settings, user, "new-type", form, error)
    return RedirectResponse("/admin/rules?done=type_created#catalogue", status_code=303)


@router.post("/admin/rules/service-types/{type_id}", response_class=HTMLResponse, response_model=None)
def update_service_type(
    type_id: IdPath,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: FormText = "",
    name: FormText = "",
    default_time: FormText = "",
    guest_requestable: FormFlag = False,
    active: FormFlag = False,
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = {"name": name, "default_time": default_time, "guest_requestable": guest_requestable, "active": active}
    try:
        catalog.update_service_type(session, type_id, _type_values(form), actor=f"user:{user.id}")
    except LuxServError as error:
        return _refused(request, session, settings, user, f"type-{type_id}", form, error)
    return RedirectResponse(f"/admin/rules?done=type_saved#type-{type_id}", status_code=303)


@router.post("/admin/rules/{rule_id}/enabled", response_class=HTMLResponse, response_model=None)
def switch_rule(
    rule_id: IdPath,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: FormText = "",
    enabled: FormFlag = False,
) -> Response:
    """Switch a rule on or off everywhere (per-property overrides still apply)."""
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        catalog.update_rule(session, rule_id, {"enabled": enabled}, actor=f"user:{user.id}")
    except NotFound as error:
        return _page(request, session, settings, user, problem=error.message, status_code=404)
    done = "rule_enabled" if enabled else "rule_disabled"
    return RedirectResponse(f"/admin/rules?done={done}#rule-{rule_id}", status_code=303)


@router.post("/admin/rules/{rule_id}", response_class=HTMLResponse, response_model=None)
def update_rule(
    rule_id: IdPath,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: FormText = "",
    name: FormText = "",
    service_type_id: FormText = "",
    anchor: FormText = "",
    offset_days: FormText = "",
    time_of_day: FormText = "",
    condition: FormText = "",
    condition_value: FormText = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = {"name": name, "service_type_id": service_type_id, "anchor": anchor, "offset_days": offset_days,
            "time_of_day": time_of_day, "condition": condition, "condition_value": condition_value}  # fmt: skip
    try:
        catalog.update_rule(session, rule_id, _rule_values(form), actor=f"user:{user.id}")
    except LuxServError as error:
        return _refused(request, session, settings, user, f"rule-{rule_id}", form, error)
    return RedirectResponse(f"/admin/rules?done=rule_saved#rule-{rule_id}", status_code=303)


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    *,
    notice: str | None = None,
    problem: str | None = None,
    scope: int | None = None,
    form_key: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rules = catalog.list_rules(session)
    if scope is not None and scope not in {r.id for r in rules}:
        scope = None
    today = local_today(DEFAULT_TIME_ZONE)
    return render(
        request,
        "admin/rules.html",
        settings,
        status_code=status_code,
        user=user,
        rules=rules,
        service_types=catalog.list_service_types(session),
        anchors=list(Anchor),
        conditions=list(Condition),
        preview=replan.preview(session, scope, today=today),
        scope=scope,
        today=today,
        notice=notice,
        problem=problem,
        form_key=form_key,
        form=form or {},
        errors=errors or {},
    )


def _refused(
    request: Request, session: Session, settings: Settings, user: User, form_key: str, form: dict[str, Any],
    error: LuxServError,
) -> Response:  # fmt: skip
    """The page again with the refused form as sent and the message next to its field."""
    if isinstance(error, NotFound) and error.field is None:
        return _page(request, session, settings, user, problem=error.message, status_code=404)
    field = error.field if error.field in form else "_"
    return _page(
        request, session, settings, user, form_key=form_key, form=form, errors={field: error.message},
        status_code=status_for(error),
    )  # fmt: skip


def _rule_values(form: dict[str, Any]) -> dict[str, Any]:
    """Form text to what `catalog` checks: numbers as ints, a blank time as none; the rest as sent."""
    values = dict(form)
    for field in ("service_type_id", "offset_days"):
        if field in values:
            values[field] = _integer(values[field])
    if "time_of_day" in values:
        values["time_of_day"] = values["time_of_day"].strip() or None
    return values


def _type_values(form: dict[str, Any]) -> dict[str, Any]:
    values = dict(form)
    values["default_time"] = values["default_time"].strip() or None
    return values


def _integer(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    digits = text[1:] if text[:1] in "+-" else text
    return int(text) if digits.isdigit() and len(digits) < 10 else text
