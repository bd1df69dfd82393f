"""Signing in and out of the JSON API: cookies, bearer tokens, expiry, and how passwords are kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update

from luxserv.accounts.models import Role, User, UserSession
from luxserv.app import create_app
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.registry import metadata
from luxserv.core.security import token_digest
from luxserv.core.settings import Settings
from tests.factories import PASSWORD, make_owner, make_user

EMAIL = "admin@example.com"


def set_cookie_header(response: Response, name: str = "luxserv_session") -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return headers[0]


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1].strip('"')


def post_login(client: TestClient, email: str = EMAIL, password: str = PASSWORD) -> Response:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def me_with_bearer(client: TestClient, token: str) -> Response:
    client.cookies.clear()
    return client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


def set_user_active(db: Database, email: str, active: bool) -> None:
    with db.unit_of_work() as session:
        session.execute(update(User).where(User.email == email).values(is_active=active))


def session_row(db: Database, token: str) -> UserSession | None:
    with db.unit_of_work(write=False) as session:
        return session.scalar(select(UserSession).where(UserSession.token_digest == token_digest(token)))


def age_session(db: Database, token: str, **values: object) -> None:
    """The only direct write: move a session's timestamps into the past."""
    with db.unit_of_work() as session:
        result = session.execute(
            update(UserSession).where(UserSession.token_digest == token_digest(token)).values(**values)
        )
        assert result.rowcount == 1  # type: ignore[attr-defined]


# --- login ------------------------------------------------------------------------------------------------------


def test_login_sets_an_httponly_lax_cookie_and_returns_the_token(
    app_client: TestClient, db: Database, settings: Settings
) -> None:
    user_id = make_user(db)
    response = post_login(app_client)
    assert response.status_code == 200, response.text
    body = response.json()
    token = body["token"]
    assert isinstance(token, str)
    assert len(token) >= 32
    assert body["user"] == {"id": user_id, "email": EMAIL, "full_name": "", "role": "admin", "owner_id": None}
    assert body["expires_in_hours"] == settings.session_max_hours

    header = set_cookie_header(response)
    attributes = [part.strip().lower() for part in header.split(";")[1:]]
    assert cookie_value(header) == token
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert f"max-age={settings.session_max_hours * 3600}" in attributes
    assert "secure" not in attributes  # base_url is http://testserver


def test_cookie_is_secure_when_the_base_url_is_https(db: Database, settings: Settings) -> None:
    make_user(db)
    https = settings.model_copy(update={"base_url": "https://luxserv.example"})
    with TestClient(create_app(https, db, run_worker=False), base_url="https://testserver") as client:
        response = post_login(client)
    assert response.status_code == 200, response.text
    attributes = [part.strip().lower() for part in set_cookie_header(response).split(";")[1:]]
    assert "secure" in attributes
    assert "httponly" in attributes


def test_login_email_is_case_insensitive(app_client: TestClient, db: Database) -> None:
    make_user(db)
    response = post_login(app_client, email="  Admin@EXAMPLE.com ")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == EMAIL


def test_wrong_password_unknown_email_and_disabled_user_get_the_same_401(app_client: TestClient, db: Database) -> None:
    make_user(db)
    make_user(db, email="gone@example.com")
    set_user_active(db, "gone@example.com", False)
    answers = [
        post_login(app_client, password=PASSWORD + "x"),
        post_login(app_client, email="nobody@example.com"),
        post_login(app_client, email="gone@example.com"),
        post_login(app_client, password=""),
    ]
    for response in answers:
        assert response.status_code == 401, response.text
        assert "set-cookie" not in response.headers
    assert len({r.content for r in answers}) == 1, [r.text for r in answers]
    assert set(answers[0].json()) == {"detail"}
    assert not any(set_cookie for r in answers for set_cookie in r.headers.get_list("set-cookie"))


def test_login_body_is_validated(app_client: TestClient, db: Database) -> None:
    make_user(db)
    response = app_client.post("/api/auth/login", json={"email": EMAIL})
    assert response.status_code == 422
    assert response.json()["field"] == "password"


def test_disabled_user_loses_an_existing_session(app_client: TestClient, db: Database) -> None:
    make_user(db)
    token = post_login(app_client).json()["token"]
    assert app_client.get("/api/auth/me").status_code == 200
    set_user_active(db, EMAIL, False)
    assert app_client.get("/api/auth/me").status_code == 401
    assert me_with_bearer(app_client, token).status_code == 401
    assert post_login(app_client).status_code == 401


# --- /me, cookie and bearer -------------------------------------------------------------------------------------


