"""The admin's operational pages in a real browser: the calendar with Sarah Johnson's stay, the request queue where a
task of her stay is completed with the row's own form, and the booking's page that shows it done."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from luxserv.demo import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def sign_in(page: Any, live_server: str, target: str) -> None:
    page.goto(f"{live_server}/login?next={target}")
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + target)


def test_the_calendar_shows_sarahs_stay_at_beach_condo_123(live_server: str, page: Any) -> None:
    sign_in(page, live_server, "/admin/calendar")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Calendar")
    condo = page.locator(".tl-row", has_text="Beach Condo 123")
    sarah = condo.locator(".bar").filter(has_text="Sarah Johnson")
    assert sarah.is_visible()
    assert "cont-after" not in (sarah.get_attribute("class") or "")  # she leaves in two days: within this week or next
    assert condo.locator(".tl-bg .today").count() == 1  # the today line crosses the row
    screenshot(page, "admin-calendar")

    page.get_by_role("link", name="Month", exact=True).click()
    page.wait_for_url(re.compile(r".*view=month.*"))
    assert page.locator(".tl.compact").is_visible()
    assert page.locator(".tl-row", has_text="Beach Condo 123").locator(".bar", has_text="Sarah").count() >= 1
    screenshot(page, "admin-calendar-month")

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Week", exact=True).click()
    page.wait_for_url(re.compile(r".*view=week.*"))
    assert page.locator(".tl-row", has_text="Beach Condo 123").locator(".tl-prop").is_visible()
    screenshot(page, "admin-calendar-phone")


def test_a_task_is_completed_from_the_queue(live_server: str, page: Any) -> None:
    sign_in(page, live_server, "/admin/requests")
    # Seeded through the API (the demo's own planned services are left as other tests expect them): an extra
    # cleaning tomorrow, during Sarah's stay.
    found = page.request.get(f"{live_server}/api/bookings", params={"limit": 100})
    assert found.ok, found.text()
    [sarah] = [b for b in found.json()["items"] if b["guest"]["full_name"] == "Sarah Johnson"]
    filed = page.request.post(
        f"{live_server}/api/service-requests",
        data={
            "property_id": sarah["property"]["id"],
            "booking_id": sarah["id"],
            "service_type": "extra_cleaning",
            "scheduled_for": (date.fromisoformat(sarah["check_out"]) - timedelta(days=1)).isoformat(),
            "notes": "A fresh clean before the anniversary dinner",
        },
    )
    assert filed.status == 201, filed.text()
    request_id = filed.json()["id"]

    page.reload()
    row = page.locator(f'tr[data-request="{request_id}"]')
    assert "Extra cleaning" in row.inner_text() and "Sarah Johnson" in row.inner_text()
    assert row.locator("td[data-label=Status] .status").inner_text() == "scheduled"
    screenshot(page, "admin-requests")

    row.locator('select[name="status"]').select_option("completed")
    row.get_by_role("button", name="Set").click()
    page.wait_for_load_state()
    assert page.url == live_server + "/admin/requests"
    assert page.get_by_role("status").inner_text() == f"Extra cleaning (#{request_id}) is now completed."
    assert page.locator(f'tr[data-request="{request_id}"]').count() == 0  # the queue shows open work

    filters = page.locator('form[role="search"]')
    filters.locator('select[name="status"]').select_option("completed")
    filters.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*status=completed.*"))
    done = page.locator(f'tr[data-request="{request_id}"]')
    assert done.locator("td[data-label=Status] .status").inner_text() == "completed"
    assert done.get_by_text("final").is_visible()
    screenshot(page, "admin-requests-completed")

    done.get_by_role("link", name=re.compile(r"\w{3} \d+ \u2013 \w{3} \d+")).click()
    page.wait_for_url(re.compile(r".*/admin/bookings/\d+$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Sarah Johnson")
    services = page.locator("section", has=page.get_by_role("heading", name=re.compile("Services for this stay")))
    assert (
        services.locator(f'tr[data-request="{request_id}"] td[data-label=Status] .status').inner_text() == "completed"
    )
    assert page.locator(".bar.current").filter(has_text="Sarah Johnson").is_visible()
    assert "Celebrating anniversary" in page.locator("main").inner_text()
    screenshot(page, "admin-booking")
