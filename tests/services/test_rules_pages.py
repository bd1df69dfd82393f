"""The rules and catalogue page: rules shown readably, switched and edited with forms (messages next to the
field), the catalogue edited, and the re-plan preview applied with its button."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.accounts.models import Role
from luxserv.audit.models import AuditEntry
from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.services.models import AutomationRule, RequestStatus, ServiceRequest, ServiceType
from tests.conftest import WEBHOOK_SECRET
from tests.factories import flat_payload, login, make_owner, make_property, make_user, post_signed

PAGE = "/admin/rules"


@pytest.fixture
def admin(app_client: TestClient, db: Database) -> TestClient:
    make_user(db)
    login(app_client)
    return app_client


def token(client: TestClient) -> str:
    page = client.get(PAGE)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": token(client)}, follow_redirects=False)


def rule(db: Database, key: str) -> AutomationRule:
    with db.unit_of_work(write=False) as session:
        found = session.scalars(select(AutomationRule).where(AutomationRule.key == key)).one()
        session.expunge(found)
        return found


def service_type(db: Database, key: str) -> ServiceType:
    with db.unit_of_work(write=False) as session:
        found = session.scalars(select(ServiceType).where(ServiceType.key == key)).one()
        session.expunge(found)
        return found


def future_booking(client: TestClient, db: Database) -> int:
    make_property(db)
    start = local_today("America/Chicago") + timedelta(days=10)
    sent = post_signed(
        client,
        flat_payload(check_in=start.isoformat(), check_out=(start + timedelta(days=4)).isoformat()),
        secret=WEBHOOK_SECRET,
    )
    assert sent.status_code == 200, sent.text
    return int(sent.json()["booking_id"])


def requests_by_rule(db: Database, booking_id: int) -> dict[str, tuple[RequestStatus, date]]:
    with db.unit_of_work(write=False) as session:
        rows = session.execute(
            select(AutomationRule.key, ServiceRequest.status, ServiceRequest.scheduled_for)
            .join(AutomationRule, AutomationRule.id == ServiceRequest.rule_id)
            .where(ServiceRequest.booking_id == booking_id)
        )
        return {key: (status, day) for key, status, day in rows}


def test_rules_and_catalogue_are_shown_readably(admin: TestClient) -> None:
    html = admin.get(PAGE).text
    assert "Grocery stocking 2 days before check-in" in html
    assert "2 days before check-in at 10:00" in html
    assert "on check-out at 11:00" in html
    assert "special requests mention: anniversary, birthday" in html
    assert "Private chef" in html and "guests may ask" in html
    assert "Nothing would change" in html  # no bookings yet


def test_switching_a_rule_off_previews_then_applies_the_cancellations(admin: TestClient, db: Database) -> None:
    booking_id = future_booking(admin, db)
    before = requests_by_rule(db, booking_id)
    assert before["grocery_before_arrival"][0] == RequestStatus.scheduled
    grocery = rule(db, "grocery_before_arrival")

    off = post(admin, f"{PAGE}/{grocery.id}/enabled", {})  # no `enabled` field: the switch-off button
    assert off.status_code == 303 and off.headers["location"] == f"{PAGE}?done=rule_disabled#rule-{grocery.id}"
    assert rule(db, "grocery_before_arrival").enabled is False
    html = admin.get(off.headers["location"]).text
    assert "Rule switched off" in html
    preview = re.search(r'id="replan".*?</section>', html, re.S)
    assert preview
    assert re.search(
        rf'href="/admin/bookings/{booking_id}">#{booking_id}</a></td>\s*'
        r'<td data-label="Rule"><code>grocery_before_arrival</code></td>\s*'
        r'<td data-label="Change"><span class="status status-cancel">cancel',
        preview.group(0),
    )
    assert requests_by_rule(db, booking_id)["grocery_before_arrival"][0] == RequestStatus.scheduled  # preview only

    applied = post(admin, f"{PAGE}/replan", {})
    assert applied.status_code == 303 and applied.headers["location"] == f"{PAGE}?done=replanned&changes=1#replan"
    assert requests_by_rule(db, booking_id)["grocery_before_arrival"][0] == RequestStatus.cancelled
    assert "Re-planned: 1 change made." in admin.get(applied.headers["location"]).text

    on = post(admin, f"{PAGE}/{grocery.id}/enabled", {"enabled": "true"})
    assert on.status_code == 303 and rule(db, "grocery_before_arrival").enabled is True
    scoped = admin.get(PAGE, params={"replan_rule": grocery.id}).text
    assert f'<input type="hidden" name="rule_id" value="{grocery.id}">' in scoped
    assert post(admin, f"{PAGE}/replan", {"rule_id": str(grocery.id)}).status_code == 303
    assert requests_by_rule(db, booking_id)["grocery_before_arrival"][0] == RequestStatus.scheduled


def test_editing_a_rule_with_the_form(admin: TestClient, db: Database) -> None:
    grocery = rule(db, "grocery_before_arrival")
    form = {"name": "Groceries 3 days ahead", "service_type_id": str(grocery.service_type_id), "anchor": "check_in",
            "offset_days": "-3", "time_of_day": "09:30", "condition": "min_guests", "condition_value": "4"}  # fmt: skip
    saved = post(admin, f"{PAGE}/{grocery.id}", form)
    assert saved.status_code == 303, saved.text
    changed = rule(db, "grocery_before_arrival")
    assert (changed.name, changed.offset_days, changed.time_of_day.isoformat() if changed.time_of_day else None,
            changed.condition.value, changed.condition_value) == (
        "Groceries 3 days ahead", -3, "09:30:00", "min_guests", "4"
    )  # fmt: skip
    assert "3 days before check-in at 09:30" in admin.get(PAGE).text

    refused = post(admin, f"{PAGE}/{grocery.id}", {**form, "offset_days": "-90"})
    assert refused.status_code == 422
    html = refused.text
    field_id = f"rule-{grocery.id}-offset-days"
    assert re.search(rf'id="{field_id}-error" class="field-error">offset_days must be a whole number from -60 to 60',
                     html)  # fmt: skip
    assert re.search(rf'id="{field_id}" name="offset_days" type="number" value="-90"', html)
    assert re.search(r"<details open>\s*<summary>Edit Groceries 3 days ahead", html)
    words = post(admin, f"{PAGE}/{grocery.id}", {**form, "condition_value": "many"})
    assert words.status_code == 422
    assert re.search(
        rf'id="rule-{grocery.id}-condition-value-error" class="field-error">[^<]*positive whole', words.text
    )
    assert rule(db, "grocery_before_arrival").offset_days == -3


def test_adding_a_rule_and_a_service(admin: TestClient, db: Database) -> None:
    basket_form = {"key": "welcome_basket", "name": "Welcome basket", "default_time": "15:00", "active": "true"}
    made = post(admin, f"{PAGE}/service-types/new", basket_form)
    assert made.status_code == 303, made.text
    basket = service_type(db, "welcome_basket")
    assert (basket.active, basket.guest_requestable, basket.default_time is not None) == (True, False, True)
    duplicate = post(admin, f"{PAGE}/service-types/new", {"key": "welcome_basket", "name": "Again", "active": "true"})
    assert duplicate.status_code == 409
    assert re.search(r'id="new-type-key-error" class="field-error">a service type with key', duplicate.text)

    form = {"key": "basket_on_arrival", "name": "Basket on arrival", "service_type_id": str(basket.id),
            "anchor": "check_in", "offset_days": "0", "time_of_day": "", "condition": "min_nights",
            "condition_value": "7", "enabled": "true"}  # fmt: skip
    created = post(admin, f"{PAGE}/new", form)
    assert created.status_code == 303, created.text
    added = rule(db, "basket_on_arrival")
    assert (added.service_type_id, added.condition_value, added.enabled, added.time_of_day) == (
        basket.id,
        "7",
        True,
        None,
    )
    bad = post(admin, f"{PAGE}/new", {**form, "key": "Bad Key"})
    assert bad.status_code == 422
    assert re.search(r'id="new-rule-key-error" class="field-error">key must be', bad.text)
    assert 'value="Bad Key"' in bad.text


def test_editing_the_catalogue(admin: TestClient, db: Database) -> None:
    chef = service_type(db, "private_chef")
    saved = post(admin, f"{PAGE}/service-types/{chef.id}", {"name": "Private chef dinner", "default_time": "19:00"})
    assert saved.status_code == 303  # both boxes unticked: no longer requestable, inactive
    changed = service_type(db, "private_chef")
    assert (changed.name, str(changed.default_time), changed.guest_requestable, changed.active) == (
        "Private chef dinner", "19:00:00", False, False
    )  # fmt: skip
    with db.unit_of_work(write=False) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "service_type.updated")).one()
    assert entry.details["changes"]["active"] == [True, False]
    refused = post(admin, f"{PAGE}/service-types/{chef.id}", {"name": "", "default_time": "25:99", "active": "true"})
    assert refused.status_code == 422
    assert re.search(rf'id="type-{chef.id}-name-error" class="field-error">name must not be empty', refused.text)
    assert post(admin, f"{PAGE}/service-types/999", {"name": "x", "default_time": ""}).status_code == 404


def test_only_admins_and_staff(app_client: TestClient, db: Database) -> None:
    owner = make_owner(db)
    make_user(db, "dana@login.example", Role.owner, owner_id=owner)
    login(app_client, "dana@login.example")
    assert app_client.get(PAGE).status_code == 403
    csrf = app_client.cookies.get("luxserv_csrf") or ""
    grocery = rule(db, "grocery_before_arrival")
    assert app_client.post(f"{PAGE}/{grocery.id}/enabled", data={"csrf_token": csrf}).status_code == 403
    assert rule(db, "grocery_before_arrival").enabled is True
