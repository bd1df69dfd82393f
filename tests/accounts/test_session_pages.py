"""What sign-in by form promises: a new session id, expiry, a real sign-out, and security headers on pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from luxserv.accounts.models import UserSession
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.security import token_digest
from luxserv.core.settings import Settings
from tests.accounts.helpers import api_login, form_login, form_token
from tests.factories import make_user

PLANTED = "attacker-chosen-session-id-0123456789abcdef"


def digests(db: Database) -> set[str]:
    with db.unit_of_work(write=False) as session:
        return set(session.scalars(select(UserSession.token_digest)))


def age_all_sessions(db: Database, **values: object) -> None:
    with db.unit_of_work() as session:
        session.execute(update(UserSession).values(**values))


def test_form_sign_in_issues_a_new_session_id_not_a_planted_one(app_client: TestClient, db: Database) -> None:
    make_user(db)
    app_client.cookies.set("luxserv_session", PLANTED)
    response = form_login(app_client)
    assert response.status_code == 303
    issued = response.cookies.get("luxserv_session")
    assert issued
    assert issued != PLANTED
    assert digests(db) == {token_digest(issued)}
    with TestClient(app_client.app) as attacker:
        attacker.cookies.set("luxserv_session", PLANTED)
        assert attacker.get("/api/auth/me").status_code == 401
        assert attacker.get("/account", follow_redirects=False).status_code == 303

    # Signing in again while signed in also gives a new id.
    again = form_login(app_client)
    assert again.cookies.get("luxserv_session") not in (None, issued, PLANTED)


def test_idle_and_absolute_expiry_send_pages_back_to_sign_in(
    app_client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db)
    form_login(app_client)
    assert app_client.get("/account").status_code == 200
    age_all_sessions(db, last_seen_at=utcnow() - timedelta(minutes=settings.session_idle_minutes, seconds=1))
    assert app_client.get("/account", follow_redirects=False).headers["location"] == "/login?next=/account"

    form_login(app_client)
    assert app_client.get("/account").status_code == 200
    age_all_sessions(db, expires_at=utcnow() - timedelta(seconds=1), last_seen_at=utcnow())
    assert app_client.get("/account", follow_redirects=False).status_code == 303
    assert app_client.get("/api/auth/me").status_code == 401


def test_expired_sessions_are_not_listed_on_the_account_page(
    app_client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db)
    with TestClient(app_client.app, headers={"user-agent": "Old Tablet Browser"}) as tablet:
        api_login(tablet)
    age_all_sessions(db, last_seen_at=utcnow() - timedelta(minutes=settings.session_idle_minutes + 5))
    form_login(app_client)
    page = app_client.get("/account")
    assert "Old Tablet Browser" not in page.text
    assert "this device" in page.text


def test_form_sign_out_ends_the_session_on_the_server(app_client: TestClient, db: Database) -> None:
    make_user(db)
    issued = form_login(app_client).cookies.get("luxserv_session")
    assert issued
    token = form_token(app_client, "/account")
    out = app_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert token_digest(issued) not in digests(db)
    with TestClient(app_client.app) as replay:  # the old cookie, replayed, opens nothing
        replay.cookies.set("luxserv_session", issued)
        assert replay.get("/api/auth/me").status_code == 401
        assert replay.get("/account", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/login", "/password/forgot", "/password/reset?token=nope", "/account"])
def test_pages_carry_the_security_headers(app_client: TestClient, db: Database, path: str) -> None:
    make_user(db)
    form_login(app_client)
    response = app_client.get(path)
    assert response.status_code in (200, 400)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_throttled_and_refused_answers_carry_the_headers_too(app_client: TestClient, db: Database) -> None:
    for _ in range(6):
        response = api_login(app_client, "nobody@example.com", "wrong password here")
    assert response.status_code == 429
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_login_notice_is_one_of_ours_never_echoed(app_client: TestClient) -> None:
    assert "signed out everywhere" in app_client.get("/login?done=password_reset").text
    page = app_client.get("/login", params={"done": "<script>alert(1)</script>"})
    assert page.status_code == 200
    assert "alert(1)" not in page.text
    assert 'role="status"' not in page.text
