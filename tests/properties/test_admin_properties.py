"""Managing owners and properties: the JSON API, the pages (forms, validation next to fields, listings, aliases,
deletion refused for homes with history, owner logins with a one-time password) and who may use them."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.accounts.models import Role
from luxserv.audit.models import AuditEntry
from luxserv.core.database import Database
from luxserv.properties import maintenance
from luxserv.properties.models import ChannelListing, MaintenanceItem, Property, PropertyAlias
from luxserv.services.models import Origin
from luxserv.services.requests import create_request
from tests.conftest import WEBHOOK_SECRET
from tests.factories import flat_payload, login, make_owner, make_property, make_user, post_signed


def form_token(client: TestClient, path: str) -> str:
    """Open a page (which sets the CSRF cookie) and read the token its forms carry."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def post_form(client: TestClient, path: str, data: dict[str, Any], *, page: str) -> Any:
    return client.post(path, data={**data, "csrf_token": form_token(client, page)}, follow_redirects=False)


def field_error(html: str, field_id: str) -> str:
    """The message shown under a field (by the id its input points to with aria-describedby)."""
    match = re.search(rf'id="{field_id}-error" class="field-error">([^<]*)<', html)
    assert match, f"no error shown for {field_id}"
    return match.group(1)


def audit(db: Database, action: str) -> list[AuditEntry]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def admin(app_client: TestClient, db: Database) -> TestClient:
    make_user(db)
    login(app_client)
    return app_client


# --- JSON API ----------------------------------------------------------------------------------------------------


