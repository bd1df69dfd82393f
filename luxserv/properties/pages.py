"""Admin pages for properties and owners: lists, create and edit forms, listing ids, aliases, owner logins.

Plain HTML forms (CSRF token, post/redirect/get); a refused form is shown again with each message next to its
field. Only admins and staff see these pages.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from luxserv.accounts.models import User
from luxserv.core.clock import local_today
from luxserv.core.errors import LuxServError, NotFound
from luxserv.core.settings import Settings
from luxserv.properties import admin, maintenance
from luxserv.properties.models import DEFAULT_TIME_ZONE, Owner, Property
from luxserv.web import csrf
from luxserv.web.deps import DatabaseDep, SessionDep, SettingsDep
from luxserv.web.errors import status_for
from luxserv.web.rendering import page_user, render

router = APIRouter(include_in_schema=False)

OptionalText = Annotated[str, Form()]
CsrfField = Annotated[str, Form()]

PROPERTY_NOTICES = {
    "created": "Property created. Add its channel listing ids so bookings match it directly.",
    "saved": "Changes saved.",
    "deleted": "Property deleted.",
    "listing_added": "Channel listing linked: events carrying it now match this property.",
    "listing_removed": "Channel listing unlinked.",
    "alias_added": "Alias added: events naming the property this way now match it.",
    "alias_removed": "Alias removed.",
}
OWNER_NOTICES = {"created": "Owner created.", "saved": "Changes saved."}
# Suggestions for the time zone field (any IANA name is accepted).
ZONE_SUGGESTIONS = sorted(z for z in available_timezones() if z.startswith(("America/", "Pacific/Honolulu", "UTC")))


# --- properties --------------------------------------------------------------------------------------------------


@router.get("/admin/properties", response_class=HTMLResponse, response_model=None)
def properties_page(
    request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep, q: str = "", done: str = ""
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    rows = admin.list_properties(session, search=q[:200], today=local_today(DEFAULT_TIME_ZONE))
    return render(
        request, "admin/properties.html", settings, user=user, rows=rows, q=q, notice=PROPERTY_NOTICES.get(done)
    )


@router.get("/admin/properties/new", response_class=HTMLResponse, response_model=None)
def new_property_page(request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = {"time_zone": DEFAULT_TIME_ZONE, "is_active": True, "state": "FL", "city": "Panama City Beach"}
    return _property_form_page(request, session, settings, user, None, form=form)


@router.post("/admin/properties/new", response_class=HTMLResponse, response_model=None)
def create_property(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
    name: OptionalText = "",
    address: OptionalText = "",
    city: OptionalText = "",
    state: OptionalText = "",
    postal_code: OptionalText = "",
    time_zone: OptionalText = "",
    bedrooms: OptionalText = "",
    max_guests: OptionalText = "",
    owner_id: OptionalText = "",
    is_active: Annotated[bool, Form()] = False,
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = _property_form(name, address, city, state, postal_code, time_zone, bedrooms, max_guests, owner_id, is_active)
    try:
        prop = admin.create_property(session, _property_values(form), actor=f"user:{user.id}")
    except LuxServError as error:
        return _property_form_page(
            request, session, settings, user, None, form=form, errors=_errors(error), status_code=status_for(error)
        )
    return RedirectResponse(f"/admin/properties/{prop.id}?done=created", status_code=303)


@router.get("/admin/properties/{property_id}", response_class=HTMLResponse, response_model=None)
def property_page(
    property_id: int, request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep, done: str = ""
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        prop = admin.get_property(session, property_id)
    except NotFound as error:
        return _missing(request, settings, user, error)
    return _property_form_page(request, session, settings, user, prop, notice=PROPERTY_NOTICES.get(done))


@router.post("/admin/properties/{property_id}", response_class=HTMLResponse, response_model=None)
def update_property(
    property_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
    name: OptionalText = "",
    address: OptionalText = "",
    city: OptionalText = "",
    state: OptionalText = "",
    postal_code: OptionalText = "",
    time_zone: OptionalText = "",
    bedrooms: OptionalText = "",
    max_guests: OptionalText = "",
    owner_id: OptionalText = "",
    is_active: Annotated[bool, Form()] = False,
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = _property_form(name, address, city, state, postal_code, time_zone, bedrooms, max_guests, owner_id, is_active)
    try:
        admin.update_property(session, property_id, _property_values(form), actor=f"user:{user.id}")
    except NotFound as error:
        return _missing(request, settings, user, error)
    except LuxServError as error:
        prop = admin.get_property(session, property_id)
        return _property_form_page(
            request, session, settings, user, prop, form=form, errors=_errors(error), status_code=status_for(error)
        )
    return RedirectResponse(f"/admin/properties/{property_id}?done=saved", status_code=303)


@router.post("/admin/properties/{property_id}/delete", response_class=HTMLResponse, response_model=None)
def delete_property(
    property_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.delete_property(session, property_id, actor=f"user:{user.id}")
    except NotFound as error:
        return _missing(request, settings, user, error)
    except LuxServError as error:
        prop = admin.get_property(session, property_id)
        return _property_form_page(
            request, session, settings, user, prop, delete_error=error.message, status_code=status_for(error)
        )
    return RedirectResponse("/admin/properties?done=deleted", status_code=303)


@router.post("/admin/properties/{property_id}/listings", response_class=HTMLResponse, response_model=None)
def add_listing(
    property_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
    provider: OptionalText = "",
    listing_id: OptionalText = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.add_listing(session, property_id, provider, listing_id, actor=f"user:{user.id}")
    except NotFound as error:
        return _missing(request, settings, user, error)
    except LuxServError as error:
        prop = admin.get_property(session, property_id)
        listing_form = {"provider": provider, "listing_id": listing_id}
        return _property_form_page(
            request, session, settings, user, prop, listing_form=listing_form, listing_errors=_errors(error),
            status_code=status_for(error),
        )  # fmt: skip
    return RedirectResponse(f"/admin/properties/{property_id}?done=listing_added#listings", status_code=303)


@router.post(
    "/admin/properties/{property_id}/listings/{listing_pk}/delete", response_class=HTMLResponse, response_model=None
)
def remove_listing(
    property_id: int,
    listing_pk: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.remove_listing(session, property_id, listing_pk, actor=f"user:{user.id}")
    except NotFound as error:
        return _missing(request, settings, user, error)
    return RedirectResponse(f"/admin/properties/{property_id}?done=listing_removed#listings", status_code=303)


@router.post("/admin/properties/{property_id}/aliases", response_class=HTMLResponse, response_model=None)
def add_alias(
    property_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
    alias: OptionalText = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.add_alias(session, property_id, alias, actor=f"user:{user.id}")
    except NotFound as error:
        return _missing(request, settings, user, error)
    except LuxServError as error:
        prop = admin.get_property(session, property_id)
        return _property_form_page(
            request, session, settings, user, prop, alias_form={"alias": alias}, alias_errors=_errors(error),
            status_code=status_for(error),
        )  # fmt: skip
    return RedirectResponse(f"/admin/properties/{property_id}?done=alias_added#aliases", status_code=303)


@router.post(
    "/admin/properties/{property_id}/aliases/{alias_id}/delete", response_class=HTMLResponse, response_model=None
)
def remove_alias(
    property_id: int,
    alias_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.remove_alias(session, property_id, alias_id, actor=f"user:{user.id}")
    except NotFound as error:
        return _missing(request, settings, user, error)
    except LuxServError as error:
        prop = admin.get_property(session, property_id)
        return _property_form_page(
            request, session, settings, user, prop, alias_errors=_errors(error), status_code=status_for(error)
        )
    return RedirectResponse(f"/admin/properties/{property_id}?done=alias_removed#aliases", status_code=303)


def _property_form_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    prop: Property | None,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    listing_form: dict[str, str] | None = None,
    listing_errors: dict[str, str] | None = None,
    alias_form: dict[str, str] | None = None,
    alias_errors: dict[str, str] | None = None,
    delete_error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    """The new-property page (no `prop`) or a property's page: its form, listings, aliases and maintenance."""
    if form is None:
        assert prop is not None
        form = {field: getattr(prop, field) for field in admin.PROPERTY_FIELDS}
    return render(
        request,
        "admin/property.html",
        settings,
        status_code=status_code,
        user=user,
        prop=prop,
        form=form,
        errors=errors or {},
        owners=admin.owner_choices(session),
        zones=ZONE_SUGGESTIONS,
        providers=admin.KNOWN_PROVIDERS,
        listing_form=listing_form or {},
        listing_errors=listing_errors or {},
        alias_form=alias_form or {},
        alias_errors=alias_errors or {},
        delete_error=delete_error,
        maintenance=maintenance.list_items(session, prop.id) if prop else [],
        notice=notice,
    )