def test_me_with_the_cookie_and_with_a_bearer_token(app_client: TestClient, db: Database) -> None:
    owner_id = make_owner(db)
    user_id = make_user(db, email="dana@example.com", role=Role.owner, owner_id=owner_id)
    token = post_login(app_client, email="dana@example.com").json()["token"]

    by_cookie = app_client.get("/api/auth/me")
    assert by_cookie.status_code == 200, by_cookie.text
    assert by_cookie.json() == {
        "id": user_id,
        "email": "dana@example.com",
        "full_name": "",
        "role": "owner",
        "owner_id": owner_id,
    }
    by_bearer = me_with_bearer(app_client, token)
    assert by_bearer.status_code == 200, by_bearer.text
    assert by_bearer.json() == by_cookie.json()

    assert app_client.get("/api/auth/me").status_code == 401  # no cookie, no header
    assert me_with_bearer(app_client, token + "x").status_code == 401
    assert me_with_bearer(app_client, "").status_code == 401
    response = app_client.get("/api/auth/me", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


# --- logout -----------------------------------------------------------------------------------------------------


def test_logout_ends_the_server_side_session(app_client: TestClient, db: Database) -> None:
    make_user(db)
    token = post_login(app_client).json()["token"]
    assert session_row(db, token) is not None

    response = app_client.post("/api/auth/logout")
    assert response.status_code == 204
    deleted = set_cookie_header(response).lower()
    assert cookie_value(deleted) == ""
    assert "max-age=0" in deleted or "expires=thu, 01 jan 1970" in deleted

    assert session_row(db, token) is None
    assert app_client.get("/api/auth/me").status_code == 401
    assert me_with_bearer(app_client, token).status_code == 401
    app_client.cookies.set("luxserv_session", token)
    assert app_client.get("/api/auth/me").status_code == 401


def test_logout_with_a_bearer_token(app_client: TestClient, db: Database) -> None:
    make_user(db)
    token = post_login(app_client).json()["token"]
    other = post_login(app_client).json()["token"]
    app_client.cookies.clear()
    response = app_client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    assert me_with_bearer(app_client, token).status_code == 401
    assert me_with_bearer(app_client, other).status_code == 200  # only that session ended


# --- fixation ---------------------------------------------------------------------------------------------------


def test_each_login_gets_a_new_token_and_ignores_a_planted_cookie(app_client: TestClient, db: Database) -> None:
    make_user(db)
    planted = "attacker-chosen-session-id-0123456789abcdef"
    app_client.cookies.set("luxserv_session", planted)
    response = post_login(app_client)
    assert response.status_code == 200, response.text
    issued = cookie_value(set_cookie_header(response))
    assert issued == response.json()["token"]
    assert issued != planted
    assert session_row(db, planted) is None
    assert me_with_bearer(app_client, planted).status_code == 401

    previous = issued
    app_client.cookies.set("luxserv_session", previous)
    again = post_login(app_client)
    assert again.status_code == 200
    fresh = cookie_value(set_cookie_header(again))
    assert fresh == again.json()["token"]
    assert fresh != previous
    assert me_with_bearer(app_client, fresh).status_code == 200
    with db.unit_of_work(write=False) as session:
        digests = set(session.scalars(select(UserSession.token_digest)))
    assert token_digest(fresh) in digests
    assert token_digest(planted) not in digests


# --- expiry -----------------------------------------------------------------------------------------------------


def test_idle_session_expires(app_client: TestClient, db: Database, settings: Settings) -> None:
    make_user(db)
    token = post_login(app_client).json()["token"]
    idle = timedelta(minutes=settings.session_idle_minutes)
    age_session(db, token, last_seen_at=utcnow() - idle - timedelta(minutes=1))
    assert app_client.get("/api/auth/me").status_code == 401
    assert me_with_bearer(app_client, token).status_code == 401


def test_activity_keeps_a_session_alive(app_client: TestClient, db: Database, settings: Settings) -> None:
    make_user(db)
    token = post_login(app_client).json()["token"]
    idle = timedelta(minutes=settings.session_idle_minutes)
    age_session(db, token, last_seen_at=utcnow() - idle + timedelta(minutes=5))
    before = utcnow()
    assert app_client.get("/api/auth/me").status_code == 200
    row = session_row(db, token)
    assert row is not None
    assert row.last_seen_at >= before - timedelta(seconds=5)  # touched: the idle clock restarted


def test_session_expires_at_its_absolute_end(app_client: TestClient, db: Database) -> None:
    make_user(db)
    token = post_login(app_client).json()["token"]
    assert app_client.get("/api/auth/me").status_code == 200
    age_session(db, token, expires_at=utcnow() - timedelta(seconds=1), last_seen_at=utcnow())
    assert app_client.get("/api/auth/me").status_code == 401
    assert me_with_bearer(app_client, token).status_code == 401


def test_new_session_expires_after_session_max_hours(app_client: TestClient, db: Database, settings: Settings) -> None:
    make_user(db)
    before = utcnow()
    token = post_login(app_client).json()["token"]
    row = session_row(db, token)
    assert row is not None
    expected = before + timedelta(hours=settings.session_max_hours)
    assert expected - timedelta(seconds=5) <= row.expires_at <= expected + timedelta(seconds=30)


# --- what is stored ---------------------------------------------------------------------------------------------


def test_passwords_are_argon2id_and_tokens_are_hashed(app_client: TestClient, db: Database) -> None:
    make_user(db)
    token = post_login(app_client).json()["token"]
    with db.unit_of_work(write=False) as session:
        user = session.scalars(select(User)).one()
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        stored = session.scalars(select(UserSession)).one()
        assert stored.token_digest == token_digest(token)
        assert stored.token_digest != token
        # Neither the password nor the raw token appears anywhere in the database (audit log included).
        for table in metadata.sorted_tables:
            for row in session.execute(select(table)):
                dumped = repr(tuple(row))
                assert PASSWORD not in dumped, table.name
                assert token not in dumped, table.name


@pytest.fixture
def two_clients(app_client: TestClient, settings: Settings, db: Database) -> Iterator[tuple[TestClient, TestClient]]:
    with TestClient(create_app(settings, db, run_worker=False)) as other:
        yield app_client, other


def test_sessions_are_independent(two_clients: tuple[TestClient, TestClient], db: Database) -> None:
    first, second = two_clients
    make_user(db)
    make_user(db, email="staff@example.com", role=Role.staff)
    post_login(first)
    post_login(second, email="staff@example.com")
    assert first.get("/api/auth/me").json()["email"] == EMAIL
    assert second.get("/api/auth/me").json()["email"] == "staff@example.com"
    assert first.post("/api/auth/logout").status_code == 204
    assert first.get("/api/auth/me").status_code == 401
    assert second.get("/api/auth/me").status_code == 200
