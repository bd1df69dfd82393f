"""Owner portal pages: the cards' wording, a home's calendar and request list with filters, filing a request
(CSRF, validation shown on the page) and the calendar subscription link."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services.models import Origin, RequestStatus, ServiceRequest, ServiceType
from tests.factories import make_property
from tests.owners.conftest import Logins, World, add_maintenance, book, form_token, settle, sign_in


def text(page: str) -> str:
    """What a person reads: the main content without tags, whitespace collapsed."""
    main = page.split('<main id="main">', 1)[-1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main))).strip()


def label(day: date) -> str:
    return f"{day:%B} {day.day}"


def today() -> date:
    return local_today(DEFAULT_TIME_ZONE)


def type_id(db: Database, key: str) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalars(select(ServiceType.id).where(ServiceType.key == key)).one()


def request_count(db: Database, property_id: int) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).where(ServiceRequest.property_id == property_id)) or 0


@pytest.fixture
def dana(client: TestClient, world: World, logins: Logins) -> TestClient:
    sign_in(client, logins.email("dana"))
    return client


def test_the_cards_say_it_as_the_scenario_does(db: Database, world: World, dana: TestClient) -> None:
    t = today()
    sarah = book(
        db, world.condo, "SARAH", t - timedelta(days=5), t + timedelta(days=2), special="Celebrating anniversary"
    )
    book(db, world.condo, "MIKE", t + timedelta(days=4), t + timedelta(days=9), guest="Mike Chen")
    book(db, world.villa, "OLIVIA", t + timedelta(days=10), t + timedelta(days=12), guest="Olivia Martinez")
    book(db, world.loft, "OMAR", t - timedelta(days=1), t + timedelta(days=3), guest="Olaf Other")
    settle(db, world.condo, keep=((sarah, "grocery_stocking"), (sarah, "celebration_setup")))
    settle(db, world.villa)
    add_maintenance(db, world.condo, "AC service due", t + timedelta(days=3))
    add_maintenance(db, world.villa, "Gutter cleaning", t - timedelta(days=2))
    page = dana.get("/owner")
    assert page.status_code == 200
    seen = text(page.text)
    condo, villa = seen.split("Beach Condo 123", 1)[1].split("Sea Breeze Villa", 1)
    assert "Current guest: Sarah Johnson" in condo
    assert f"Checkout: {label(t + timedelta(days=2))} (2 days)" in condo
    assert "Active requests: 2 (Grocery stocking, Celebration setup)" in condo
    assert f"Next guest: Mike Chen on {label(t + timedelta(days=4))}" in condo
    assert f"Maintenance due: AC service due ({label(t + timedelta(days=3))})" in condo
    assert "Status: Available" in villa and f"Next booking: {label(t + timedelta(days=10))}" in villa
    assert "Active requests: none" in villa
    assert f"Maintenance overdue: Gutter cleaning ({label(t - timedelta(days=2))})" in villa
    assert "Harbor Loft" not in seen and "Olaf Other" not in seen
    assert f'href="/owner/properties/{world.condo}"' in page.text
    assert "owner.css" in page.text


def test_a_home_without_bookings_says_so(world: World, dana: TestClient) -> None:
    seen = text(dana.get("/owner").text)
    assert seen.count("Status: Available") == 2 and seen.count("Next booking: no upcoming bookings") == 2


def test_cards_are_paginated(db: Database, world: World, dana: TestClient) -> None:
    for n in range(29):
        make_property(db, owner_id=world.dana, name=f"Unit {n:02d}", address=f"{n} Pier Park Dr")
    first = text(dana.get("/owner").text)
    assert "31 homes" in first and "Page 1 of 2" in first and "Unit 27" in first and "Unit 28" not in first
    second = text(dana.get("/owner", params={"page": 2}).text)
    assert "Unit 28" in second and "Beach Condo 123" not in second and "Page 2 of 2" in second
    assert "Page 2 of 2" in text(dana.get("/owner", params={"page": 99}).text)


def test_admins_are_sent_to_their_dashboard_and_strangers_to_sign_in(
    client: TestClient, world: World, logins: Logins
) -> None:
    anonymous = client.get("/owner", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/owner"
    sign_in(client, logins.email("admin"))
    admin = client.get("/owner", follow_redirects=False)
    assert admin.status_code == 303 and admin.headers["location"] == "/admin"
    assert client.get(f"/owner/properties/{world.loft}").status_code == 200  # any home's page


def test_the_property_page_shows_the_month_and_the_requests(db: Database, world: World, dana: TestClient) -> None:
    book(db, world.condo, "SARAH", date(2026, 6, 15), date(2026, 6, 22), special="Celebrating anniversary")
    book(db, world.condo, "MIKE", date(2026, 6, 24), date(2026, 6, 29), guest="Mike Chen")
    path = f"/owner/properties/{world.condo}"
    page = dana.get(path, params={"month": "2026-06", "from": ""})
    assert page.status_code == 200
    seen = text(page.text)
    assert "June 2026" in seen and "← May" in seen and "July →" in seen
    assert seen.count("Stay: Sarah Johnson") == 2  # a band in each of the two weeks of her stay
    assert "Sarah Johnson · 4 guests · June 15 \u2013 June 22" in seen
    assert "Check-in: Mike Chen (4 guests)" in seen and "Checkout: Sarah Johnson" in seen
    assert 'class="cal-band col-2 span-6 lane-1 starts band-confirmed"' in page.text
    assert "month=2026-05" in page.text and "month=2026-07" in page.text
    assert "Service requests 7" in seen  # all of them: "From" was cleared
    table = seen.split("Service requests", 1)[1]
    assert table.index("Sat June 13, 2026") < table.index("Mon June 15, 2026") < table.index("Mon June 29, 2026")

    celebration = dana.get(path, params={"month": "2026-06", "from": "", "service": type_id(db, "celebration_setup")})
    assert "Service requests 1" in text(celebration.text) and "Celebration setup" in text(celebration.text)
    mike = text(dana.get(path, params={"from": "2026-06-01", "to": "2026-06-30", "guest": "mike"}).text)
    assert "Service requests 3" in mike and "Sarah Johnson" not in mike.split("Service requests", 1)[1]
    none = text(dana.get(path, params={"from": "", "status": "requested"}).text)
    assert "Service requests 0" in none and "No requests match." in none


def test_the_request_list_starts_today_by_default(db: Database, world: World, dana: TestClient) -> None:
    t = today()
    book(db, world.condo, "SARAH", t - timedelta(days=10), t + timedelta(days=2))
    seen = text(dana.get(f"/owner/properties/{world.condo}").text)
    assert "Service requests 1" in seen and "Post-checkout cleaning" in seen  # the others lie in the past
    assert f'name="from" value="{t.isoformat()}"' in dana.get(f"/owner/properties/{world.condo}").text
    assert f"{t:%B %Y}" in seen


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"month": "2026-13"}, "month '2026-13' is not a month like 2026-06"),
        ({"from": "June 1"}, "from: 'June 1' is not valid here"),
        ({"status": "sleeping"}, "status: 'sleeping' is not valid here"),
        ({"service": "grocery"}, "service: 'grocery' is not valid here"),
        ({"from": "2026-06-30", "to": "2026-06-01"}, "to: the end date must not be before the start date"),
        ({"offset": "-5"}, "offset: offset must not be negative"),
    ],
)
def test_bad_parameters_are_explained(world: World, dana: TestClient, params: dict[str, str], message: str) -> None:
    page = dana.get(f"/owner/properties/{world.condo}", params=params)
    assert page.status_code == 422
    assert message in text(page.text)


def test_filing_a_request_from_the_page(db: Database, world: World, logins: Logins, dana: TestClient) -> None:
    path = f"/owner/properties/{world.condo}"
    token = form_token(dana, path)
    day = today() + timedelta(days=5)
    form = {"csrf_token": token, "service_type": str(type_id(db, "private_chef")), "scheduled_for": day.isoformat(),
            "time_of_day": "19:30", "notes": "Dinner for six"}  # fmt: skip
    done = dana.post(f"{path}/requests", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{path}?filed=1#requests"
    page = text(dana.get(f"{path}?filed=1").text)
    assert "Your request was sent." in page
    assert f"{day:%a %B} {day.day}, {day.year} 19:30 Private chef — requested owner Dinner for six" in page
    with db.unit_of_work(write=False) as session:
        made = session.scalars(select(ServiceRequest).where(ServiceRequest.property_id == world.condo)).one()
        assert (made.origin, made.status, made.created_by) == (Origin.owner, RequestStatus.requested,
                                                               f"user:{logins['dana']}")  # fmt: skip


def test_a_request_form_without_the_csrf_token_is_refused(db: Database, world: World, dana: TestClient) -> None:
    path = f"/owner/properties/{world.condo}"
    token = form_token(dana, path)
    form = {"service_type": str(type_id(db, "maintenance")), "scheduled_for": today().isoformat()}
    assert dana.post(f"{path}/requests", data=form, follow_redirects=False).status_code == 403
    wrong = dana.post(f"{path}/requests", data={**form, "csrf_token": token + "x"}, follow_redirects=False)
    assert wrong.status_code == 403
    assert request_count(db, world.condo) == 0


@pytest.mark.parametrize(
    ("change", "messages"),
    [
        ({"service_type": "", "scheduled_for": ""}, ["pick a service", "pick a date"]),
        ({"scheduled_for": "yesterday"}, ["the date is in the past"]),
        ({"scheduled_for": "31/12/2030"}, ["'31/12/2030' is not valid here"]),
        ({"time_of_day": "25:99"}, ["'25:99' is not valid here"]),
        ({"service_type": "grocery_stocking"}, ["pick a service from the list"]),  # automation only
        ({"service_type": "99999"}, ["pick a service from the list"]),
        ({"notes": "x" * 2001}, ["notes are longer than 2000 characters"]),
    ],
)
def test_a_wrong_request_form_is_shown_again_with_the_reasons(
    db: Database, world: World, dana: TestClient, change: dict[str, str], messages: list[str]
) -> None:
    path = f"/owner/properties/{world.condo}"
    form = {
        "csrf_token": form_token(dana, path),
        "service_type": str(type_id(db, "maintenance")),
        "scheduled_for": (today() + timedelta(days=1)).isoformat(),
        "time_of_day": "",
        "notes": "Leaky tap",
    }
    form.update(change)
    if form["scheduled_for"] == "yesterday":
        form["scheduled_for"] = (today() - timedelta(days=1)).isoformat()
    if form["service_type"] == "grocery_stocking":
        form["service_type"] = str(type_id(db, "grocery_stocking"))
    page = dana.post(f"{path}/requests", data=form, follow_redirects=False)
    assert page.status_code == 422
    seen = text(page.text)
    assert "The request was not sent:" in seen
    for message in messages:
        assert message in seen
    assert 'aria-invalid="true"' in page.text
    if form["notes"] == "Leaky tap":
        assert ">Leaky tap</textarea>" in page.text  # what was typed stays
    assert request_count(db, world.condo) == 0


def test_the_calendar_subscription_link(db: Database, world: World, dana: TestClient) -> None:
    path = f"/owner/properties/{world.condo}"
    token = form_token(dana, path)
    shown = dana.post(f"{path}/calendar-link", data={"csrf_token": token, "action": "show"})
    assert shown.status_code == 200
    first = re.findall(r'value="(http://testserver/calendars/[^"]+\.ics)" data-testid="calendar-url"', shown.text)
    assert len(first) == 1
    again = re.findall(r'value="(http://testserver/calendars/[^"]+\.ics)"', dana.post(
        f"{path}/calendar-link", data={"csrf_token": token, "action": "show"}).text)  # fmt: skip
    assert again == first
    feed = first[0].removeprefix("http://testserver")
    assert dana.get(feed).status_code == 200
    rotated = dana.post(f"{path}/calendar-link", data={"csrf_token": token, "action": "rotate"})
    assert "the previous one no longer works" in text(rotated.text)
    new = re.findall(r'value="(http://testserver/calendars/[^"]+\.ics)"', rotated.text)
    assert new and new != first
    assert dana.get(feed).status_code == 404
    assert dana.post(f"{path}/calendar-link", data={"action": "show"}).status_code == 403  # no CSRF token
