"""The portal reads a fixed number of statements, however many homes an owner has (no query per property)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.properties.models import DEFAULT_TIME_ZONE
from tests.factories import make_property
from tests.owners.conftest import Logins, World, add_maintenance, book, sign_in


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def furnish(db: Database, property_id: int, n: int) -> None:
    """A guest staying, one coming, their planned services, and maintenance due."""
    t = local_today(DEFAULT_TIME_ZONE)
    book(db, property_id, f"NOW-{n}", t - timedelta(days=2), t + timedelta(days=2), guest=f"Guest Now{n}")
    book(db, property_id, f"NEXT-{n}", t + timedelta(days=5), t + timedelta(days=8), guest=f"Guest Next{n}")
    add_maintenance(db, property_id, f"Filter change {n}", t + timedelta(days=4))


def statements_for(client: TestClient, db: Database, path: str) -> int:
    client.get(path)  # warm: the first call may refresh the session
    with counting(db) as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


def test_the_portal_does_not_query_per_property(client: TestClient, db: Database, world: World, logins: Logins) -> None:
    furnish(db, world.condo, 0)
    furnish(db, world.villa, 1)
    sign_in(client, logins.email("dana"))
    two = {path: statements_for(client, db, path) for path in ("/owner", "/api/owner/properties")}
    for n in range(2, 20):
        furnish(db, make_property(db, owner_id=world.dana, name=f"Unit {n:02d}", address=f"{n} Pier Park Dr"), n)
    page = client.get("/owner").text
    assert page.count('data-testid="property-card"') == 20 and page.count("Current guest:") == 20
    assert "Guest Next19" in page and "Filter change 19" in page
    twenty = {path: statements_for(client, db, path) for path in ("/owner", "/api/owner/properties")}
    assert twenty == two
    assert two["/owner"] <= 15  # user, bell, count, properties, stays now, stays next, requests, maintenance…


def test_a_homes_page_does_not_query_per_day_or_request(
    client: TestClient, db: Database, world: World, logins: Logins
) -> None:
    sign_in(client, logins.email("dana"))
    path = f"/owner/properties/{world.condo}?from="
    empty = statements_for(client, db, path)
    furnish(db, world.condo, 0)
    furnish(db, world.villa, 1)
    t = local_today(DEFAULT_TIME_ZONE)
    book(db, world.condo, "LATER", t + timedelta(days=12), t + timedelta(days=14), guest="Guest Later")
    assert statements_for(client, db, path) == empty
