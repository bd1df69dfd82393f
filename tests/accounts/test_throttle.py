"""Login throttling, per e-mail and per client address, for the form and the JSON API alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from luxserv.accounts.models import RateLimitBucket
from luxserv.app import create_app
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from tests.accounts.helpers import api_login, form_login, set_active
from tests.factories import PASSWORD, make_user

EMAIL = "admin@example.com"
WRONG = "not the password at all"


def assert_throttled(response: Response, settings: Settings) -> None:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= settings.login_throttle_minutes * 60
    assert "set-cookie" not in response.headers or "luxserv_session=" not in response.headers["set-cookie"]


def age_buckets(db: Database, seconds: int) -> None:
    """Move every counting window into the past, as if that much time went by."""
    with db.unit_of_work() as session:
        session.execute(update(RateLimitBucket).values(window_started_at=utcnow() - timedelta(seconds=seconds)))


def test_sixth_failure_on_the_api_is_429_with_retry_after(
    app_client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db)
    assert settings.login_failures_per_email == 5
    for _ in range(5):
        assert api_login(app_client, EMAIL, WRONG).status_code == 401
    refused = api_login(app_client, EMAIL, WRONG)
    assert_throttled(refused, settings)
    assert refused.json() == {"detail": "too many sign-in attempts; try again in 15 minutes"}
    # Even the right password is refused until the window ends: guessing stops here.
    assert_throttled(api_login(app_client), settings)
    assert app_client.get("/api/auth/me").status_code == 401


def test_unknown_and_disabled_emails_are_throttled_exactly_like_a_real_one(
    app_client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db)
    gone = make_user(db, email="gone@example.com")
    set_active(db, gone, False)
    answers: dict[str, list[Response]] = {}
    for email in (EMAIL, "nobody@example.com", "gone@example.com"):
        answers[email] = [api_login(app_client, email, WRONG) for _ in range(7)]
    for email, responses in answers.items():
        assert [r.status_code for r in responses] == [401] * 5 + [429] * 2, email
        assert all("retry-after" in r.headers for r in responses[5:]), email
    # Same bodies, attempt by attempt: nothing tells which address has an account.
    for attempt in range(7):
        assert len({responses[attempt].content for responses in answers.values()}) == 1, attempt


def test_form_login_is_throttled_with_the_same_counter(
    app_client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db)
    for _ in range(3):
        assert form_login(app_client, EMAIL, WRONG).status_code == 401
    for _ in range(2):
        assert api_login(app_client, EMAIL, WRONG).status_code == 401
    page = form_login(app_client, EMAIL, PASSWORD)
    assert_throttled(page, settings)
    assert page.headers["content-type"].startswith("text/html")
    assert "too many sign-in attempts" in page.text
    assert 'name="email" value="admin@example.com"' in page.text

    unknown = [form_login(app_client, "ghost@example.com", WRONG) for _ in range(6)]
    assert [r.status_code for r in unknown] == [401] * 5 + [429]
    assert "too many sign-in attempts; try again in 15 minutes" in unknown[-1].text


def test_success_clears_the_email_counter(app_client: TestClient, db: Database, settings: Settings) -> None:
    make_user(db)
    for _ in range(4):
        assert api_login(app_client, EMAIL, WRONG).status_code == 401
    assert api_login(app_client).status_code == 200
    # A fresh allowance of five failures.
    for _ in range(5):
        assert api_login(app_client, EMAIL, WRONG).status_code == 401
    assert_throttled(api_login(app_client, EMAIL, WRONG), settings)


def test_the_email_is_counted_whatever_its_case_or_spacing(
    app_client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db)
    for email in ("admin@example.com", "ADMIN@example.com", " Admin@Example.com ", "admin@EXAMPLE.COM", EMAIL):
        assert api_login(app_client, email, WRONG).status_code == 401
    assert_throttled(api_login(app_client, "Admin@example.com", WRONG), settings)


def test_throttling_ends_with_the_window(app_client: TestClient, db: Database, settings: Settings) -> None:
    make_user(db)
    for _ in range(6):
        api_login(app_client, EMAIL, WRONG)
    assert_throttled(api_login(app_client), settings)
    age_buckets(db, settings.login_throttle_minutes * 60 + 1)
    assert api_login(app_client).status_code == 200


@pytest.fixture
def strict_clients(settings: Settings, db: Database) -> Iterator[tuple[TestClient, TestClient]]:
    """Two clients at different addresses, with a per-address limit of 4 failures."""
    strict = settings.model_copy(update={"login_failures_per_client": 4})
    app = create_app(strict, db, run_worker=False)
    with (
        TestClient(app, client=("198.51.100.7", 40000)) as first,
        TestClient(app, client=("203.0.113.9", 40000)) as second,
    ):
        yield first, second


def test_per_client_address_limit_across_many_emails(
    strict_clients: tuple[TestClient, TestClient], db: Database, settings: Settings
) -> None:
    first, second = strict_clients
    make_user(db)
    for n in range(4):
        assert api_login(first, f"guess{n}@example.com", WRONG).status_code == 401
    # The fifth failure from this address is refused, for any e-mail, even a right password; the form too.
    assert_throttled(api_login(first, "another@example.com", WRONG), settings)
    assert_throttled(api_login(first), settings)
    assert form_login(first, EMAIL, PASSWORD).status_code == 429
    # Another address is not affected, and its success does not free the first.
    assert api_login(second).status_code == 200
    assert api_login(first).status_code == 429


def test_successes_do_not_count_against_the_address(
    strict_clients: tuple[TestClient, TestClient], db: Database
) -> None:
    first, _ = strict_clients
    make_user(db)
    for _ in range(8):
        assert api_login(first).status_code == 200
