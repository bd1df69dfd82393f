"""The admin request queue and a request's page: filters, plain-form status changes and assignment (CSRF, 303 back
to the same filtered list, the outcome shown once), refused moves, and who may see them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from psycopg.sql import Literal
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from luxserv.accounts.models import Role, User
from luxserv.calendars.timeline import DASH
from luxserv.core.database import Database
from luxserv.services import queue, requests
from luxserv.services.models import OPEN_STATUSES, Origin, RequestStatus, ServiceRequest, ServiceType
from tests.admin_helpers import counted, csrf_token, ids, main, sign_in, stay
from tests.factories import make_owner, make_property, make_user

S = RequestStatus


@dataclass
class Queue:
    condo: int
    villa: int
    sarah: int  # Sarah's stay at the condo, Jun 15 - 22
    mike: int  # Mike's stay at the villa, Jul 1 - 4
    admin: int
    staff: int
    owner: int  # the condo's owner (not a login)


@pytest.fixture
def world(app_client: TestClient, db: Database) -> Queue:
    owner = make_owner(db)
    condo = make_property(db, owner_id=owner)
    villa = make_property(db, name="Sea Breeze Villa", address="20 Sea Breeze Ct")
    sarah, _ = stay(db, condo, "SARAH", date(2026, 6, 15), 7)
    mike, _ = stay(db, villa, "MIKE", date(2026, 7, 1), 3, guest="Mike Chen")
    staff = make_user(db, "staff@example.com", Role.staff)
    admin = sign_in(app_client, db)
    return Queue(condo, villa, sarah, mike, admin, staff, owner)


def request_id(db: Database, booking_id: int, service_key: str) -> int:
    with db.unit_of_work(write=False) as session:
        found = session.scalar(
            select(ServiceRequest.id)
            .join(ServiceType, ServiceType.id == ServiceRequest.service_type_id)
            .where(ServiceRequest.booking_id == booking_id, ServiceType.key == service_key)
        )
    assert found is not None
    return found


def listed(client: TestClient, **params: str) -> list[int]:
    page = client.get("/admin/requests", params=params)
    assert page.status_code == 200, page.text
    return ids(page.text, "request")


def stored(db: Database, request_id: int) -> ServiceRequest:
    with db.unit_of_work(write=False) as session:
        return requests.get_request(session, request_id)


def test_the_queue_lists_open_requests_by_day_and_filters_them(
    app_client: TestClient, db: Database, world: Queue
) -> None:
    grocery = request_id(db, world.sarah, "grocery_stocking")  # Jun 13
    verify = request_id(db, world.sarah, "cleaning_verification")  # Jun 15
    cleaning = request_id(db, world.sarah, "post_checkout_cleaning")  # Jun 22
    mike_grocery = request_id(db, world.mike, "grocery_stocking")  # Jun 29
    mike_verify = request_id(db, world.mike, "cleaning_verification")  # Jul 1
    mike_cleaning = request_id(db, world.mike, "post_checkout_cleaning")  # Jul 4
    with db.unit_of_work() as session:
        requests.change_status(session, grocery, S.completed, actor="test")
        requests.change_status(session, mike_verify, S.cancelled, actor="test")
        requests.assign(session, cleaning, world.staff, actor="test")
        requests.assign(session, mike_cleaning, world.admin, actor="test")
        owner_ask = requests.create_request(
            session, property_id=world.condo, service_type="maintenance", scheduled_for=date(2026, 6, 18),
            origin=Origin.owner, actor="test", notes="Dripping tap in the kitchen",
        ).id  # fmt: skip

    page = app_client.get("/admin/requests")
    assert ids(page.text, "request") == [verify, owner_ask, cleaning, mike_grocery, mike_cleaning]  # open, by day
    body = main(page.text)
    assert "Dripping tap in the kitchen" in body and "Sarah Johnson" in body and "Mike Chen" in body
    assert f'href="/admin/bookings/{world.sarah}"' in body and 'class="origin origin-owner"' in body
    assert f'href="/admin/requests/{owner_ask}"' in body

    assert listed(app_client, status="all") == [grocery, verify, owner_ask, cleaning, mike_grocery, mike_verify,
                                                mike_cleaning]  # fmt: skip
    assert listed(app_client, status="completed") == [grocery]
    assert listed(app_client, status="cancelled") == [mike_verify]
    assert listed(app_client, status="requested") == [owner_ask]
    assert listed(app_client, property=str(world.villa)) == [mike_grocery, mike_cleaning]
    assert listed(app_client, date_from="2026-06-16", date_to="2026-06-30") == [owner_ask, cleaning, mike_grocery]
    assert listed(app_client, assignee="unassigned") == [verify, owner_ask, mike_grocery]
    assert listed(app_client, assignee=str(world.staff)) == [cleaning]
    assert listed(app_client, assignee="me") == [mike_cleaning]
    assert listed(app_client, origin="owner") == [owner_ask]
    with db.unit_of_work(write=False) as session:
        cleaning_type = session.scalar(select(ServiceType.id).where(ServiceType.key == "post_checkout_cleaning"))
    assert listed(app_client, service=str(cleaning_type)) == [cleaning, mike_cleaning]
    assert listed(app_client, sort="-date") == [mike_cleaning, mike_grocery, cleaning, owner_ask, verify]
    # Empty fields (as a form sends them) mean "any".
    assert listed(app_client, status="", property="", date_from="", assignee="", service="", origin="") == listed(
        app_client
    )

    for params, message in [
        ({"status": "done"}, "status must be one of requested, scheduled"),
        ({"date_from": "June 1"}, "from must be a date like 2026-06-15"),
        ({"date_from": "2026-07-01", "date_to": "2026-06-01"}, "date_to must not be before date_from"),
        ({"assignee": "bob"}, "assignee must be a whole number"),
        ({"sort": "name"}, "sort must be date or -date"),
    ]:
        answer = app_client.get("/admin/requests", params=params)
        assert answer.status_code == 422 and message in answer.text, params


def test_the_queue_is_paginated(
    app_client: TestClient, db: Database, world: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    everything = listed(app_client, status="all")
    assert len(everything) == 2
    page2 = app_client.get("/admin/requests", params={"status": "all", "page": "2"})
    assert f"Showing 3{DASH}4 of 6" in page2.text and "Page 2 of 3" in page2.text
    assert 'href="/admin/requests?status=all&amp;page=3" rel="next"' in page2.text
    assert len(set(everything) | set(ids(page2.text, "request"))) == 4
    assert listed(app_client, status="all", page="3") != everything


def test_a_request_moves_along_with_the_inline_form_and_the_queue_comes_back_filtered(
    app_client: TestClient, db: Database, world: Queue
) -> None:
    cleaning = request_id(db, world.sarah, "post_checkout_cleaning")
    filtered = "/admin/requests?" + urlencode({"property": world.condo, "status": "all"})
    page = app_client.get(filtered)
    token = csrf_token(page.text)
    assert f'action="/admin/requests/{cleaning}/status"' in page.text
    # Only the moves allowed from "scheduled" are offered.
    options = page.text.split(f'id="status-{cleaning}"')[1].split("</select>")[0]
    offered = [s.value for s in RequestStatus if f'value="{s.value}"' in options]
    assert offered == ["in_progress", "completed", "cancelled"]

    moved = app_client.post(
        f"/admin/requests/{cleaning}/status",
        data={"csrf_token": token, "status": "in_progress", "note": "crew on the way", "next": filtered},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and moved.headers["location"] == filtered
    shown = app_client.get(filtered)
    assert f"Post-checkout cleaning (#{cleaning}) is now in progress." in shown.text
    assert "is now in progress" not in app_client.get(filtered).text  # shown once
    done = stored(db, cleaning)
    assert done.status == S.in_progress
    assert (done.changes[-1].actor, done.changes[-1].note) == (f"user:{world.admin}", "crew on the way")

    app_client.post(
        f"/admin/requests/{cleaning}/status", data={"csrf_token": token, "status": "completed", "next": filtered}
    )
    assert stored(db, cleaning).status == S.completed
    row = app_client.get(filtered).text.split(f'<tr data-request="{cleaning}">')[1].split("</tr>")[0]
    assert "status-completed" in row and 'data-form="status"' not in row and "final" in row


def test_a_move_the_life_cycle_does_not_allow_shows_why(app_client: TestClient, db: Database, world: Queue) -> None:
    cleaning = request_id(db, world.sarah, "post_checkout_cleaning")
    token = csrf_token(app_client.get("/admin/requests").text)
    with db.unit_of_work() as session:
        requests.change_status(session, cleaning, S.completed, actor="test")  # meanwhile, someone finished it
    back = "/admin/requests?status=open"
    refused = app_client.post(
        f"/admin/requests/{cleaning}/status",
        data={"csrf_token": token, "status": "in_progress", "next": back},
        follow_redirects=False,
    )
    assert refused.status_code == 303 and refused.headers["location"] == back
    page = app_client.get(back)
    assert f"service request {cleaning} is already completed; it cannot change" in page.text
    assert 'class="alert" role="alert"' in page.text
    assert stored(db, cleaning).status == S.completed

    verify = request_id(db, world.sarah, "cleaning_verification")
    with db.unit_of_work() as session:
        requests.change_status(session, verify, S.in_progress, actor="test")
    for target, status, message in [
        (verify, "scheduled", "cannot go from in_progress to scheduled (allowed: cancelled, completed)"),
        (verify, "finished", "status must be one of requested, scheduled"),
        (verify, "", "choose the new status"),
        (9999, "completed", "service request 9999 not found"),
    ]:
        shown = app_client.post(f"/admin/requests/{target}/status", data={"csrf_token": token, "status": status})
        assert shown.url.path == "/admin/requests" and message in shown.text, status  # followed the 303
    assert stored(db, verify).status == S.in_progress


def test_forms_need_the_csrf_token_and_stay_on_the_admin_site(
    app_client: TestClient, db: Database, world: Queue
) -> None:
    cleaning = request_id(db, world.sarah, "post_checkout_cleaning")
    token = csrf_token(app_client.get("/admin/requests").text)
    for path, form in [
        (f"/admin/requests/{cleaning}/status", {"status": "completed"}),
        (f"/admin/requests/{cleaning}/assign", {"user_id": str(world.staff)}),
    ]:
        assert app_client.post(path, data=form, follow_redirects=False).status_code == 403
        assert (
            app_client.post(path, data={**form, "csrf_token": token + "x"}, follow_redirects=False).status_code == 403
        )
    assert stored(db, cleaning).status == S.scheduled and stored(db, cleaning).assigned_to_id is None
    offsite = app_client.post(
        f"/admin/requests/{cleaning}/status",
        data={"csrf_token": token, "status": "in_progress", "next": "https://evil.example/admin"},
        follow_redirects=False,
    )
    assert offsite.headers["location"] == "/admin/requests"


def test_a_request_is_assigned_and_unassigned_inline(app_client: TestClient, db: Database, world: Queue) -> None:
    cleaning = request_id(db, world.sarah, "post_checkout_cleaning")
    make_user(db, "former@example.com", Role.staff)
    with db.unit_of_work() as session:
        former = session.scalar(select(User).where(User.email == "former@example.com"))
        assert former is not None
        former.is_active = False
        former_id = former.id
    page = app_client.get("/admin/requests")
    token = csrf_token(page.text)
    choices = page.text.split(f'id="assign-{cleaning}"')[1].split("</select>")[0]
    assert f'value="{world.staff}"' in choices and f'value="{world.admin}"' in choices
    assert f'value="{former_id}"' not in choices  # inactive people are not offered

    given = app_client.post(
        f"/admin/requests/{cleaning}/assign",
        data={"csrf_token": token, "user_id": str(world.staff), "next": "/admin/requests?assignee=unassigned"},
        follow_redirects=False,
    )
    assert given.status_code == 303 and given.headers["location"] == "/admin/requests?assignee=unassigned"
    assert stored(db, cleaning).assigned_to_id == world.staff
    after = app_client.get("/admin/requests?assignee=unassigned")
    assert "is now assigned to staff@example.com" in after.text and cleaning not in ids(after.text, "request")

    path = f"/admin/requests/{cleaning}/assign"
    refused = app_client.post(path, data={"csrf_token": token, "user_id": str(former_id)})
    assert f"user {former_id} is not an active admin or staff member" in refused.text
    assert "is now unassigned" in app_client.post(path, data={"csrf_token": token, "user_id": ""}).text
    assert stored(db, cleaning).assigned_to_id is None


def test_a_requests_page_shows_its_context_and_history(app_client: TestClient, db: Database, world: Queue) -> None:
    cleaning = request_id(db, world.sarah, "post_checkout_cleaning")
    with db.unit_of_work() as session:
        requests.assign(session, cleaning, world.staff, actor=f"user:{world.admin}")
        requests.change_status(session, cleaning, S.in_progress, actor=f"user:{world.staff}", note="keys collected")
    page = app_client.get(f"/admin/requests/{cleaning}")
    assert page.status_code == 200
    body = main(page.text)
    assert "Post-checkout cleaning" in body and "Beach Condo 123" in body and "17751 Front Beach Rd" in body
    assert f'href="/admin/bookings/{world.sarah}"' in body and "Sarah Johnson" in body
    assert "keys collected" in body and "assigned to staff@example.com" in body
    assert "planned by rule post_checkout_cleaning" in body
    assert body.count("admin@example.com") >= 1  # the assignment is shown by the admin's name, not "user:N"
    assert f"user:{world.admin}" not in body
    assert f'action="/admin/requests/{cleaning}/status"' in body and 'name="note"' in body
    assert f'name="next" value="/admin/requests/{cleaning}"' in body

    token = csrf_token(page.text)
    done = app_client.post(
        f"/admin/requests/{cleaning}/status",
        data={"csrf_token": token, "status": "completed", "next": f"/admin/requests/{cleaning}"},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/admin/requests/{cleaning}"
    assert "is now completed" in app_client.get(f"/admin/requests/{cleaning}").text

    missing = app_client.get("/admin/requests/9999")
    assert missing.status_code == 404 and "service request 9999 not found" in missing.text


def test_owners_and_strangers_are_kept_out(app_client: TestClient, db: Database, world: Queue) -> None:
    cleaning = request_id(db, world.sarah, "post_checkout_cleaning")
    token = csrf_token(app_client.get("/admin/requests").text)
    app_client.cookies.delete("luxserv_session")
    assert app_client.get("/admin/requests", follow_redirects=False).headers["location"].startswith("/login?next=")
    sign_in(app_client, db, "dana@login.example", Role.owner, owner_id=world.owner)
    for path in ("/admin/requests", f"/admin/requests/{cleaning}"):
        answer = app_client.get(path)
        assert answer.status_code == 403 and "Not for this account" in answer.text
    for path, form in [
        (f"/admin/requests/{cleaning}/status", {"status": "completed"}),
        (f"/admin/requests/{cleaning}/assign", {"user_id": str(world.staff)}),
    ]:
        assert app_client.post(path, data={**form, "csrf_token": token}, follow_redirects=False).status_code == 403
    assert stored(db, cleaning).status == S.scheduled and stored(db, cleaning).assigned_to_id is None
    app_client.cookies.delete("luxserv_session")
    sign_in(app_client, db, "staff2@example.com", Role.staff)
    assert app_client.get("/admin/requests").status_code == 200


def test_the_queue_costs_the_same_queries_however_many_rows(app_client: TestClient, db: Database, world: Queue) -> None:
    with db.unit_of_work() as session:  # every kind of row is there already: assigned, with a stay and a guest
        requests.assign(session, request_id(db, world.sarah, "grocery_stocking"), world.staff, actor="test")
    with counted(db) as few:
        assert len(listed(app_client, status="all")) == 6
    for n in range(5):
        booking, _ = stay(db, world.villa, f"MORE-{n}", date(2026, 8, 1 + 5 * n), 3, guest=f"Guest {n}")
        with db.unit_of_work() as session:
            found, _ = requests.list_requests(session, requests.RequestFilter(booking_id=booking), limit=1)
            requests.assign(session, found[0].id, world.staff if n % 2 else world.admin, actor="test")
    with counted(db) as many:
        assert len(listed(app_client, status="all")) == 21
    assert len(many) == len(few)


# --- at scale: partial indexes, a capped count, a home search box ---------------------------------------------


@contextmanager
def recorded(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement sent while the block runs, with its parameters."""
    found: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        found.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


