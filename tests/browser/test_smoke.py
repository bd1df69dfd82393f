"""The served app in a real browser: the home page, signing in, the admin overview."""

from __future__ import annotations

from typing import Any

import pytest

from luxserv.demo import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_home_page_renders(live_server: str, page: Any) -> None:
    page.goto(live_server + "/")
    assert page.title() == "LuxServ"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Every booking")
    assert page.get_by_role("link", name="Sign in").first.is_visible()
    screenshot(page, "home")


def test_admin_signs_in_and_sees_the_demo_stays(live_server: str, page: Any) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/admin")
    text = page.locator("main").inner_text()
    assert "Sarah Johnson" in text
    assert "Mike Chen" in text
    assert "Unplaced bookings" in text and "Gulf View Cottage" in text
    # Services planned from the demo bookings: Sarah checks out in 2 days, Mike's groceries come before he arrives.
    assert "Post-checkout cleaning" in text
    assert "Grocery stocking" in text
    screenshot(page, "admin-overview")


def test_wrong_password_is_refused_without_saying_why(live_server: str, page: Any) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("E-mail").fill("nobody@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "e-mail or password is not right"
