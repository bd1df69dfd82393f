"""The portal reads a fixed number of statements, however many homes an owner has (no query per property)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.owners import pages, portal
from luxserv.properties.models import DEFAULT_TIME_ZONE
from tests.factories import make_property
from tests.owners.conftest import Logins, World, add_maintenance, book, sign_in
from tests.services.test_queue_pages import OPEN_LITERAL, recorded, uses_index


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
    with counting(db) as statements:
        client.get("/owner")
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 7  # session, user, homes and their count, stays, open requests, maintenance, the bell


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


def test_the_cards_read_homes_with_their_count_and_stays_in_one_query_each(
    client: TestClient, db: Database, world: World, logins: Logins
) -> None:
    furnish(db, world.condo, 0)
    sign_in(client, logins.email("dana"))
    client.get("/owner")
    with recorded(db) as statements:
        page = client.get("/owner")
    assert page.status_code == 200 and "Guest Now0" in page.text and "Guest Next0" in page.text
    homes = [s for s, _ in statements if "FROM properties" in s]
    assert len(homes) == 1 and "count(*) OVER ()" in homes[0]  # the homes and how many there are, together
    stays = [s for s, _ in statements if "FROM bookings" in s]
    assert len(stays) == 1 and "row_number() OVER" in stays[0]  # who is in and who comes next, together
    active, parameters = next((s, p) for s, p in statements if "GROUP BY service_requests.property_id" in s)
    assert OPEN_LITERAL in active
    assert uses_index(db, active, parameters, "ix_service_requests_open_home")  # counted from the open tasks' index


def test_a_page_of_cards_past_the_end_shows_the_last(
    client: TestClient, db: Database, world: World, logins: Logins, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "CARDS_PER_PAGE", 1)
    sign_in(client, logins.email("dana"))
    last = client.get("/owner", params={"page": "9"})
    assert last.status_code == 200 and "Page 2 of 2" in last.text and "Sea Breeze Villa" in last.text
    with db.unit_of_work(write=False) as session:
        assert portal.cards_and_total(session, world.dana, limit=1, offset=1)[1] == 2
        assert portal.cards_and_total(session, world.dana, limit=1, offset=5) == ([], 2)  # counted apart
        assert portal.cards_and_total(session, world.omar + 99) == ([], 0)


def test_overlapping_stays_the_earliest_is_in_and_the_first_arrival_from_today_is_next(
    db: Database, world: World
) -> None:
    today = date(2026, 6, 20)
    book(db, world.condo, "LONG", date(2026, 6, 10), date(2026, 6, 25), guest="Lena Long")
    book(db, world.condo, "OVER", date(2026, 6, 12), date(2026, 6, 22), guest="Otto Over")  # a double booking
    book(db, world.condo, "TODAY", date(2026, 6, 20), date(2026, 6, 24), guest="Tara Today")
    book(db, world.condo, "LATER", date(2026, 6, 26), date(2026, 6, 28), guest="Lars Later")
    book(db, world.villa, "TWIN-A", date(2026, 6, 20), date(2026, 6, 22), guest="Ann Twin")
    book(db, world.villa, "TWIN-B", date(2026, 6, 20), date(2026, 6, 23), guest="Bob Twin")
    with db.unit_of_work(write=False) as session:
        cards = {c.name: c for c in portal.property_cards(session, world.dana, lambda tz: today)}
    condo, villa = cards["Beach Condo 123"], cards["Sea Breeze Villa"]
    assert condo.current is not None and condo.current.guest_name == "Lena Long"
    assert condo.next is not None and condo.next.guest_name == "Tara Today"  # not Otto, who came before today
    assert villa.current is not None and villa.current.guest_name == "Ann Twin"  # the same day: the first booked
    assert villa.next is not None and villa.next.guest_name == "Bob Twin"