OPEN_LITERAL = "IN ('requested', 'scheduled', 'in_progress')"


def uses_index(db: Database, statement: str, parameters: Any, index: str) -> bool:
    """Whether the database can answer `statement` through `index` as it will run in production.

    SQLite: `INDEXED BY` that index, which fails ("no query solution") unless the WHERE clause implies a partial
    index's own. PostgreSQL: the plan of the statement prepared with its parameters left unknown (a generic plan, as
    a statement prepared by the driver gets after a few runs), with sequential scans and sorts priced out (on a few
    rows the planner would rather sort them).
    """
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            forced = statement.replace("FROM service_requests", f"FROM service_requests INDEXED BY {index}", 1)
            try:
                conn.exec_driver_sql(forced, parameters).all()
            except OperationalError as error:
                assert "no query solution" in str(error)
                return False
            return True
        raw = conn.connection.driver_connection
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
        prepared = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement)
        args = ", ".join(Literal(parameters[name]).as_string(raw) for name in names)
        for name, value in (
            ("plan_cache_mode", "force_generic_plan"),
            ("enable_seqscan", "off"),
            ("enable_sort", "off"),
            ("enable_incremental_sort", "off"),
            ("enable_hashagg", "off"),
        ):
            raw.execute(f"SET LOCAL {name} = {value}")
        raw.execute(f"PREPARE probe AS {prepared}")
        plan = "\n".join(row[0] for row in raw.execute(f"EXPLAIN EXECUTE probe({args})"))
        raw.execute("DEALLOCATE probe")
        conn.rollback()
        return f" {index} " in plan


