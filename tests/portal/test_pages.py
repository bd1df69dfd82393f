"""The guest portal pages: opening a stay, the pre-filled request form, filing (CSRF, validation, escaping),
the guest's requests with their status, and the bell counting the team's updates since the last visit."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.core.database import Database
from luxserv.services import requests
from luxserv.services.models import Origin, RequestStatus, ServiceRequest
from tests.portal.conftest import GuestStay, book, csrf_from, stay_event

NEUTRAL = "We could not find an active stay for that code."


def open_stay(client: TestClient, code: str) -> str:
    page = client.get("/portal", params={"booking": code})
    assert page.status_code == 200, page.text
    return page.text


def form(client: TestClient, stay: GuestStay, code: str | None = None, **fields: str) -> dict[str, str]:
    """The request form's fields, with the CSRF token of a freshly opened stay page (`code`: another stay)."""
    code = code or stay.code
    token = csrf_from(open_stay(client, code))
    values = {
        "csrf_token": token,
        "booking": code,
        "service_type": "beach_gear_delivery",
        "date": (stay.today + timedelta(days=1)).isoformat(),
        "time": "",
        "notes": "",
    }
    values.update(fields)
    return values


def guest_requests(db: Database) -> list[ServiceRequest]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(ServiceRequest).where(ServiceRequest.origin == Origin.guest)))


def test_without_a_code_the_portal_offers_both_ways_in(client: TestClient) -> None:
    page = client.get("/portal")
    assert page.status_code == 200
    assert "Enter your access code" in page.text and "Find my stay" in page.text
    assert 'name="booking"' in page.text and 'name="confirmation_code"' in page.text and 'name="email"' in page.text
    assert "Sign in" not in page.text


