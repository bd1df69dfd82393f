"""A guest opens their stay from the demo's portal link on a phone, asks for beach gear, and the request shows up
for the admins (JSON queue and, when present, the requests page) and for the owner of the home."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from luxserv.demo import ADMIN_EMAIL, ADMIN_PASSWORD, OWNER_EMAIL, OWNER_PASSWORD
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

NOTE = "Four chairs and a big umbrella, please"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def signed_in(browser: Any, live_server: str, email: str, password: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    response = context.request.post(f"{live_server}/api/auth/login", data={"email": email, "password": password})
    assert response.ok, response.text()
    return context


def test_a_guest_files_a_request_that_reaches_the_admins_and_the_owner(
    live_server: str, demo_guest_link: str, phone: Any, browser: Any
) -> None:
    phone.goto(demo_guest_link)
    assert phone.get_by_role("heading", level=1).inner_text() == "Your current stay"
    stay = phone.locator(".portal-stay").inner_text()
    assert "Beach Condo 123" in stay and "Welcome, Sarah Johnson".upper() in stay.upper()
    assert phone.get_by_test_id("guest-count").inner_text() == "4"
    assert phone.get_by_label("Name").input_value() == "Sarah Johnson"
    assert phone.get_by_role("link", name="Sign in").count() == 0
    screenshot(phone, "guest-portal")

    phone.get_by_label("Service", exact=True).select_option(label="Beach gear delivery")
    day = phone.get_by_label("Day", exact=True).input_value()  # tomorrow, within the stay
    phone.get_by_label("Notes").fill(NOTE)
    phone.get_by_role("button", name="Send request").click()
    phone.wait_for_url("**/portal?booking=*&sent=1")
    assert "Thank you — we received your request" in phone.get_by_role("status").inner_text()
    mine = phone.locator("#your-requests .portal-request", has_text=NOTE)
    assert mine.count() == 1
    assert "Beach gear delivery" in mine.inner_text() and mine.locator(".status").inner_text() == "Received"
    screenshot(phone, "guest-portal-filed")

    admin = signed_in(browser, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    try:
        queue = admin.request.get(f"{live_server}/api/service-requests", params={"origin": "guest", "limit": 500})
        assert queue.ok, queue.text()
        [filed] = [r for r in queue.json()["items"] if r["notes"] == NOTE]
        assert filed["service_type"]["name"] == "Beach gear delivery" and filed["scheduled_for"] == day
        assert filed["property"]["name"] == "Beach Condo 123" and filed["guest"]["name"] == "Sarah Johnson"
        assert filed["booking_id"] is not None and filed["status"] == "requested"
        tab = admin.new_page()
        listing = tab.goto(f"{live_server}/admin/requests")
        if listing is not None and listing.status == 200:  # the admin requests page, where it exists
            assert NOTE in tab.locator("main").inner_text() or "Beach gear delivery" in tab.locator("main").inner_text()
    finally:
        admin.close()

    owner = signed_in(browser, live_server, OWNER_EMAIL, OWNER_PASSWORD)
    try:
        path = f"{live_server}/api/owner/properties/{filed['property']['id']}/service-requests"
        mine_for_owner = owner.request.get(path)
        assert mine_for_owner.ok, mine_for_owner.text()
        assert [r["id"] for r in mine_for_owner.json()["requests"] if r["notes"] == NOTE] == [filed["id"]]
    finally:
        owner.close()
