"""The admin bookings list (filters, search, order) and a booking's page: the guest and their other stays, the home
with its owner, neighbours and maintenance, the stay's services with their forms, messages, source and audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from luxserv.accounts.models import Role
from luxserv.bookings.models import BookingMessage
from luxserv.core.database import Database
from luxserv.integrations.base import EventKind
from luxserv.properties.models import MaintenanceItem, MaintenanceStatus
from luxserv.services import requests
from luxserv.services.models import RequestStatus
from tests.admin_helpers import counted, csrf_token, ids, main, sign_in, stay
from tests.factories import make_owner, make_property


@dataclass
class Stays:
    condo: int
    villa: int
    owner: int
    sarah_june: int  # condo, Jun 15 - 22, airbnb HMABC123
    sarah_august: int  # villa, Aug 1 - 5
    mike: int  # condo, Jun 25 - 28
    olivia: int  # villa, Jun 18 - 20, cancelled
    grace: int  # unplaced, Jul 10 - 13


@pytest.fixture
def stays(app_client: TestClient, db: Database) -> Stays:
    owner = make_owner(db, "Dana Whitfield", "dana@whitfield.example")
    condo = make_property(db, owner_id=owner)
    villa = make_property(db, name="Sea Breeze Villa", address="20 Sea Breeze Ct")
    sarah_june, _ = stay(
        db, condo, "SJ-1", date(2026, 6, 15), 7, guest_count=4, special_requests="Celebrating anniversary",
        confirmation_code="HMABC123", channel="airbnb", phone="+1 850 555 0100",
    )  # fmt: skip
    sarah_august, _ = stay(db, villa, "SJ-2", date(2026, 8, 1), 4)
    mike, _ = stay(db, condo, "MC-1", date(2026, 6, 25), 3, guest="Mike Chen", email="mike.chen@example.com",
                   channel="vrbo")  # fmt: skip
    olivia, _ = stay(db, villa, "OM-1", date(2026, 6, 18), 2, guest="Olivia Martinez", kind=EventKind.cancelled)
    grace, _ = stay(db, None, "GL-1", date(2026, 7, 10), 3, guest="Grace Lee", listing_name="Gulf View Cottage")
    sign_in(app_client, db)
    return Stays(condo, villa, owner, sarah_june, sarah_august, mike, olivia, grace)


def listed(client: TestClient, **params: str) -> list[int]:
    page = client.get("/admin/bookings", params=params)
    assert page.status_code == 200, page.text
    return ids(page.text, "booking")


def test_the_list_filters_searches_and_orders_bookings(app_client: TestClient, stays: Stays) -> None:
    s = stays
    newest_first = [s.sarah_august, s.grace, s.mike, s.olivia, s.sarah_june]
    assert listed(app_client) == newest_first
    assert listed(app_client, sort="check_in") == newest_first[::-1]
    assert listed(app_client, q="sarah") == [s.sarah_august, s.sarah_june]
    assert listed(app_client, q="hmabc") == [s.sarah_june]  # the confirmation code, any case
    assert listed(app_client, q="MC-1") == [s.mike]  # the channel's id
    assert listed(app_client, q="mike.chen@") == [s.mike]  # the e-mail
    assert listed(app_client, q="%") == []
    assert listed(app_client, property=str(s.villa)) == [s.sarah_august, s.olivia]
    assert listed(app_client, status="cancelled") == [s.olivia]
    assert listed(app_client, placement="unplaced") == [s.grace]
    assert s.grace not in listed(app_client, placement="placed")
    # Stays overlapping Jun 20 - 30 (Olivia leaves on the 20th, Sarah on the 22nd).
    assert listed(app_client, date_from="2026-06-20", date_to="2026-06-30") == [s.mike, s.olivia, s.sarah_june]
    assert listed(app_client, q="", property="", status="", placement="", date_from="", date_to="") == newest_first

    page = main(app_client.get("/admin/bookings", params={"placement": "unplaced"}).text)
    assert "Grace Lee" in page and "Gulf View Cottage" in page and "unplaced" in page
    page = main(app_client.get("/admin/bookings", params={"q": "hmabc"}).text)
    assert "Beach Condo 123" in page and "HMABC123" in page and "airbnb" in page and "7 nights" in page

    for params, message in [
        ({"placement": "somewhere"}, "placement must be placed or unplaced"),
        ({"date_from": "tomorrow"}, "from must be a date like 2026-06-15"),
        ({"date_from": "2026-07-01", "date_to": "2026-06-01"}, "the end of the date range is before its start"),
        ({"status": "gone"}, "status must be one of confirmed"),
        ({"property": "condo"}, "property must be a whole number"),
        ({"q": "x" * 101}, "search for at most 100 characters"),
    ]:
        answer = app_client.get("/admin/bookings", params=params)
        assert answer.status_code == 422 and message in answer.text, params


def test_a_bookings_page_shows_the_guest_the_home_and_everything_about_the_stay(
    app_client: TestClient, db: Database, stays: Stays
) -> None:
    s = stays
    with db.unit_of_work() as session:
        session.add_all(
            [
                MaintenanceItem(property_id=s.condo, title="AC service", due_on=date(2026, 6, 20)),
                MaintenanceItem(property_id=s.condo, title="Gutter cleaning", due_on=date(2026, 12, 1)),
                MaintenanceItem(property_id=s.condo, title="Old smoke alarm check", due_on=date(2026, 6, 1),
                                status=MaintenanceStatus.done),
                BookingMessage(booking_id=s.sarah_june, message_id="m1", sender="guest",
                               body="Could we get a crib?", sent_at=datetime(2026, 6, 10, 15, 0, tzinfo=UTC)),
                BookingMessage(booking_id=s.sarah_june, message_id="m2", sender="host",
                               body="Of course, it will be there.", sent_at=datetime(2026, 6, 10, 16, 0, tzinfo=UTC)),
            ]
        )  # fmt: skip
    page = app_client.get(f"/admin/bookings/{s.sarah_june}")
    assert page.status_code == 200
    body = main(page.text)
    # The guest, with a link to the profile and their other stay.
    assert "Sarah Johnson" in body and 'href="mailto:sarah@example.com"' in body and "+1 850 555 0100" in body
    assert f'href="/admin/bookings/{s.sarah_august}"' in body and "Sea Breeze Villa" in body
    # The home: address, owner, the other booking around these dates, maintenance due by then.
    assert "17751 Front Beach Rd, Unit 123" in body and "Dana Whitfield" in body and "dana@whitfield.example" in body
    assert f'href="/admin/bookings/{s.mike}"' in body and "Mike Chen" in body
    assert "AC service" in body and "Gutter cleaning" not in body and "Old smoke alarm" not in body
    # The stay itself.
    assert "Celebrating anniversary" in body and "Check-in" in body and "Mon Jun 15, 2026" in body
    assert "Could we get a crib?" in body and "Of course, it will be there." in body
    assert body.index("Could we get a crib?") < body.index("Of course, it will be there.")
    assert "HMABC123" in body and "SJ-1" in body and "airbnb" in body and "manual" in body
    assert "booking.created" in body
    # Its services, each with the queue's forms; they post back to this page.
    for service in ("Grocery stocking", "Cleaning verification", "Celebration setup", "Post-checkout cleaning"):
        assert service in body
    assert body.count('data-form="status"') == 4 and f'name="next" value="/admin/bookings/{s.sarah_june}"' in body
    # The home's timeline around the stay, this booking outlined.
    assert 'class="tl d-14 compact"' in body
    assert (
        f'data-booking="{s.sarah_june}"' in body and "current" in body.split(f'data-booking="{s.sarah_june}"')[0][-300:]
    )

    service_id = int(body.split('data-request="')[1].split('"')[0])
    moved = app_client.post(
        f"/admin/requests/{service_id}/status",
        data={"csrf_token": csrf_token(page.text), "status": "completed", "next": f"/admin/bookings/{s.sarah_june}"},
        follow_redirects=False,
    )
    assert moved.headers["location"] == f"/admin/bookings/{s.sarah_june}"
    assert "is now completed" in app_client.get(f"/admin/bookings/{s.sarah_june}").text
    with db.unit_of_work(write=False) as session:
        assert requests.get_request(session, service_id).status == RequestStatus.completed


def test_an_unplaced_booking_and_a_missing_one(app_client: TestClient, stays: Stays) -> None:
    page = app_client.get(f"/admin/bookings/{stays.grace}")
    assert page.status_code == 200
    body = main(page.text)
    assert "This booking is unplaced" in body and "Gulf View Cottage" in body and "Not on a home yet." in body
    assert 'class="tl ' not in body
    missing = app_client.get("/admin/bookings/9999")
    assert missing.status_code == 404 and "booking 9999 not found" in missing.text


def test_only_staff_see_bookings(app_client: TestClient, db: Database, stays: Stays) -> None:
    app_client.cookies.delete("luxserv_session")
    assert app_client.get("/admin/bookings", follow_redirects=False).status_code == 303
    sign_in(app_client, db, "dana@login.example", Role.owner, owner_id=stays.owner)
    assert app_client.get("/admin/bookings").status_code == 403
    assert app_client.get(f"/admin/bookings/{stays.sarah_june}").status_code == 403


def test_a_bookings_page_costs_the_same_queries_however_long_the_history(
    app_client: TestClient, db: Database, stays: Stays
) -> None:
    with counted(db) as few:
        assert app_client.get(f"/admin/bookings/{stays.sarah_june}").status_code == 200
    for n in range(6):  # more stays for Sarah elsewhere, and more neighbours at the condo
        stay(db, stays.villa, f"SJ-more-{n}", date(2026, 9, 1 + 4 * n), 3)
        stay(db, stays.condo, f"N-{n}", date(2026, 6, 1 + (n % 2) * 22), 1, guest=f"Neighbour {n}")
    with counted(db) as many:
        page = app_client.get(f"/admin/bookings/{stays.sarah_june}")
        assert page.status_code == 200 and "Neighbour 5" in page.text
    assert len(many) == len(few)


def test_the_list_costs_the_same_queries_however_many_rows(app_client: TestClient, db: Database, stays: Stays) -> None:
    with counted(db) as few:
        assert len(listed(app_client)) == 5
    for n in range(6):
        stay(db, stays.villa if n % 2 else None, f"MORE-{n}", date(2026, 9, 1 + 4 * n), 3, guest=f"Guest {n}")
    with counted(db) as many:
        assert len(listed(app_client)) == 11
    assert len(many) == len(few)
