"""Admin pages for properties and owners: lists, create and edit forms, listing ids, aliases, owner logins.

Plain HTML forms (CSRF token, post/redirect/get); a refused form is shown again with each message next to its
field. Only admins and staff see these pages.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from luxserv.accounts.models import User
from luxserv.core.clock import local_today
from luxserv.core.errors import LuxServError, NotFound
from luxserv.properties import admin, maintenance
from luxserv.properties.models import DEFAULT_TIME_ZONE, Owner, Property
from luxserv.web import pagekit
from luxserv.web.errors import status_for
from luxserv.web.forms import FormFlag, FormText, Page, PageDep, actor, number_or_text

router = APIRouter(include_in_schema=False)

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


def _property_form(
    name: FormText = "",
    address: FormText = "",
    city: FormText = "",
    state: FormText = "",
    postal_code: FormText = "",
    time_zone: FormText = "",
    bedrooms: FormText = "",
    max_guests: FormText = "",
    owner_id: FormText = "",
    is_active: FormFlag = False,
) -> dict[str, Any]:
    """The property form as submitted (shown again when refused)."""
    return {"name": name, "address": address, "city": city, "state": state, "postal_code": postal_code,
            "time_zone": time_zone, "bedrooms": bedrooms, "max_guests": max_guests, "owner_id": owner_id,
            "is_active": is_active}  # fmt: skip


def _owner_form(name: FormText = "", email: FormText = "", phone: FormText = "") -> dict[str, Any]:
    """The owner form as submitted (shown again when refused)."""
    return {"name": name, "email": email, "phone": phone}


PropertyForm = Annotated[dict[str, Any], Depends(_property_form)]
OwnerForm = Annotated[dict[str, Any], Depends(_owner_form)]


# --- properties --------------------------------------------------------------------------------------------------


@router.get("/admin/properties", response_class=HTMLResponse, response_model=None)
def properties_page(page: PageDep, q: str = "", done: str = "") -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    rows = admin.list_properties(page.session, search=q[:200], today=local_today(DEFAULT_TIME_ZONE))
    return page.render("admin/properties.html", user, rows=rows, q=q, notice=PROPERTY_NOTICES.get(done))


@router.get("/admin/properties/new", response_class=HTMLResponse, response_model=None)
def new_property_page(page: PageDep) -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    form = {"time_zone": DEFAULT_TIME_ZONE, "is_active": True, "state": "FL", "city": "Panama City Beach"}
    return _property_page(page, user, None, form=form)


@router.post("/admin/properties/new", response_class=HTMLResponse, response_model=None)
def create_property(page: PageDep, form: PropertyForm, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        prop = admin.create_property(page.session, _property_values(form), actor=actor(user))
    except LuxServError as error:
        return _property_page(page, user, None, form=form, errors=_errors(error), status_code=status_for(error))
    return RedirectResponse(f"/admin/properties/{prop.id}?done=created", status_code=303)


@router.get("/admin/properties/{property_id}", response_class=HTMLResponse, response_model=None)
def property_page(property_id: int, page: PageDep, done: str = "") -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    try:
        prop = admin.get_property(page.session, property_id)
    except NotFound as error:
        return pagekit.missing(page.request, page.settings, user, error)
    return _property_page(page, user, prop, notice=PROPERTY_NOTICES.get(done))


@router.post("/admin/properties/{property_id}", response_class=HTMLResponse, response_model=None)
def update_property(property_id: int, page: PageDep, form: PropertyForm, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.update_property(page.session, property_id, _property_values(form), actor=actor(user))
    except LuxServError as error:
        return _property_refused(page, user, property_id, error, form=form, errors=_errors(error))
    return RedirectResponse(f"/admin/properties/{property_id}?done=saved", status_code=303)


@router.post("/admin/properties/{property_id}/delete", response_class=HTMLResponse, response_model=None)
def delete_property(property_id: int, page: PageDep, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.delete_property(page.session, property_id, actor=actor(user))
    except LuxServError as error:
        return _property_refused(page, user, property_id, error, delete_error=error.message)
    return RedirectResponse("/admin/properties?done=deleted", status_code=303)


@router.post("/admin/properties/{property_id}/listings", response_class=HTMLResponse, response_model=None)
def add_listing(
    property_id: int, page: PageDep, csrf_token: FormText = "", provider: FormText = "", listing_id: FormText = ""
) -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.add_listing(page.session, property_id, provider, listing_id, actor=actor(user))
    except LuxServError as error:
        listing_form = {"provider": provider, "listing_id": listing_id}
        return _property_refused(
            page, user, property_id, error, listing_form=listing_form, listing_errors=_errors(error)
        )
    return RedirectResponse(f"/admin/properties/{property_id}?done=listing_added#listings", status_code=303)


@router.post(
    "/admin/properties/{property_id}/listings/{listing_pk}/delete", response_class=HTMLResponse, response_model=None
)
def remove_listing(property_id: int, listing_pk: int, page: PageDep, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.remove_listing(page.session, property_id, listing_pk, actor=actor(user))
    except NotFound as error:
        return pagekit.missing(page.request, page.settings, user, error)
    return RedirectResponse(f"/admin/properties/{property_id}?done=listing_removed#listings", status_code=303)


@router.post("/admin/properties/{property_id}/aliases", response_class=HTMLResponse, response_model=None)
def add_alias(property_id: int, page: PageDep, csrf_token: FormText = "", alias: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.add_alias(page.session, property_id, alias, actor=actor(user))
    except LuxServError as error:
        return _property_refused(
            page, user, property_id, error, alias_form={"alias": alias}, alias_errors=_errors(error)
        )
    return RedirectResponse(f"/admin/properties/{property_id}?done=alias_added#aliases", status_code=303)


@router.post(
    "/admin/properties/{property_id}/aliases/{alias_id}/delete", response_class=HTMLResponse, response_model=None
)
def remove_alias(property_id: int, alias_id: int, page: PageDep, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.remove_alias(page.session, property_id, alias_id, actor=actor(user))
    except LuxServError as error:
        return _property_refused(page, user, property_id, error, alias_errors=_errors(error))
    return RedirectResponse(f"/admin/properties/{property_id}?done=alias_removed#aliases", status_code=303)


def _property_page(
    page: Page,
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
    return page.render(
        "admin/property.html",
        user,
        status_code=status_code,
        prop=prop,
        form=form,
        errors=errors or {},
        owners=admin.owner_choices(page.session),
        zones=ZONE_SUGGESTIONS,
        providers=admin.KNOWN_PROVIDERS,
        listing_form=listing_form or {},
        listing_errors=listing_errors or {},
        alias_form=alias_form or {},
        alias_errors=alias_errors or {},
        delete_error=delete_error,
        maintenance=maintenance.list_items(page.session, prop.id) if prop else [],
        notice=notice,
    )


def _property_refused(page: Page, user: User, property_id: int, error: LuxServError, **shown: Any) -> Response:
    """After a refused change: the 404 page when the property is not there, else its page again showing `shown`."""
    if isinstance(error, NotFound):
        return pagekit.missing(page.request, page.settings, user, error)
    prop = admin.get_property(page.session, property_id)
    return _property_page(page, user, prop, status_code=status_for(error), **shown)


def _property_values(form: dict[str, Any]) -> dict[str, Any]:
    """What the service checks: blanks become None, numbers ints; anything else is left for it to refuse."""
    values = dict(form)
    for field in ("bedrooms", "max_guests", "owner_id"):
        values[field] = number_or_text(form[field])
    return values


# --- owners ------------------------------------------------------------------------------------------------------


@router.get("/admin/owners", response_class=HTMLResponse, response_model=None)
def owners_page(page: PageDep, q: str = "", done: str = "") -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    rows = admin.list_owners(page.session, search=q[:200])
    return page.render("admin/owners.html", user, rows=rows, q=q, notice=OWNER_NOTICES.get(done))


@router.get("/admin/owners/new", response_class=HTMLResponse, response_model=None)
def new_owner_page(page: PageDep) -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    return _owner_page(page, user, None, form={})


@router.post("/admin/owners/new", response_class=HTMLResponse, response_model=None)
def create_owner(page: PageDep, form: OwnerForm, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        owner = admin.create_owner(page.session, form, actor=actor(user))
    except LuxServError as error:
        return _owner_page(page, user, None, form=form, errors=_errors(error), status_code=status_for(error))
    return RedirectResponse(f"/admin/owners/{owner.id}?done=created", status_code=303)


@router.get("/admin/owners/{owner_id}", response_class=HTMLResponse, response_model=None)
def owner_page(owner_id: int, page: PageDep, done: str = "") -> Response:
    user = page.user(staff=True)
    if not isinstance(user, User):
        return user
    try:
        owner = admin.get_owner(page.session, owner_id)
    except NotFound as error:
        return pagekit.missing(page.request, page.settings, user, error)
    return _owner_page(page, user, owner, notice=OWNER_NOTICES.get(done))


@router.post("/admin/owners/{owner_id}", response_class=HTMLResponse, response_model=None)
def update_owner(owner_id: int, page: PageDep, form: OwnerForm, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        admin.update_owner(page.session, owner_id, form, actor=actor(user))
    except LuxServError as error:
        return _owner_refused(page, user, owner_id, error, form=form, errors=_errors(error))
    return RedirectResponse(f"/admin/owners/{owner_id}?done=saved", status_code=303)


@router.post("/admin/owners/{owner_id}/logins", response_class=HTMLResponse, response_model=None)
def create_owner_login(
    owner_id: int, page: PageDep, csrf_token: FormText = "", email: FormText = "", full_name: FormText = ""
) -> Response:
    """Create the login and show its generated password on this response only.

    Deliberately no redirect: the password is never stored in clear, so it cannot be shown by a later GET.
    """
    user = page.poster(csrf_token, staff=True)
    if not isinstance(user, User):
        return user
    try:
        login, password = admin.create_owner_login(
            page.session, owner_id, email=email, full_name=full_name, actor=actor(user)
        )
    except LuxServError as error:
        return _owner_refused(
            page, user, owner_id, error, login_form={"email": email, "full_name": full_name},
            login_errors=_errors(error, default_field="email"),
        )  # fmt: skip
    owner = admin.get_owner(page.session, owner_id)
    new_login = {"email": login.email, "password": password}
    response = _owner_page(page, user, owner, new_login=new_login, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    return response


def _owner_page(
    page: Page,
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
    return page.render(
        "admin/owner.html",
        user,
        status_code=status_code,
        owner=owner,
        form=form,
        errors=errors or {},
        logins=admin.owner_logins(page.session, owner.id) if owner else [],
        login_form=login_form or {},
        login_errors=login_errors or {},
        new_login=new_login,
        notice=notice,
    )


def _owner_refused(page: Page, user: User, owner_id: int, error: LuxServError, **shown: Any) -> Response:
    """After a refused change: the 404 page when the owner is not there, else their page again showing `shown`."""
    if isinstance(error, NotFound):
        return pagekit.missing(page.request, page.settings, user, error)
    owner = admin.get_owner(page.session, owner_id)
    return _owner_page(page, user, owner, status_code=status_for(error), **shown)


# --- helpers -----------------------------------------------------------------------------------------------------


def _errors(error: LuxServError, *, default_field: str = "_") -> dict[str, str]:
    """Messages by field (`_`: about the whole form)."""
    if isinstance(error, admin.InvalidFields):
        return dict(error.errors)
    return {error.field or default_field: error.message}