def test_owners_api_create_read_update_and_search(admin: TestClient, db: Database) -> None:
    created = admin.post("/api/admin/owners", json={"name": "  Dana Whitfield ", "email": "Dana@Example.com"})
    assert created.status_code == 201, created.text
    owner = created.json()
    assert (owner["name"], owner["email"], owner["properties"], owner["logins"]) == (
        "Dana Whitfield", "Dana@example.com", [], []
    )  # fmt: skip
    make_property(db, owner_id=owner["id"])
    make_user(db, "dana@login.example", Role.owner, owner_id=owner["id"])

    got = admin.get(f"/api/admin/owners/{owner['id']}").json()
    assert [p["name"] for p in got["properties"]] == ["Beach Condo 123"]
    assert [u["email"] for u in got["logins"]] == ["dana@login.example"]

    patched = admin.patch(f"/api/admin/owners/{owner['id']}", json={"phone": "+1 850 555 0100"})
    assert patched.status_code == 200 and patched.json()["phone"] == "+1 850 555 0100"
    assert patched.json()["name"] == "Dana Whitfield"  # unsent fields stay
    assert audit(db, "owner.updated")[-1].details["changes"] == {"phone": [None, "+1 850 555 0100"]}

    admin.post("/api/admin/owners", json={"name": "Omar Haddad"})
    listed = admin.get("/api/admin/owners").json()
    assert [(o["name"], o["properties"], o["logins"]) for o in listed] == [
        ("Dana Whitfield", 1, 1), ("Omar Haddad", 0, 0)
    ]  # fmt: skip
    assert [o["name"] for o in admin.get("/api/admin/owners", params={"q": "omar"}).json()] == ["Omar Haddad"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "X", "email": "not-an-address"}, "email"),
        ({"name": "X" * 201}, "name"),
    ],
)
def test_owner_api_refuses_bad_values_naming_the_field(admin: TestClient, body: dict[str, Any], field: str) -> None:
    response = admin.post("/api/admin/owners", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_properties_api_create_update_and_validation(admin: TestClient, db: Database) -> None:
    owner = make_owner(db)
    body = {"name": "Gulf View Cottage", "address": "5 Gulf View Dr", "city": "Panama City Beach", "state": "FL",
            "time_zone": "America/Chicago", "bedrooms": 3, "max_guests": 8, "owner_id": owner}  # fmt: skip
    created = admin.post("/api/admin/properties", json=body)
    assert created.status_code == 201, created.text
    prop = created.json()
    assert (prop["bedrooms"], prop["max_guests"], prop["is_active"], prop["owner"]["id"]) == (3, 8, True, owner)
    assert "gulf view cottage" in {a["key"] for a in prop["aliases"]}

    renamed = admin.patch(f"/api/admin/properties/{prop['id']}", json={"name": "Gulf View House", "owner_id": None})
    assert renamed.status_code == 200, renamed.text
    keys = {a["key"] for a in renamed.json()["aliases"]}
    assert "gulf view house" in keys and "gulf view cottage" not in keys  # derived aliases follow the name
    assert renamed.json()["owner"] is None
    changes = audit(db, "property.updated")[-1].details["changes"]
    assert changes == {"name": ["Gulf View Cottage", "Gulf View House"], "owner_id": [owner, None]}

    for bad, field in [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"bedrooms": -1}, "bedrooms"),
        ({"max_guests": 0}, "max_guests"),
        ({"owner_id": 999}, "owner_id"),
        ({"name": None}, "name"),
    ]:
        refused = admin.patch(f"/api/admin/properties/{prop['id']}", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["field"] == field, bad
    assert admin.post("/api/admin/properties", json={"address": "no name"}).status_code == 422
    assert admin.get("/api/admin/properties/999").status_code == 404
    assert admin.get("/api/admin/properties/99999999999").status_code == 422  # beyond any id the database holds
    assert admin.get("/admin/properties/99999999999").status_code == 404
    assert admin.get("/admin/owners/99999999999").status_code == 404


def test_listing_ids_are_unique_per_provider(admin: TestClient, db: Database) -> None:
    condo = make_property(db)
    villa = make_property(db, name="Sea Breeze Villa", address="20 Sea Breeze Ct")
    added = admin.post(f"/api/admin/properties/{condo}/listings", json={"provider": "airbnb", "listing_id": "AIR-1"})
    assert added.status_code == 201, added.text
    assert [(x["provider"], x["listing_id"]) for x in added.json()["listings"]] == [("airbnb", "AIR-1")]

    taken = admin.post(f"/api/admin/properties/{villa}/listings", json={"provider": "airbnb", "listing_id": "AIR-1"})
    assert taken.status_code == 409
    assert "Beach Condo 123" in taken.json()["detail"]
    again = admin.post(f"/api/admin/properties/{condo}/listings", json={"provider": "airbnb", "listing_id": "AIR-1"})
    assert again.status_code == 409 and "this property" in again.json()["detail"]
    # The same id from another provider is another listing.
    other = admin.post(f"/api/admin/properties/{villa}/listings", json={"provider": "guesty", "listing_id": "AIR-1"})
    assert other.status_code == 201
    bad = admin.post(f"/api/admin/properties/{villa}/listings", json={"provider": "Air BnB!", "listing_id": " "})
    assert bad.status_code == 422 and bad.json()["field"] == "provider"

    link_id = added.json()["listings"][0]["id"]
    assert admin.delete(f"/api/admin/properties/{villa}/listings/{link_id}").status_code == 404  # not the villa's
    removed = admin.delete(f"/api/admin/properties/{condo}/listings/{link_id}")
    assert removed.status_code == 200 and removed.json()["listings"] == []
    assert [e.details for e in audit(db, "property.listing_removed")] == [{"provider": "airbnb", "listing_id": "AIR-1"}]
    # Now free for the villa.
    moved = admin.post(f"/api/admin/properties/{villa}/listings", json={"provider": "airbnb", "listing_id": "AIR-1"})
    assert moved.status_code == 201


def test_deleting_a_home_with_bookings_is_refused_and_deactivating_is_offered(admin: TestClient, db: Database) -> None:
    condo = make_property(db, listings={"airbnb": "AIR-123"})
    empty = make_property(db, name="Empty Lot", address="1 Nowhere Rd")
    booked = post_signed(admin, flat_payload(), secret=WEBHOOK_SECRET)
    assert booked.status_code == 200 and booked.json()["outcome"] == "created"

    refused = admin.delete(f"/api/admin/properties/{condo}")
    assert refused.status_code == 409
    assert "1 booking" in refused.json()["detail"] and "deactivate" in refused.json()["detail"]
    assert admin.get(f"/api/admin/properties/{condo}").status_code == 200

    off = admin.patch(f"/api/admin/properties/{condo}", json={"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False

    # A service request is history too.
    asked = make_property(db, name="Asked Once", address="3 Request Rd")
    with db.unit_of_work() as session:
        create_request(session, property_id=asked, service_type="extra_cleaning", scheduled_for=date(2027, 1, 5),
                       origin=Origin.admin, actor="test")  # fmt: skip
    held = admin.delete(f"/api/admin/properties/{asked}")
    assert held.status_code == 409 and "it has 1 service request;" in held.json()["detail"]

    # A home without history goes, with its listing ids, aliases and maintenance items.
    admin.post(f"/api/admin/properties/{empty}/listings", json={"provider": "guesty", "listing_id": "G-1"})
    with db.unit_of_work() as session:
        maintenance.create_item(session, empty, title="Fence", due_on=date(2027, 1, 1), actor="test")
    assert admin.delete(f"/api/admin/properties/{empty}").status_code == 204
    assert admin.get(f"/api/admin/properties/{empty}").status_code == 404
    assert [e.entity_id for e in audit(db, "property.deleted")] == [empty]
    with db.unit_of_work(write=False) as session:
        assert session.scalars(select(ChannelListing.listing_id)).all() == ["AIR-123"]
        assert session.scalars(select(MaintenanceItem)).all() == []
        assert session.scalars(select(PropertyAlias).where(PropertyAlias.property_id == empty)).all() == []


def test_only_admins_and_staff_may_manage(app_client: TestClient, db: Database) -> None:
    owner = make_owner(db)
    home = make_property(db, owner_id=owner)
    make_user(db, "staff@example.com", Role.staff)
    make_user(db, "dana@login.example", Role.owner, owner_id=owner)

    assert app_client.get("/api/admin/owners").status_code == 401
    anonymous = app_client.get("/admin/properties", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/admin/properties"

    login(app_client, "dana@login.example")
    assert app_client.get("/api/admin/owners").status_code == 403
    assert app_client.get(f"/api/admin/properties/{home}").status_code == 403
    assert app_client.patch(f"/api/admin/properties/{home}", json={"name": "Mine"}).status_code == 403
    for path in ("/admin/properties", f"/admin/properties/{home}", "/admin/owners", f"/admin/owners/{owner}"):
        assert app_client.get(path).status_code == 403, path
    token = form_token(app_client, "/")
    sneaky = app_client.post(f"/admin/properties/{home}", data={"csrf_token": token, "name": "Mine"})
    assert sneaky.status_code == 403
    with db.unit_of_work(write=False) as session:
        assert session.get(Property, home).name == "Beach Condo 123"  # type: ignore[union-attr]

    app_client.cookies.clear()
    login(app_client, "staff@example.com")
    assert app_client.get("/admin/properties").status_code == 200
    assert app_client.get(f"/admin/owners/{owner}").status_code == 200
    assert app_client.patch(f"/api/admin/owners/{owner}", json={"phone": "1"}).status_code == 200


def test_openapi_names_the_operations(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()["paths"]
    assert spec["/api/admin/owners"]["get"]["operationId"] == "list_owners"
    assert spec["/api/admin/owners"]["post"]["operationId"] == "create_owner"
    assert spec["/api/admin/owners/{owner_id}"]["patch"]["operationId"] == "update_owner"
    assert spec["/api/admin/properties"]["post"]["operationId"] == "create_property"
    assert spec["/api/admin/properties/{property_id}"]["delete"]["operationId"] == "delete_property"
    assert spec["/api/admin/properties/{property_id}/listings"]["post"]["operationId"] == "add_channel_listing"
    listing = spec["/api/admin/properties/{property_id}/listings/{listing_id}"]
    assert listing["delete"]["operationId"] == "remove_channel_listing"
    assert not any(path.startswith("/admin/") for path in spec)


# --- pages -------------------------------------------------------------------------------------------------------


def test_create_a_property_with_the_form(admin: TestClient, db: Database) -> None:
    owner = make_owner(db)
    page = admin.get("/admin/properties/new")
    assert page.status_code == 200
    assert 'name="owner_id"' in page.text and "Dana Whitfield" in page.text

    form = {"name": "Gulf View Cottage", "address": "5 Gulf View Dr", "city": "Panama City Beach", "state": "FL",
            "postal_code": "32413", "time_zone": "America/Chicago", "bedrooms": "3", "max_guests": "8",
            "owner_id": str(owner), "is_active": "true"}  # fmt: skip
    done = post_form(admin, "/admin/properties/new", form, page="/admin/properties/new")
    assert done.status_code == 303, done.text
    assert re.fullmatch(r"/admin/properties/\d+\?done=created", done.headers["location"])
    shown = admin.get(done.headers["location"])
    assert "Property created" in shown.text
    assert 'value="Gulf View Cottage"' in shown.text
    with db.unit_of_work(write=False) as session:
        prop = session.scalars(select(Property).where(Property.name == "Gulf View Cottage")).one()
        assert (prop.bedrooms, prop.max_guests, prop.owner_id, prop.is_active) == (3, 8, owner, True)

    listing = admin.get("/admin/properties", params={"q": "cottage"})
    assert "Gulf View Cottage" in listing.text and "Dana Whitfield" in listing.text
    assert "Gulf View Cottage" not in admin.get("/admin/properties", params={"q": "villa"}).text


def test_a_refused_form_shows_every_message_next_to_its_field_and_keeps_the_input(
    admin: TestClient, db: Database
) -> None:
    form = {"name": "", "address": "<b>5 Gulf</b>", "time_zone": "Mars/Olympus", "bedrooms": "three",
            "max_guests": "0", "owner_id": ""}  # fmt: skip
    refused = post_form(admin, "/admin/properties/new", form, page="/admin/properties/new")
    assert refused.status_code == 422
    html = refused.text
    assert field_error(html, "name") == "name must not be empty"
    assert "not an IANA time zone" in field_error(html, "time-zone")
    assert field_error(html, "bedrooms") == "bedrooms must be a whole number from 0 to 100"
    assert field_error(html, "max-guests") == "max guests must be a whole number from 1 to 100"
    assert re.search(
        r'id="time-zone"[^>]*aria-describedby="time-zone-error time-zone-hint"[^>]*aria-invalid="true"', html
    )
    assert 'value="&lt;b&gt;5 Gulf&lt;/b&gt;"' in html  # kept, escaped
    assert 'value="Mars/Olympus"' in html
    with db.unit_of_work(write=False) as session:
        assert session.scalars(select(Property)).all() == []


def test_edit_a_property_and_its_listings_and_aliases_with_forms(admin: TestClient, db: Database) -> None:
    condo = make_property(db)
    villa = make_property(db, name="Sea Breeze Villa", address="20 Sea Breeze Ct", listings={"guesty": "G-9"})
    page = f"/admin/properties/{condo}"
    form = {"name": "Beach Condo 123", "address": "17751 Front Beach Rd, Unit 123", "city": "Panama City Beach",
            "state": "FL", "postal_code": "", "time_zone": "America/New_York", "bedrooms": "2", "max_guests": "",
            "owner_id": ""}  # fmt: skip  # no is_active: the box was unticked
    saved = post_form(admin, page, form, page=page)
    assert saved.status_code == 303 and saved.headers["location"] == f"{page}?done=saved"
    with db.unit_of_work(write=False) as session:
        prop = session.get(Property, condo)
        assert prop is not None
        assert (prop.time_zone, prop.bedrooms, prop.max_guests, prop.is_active) == ("America/New_York", 2, None, False)

    added = post_form(admin, f"{page}/listings", {"provider": "airbnb", "listing_id": "AIR-555"}, page=page)
    assert added.status_code == 303 and added.headers["location"].endswith("done=listing_added#listings")
    assert "AIR-555" in admin.get(page).text

    taken = post_form(admin, f"{page}/listings", {"provider": "guesty", "listing_id": "G-9"}, page=page)
    assert taken.status_code == 409
    assert "already linked to Sea Breeze Villa" in field_error(taken.text, "new-listing-id")
    assert 'value="G-9"' in taken.text
    blank = post_form(admin, f"{page}/listings", {"provider": "", "listing_id": ""}, page=page)
    assert blank.status_code == 422
    assert field_error(blank.text, "new-provider") and field_error(blank.text, "new-listing-id")

    with db.unit_of_work(write=False) as session:
        link = session.scalars(select(ChannelListing).where(ChannelListing.listing_id == "AIR-555")).one()
    unlinked = post_form(admin, f"{page}/listings/{link.id}/delete", {}, page=page)
    assert unlinked.status_code == 303
    assert "AIR-555" not in admin.get(page).text

    taught = post_form(admin, f"{page}/aliases", {"alias": "The Condo @ Front Beach"}, page=page)
    assert taught.status_code == 303
    shown = admin.get(page).text
    assert "the condo front beach" in shown
    clash = post_form(admin, f"{page}/aliases", {"alias": "SEA BREEZE VILLA"}, page=page)
    assert clash.status_code == 409 and "Sea Breeze Villa" in field_error(clash.text, "alias")

    with db.unit_of_work(write=False) as session:
        prop = session.get(Property, condo)
        assert prop is not None
        learned = next(a for a in prop.aliases if a.learned)
        derived = next(a for a in prop.aliases if not a.learned)
    kept = post_form(admin, f"{page}/aliases/{derived.id}/delete", {}, page=page)
    assert kept.status_code == 409 and "change those instead" in kept.text
    forgot = post_form(admin, f"{page}/aliases/{learned.id}/delete", {}, page=page)
    assert forgot.status_code == 303
    assert "the condo front beach" not in admin.get(page).text
    assert villa  # untouched neighbour


def test_the_property_page_lists_maintenance_with_its_state(admin: TestClient, db: Database) -> None:
    condo = make_property(db)
    with db.unit_of_work() as session:
        maintenance.create_item(session, condo, title="Service the AC", due_on=date(2020, 1, 1), actor="test")
        maintenance.create_item(
            session, condo, title="Pool pump", due_on=date.today() + timedelta(days=200), recurrence_months=6,
            actor="test",
        )  # fmt: skip
    html = admin.get(f"/admin/properties/{condo}").text
    assert re.search(r"Service the AC.*?status-overdue\">overdue", html, re.S)
    assert re.search(r"Pool pump.*?every 6 months.*?status-upcoming\">upcoming", html, re.S)


def test_deleting_from_the_page_is_refused_with_the_reason(admin: TestClient, db: Database) -> None:
    condo = make_property(db)
    assert post_signed(admin, flat_payload(), secret=WEBHOOK_SECRET).status_code == 200
    page = f"/admin/properties/{condo}"
    refused = post_form(admin, f"{page}/delete", {}, page=page)
    assert refused.status_code == 409
    assert "has 1 booking" in refused.text and "deactivate it instead" in refused.text
    empty = make_property(db, name="Empty Lot", address="1 Nowhere Rd")
    gone = post_form(admin, f"/admin/properties/{empty}/delete", {}, page=f"/admin/properties/{empty}")
    assert gone.status_code == 303 and gone.headers["location"] == "/admin/properties?done=deleted"
    assert admin.get(f"/admin/properties/{empty}").status_code == 404
    assert "Property deleted" in admin.get("/admin/properties?done=deleted").text


def test_page_forms_need_the_csrf_token(admin: TestClient, db: Database) -> None:
    condo = make_property(db)
    refused = admin.post(f"/admin/properties/{condo}", data={"name": "Hijacked"}, follow_redirects=False)
    assert refused.status_code == 403
    with db.unit_of_work(write=False) as session:
        assert session.get(Property, condo).name == "Beach Condo 123"  # type: ignore[union-attr]


def test_owner_pages_create_edit_and_a_login_with_a_one_time_password(admin: TestClient, db: Database) -> None:
    refused = post_form(
        admin, "/admin/owners/new", {"name": "", "email": "nope", "phone": ""}, page="/admin/owners/new"
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "name") == "name must not be empty"
    assert "not a valid e-mail address" in field_error(refused.text, "email")

    created = post_form(
        admin, "/admin/owners/new", {"name": "Omar Haddad", "email": "omar@example.com", "phone": ""},
        page="/admin/owners/new",
    )  # fmt: skip
    assert created.status_code == 303
    owner_page = created.headers["location"].split("?")[0]
    owner_id = int(owner_page.rsplit("/", 1)[1])
    home = make_property(db, owner_id=owner_id)
    shown = admin.get(created.headers["location"]).text
    assert "Owner created" in shown and f'href="/admin/properties/{home}"' in shown
    assert "cannot sign in yet" in shown

    saved = post_form(
        admin, owner_page, {"name": "Omar Haddad", "email": "omar@example.com", "phone": "850-555-0199"},
        page=owner_page,
    )  # fmt: skip
    assert saved.status_code == 303
    assert "850-555-0199" in admin.get("/admin/owners").text

    login_form = {"email": "omar@login.example", "full_name": "Omar"}
    made = post_form(admin, f"{owner_page}/logins", login_form, page=owner_page)
    assert made.status_code == 201
    assert made.headers["cache-control"] == "no-store"
    match = re.search(r'data-testid="new-password">([^<]+)<', made.text)
    assert match, made.text
    password = match.group(1)
    assert len(password) >= 10
    again = admin.get(owner_page).text
    assert password not in again and "omar@login.example" in again  # shown once, listed after
    duplicate = post_form(admin, f"{owner_page}/logins", login_form, page=owner_page)
    assert duplicate.status_code == 409
    assert "already exists" in field_error(duplicate.text, "login-email")

    admin.cookies.clear()
    me = login(admin, "omar@login.example", password)
    assert (me["user"]["role"], me["user"]["full_name"]) == ("owner", "Omar")
    assert admin.get("/api/auth/me").json()["owner_id"] == owner_id
    assert admin.get("/admin/owners").status_code == 403