def _property_form(
    name: str,
    address: str,
    city: str,
    state: str,
    postal_code: str,
    time_zone: str,
    bedrooms: str,
    max_guests: str,
    owner_id: str,
    is_active: bool,
) -> dict[str, Any]:
    """The form as submitted (shown again when refused)."""
    return {
        "name": name,
        "address": address,
        "city": city,
        "state": state,
        "postal_code": postal_code,
        "time_zone": time_zone,
        "bedrooms": bedrooms,
        "max_guests": max_guests,
        "owner_id": owner_id,
        "is_active": is_active,
    }


def _property_values(form: dict[str, Any]) -> dict[str, Any]:
    """What the service checks: blanks become None, numbers ints; anything else is left for it to refuse."""
    values = dict(form)
    for field in ("bedrooms", "max_guests", "owner_id"):
        values[field] = _number(form[field])
    return values


# --- owners ------------------------------------------------------------------------------------------------------


@router.get("/admin/owners", response_class=HTMLResponse, response_model=None)
def owners_page(
    request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep, q: str = "", done: str = ""
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    rows = admin.list_owners(session, search=q[:200])
    return render(request, "admin/owners.html", settings, user=user, rows=rows, q=q, notice=OWNER_NOTICES.get(done))


@router.get("/admin/owners/new", response_class=HTMLResponse, response_model=None)
def new_owner_page(request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    return _owner_page(request, session, settings, user, None, form={})


@router.post("/admin/owners/new", response_class=HTMLResponse, response_model=None)
def create_owner(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
    name: OptionalText = "",
    email: OptionalText = "",
    phone: OptionalText = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = {"name": name, "email": email, "phone": phone}
    try:
        owner = admin.create_owner(session, form, actor=f"user:{user.id}")
    except LuxServError as error:
        return _owner_page(
            request, session, settings, user, None, form=form, errors=_errors(error), status_code=status_for(error)
        )
    return RedirectResponse(f"/admin/owners/{owner.id}?done=created", status_code=303)


@router.get("/admin/owners/{owner_id}", response_class=HTMLResponse, response_model=None)
def owner_page(
    owner_id: int, request: Request, db: DatabaseDep, session: SessionDep, settings: SettingsDep, done: str = ""
) -> Response:
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        owner = admin.get_owner(session, owner_id)
    except NotFound as error:
        return _missing(request, settings, user, error)
    return _owner_page(request, session, settings, user, owner, notice=OWNER_NOTICES.get(done))


@router.post("/admin/owners/{owner_id}", response_class=HTMLResponse, response_model=None)
def update_owner(
    owner_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
    name: OptionalText = "",
    email: OptionalText = "",
    phone: OptionalText = "",
) -> Response:
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    form = {"name": name, "email": email, "phone": phone}
    try:
        admin.update_owner(session, owner_id, form, actor=f"user:{user.id}")
    except NotFound as error:
        return _missing(request, settings, user, error)
    except LuxServError as error:
        owner = admin.get_owner(session, owner_id)
        return _owner_page(
            request, session, settings, user, owner, form=form, errors=_errors(error), status_code=status_for(error)
        )
    return RedirectResponse(f"/admin/owners/{owner_id}?done=saved", status_code=303)


@router.post("/admin/owners/{owner_id}/logins", response_class=HTMLResponse, response_model=None)
def create_owner_login(
    owner_id: int,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: CsrfField = "",
    email: OptionalText = "",
    full_name: OptionalText = "",
) -> Response:
    """Create the login and show its generated password on this response only.

    Deliberately no redirect: the password is never stored in clear, so it cannot be shown by a later GET.
    """
    csrf.check(request, csrf_token)
    user = page_user(request, db, settings, staff=True)
    if not isinstance(user, User):
        return user
    try:
        login, password = admin.create_owner_login(
            session, owner_id, email=email, full_name=full_name, actor=f"user:{user.id}"
        )
    except NotFound as error:
        return _missing(request, settings, user, error)
    except LuxServError as error:
        owner = admin.get_owner(session, owner_id)
        return _owner_page(
            request, session, settings, user, owner, login_form={"email": email, "full_name": full_name},
            login_errors=_errors(error, default_field="email"), status_code=status_for(error),
        )  # fmt: skip
    owner = admin.get_owner(session, owner_id)
    response = _owner_page(
        request, session, settings, user, owner, new_login={"email": login.email, "password": password},
        status_code=201,
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


def _owner_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    owner: Owner | None,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    login_form: dict[str, str] | None = None,
    login_errors: dict[str, str] | None = None,
    new_login: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    """The new-owner page (no `owner`) or an owner's page: the form, their homes and their logins."""
    if form is None:
        assert owner is not None
        form = {field: getattr(owner, field) or "" for field in admin.OWNER_FIELDS}
    return render(
        request,
        "admin/owner.html",
        settings,
        status_code=status_code,
        user=user,
        owner=owner,
        form=form,
        errors=errors or {},
        logins=admin.owner_logins(session, owner.id) if owner else [],
        login_form=login_form or {},
        login_errors=login_errors or {},
        new_login=new_login,
        notice=notice,
    )


# --- helpers -----------------------------------------------------------------------------------------------------


def _errors(error: LuxServError, *, default_field: str = "_") -> dict[str, str]:
    """Messages by field (`_`: about the whole form)."""
    if isinstance(error, admin.InvalidFields):
        return dict(error.errors)
    return {error.field or default_field: error.message}


def _number(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 10 else text


def _missing(request: Request, settings: Settings, user: User, error: LuxServError) -> Response:
    return render(request, "admin/missing.html", settings, status_code=404, user=user, message=error.message)