def test_the_stay_page_shows_the_stay_and_a_prefilled_form(client: TestClient, guest_stay: GuestStay) -> None:
    page = client.get("/portal", params={"booking": guest_stay.code})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers.get_list("referrer-policy") == ["no-referrer"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    text = page.text
    assert "Your current stay" in text and "Beach Condo 123" in text
    assert "17751 Front Beach Rd, Unit 123, Panama City Beach, FL" in text
    assert re.search(r'data-testid="guest-count">4<', text)
    assert 'value="Sarah Johnson" readonly' in text and 'value="sarah@email.com" readonly' in text
    assert f'name="booking" value="{guest_stay.code}"' in text
    tomorrow = guest_stay.today + timedelta(days=1)
    assert f'name="date" value="{tomorrow.isoformat()}"' in text
    assert f'min="{guest_stay.today.isoformat()}" max="{guest_stay.check_out.isoformat()}"' in text
    offered = re.findall(r'<option value="([a-z_]+)"', text)
    assert "beach_gear_delivery" in offered and "private_chef" in offered
    assert "post_checkout_cleaning" not in offered and "grocery_stocking" not in offered
    assert "You have not asked for anything yet." in text
    assert "Sign in" not in text


def test_upcoming_and_recent_stays_are_named_so(client: TestClient, db: Database, guest_stay: GuestStay) -> None:
    today = guest_stay.today
    _, soon = book(
        db, stay_event(guest_stay.loft, "B-SOON", today + timedelta(5), today + timedelta(9), email="a@x.io")
    )
    upcoming = open_stay(client, soon)
    assert "Your upcoming stay" in upcoming and "Harbor Loft" in upcoming
    assert f'name="date" value="{(today + timedelta(5)).isoformat()}"' in upcoming  # the first day of the stay
    _, ended = book(
        db, stay_event(guest_stay.loft, "B-ENDED", today - timedelta(6), today - timedelta(1), email="b@x.io")
    )
    recent = open_stay(client, ended)
    assert "Your recent stay" in recent and 'name="service_type"' not in recent
    assert "new requests can no longer be made here" in recent


def test_a_bad_code_gets_the_neutral_page(client: TestClient, guest_stay: GuestStay) -> None:
    page = client.get("/portal", params={"booking": "not-a-code"})
    assert page.status_code == 404
    assert NEUTRAL in page.text and "Enter your access code" in page.text
    assert page.headers["cache-control"] == "no-store"
    filed = client.post("/portal/requests", data={**form(client, guest_stay), "booking": "not-a-code"})
    assert filed.status_code == 404 and NEUTRAL in filed.text


def test_filing_on_the_page_lands_linked_to_the_booking(
    client: TestClient, db: Database, guest_stay: GuestStay
) -> None:
    day = guest_stay.today + timedelta(days=2)
    values = form(client, guest_stay, date=day.isoformat(), time="16:00", notes="Two umbrellas, please")
    response = client.post("/portal/requests", data=values, follow_redirects=False)
    assert response.status_code == 303, response.text
    target = urlsplit(response.headers["location"])
    assert target.path == "/portal" and parse_qs(target.query) == {"booking": [guest_stay.code], "sent": ["1"]}
    page = client.get(response.headers["location"])
    assert "Thank you — we received your request" in page.text
    assert "Beach gear delivery" in page.text and "Two umbrellas, please" in page.text
    assert '<span class="status status-requested">Received</span>' in page.text
    [made] = guest_requests(db)
    assert (made.booking_id, made.guest_id, made.property_id) == (
        guest_stay.booking_id,
        guest_stay.guest_id,
        guest_stay.condo,
    )
    assert (made.scheduled_for, made.status, made.time_of_day.isoformat() if made.time_of_day else None) == (
        day,
        RequestStatus.requested,
        "16:00:00",
    )


def test_mistakes_are_shown_next_to_the_fields(client: TestClient, db: Database, guest_stay: GuestStay) -> None:
    after = (guest_stay.check_out + timedelta(days=1)).isoformat()
    outside = client.post("/portal/requests", data=form(client, guest_stay, date=after, notes="keep me"))
    assert outside.status_code == 422
    assert re.search(r'id="e-date">choose a day from .+ \(during your stay\)<', outside.text)
    assert 'aria-invalid="true" aria-describedby="e-date"' in outside.text
    assert f'name="date" value="{after}"' in outside.text and ">keep me</textarea>" in outside.text
    not_offered = client.post("/portal/requests", data=form(client, guest_stay, service_type="grocery_stocking"))
    assert not_offered.status_code == 422
    assert 'id="e-service">choose one of the services offered<' in not_offered.text
    empty = client.post("/portal/requests", data=form(client, guest_stay, service_type="", date="", time="25:99"))
    assert empty.status_code == 422
    assert 'id="e-service">choose a service<' in empty.text and 'id="e-date">choose a day<' in empty.text
    assert 'id="e-time">' in empty.text
    assert guest_requests(db) == []


def test_a_form_without_the_csrf_token_is_refused(client: TestClient, db: Database, guest_stay: GuestStay) -> None:
    values = form(client, guest_stay)
    del values["csrf_token"]
    assert client.post("/portal/requests", data=values).status_code == 403
    assert client.post("/portal/requests", data={**values, "csrf_token": "forged"}).status_code == 403
    token = csrf_from(client.get("/portal").text)
    find = {"confirmation_code": "HMABC12345", "email": "sarah@email.com"}
    assert client.post("/portal/find", data=find).status_code == 403
    assert client.post("/portal/find", data={**find, "csrf_token": token}, follow_redirects=False).status_code == 303
    assert guest_requests(db) == []


def test_names_and_notes_are_escaped(client: TestClient, db: Database, guest_stay: GuestStay) -> None:
    today = guest_stay.today
    _, code = book(
        db,
        stay_event(
            guest_stay.loft, "B-XSS", today, today + timedelta(3), name="<script>alert(1)</script>", email="x@x.io"
        ),
    )
    values = form(
        client, GuestStay(0, 0, 0, 0, code, today, today, today + timedelta(3)), notes="<script>alert(2)</script>"
    )
    assert client.post("/portal/requests", data=values, follow_redirects=False).status_code == 303
    page = open_stay(client, code)
    assert "<script>" not in page
    assert html.escape("<script>alert(1)</script>", quote=True) in page
    assert html.escape("<script>alert(2)</script>", quote=False) in page


def test_find_my_stay_opens_it_with_a_fresh_code(client: TestClient, guest_stay: GuestStay) -> None:
    token = csrf_from(client.get("/portal").text)
    wrong = client.post(
        "/portal/find", data={"csrf_token": token, "confirmation_code": "HMABC12345", "email": "x@y.io"}
    )
    assert wrong.status_code == 404 and NEUTRAL in wrong.text and 'value="x@y.io"' in wrong.text
    found = client.post(
        "/portal/find",
        data={"csrf_token": token, "confirmation_code": "hmabc12345", "email": "Sarah@Email.com"},
        follow_redirects=False,
    )
    assert found.status_code == 303
    [code] = parse_qs(urlsplit(found.headers["location"]).query)["booking"]
    assert code != guest_stay.code
    assert "Your current stay" in open_stay(client, code)


def test_the_bell_counts_the_teams_updates_since_the_last_visit(
    client: TestClient, db: Database, guest_stay: GuestStay
) -> None:
    assert client.post("/portal/requests", data=form(client, guest_stay), follow_redirects=False).status_code == 303
    first = open_stay(client, guest_stay.code)
    assert 'data-testid="guest-bell"' in first and 'data-testid="bell-count"' not in first  # their own request
    seen = next(c for c in client.cookies.jar if c.name == "luxserv_portal_seen")
    assert seen.path == "/portal"
    [made] = guest_requests(db)
    with db.unit_of_work() as session:
        requests.change_status(session, made.id, RequestStatus.scheduled, actor="user:1", note="internal remark")
    updated = open_stay(client, guest_stay.code)
    assert re.search(r'data-testid="bell-count">1<', updated)
    assert "Updates to your requests: 1 new" in updated and "Updated</span>" in updated
    assert '<span class="status status-scheduled">Scheduled</span>' in updated
    assert "internal remark" not in updated and "user:1" not in updated
    again = open_stay(client, guest_stay.code)
    assert 'data-testid="bell-count"' not in again and "Updates to your requests: none new" in again
