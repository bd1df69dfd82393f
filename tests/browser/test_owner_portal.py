"""The owner portal in a real browser: Dana signs in, sees her homes as cards, and opens Beach Condo 123."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from luxserv.core.clock import local_today
from luxserv.demo import OWNER_EMAIL, OWNER_PASSWORD
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def _day(offset: int) -> str:
    day = local_today("America/Chicago") + timedelta(days=offset)
    return f"{day:%B} {day.day}"


def test_dana_sees_sarahs_stay_and_opens_the_condo(live_server: str, page: Any) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("E-mail").fill(OWNER_EMAIL)
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/owner")
    assert page.get_by_role("heading", level=1).inner_text().startswith("My homes")

    condo = page.get_by_test_id("property-card").filter(has_text="Beach Condo 123")
    text = condo.inner_text()
    assert "Current guest: Sarah Johnson" in text
    assert f"Checkout: {_day(2)} (2 days)" in text
    assert f"Next guest: Mike Chen on {_day(4)}" in text
    assert f"Maintenance due: AC service due ({_day(3)})" in text
    villa = page.get_by_test_id("property-card").filter(has_text="Sea Breeze Villa").inner_text()
    assert "Status: Available" in villa and f"Next booking: {_day(9)}" in villa
    screenshot(page, "owner-portal")

    condo.get_by_role("link", name="Beach Condo 123", exact=True).click()
    page.wait_for_url(live_server + "/owner/properties/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Beach Condo 123"
    calendar = page.get_by_test_id("month-calendar")
    assert calendar.is_visible()
    assert "Sarah Johnson" in calendar.inner_text()
    requests = page.locator("#requests").inner_text()
    assert "Post-checkout cleaning" in requests
    assert page.get_by_role("button", name="Send request").is_visible()
    screenshot(page, "owner-property")
