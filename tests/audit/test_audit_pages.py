"""The audit log: the query service (filters, date range, paging, newest first) and the /admin/audit page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from luxserv.accounts.models import Role
from luxserv.audit import pages, queries
from luxserv.audit.models import AuditEntry
from luxserv.core.database import Database
from luxserv.core.errors import InvalidInput
from tests.factories import login, make_owner, make_user

PAGE = "/admin/audit"


def entry(db: Database, action: str, at: datetime, *, entity_type: str = "booking", entity_id: int | None = 1,
          actor: str = "worker", **details: object) -> int:  # fmt: skip
    with db.unit_of_work() as session:  # as `record` writes it, on a day of the test's choosing
        row = AuditEntry(at=at, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
                         details=details)  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def actions(db: Database, flt: queries.AuditFilter, *, limit: int = 50, offset: int = 0) -> tuple[list[str], int]:
    with db.unit_of_work(write=False) as session:
        rows, total = queries.list_entries(session, flt, limit=limit, offset=offset)
        return [r.action for r in rows], total


@pytest.fixture
def log(db: Database) -> None:
    entry(db, "booking.created", datetime(2026, 3, 1, 9, tzinfo=UTC))
    entry(db, "booking.placed", datetime(2026, 3, 2, 23, 59, tzinfo=UTC), actor="user:1")
    entry(db, "booking_x.created", datetime(2026, 3, 3, 0, 0, tzinfo=UTC), entity_id=2)
    entry(db, "property.updated", datetime(2026, 3, 4, 12, tzinfo=UTC), entity_type="property", entity_id=1)


def test_filters_and_newest_first(db: Database, log: None) -> None:
    assert actions(db, queries.AuditFilter()) == (
        ["property.updated", "booking_x.created", "booking.placed", "booking.created"], 4
    )  # fmt: skip
    # The prefix is literal: "_" and "%" are not wildcards.
    assert actions(db, queries.AuditFilter(action_prefix="booking.")) == (["booking.placed", "booking.created"], 2)
    assert actions(db, queries.AuditFilter(action_prefix="booking_"))[0] == ["booking_x.created"]
    assert actions(db, queries.AuditFilter(action_prefix="%"))[1] == 0
    assert actions(db, queries.AuditFilter(entity_type="booking", entity_id=1))[1] == 2
    assert actions(db, queries.AuditFilter(actor="user:1"))[0] == ["booking.placed"]
    # Date range: whole UTC days, both ends included.
    assert actions(db, queries.AuditFilter(date_from=date(2026, 3, 2), date_to=date(2026, 3, 2)))[0] == [
        "booking.placed"
    ]
    assert actions(db, queries.AuditFilter(date_from=date(2026, 3, 3)))[1] == 2
    assert actions(db, queries.AuditFilter(date_to=date(2026, 3, 1)))[0] == ["booking.created"]
    assert actions(db, queries.AuditFilter(), limit=2, offset=2) == (["booking.placed", "booking.created"], 4)
    with pytest.raises(InvalidInput) as refused:
        actions(db, queries.AuditFilter(date_from=date(2026, 3, 2), date_to=date(2026, 3, 1)))
    assert refused.value.field == "date_to"


@pytest.fixture
def admin(app_client: TestClient, db: Database) -> TestClient:
    make_user(db)
    login(app_client)
    return app_client


def listed(html: str) -> list[str]:
    return re.findall(r'<td data-label="Action"><code>([^<]+)</code>', html)


def test_the_page_shows_who_did_what(admin: TestClient, db: Database) -> None:
    created = admin.post("/api/admin/owners", json={"name": "<script>alert(1)</script>"})
    assert created.status_code == 201
    owner_id = created.json()["id"]
    html = admin.get(PAGE).text
    assert listed(html)[0] == "owner.created"  # newest first
    row = re.search(r"<tr>\s*<td data-label=\"When\">.*?</tr>", html, re.S)
    assert row
    assert "admin@example.com" in row.group(0) and "user:1" in row.group(0)  # the actor by e-mail
    assert f'<a href="/admin/owners/{owner_id}">owner {owner_id}</a>' in row.group(0)
    assert "<script>alert(1)</script>" not in html
    assert "\\u003cscript\\u003e" in row.group(0)  # details as escaped JSON

    only = admin.get(PAGE, params={"entity_type": "owner", "entity_id": str(owner_id)}).text
    assert listed(only) == ["owner.created"]
    assert '<option value="owner" selected>' in only
    sessions = admin.get(PAGE, params={"action": "session."}).text
    assert listed(sessions) == ["session.started"]
    today = datetime.now(UTC).date()
    assert listed(admin.get(PAGE, params={"date_from": today.isoformat(), "actor": "user:1"}).text)
    assert "No entries match" in admin.get(PAGE, params={"date_to": "2000-01-01"}).text


def test_bad_filters_are_explained_next_to_their_field(admin: TestClient) -> None:
    bad = admin.get(PAGE, params={"date_from": "yesterday", "entity_id": "x1"})
    assert bad.status_code == 422
    assert re.search(r'id="date-from-error" class="field-error">enter a date as YYYY-MM-DD', bad.text)
    assert re.search(r'id="entity-id-error" class="field-error">enter a whole number', bad.text)
    assert 'value="yesterday"' in bad.text
    backwards = admin.get(PAGE, params={"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert backwards.status_code == 422
    assert re.search(r'id="date-to-error" class="field-error">date_to must not be before date_from', backwards.text)


def test_the_page_is_paginated(admin: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(5):
        entry(db, f"test.step{n}", datetime(2026, 3, 1, n, tzinfo=UTC))
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first = admin.get(PAGE, params={"action": "test."}).text
    assert listed(first) == ["test.step4", "test.step3"]
    assert "1\N{EN DASH}2 of 5" in first
    last = admin.get(PAGE, params={"action": "test.", "offset": 4}).text
    assert listed(last) == ["test.step0"]
    assert "action=test." in last and "offset=2" in last


def test_only_admins_and_staff(app_client: TestClient, db: Database) -> None:
    owner = make_owner(db)
    make_user(db, "dana@login.example", Role.owner, owner_id=owner)
    anonymous = app_client.get(PAGE, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next={PAGE}"
    login(app_client, "dana@login.example")
    assert app_client.get(PAGE).status_code == 403
    app_client.cookies.clear()
    make_user(db, "staff@example.com", Role.staff)
    login(app_client, "staff@example.com")
    assert app_client.get(PAGE).status_code == 200
