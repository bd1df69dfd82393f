"""The catalogue and rules API: admin CRUD, validation naming the field, who may call what, and re-planning."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from luxserv.accounts.models import Role
from luxserv.audit.models import AuditEntry
from luxserv.bookings.apply import apply
from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.core.errors import InvalidInput
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services import catalog
from luxserv.services.models import RequestStatus, ServiceRequest, ServiceRequestChange
from luxserv.services.replan import preview
from tests.factories import login, make_owner, make_property, make_user

GROCERY_RULE = 1  # the seeded rules (migration 0004): grocery, cleaning verification, celebration, turnover
EXTRA_CLEANING = 8  # a seeded service type


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    """The app (luxserv.app mounts the rules router)."""
    return app_client


@pytest.fixture
def admin(client: TestClient, db: Database) -> int:
    user_id = make_user(db)
    login(client)
    return user_id


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def audit_actions(db: Database) -> list[tuple[str, str]]:
    """(action, actor) of the catalogue's and rules' audit entries, oldest first."""
    with db.unit_of_work(write=False) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.action, r.actor) for r in rows if r.action.split(".")[0] in ("service_type", "automation_rule")]


def test_admin_creates_and_updates_service_types(client: TestClient, db: Database, admin: int) -> None:
    seeded = ok(client.get("/api/admin/service-types"))
    assert len(seeded) == 11 and "grocery_stocking" in {t["key"] for t in seeded}

    created = ok(
        client.post(
            "/api/admin/service-types",
            json={"key": "sunset_cruise", "name": " Sunset cruise ", "default_duration_minutes": 120,
                  "default_time": "18:30", "price_cents": 45000, "guest_requestable": True},
        ),
        201,
    )  # fmt: skip
    assert created["name"] == "Sunset cruise" and created["default_time"] == "18:30:00" and created["active"]
    requestable = {t["key"] for t in ok(client.get("/api/service-types", params={"guest_requestable": True}))}
    assert "sunset_cruise" in requestable and "grocery_stocking" not in requestable

    updated = ok(client.patch(f"/api/admin/service-types/{created['id']}", json={"active": False, "price_cents": None}))
    assert (updated["active"], updated["price_cents"], updated["default_duration_minutes"]) == (False, None, 120)
    assert "sunset_cruise" not in {t["key"] for t in ok(client.get("/api/service-types"))}
    assert "sunset_cruise" in {t["key"] for t in ok(client.get("/api/admin/service-types"))}
    assert audit_actions(db) == [
        ("service_type.created", f"user:{admin}"),
        ("service_type.updated", f"user:{admin}"),
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("post", "/api/admin/service-types", {"key": "Sunset Cruise", "name": "x"}, 422, "key"),
        ("post", "/api/admin/service-types", {"key": "cruise", "name": "  "}, 422, "name"),
        ("post", "/api/admin/service-types", {"key": "cruise", "name": "x", "default_duration_minutes": 0}, 422,
         "default_duration_minutes"),
        ("post", "/api/admin/service-types", {"key": "cruise", "name": "x", "price_cents": -1}, 422, "price_cents"),
        ("post", "/api/admin/service-types", {"key": "grocery_delivery", "name": "x"}, 409, "key"),
        ("post", "/api/admin/service-types", {"name": "x"}, 422, "key"),
        ("patch", "/api/admin/service-types/1", {"name": None}, 422, "name"),
        ("patch", "/api/admin/service-types/1", {"key": "grocery_delivery"}, 409, "key"),
        ("patch", "/api/admin/service-types/1", {"colour": "red"}, 422, "colour"),
        ("post", "/api/admin/rules", {"key": "r", "name": "R", "service_type_id": 999, "anchor": "check_in"}, 422,
         "service_type_id"),
        ("post", "/api/admin/rules", {"key": "r", "name": "R", "service_type_id": 8, "anchor": "someday"}, 422,
         "anchor"),
        ("post", "/api/admin/rules", {"key": "r", "name": "R", "service_type_id": 8, "anchor": "check_in",
                                      "offset_days": 61}, 422, "offset_days"),
        ("post", "/api/admin/rules", {"key": "r", "name": "R", "service_type_id": 8, "anchor": "check_in",
                                      "condition": "keywords", "condition_value": []}, 422, "condition_value"),
        ("post", "/api/admin/rules", {"key": "r", "name": "R", "service_type_id": 8, "anchor": "check_in",
                                      "condition": "keywords", "condition_value": " , !"}, 422, "condition_value"),
        ("post", "/api/admin/rules", {"key": "r", "name": "R", "service_type_id": 8, "anchor": "check_in",
                                      "condition": "min_guests", "condition_value": "six"}, 422, "condition_value"),
        ("post", "/api/admin/rules", {"key": "r", "name": "R", "service_type_id": 8, "anchor": "check_in",
                                      "condition": "min_nights", "condition_value": 0}, 422, "condition_value"),
        ("post", "/api/admin/rules", {"key": "r", "name": "R", "service_type_id": 8, "anchor": "check_in",
                                      "condition": "channel", "condition_value": ""}, 422, "condition_value"),
        ("post", "/api/admin/rules", {"key": "post_checkout_cleaning", "name": "R", "service_type_id": 8,
                                      "anchor": "check_in"}, 409, "key"),
        ("patch", "/api/admin/rules/1", {"condition": "min_guests"}, 422, "condition_value"),
        ("patch", "/api/admin/rules/1", {"offset_days": -61}, 422, "offset_days"),
        ("patch", "/api/admin/rules/1", {"enabled": None}, 422, "enabled"),
    ],
)  # fmt: skip
def test_invalid_input_is_refused_naming_the_field(
    client: TestClient, db: Database, admin: int, method: str, path: str, body: dict[str, Any], status: int, field: str
) -> None:
    response = client.request(method.upper(), path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert audit_actions(db) == []


def test_the_service_layer_validates_too(db: Database) -> None:
    with db.unit_of_work() as session:
        base = {"key": "r", "name": "R", "service_type_id": EXTRA_CLEANING, "anchor": "check_in"}
        for values, field in [
            ({**base, "offset_days": 61}, "offset_days"),
            ({**base, "offset_days": True}, "offset_days"),
            ({**base, "condition": "min_guests", "condition_value": -2}, "condition_value"),
            ({**base, "time_of_day": "noon"}, "time_of_day"),
            ({**base, "priority": 1}, "priority"),
        ]:
            with pytest.raises(InvalidInput) as raised:
                catalog.create_rule(session, values, actor="test")
            assert raised.value.field == field


def test_admin_creates_and_updates_rules(client: TestClient, db: Database, admin: int) -> None:
    assert [r["key"] for r in ok(client.get("/api/admin/rules"))] == [
        "grocery_before_arrival", "cleaning_verification_on_arrival", "celebration_setup_on_arrival",
        "post_checkout_cleaning",
    ]  # fmt: skip
    rule = ok(
        client.post(
            "/api/admin/rules",
            json={"key": "honeymoon_flowers", "name": "Flowers for honeymooners", "service_type_id": EXTRA_CLEANING,
                  "anchor": "check_in", "offset_days": -1, "time_of_day": "15:00", "condition": "keywords",
                  "condition_value": ["Honeymoon", "Baby  Moon!", "honeymoon"]},
        ),
        201,
    )  # fmt: skip
    assert rule["condition_value"] == "honeymoon, baby moon"
    assert rule["service_type"] == {"id": EXTRA_CLEANING, "key": "extra_cleaning", "name": "Extra cleaning"}

    changed = ok(client.patch(f"/api/admin/rules/{rule['id']}", json={"condition": "min_guests", "condition_value": 8}))
    assert (changed["condition"], changed["condition_value"], changed["offset_days"]) == ("min_guests", "8", -1)
    always = ok(client.patch(f"/api/admin/rules/{rule['id']}", json={"condition": "always", "enabled": False}))
    assert (always["condition_value"], always["enabled"]) == ("", False)
    unchanged = ok(client.patch(f"/api/admin/rules/{rule['id']}", json={"enabled": False}))
    assert unchanged["enabled"] is False
    assert [a for a, _ in audit_actions(db)] == ["automation_rule.created"] + ["automation_rule.updated"] * 2
    with db.unit_of_work(write=False) as session:
        updated = select(AuditEntry).where(AuditEntry.action == "automation_rule.updated").order_by(AuditEntry.id)
        entry = session.scalars(updated).first()  # the first update (without ORDER BY: whatever the heap holds first)
        assert entry is not None
        assert entry.details["changes"] == {"condition": ["keywords", "min_guests"],
                                            "condition_value": ["honeymoon, baby moon", "8"]}  # fmt: skip


def test_property_overrides(client: TestClient, db: Database, admin: int) -> None:
    condo = make_property(db)
    url = f"/api/admin/properties/{condo}/rules/{GROCERY_RULE}"

    off = ok(client.put(url, json={"enabled": False}))
    assert off == {"property_id": condo, "rule_id": GROCERY_RULE, "override": False, "in_force": False}
    back = ok(client.put(url, json={"enabled": None}))
    assert back == {"property_id": condo, "rule_id": GROCERY_RULE, "override": None, "in_force": True}
    with db.unit_of_work(write=False) as session:
        assert catalog.property_overrides(session, condo) == {}
    assert [a for a, _ in audit_actions(db)] == [
        "automation_rule.override_set", "automation_rule.override_removed"
    ]  # fmt: skip

    assert client.put(f"/api/admin/properties/999/rules/{GROCERY_RULE}", json={"enabled": False}).status_code == 404
    assert client.put(f"/api/admin/properties/{condo}/rules/999", json={"enabled": False}).status_code == 404
    assert ok(client.put(url, json={}), 422)["field"] == "enabled"


ADMIN_ONLY = [
    ("GET", "/api/admin/service-types", None),
    ("POST", "/api/admin/service-types", {"key": "x", "name": "X"}),
    ("PATCH", "/api/admin/service-types/1", {"name": "X"}),
    ("GET", "/api/admin/rules", None),
    ("POST", "/api/admin/rules", {"key": "x", "name": "X", "service_type_id": 1, "anchor": "check_in"}),
    ("PATCH", "/api/admin/rules/1", {"enabled": False}),
    ("PUT", "/api/admin/properties/1/rules/1", {"enabled": False}),
    ("POST", "/api/admin/rules/replan", {"rule_id": None, "apply": True}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p, _ in ADMIN_ONLY])
def test_owners_are_refused_and_anonymous_callers_must_sign_in(
    client: TestClient, db: Database, method: str, path: str, body: dict[str, Any] | None
) -> None:
    owner = make_owner(db)
    make_property(db, owner_id=owner)
    assert client.request(method, path, json=body).status_code == 401
    make_user(db, "dana@example.com", role=Role.owner, owner_id=owner)
    login(client, "dana@example.com")

    assert client.request(method, path, json=body).status_code == 403
    # …but an owner may read the catalogue to ask for a service.
    assert {t["key"] for t in ok(client.get("/api/service-types", params={"guest_requestable": "true"}))} >= {
        "private_chef", "beach_gear_delivery"
    }  # fmt: skip
    assert audit_actions(db) == []


def test_the_catalogue_needs_a_sign_in(client: TestClient) -> None:
    assert client.get("/api/service-types").status_code == 401


def book(db: Database, external_id: str, check_in: date, nights: int = 4, **extra: Any) -> int:
    event = BookingEvent(
        kind=EventKind.created, provider="manual", external_id=external_id, listing=ListingRef(name="Beach Condo 123"),
        guest=GuestInfo(name="Sarah Johnson"), check_in=check_in, check_out=check_in + timedelta(days=nights), **extra,
    )  # fmt: skip
    with db.unit_of_work() as session:
        return apply(session, event, actor="test").booking.id


def snapshot(db: Database) -> tuple[list[tuple[int, str, date]], int]:
    with db.unit_of_work(write=False) as session:
        rows = session.execute(
            select(ServiceRequest.id, ServiceRequest.status, ServiceRequest.scheduled_for).order_by(ServiceRequest.id)
        )
        return [(i, str(s), d) for i, s, d in rows], session.scalar(select(func.count(ServiceRequestChange.id))) or 0


def test_replan_previews_without_writing_then_applies(client: TestClient, db: Database, admin: int) -> None:
    make_property(db)
    today = local_today(DEFAULT_TIME_ZONE)
    past = book(db, "PAST", today - timedelta(days=10))
    soon = book(db, "SOON", today + timedelta(days=30))
    later = book(db, "LATER", today + timedelta(days=60))
    with db.unit_of_work() as session:  # done work never changes
        done = session.scalars(select(ServiceRequest).where(ServiceRequest.booking_id == later)).first()
        assert done is not None and done.rule_id == GROCERY_RULE
        done.status = RequestStatus.completed
    ok(client.patch(f"/api/admin/rules/{GROCERY_RULE}", json={"offset_days": -3}))
    before = snapshot(db)

    preview = ok(client.post("/api/admin/rules/replan", json={"rule_id": GROCERY_RULE}))
    expected = [
        {"booking_id": soon, "rule_id": GROCERY_RULE, "rule_key": "grocery_before_arrival", "action": "move",
         "from": (today + timedelta(days=28)).isoformat(), "to": (today + timedelta(days=27)).isoformat()},
    ]  # fmt: skip
    assert preview == {"applied": False, "today": today.isoformat(), "changes": expected}
    assert snapshot(db) == before
    assert past not in {c["booking_id"] for c in preview["changes"]}

    applied = ok(client.post("/api/admin/rules/replan", json={"rule_id": GROCERY_RULE, "apply": True}))
    assert applied == {"applied": True, "today": today.isoformat(), "changes": expected}
    assert snapshot(db) != before
    with db.unit_of_work(write=False) as session:
        moved = session.scalars(
            select(ServiceRequest).where(ServiceRequest.booking_id == soon, ServiceRequest.rule_id == GROCERY_RULE)
        ).one()
        assert moved.scheduled_for == today + timedelta(days=27)
    assert ("automation_rule.replanned", f"user:{admin}") in audit_actions(db)
    assert ok(client.post("/api/admin/rules/replan", json={"rule_id": None}))["changes"] == []


def test_replan_after_an_override_and_for_a_new_rule(client: TestClient, db: Database, admin: int) -> None:
    condo = make_property(db)
    today = local_today(DEFAULT_TIME_ZONE)
    stay = book(db, "STAY", today + timedelta(days=20), guest_count=8)
    ok(client.put(f"/api/admin/properties/{condo}/rules/{GROCERY_RULE}", json={"enabled": False}))
    big = ok(client.post("/api/admin/rules", json={"key": "big_party", "name": "Big party clean",
                                                   "service_type_id": EXTRA_CLEANING, "anchor": "check_in",
                                                   "offset_days": 2, "condition": "min_guests",
                                                   "condition_value": "6"}), 201)  # fmt: skip
    grocery_day = (today + timedelta(days=18)).isoformat()
    big_day = (today + timedelta(days=22)).isoformat()

    preview = ok(client.post("/api/admin/rules/replan", json={}))["changes"]
    assert [(c["booking_id"], c["rule_key"], c["action"], c["from"], c["to"]) for c in preview] == [
        (stay, "grocery_before_arrival", "cancel", grocery_day, None),
        (stay, "big_party", "create", None, big_day),
    ]
    assert ok(client.post("/api/admin/rules/replan", json={"rule_id": big["id"], "apply": True}))["changes"] == preview
    assert ok(client.post("/api/admin/rules/replan", json={}))["changes"] == []
    assert client.post("/api/admin/rules/replan", json={"rule_id": 999}).status_code == 404


def test_preview_reads_the_same_few_queries_however_many_bookings(db: Database) -> None:
    make_property(db)
    today = local_today(DEFAULT_TIME_ZONE)

    def previewed(offset: int) -> tuple[int, int]:
        """Move the grocery rule, then preview: (changes, SQL statements)."""
        with db.unit_of_work() as session:
            catalog.update_rule(session, GROCERY_RULE, {"offset_days": offset}, actor="test")
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            with db.unit_of_work(write=False) as session:
                changes = preview(session, None, today=today)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(changes), len(statements)

    for n in range(2):
        book(db, f"A{n}", today + timedelta(days=5 + 7 * n))
    few, queries = previewed(-5)
    for n in range(8):
        book(db, f"B{n}", today + timedelta(days=40 + 7 * n))
    assert previewed(-6) == (10, queries)
    assert few == 2 and queries <= 7


def test_the_openapi_schema_names_every_route(client: TestClient) -> None:
    operations = {
        op["operationId"]: path
        for path, item in ok(client.get("/openapi.json"))["paths"].items()
        for op in item.values()
        if path.startswith("/api/admin/rules") or "service-types" in path or "/rules/" in path
    }
    assert set(operations) == {
        "list_service_types", "create_service_type", "update_service_type", "list_requestable_service_types",
        "list_automation_rules", "create_automation_rule", "update_automation_rule", "set_property_rule_override",
        "replan_automation_rules",
    }  # fmt: skip