def the_rows_query(statements: list[tuple[str, Any]]) -> tuple[str, Any]:
    return next((s, p) for s, p in statements if "ORDER BY service_requests.scheduled_for" in s)


def test_open_requests_are_read_a_page_at_a_time_through_the_open_tasks_index(
    app_client: TestClient, db: Database, world: Queue
) -> None:
    for url in ("/admin/requests", "/admin/requests?sort=-date&page=2", "/admin/requests?status=requested"):
        with recorded(db) as statements:
            assert app_client.get(url).status_code == 200
        rows, parameters = the_rows_query(statements)
        assert OPEN_LITERAL in rows and "LIMIT" in rows, url  # the statuses written in, as the index says them
        assert uses_index(db, rows, parameters, "ix_service_requests_open_day"), url
        counts = [s for s, _ in statements if s.lstrip().startswith("SELECT count(*)")]
        assert len(counts) == 1 and OPEN_LITERAL in counts[0] and "LIMIT" in counts[0], url
    with recorded(db) as statements:
        assert app_client.get("/admin/requests?status=completed").status_code == 200
    assert OPEN_LITERAL not in the_rows_query(statements)[0]  # finished work is not in the open tasks' index


def test_the_count_stops_at_the_cap(
    app_client: TestClient, db: Database, world: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "COUNT_CAP", 3)
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    with db.unit_of_work(write=False) as session:
        found = queue.queue(session, requests.RequestFilter(statuses=OPEN_STATUSES), limit=2)
        assert (found.total, found.capped, found.more, found.total_label, len(found.rows)) == (3, True, True, "3+", 2)
        few = queue.queue(session, requests.RequestFilter(status=S.completed), limit=2)
        assert (few.total, few.capped, few.more, few.total_label) == (0, False, False, "0")
    first = app_client.get("/admin/requests")
    assert '<span class="badge">3+</span>' in first.text and f"Showing 1{DASH}2 of 3+" in first.text
    assert "Page 1 of 2+" in first.text and 'href="/admin/requests?page=2" rel="next"' in first.text
    second = app_client.get("/admin/requests", params={"page": "2"})
    assert f"Showing 3{DASH}4 of 3+" in second.text and "Page 2 of 2+" in second.text
    assert 'href="/admin/requests?page=3" rel="next"' in second.text  # rows follow: the pager goes on
    third = app_client.get("/admin/requests", params={"page": "3"})
    assert len(ids(third.text, "request")) == 2 and "Page 3 of 3+" in third.text and 'rel="next"' not in third.text
    everything = ids(first.text, "request") + ids(second.text, "request") + ids(third.text, "request")
    assert len(set(everything)) == 6  # every open request, once
    monkeypatch.setattr(queue, "COUNT_CAP", 10_000)
    assert '<span class="badge">6</span>' in app_client.get("/admin/requests").text
    with db.unit_of_work(write=False) as session:
        assert queue.Queue(rows=[], total=10_000, capped=True).total_label == "10,000+"
        assert queue.Queue(rows=[], total=1234).total_label == "1,234"


