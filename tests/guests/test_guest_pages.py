"""Guests for admins: finding them by name, e-mail or phone with how often they stay, and a guest's profile with
stays now, coming and past, and every service request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from luxserv.accounts.models import Role
from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.integrations.base import EventKind
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services import requests
from luxserv.services.models import Origin
from tests.admin_helpers import counted, ids, main, sign_in, stay
from tests.factories import make_owner, make_property


@dataclass
class Guests:
    today: date
    condo: int
    villa: int
    owner: int
    sarah: int
    mike: int
    now: int  # Sarah's stay today
    coming: int  # Sarah's next stay
    last_year: int  # Sarah's stay a year ago
    dropped: int  # Sarah's cancelled stay
    ask: int  # Sarah's own request during her stay


@pytest.fixture
def guests(app_client: TestClient, db: Database) -> Guests:
    today = local_today(DEFAULT_TIME_ZONE)
    owner = make_owner(db)
    condo = make_property(db, owner_id=owner)
    villa = make_property(db, name="Sea Breeze Villa", address="20 Sea Breeze Ct")
    now, sarah = stay(db, condo, "S-NOW", today - timedelta(days=2), 5, phone="+1 850 555 0100")
    coming, _ = stay(db, villa, "S-NEXT", today + timedelta(days=30), 4)
    last_year, _ = stay(db, villa, "S-OLD", today - timedelta(days=365), 3)
    dropped, _ = stay(db, condo, "S-DROP", today + timedelta(days=60), 2, kind=EventKind.cancelled)
    _, mike = stay(db, villa, "M-1", today + timedelta(days=10), 2, guest="Mike Chen", email="mike.chen@example.com")
    stay(db, None, "G-1", today + timedelta(days=12), 3, guest="Grace Lee", listing_name="Gulf View Cottage")
    with db.unit_of_work() as session:
        ask = requests.create_request(
            session, property_id=condo, service_type="beach_gear_delivery", scheduled_for=today,
            origin=Origin.guest, actor="test", notes="Four chairs and an umbrella",
        ).id  # fmt: skip
    sign_in(app_client, db)
    return Guests(today, condo, villa, owner, sarah, mike, now, coming, last_year, dropped, ask)


def test_guests_are_found_by_name_email_or_phone_with_their_stays(app_client: TestClient, guests: Guests) -> None:
    page = app_client.get("/admin/guests")
    assert page.status_code == 200
    assert [name for name in ("Grace Lee", "Mike Chen", "Sarah Johnson") if name in page.text] == [
        "Grace Lee", "Mike Chen", "Sarah Johnson"
    ]  # fmt: skip
    rows = ids(page.text, "guest")
    assert len(rows) == 3 and rows[1:] == [guests.mike, guests.sarah]  # by name
    sarah = page.text.split(f'<tr data-guest="{guests.sarah}">')[1].split("</tr>")[0]
    assert ">3 <span" in sarah and "returning" in sarah  # three stays not cancelled
    assert (guests.today - timedelta(days=2)).strftime("%b %-d, %Y") in sarah  # the latest check-in before today
    assert (guests.today + timedelta(days=30)).strftime("%b %-d, %Y") in sarah  # the next one
    assert ids(app_client.get("/admin/guests", params={"q": "JOHN"}).text, "guest") == [guests.sarah]
    assert ids(app_client.get("/admin/guests", params={"q": "mike.chen@"}).text, "guest") == [guests.mike]
    assert ids(app_client.get("/admin/guests", params={"q": "555 0100"}).text, "guest") == [guests.sarah]
    nobody = app_client.get("/admin/guests", params={"q": "nobody"})
    assert ids(nobody.text, "guest") == [] and "No guest matches" in nobody.text
    assert app_client.get("/admin/guests", params={"q": "x" * 101}).status_code == 422
    assert app_client.get("/admin/guests", params={"page": "two"}).status_code == 422


def test_a_guest_profile_shows_stays_now_coming_and_past_and_their_requests(
    app_client: TestClient, guests: Guests
) -> None:
    page = app_client.get(f"/admin/guests/{guests.sarah}")
    assert page.status_code == 200
    body = main(page.text)
    assert "Sarah Johnson" in body and 'href="mailto:sarah@example.com"' in body and "+1 850 555 0100" in body
    now = body.split('id="current-h"')[1].split("</section>")[0]
    coming = body.split('id="upcoming-h"')[1].split("</section>")[0]
    past = body.split('id="past-h"')[1].split("</section>")[0]
    assert ids(now, "booking") == [guests.now]
    assert ids(coming, "booking") == [guests.coming]
    assert ids(past, "booking") == [guests.dropped, guests.last_year]  # latest first, the cancelled one included
    assert "status-cancelled" in past
    glance = body.split('aria-label="At a glance"')[1].split("</ul>")[0]
    assert ">3<" in glance.split("Stays")[1] and ">12<" in glance.split("Nights")[1]  # 5 + 4 + 3
    assert ">2<" in glance.split("Homes")[1]
    requests_part = body.split('id="requests-h"')[1].split("</section>")[0]
    assert "Beach gear delivery" in requests_part and "Four chairs and an umbrella" in requests_part
    assert "origin-guest" in requests_part and f'href="/admin/requests/{guests.ask}"' in requests_part
    assert "Post-checkout cleaning" in requests_part  # the stays' planned services too

    mike = main(app_client.get(f"/admin/guests/{guests.mike}").text)
    assert "Staying now" not in mike and "None yet." in mike
    missing = app_client.get("/admin/guests/9999")
    assert missing.status_code == 404 and "guest 9999 not found" in missing.text


def test_a_profile_costs_the_same_queries_however_many_stays(
    app_client: TestClient, db: Database, guests: Guests
) -> None:
    with counted(db) as few:
        assert app_client.get(f"/admin/guests/{guests.sarah}").status_code == 200
    for n in range(5):
        stay(db, guests.villa, f"S-MORE-{n}", guests.today + timedelta(days=100 + 10 * n), 3)
    with counted(db) as many:
        assert app_client.get(f"/admin/guests/{guests.sarah}").status_code == 200
    assert len(many) == len(few)


def test_only_staff_see_guests(app_client: TestClient, db: Database, guests: Guests) -> None:
    app_client.cookies.delete("luxserv_session")
    assert app_client.get("/admin/guests", follow_redirects=False).status_code == 303
    sign_in(app_client, db, "dana@login.example", Role.owner, owner_id=guests.owner)
    assert app_client.get("/admin/guests").status_code == 403
    assert app_client.get(f"/admin/guests/{guests.sarah}").status_code == 403
