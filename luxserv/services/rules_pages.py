"""Admin page for automation rules and the service catalogue: edit forms, enable/disable, and re-planning.

Editing a rule re-plans nothing by itself; the page shows what re-planning future bookings would change
(`replan.preview`) with a button to apply it (`replan.apply_replan`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from luxserv.accounts.models import User
from luxserv.core.clock import local_today
from luxserv.core.errors import LuxServError, NotFound
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services import catalog, replan
from luxserv.services.models import Anchor, Condition
from luxserv.web.errors import status_for
from luxserv.web.forms import FormFlag, FormText, Page, PageDep, actor, number_or_text, whole_number

router = APIRouter(include_in_schema=False)
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]  # ids are 32-bit integers in the database

NOTICES = {
    "rule_created": "Rule created. It applies to bookings planned from now on; re-plan below to extend it.",
    "rule_saved": "Rule saved. Re-plan below to apply it to bookings already planned.",
    "rule_enabled": "Rule switched on. Re-plan below to apply it to bookings already planned.",
    "rule_disabled": "Rule switched off. Re-plan below to cancel its pending requests.",
    "type_created": "Service added to the catalogue.",
    "type_saved": "Service saved.",
}


def _type_form(
    name: FormText = "", default_time: FormText = "", guest_requestable: FormFlag = False, active: FormFlag = False
) -> dict[str, Any]:
    """A catalogue service's form as submitted (shown again when refused)."""
    return {"name": name, "default_time": default_time, "guest_requestable": guest_requestable, "active": active}


TypeForm = Annotated[dict[str, Any], Depends(_type_form)]


@router.get("/admin/rules", response_class=HTMLResponse, response_model=None)
def rules_page(page: PageDep, done: str = "", changes: str = "", replan_rule: str = "") -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    notice = NOTICES.get(done)
    if done == "replanned" and changes.isdecimal():
        count = int(changes)
        notice = (
            f"Re-planned: {count} change{'s' if count != 1 else ''} made." if count else "Nothing needed to change."
        )
    return _page(page, user, notice=notice, scope=whole_number(replan_rule))


@router.post("/admin/rules/new", response_class=HTMLResponse, response_model=None)
def create_rule(
    page: PageDep,
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
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    form = {"key": key, "name": name, "service_type_id": service_type_id, "anchor": anchor,
            "offset_days": offset_days, "time_of_day": time_of_day, "condition": condition,
            "condition_value": condition_value, "enabled": enabled}  # fmt: skip
    try:
        catalog.create_rule(page.session, _rule_values(form), actor=actor(user))
    except LuxServError as error:
        return _refused(page, user, "new-rule", form, error)
    return RedirectResponse("/admin/rules?done=rule_created#rules", status_code=303)


@router.post("/admin/rules/replan", response_class=HTMLResponse, response_model=None)
def apply_replan(page: PageDep, csrf_token: FormText = "", rule_id: FormText = "") -> Response:
    """Re-plan the bookings not yet ended (only `rule_id`'s requests' bookings when given)."""
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    today = local_today(DEFAULT_TIME_ZONE)
    try:
        done = replan.apply_replan(page.session, whole_number(rule_id), today=today, actor=actor(user))
    except NotFound as error:
        return _page(page, user, problem=error.message, status_code=404)
    return RedirectResponse(f"/admin/rules?done=replanned&changes={len(done)}#replan", status_code=303)


@router.post("/admin/rules/service-types/new", response_class=HTMLResponse, response_model=None)
def create_service_type(page: PageDep, form: TypeForm, csrf_token: FormText = "", key: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    sent = {"key": key, **form}
    try:
        catalog.create_service_type(page.session, _type_values(sent), actor=actor(user))
    except LuxServError as error:
        return _refused(page, user, "new-type", sent, error)
    return RedirectResponse("/admin/rules?done=type_created#catalogue", status_code=303)


@router.post("/admin/rules/service-types/{type_id}", response_class=HTMLResponse, response_model=None)
def update_service_type(type_id: IdPath, page: PageDep, form: TypeForm, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        catalog.update_service_type(page.session, type_id, _type_values(form), actor=actor(user))
    except LuxServError as error:
        return _refused(page, user, f"type-{type_id}", form, error)
    return RedirectResponse(f"/admin/rules?done=type_saved#type-{type_id}", status_code=303)


@router.post("/admin/rules/{rule_id}/enabled", response_class=HTMLResponse, response_model=None)
def switch_rule(rule_id: IdPath, page: PageDep, csrf_token: FormText = "", enabled: FormFlag = False) -> Response:
    """Switch a rule on or off everywhere (per-property overrides still apply)."""
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        catalog.update_rule(page.session, rule_id, {"enabled": enabled}, actor=actor(user))
    except NotFound as error:
        return _page(page, user, problem=error.message, status_code=404)
    done = "rule_enabled" if enabled else "rule_disabled"
    return RedirectResponse(f"/admin/rules?done={done}#rule-{rule_id}", status_code=303)


@router.post("/admin/rules/{rule_id}", response_class=HTMLResponse, response_model=None)
def update_rule(
    rule_id: IdPath,
    page: PageDep,
    csrf_token: FormText = "",
    name: FormText = "",
    service_type_id: FormText = "",
    anchor: FormText = "",
    offset_days: FormText = "",
    time_of_day: FormText = "",
    condition: FormText = "",
    condition_value: FormText = "",
) -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    form = {"name": name, "service_type_id": service_type_id, "anchor": anchor, "offset_days": offset_days,
            "time_of_day": time_of_day, "condition": condition, "condition_value": condition_value}  # fmt: skip
    try:
        catalog.update_rule(page.session, rule_id, _rule_values(form), actor=actor(user))
    except LuxServError as error:
        return _refused(page, user, f"rule-{rule_id}", form, error)
    return RedirectResponse(f"/admin/rules?done=rule_saved#rule-{rule_id}", status_code=303)


def _page(
    page: Page,
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
    rules = catalog.list_rules(page.session)
    if scope is not None and scope not in {r.id for r in rules}:
        scope = None
    today = local_today(DEFAULT_TIME_ZONE)
    return page.render(
        "admin/rules.html",
        user,
        status_code=status_code,
        rules=rules,
        service_types=catalog.list_service_types(page.session),
        anchors=list(Anchor),
        conditions=list(Condition),
        preview=replan.preview(page.session, scope, today=today),
        scope=scope,
        today=today,
        notice=notice,
        problem=problem,
        form_key=form_key,
        form=form or {},
        errors=errors or {},
    )


def _refused(page: Page, user: User, form_key: str, form: dict[str, Any], error: LuxServError) -> Response:
    """The page again with the refused form as sent and the message next to its field."""
    if isinstance(error, NotFound) and error.field is None:
        return _page(page, user, problem=error.message, status_code=404)
    field = error.field if error.field in form else "_"
    return _page(page, user, form_key=form_key, form=form, errors={field: error.message}, status_code=status_for(error))


def _rule_values(form: dict[str, Any]) -> dict[str, Any]:
    """Form text to what `catalog` checks: numbers as ints, a blank time as none; the rest as sent."""
    values = dict(form)
    for field in ("service_type_id", "offset_days"):
        if field in values:
            values[field] = number_or_text(values[field], signed=True)
    if "time_of_day" in values:
        values["time_of_day"] = values["time_of_day"].strip() or None
    return values


def _type_values(form: dict[str, Any]) -> dict[str, Any]:
    values = dict(form)
    values["default_time"] = values["default_time"].strip() or None
    return values
