"""Maintenance items: due / overdue / upcoming in the property's time zone, recurring items renewing with
month-end clamping, and the admin and owner routes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.accounts.models import Role
from luxserv.audit.models import AuditEntry
from luxserv.core.database import Database
from luxserv.core.errors import Conflict, InvalidInput, NotFound
from luxserv.properties import maintenance
from luxserv.properties.maintenance import MaintenanceState, add_months
from luxserv.properties.models import MaintenanceStatus, Property
from tests.factories import login, make_owner, make_property, make_user
from tests.services.test_requests_api import client as client  # the app with the new routers included

__all__ = ["client"]


def item(db: Database, property_id: int, title: str, due_on: date, every: int | None = None) -> int:
    with db.unit_of_work() as session:
        return maintenance.create_item(
            session, property_id, title=title, due_on=due_on, recurrence_months=every, actor="test"
        ).id


def states(db: Database, property_id: int, now: datetime) -> list[tuple[str, MaintenanceState]]:
    with db.unit_of_work(write=False) as session:
        return [(v.item.title, v.state) for v in maintenance.list_items(session, property_id, now=now)]


def test_due_and_overdue_follow_the_homes_local_date_near_midnight_utc(db: Database) -> None:
    home = make_property(db)  # America/Chicago
    for title, due in [("late", date(2026, 3, 8)), ("today", date(2026, 3, 9)), ("in 14 days", date(2026, 3, 23)),
                       ("in 15 days", date(2026, 3, 24)), ("finished", date(2026, 3, 1))]:  # fmt: skip
        item(db, home, title, due)
    with db.unit_of_work() as session:
        finished = maintenance.list_items(session, home)[0].item
        assert finished.title == "finished"
        maintenance.complete_item(session, finished.id, actor="test")
    # 03:30 UTC on March 10 is 22:30 on March 9 in Panama City Beach (CDT, UTC-5).
    assert states(db, home, datetime(2026, 3, 10, 3, 30, tzinfo=UTC)) == [
        ("late", MaintenanceState.overdue),
        ("today", MaintenanceState.due),
        ("in 14 days", MaintenanceState.due),
        ("in 15 days", MaintenanceState.upcoming),
        ("finished", MaintenanceState.done),
    ]
    # Two and a half hours later it is March 10 there too.
    assert states(db, home, datetime(2026, 3, 10, 6, 0, tzinfo=UTC))[1:4] == [
        ("today", MaintenanceState.overdue),
        ("in 14 days", MaintenanceState.due),
        ("in 15 days", MaintenanceState.due),
    ]
    with db.unit_of_work() as session:
        session.get_one(Property, home).time_zone = "UTC"
    assert states(db, home, datetime(2026, 3, 10, 3, 30, tzinfo=UTC))[1] == ("today", MaintenanceState.overdue)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 10), 60, date(2031, 3, 10)),
    ],
)
def test_add_months_clamps_to_the_end_of_a_shorter_month(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_completing_a_recurring_item_schedules_the_next_one(db: Database) -> None:
    home = make_property(db)
    filters = item(db, home, "AC filters", date(2028, 1, 31), every=1)
    roof = item(db, home, "Roof check", date(2028, 1, 31))
    with db.unit_of_work() as session:
        done, following = maintenance.complete_item(session, filters, actor="user:1")
        assert done.status == MaintenanceStatus.done and done.completed_at is not None
        assert following is not None
        assert (following.title, following.due_on, following.recurrence_months) == ("AC filters", date(2028, 2, 29), 1)
        assert following.status == MaintenanceStatus.open
        assert maintenance.complete_item(session, roof, actor="user:1")[1] is None
    with db.unit_of_work() as session, pytest.raises(Conflict, match="already done"):
        maintenance.complete_item(session, filters, actor="user:1")
    with db.unit_of_work() as session, pytest.raises(NotFound):
        maintenance.complete_item(session, 999_999, actor="user:1")
    with db.unit_of_work(write=False) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "maintenance.completed")).all()
        assert [a.details["next_due_on"] for a in audit] == ["2028-02-29", None]


def test_what_an_item_may_be(db: Database) -> None:
    home = make_property(db)
    for kwargs, field in [({"title": "  "}, "title"), ({"title": "x" * 201}, "title"),
                          ({"recurrence_months": 0}, "recurrence_months"),
                          ({"recurrence_months": 61}, "recurrence_months")]:  # fmt: skip
        with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
            maintenance.create_item(session, home, **{"title": "ok", "due_on": date(2026, 5, 1), **kwargs}, actor="t")
        assert refused.value.field == field
    with db.unit_of_work() as session, pytest.raises(NotFound):
        maintenance.create_item(session, home + 1, title="ok", due_on=date(2026, 5, 1), actor="t")
    pump = item(db, home, "  Pool pump ", date(2026, 5, 1), every=60)
    with db.unit_of_work(write=False) as session:
        [view] = maintenance.list_items(session, home)
        assert (view.item.id, view.item.title, view.item.recurrence_months) == (pump, "Pool pump", 60)


def test_the_maintenance_routes(client: TestClient, db: Database) -> None:
    dana, omar = make_owner(db), make_owner(db, "Omar Haddad", "omar@example.com")
    condo = make_property(db, owner_id=dana)
    loft = make_property(db, owner_id=omar, name="Harbor Loft", address="9 Harbor St")
    make_user(db, "admin@example.com", Role.admin)
    make_user(db, "staff@example.com", Role.staff)
    make_user(db, "dana@login.example", Role.owner, owner_id=dana)
    headers = {who: {"Authorization": f"Bearer {login(client, email)['token']}"}
               for who, email in [("admin", "admin@example.com"), ("staff", "staff@example.com"),
                                  ("dana", "dana@login.example")]}  # fmt: skip
    client.cookies.clear()
    headers["anonymous"] = {}
    new = {"title": "AC service", "due_on": "2026-01-31", "recurrence_months": 6, "notes": "Filters too"}
    response = client.post(f"/api/properties/{condo}/maintenance", json=new, headers=headers["staff"])
    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["state"], made["status"], made["recurrence_months"]) == ("overdue", "open", 6)
    bad = client.post(
        f"/api/properties/{condo}/maintenance", json={**new, "recurrence_months": 61}, headers=headers["admin"]
    )
    assert bad.status_code == 422 and bad.json()["field"] == "recurrence_months"
    assert client.post(f"/api/properties/{condo}/maintenance", json=new, headers=headers["dana"]).status_code == 403
    listed = client.get(f"/api/properties/{condo}/maintenance", headers=headers["admin"]).json()
    assert [i["title"] for i in listed] == ["AC service"]
    done = client.post(f"/api/maintenance/{made['id']}/complete", headers=headers["admin"])
    assert done.status_code == 200
    assert (done.json()["item"]["state"], done.json()["next"]["due_on"]) == ("done", "2026-07-31")
    assert client.post(f"/api/maintenance/{made['id']}/complete", headers=headers["admin"]).status_code == 409
    assert client.post(f"/api/maintenance/{made['id']}/complete", headers=headers["dana"]).status_code == 403
    for who, prop, expected in [("dana", condo, 200), ("dana", loft, 404), ("dana", loft + 9, 404),
                                ("anonymous", condo, 401), ("staff", condo, 200), ("admin", loft, 200)]:  # fmt: skip
        response = client.get(f"/api/owner/properties/{prop}/maintenance", headers=headers[who])
        assert response.status_code == expected, (who, prop)
    own = client.get(f"/api/owner/properties/{condo}/maintenance", headers=headers["dana"]).json()
    assert [(i["due_on"], i["status"]) for i in own] == [("2026-07-31", "open"), ("2026-01-31", "done")]