def test_with_many_homes_the_home_filter_is_a_search_box(
    app_client: TestClient, db: Database, world: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = app_client.get("/admin/requests").text
    assert '<select name="property">' in few and 'name="home"' not in few
    assert f'<option value="{world.villa}">Sea Breeze Villa</option>' in few

    monkeypatch.setattr(queue, "HOME_CHOICES", 1)  # two homes: more than the filter lists
    many = app_client.get("/admin/requests").text
    assert '<select name="property">' not in many and "Sea Breeze Villa</option>" not in many
    assert '<input type="search" name="home" value=""' in many
    villa = request_id(db, world.mike, "post_checkout_cleaning")
    by_name = app_client.get("/admin/requests", params={"home": "BREEZE"})
    assert by_name.status_code == 200 and villa in ids(by_name.text, "request")
    assert {"Sea Breeze Villa"} == set(re.findall(r'href="/admin/properties/\d+">([^<]+)</a>', main(by_name.text)))
    assert 'name="home" value="BREEZE"' in by_name.text
    assert listed(app_client, home="%") == [] and listed(app_client, home="no such home") == []
    assert listed(app_client, home="breeze", property=str(world.condo)) == []  # both filters apply
    # A link to one home (the notifications send `?property=`) still works, and says so.
    one = app_client.get("/admin/requests", params={"property": str(world.villa)})
    assert set(ids(one.text, "request")) == set(listed(app_client, home="breeze"))
    assert f'<input type="hidden" name="property" value="{world.villa}">' in one.text
    assert f"Home #{world.villa} only" in one.text
    too_long = app_client.get("/admin/requests", params={"home": "x" * 101})
    assert too_long.status_code == 422 and "search for at most 100 characters" in too_long.text
    with db.unit_of_work(write=False) as session:
        assert queue.home_choices(session, limit=1) == queue.HomeChoices(choices=[], search=True)
        assert queue.home_choices(session, limit=2) == queue.HomeChoices(
            choices=[(world.condo, "Beach Condo 123"), (world.villa, "Sea Breeze Villa")], search=False
        )


def test_the_open_queue_costs_the_same_queries_however_many_rows(
    app_client: TestClient, db: Database, world: Queue
) -> None:
    with counted(db) as few:
        assert len(listed(app_client)) == 6
    for n in range(6):
        stay(db, world.condo, f"OPEN-{n}", date(2026, 9, 1 + 4 * n), 3, guest=f"Guest {n}", email=f"g{n}@example.com")
    with counted(db) as many:
        assert len(listed(app_client)) == 24
    assert len(many) == len(few)
