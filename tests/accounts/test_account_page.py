"""The account page: profile, password change, API tokens shown once, sessions, and CSRF on every form."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from luxserv.accounts.models import ApiToken, Role
from luxserv.core.database import Database
from tests.accounts.helpers import api_login, form_login, form_token, session_count
from tests.factories import PASSWORD, make_owner, make_user

EMAIL = "admin@example.com"
NEW_PASSWORD = "an entirely new passphrase"


def account_post(client: TestClient, path: str, data: dict[str, str] | None = None) -> Response:
    token = form_token(client, "/account")
    return client.post(path, data={**(data or {}), "csrf_token": token}, follow_redirects=False)


def new_token_on(page_text: str) -> str | None:
    match = re.search(r'value="(lxs_[^"]+)"', page_text)
    return match.group(1) if match else None


def token_ids(db: Database) -> list[int]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(ApiToken.id).where(ApiToken.revoked_at.is_(None))))


def test_anonymous_visitors_are_sent_to_sign_in(app_client: TestClient) -> None:
    response = app_client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account"


@pytest.mark.parametrize("role", [Role.admin, Role.owner])
def test_the_page_shows_profile_tokens_and_sessions(app_client: TestClient, db: Database, role: Role) -> None:
    owner_id = make_owner(db) if role == Role.owner else None
    make_user(db, role=role, owner_id=owner_id)
    app_client.headers["user-agent"] = "Mozilla/5.0 (iPhone) Safari"
    assert form_login(app_client).status_code == 303
    page = app_client.get("/account")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert "<h1>Your account</h1>" in text
    assert EMAIL in text
    assert f'<span class="status">{role.value}</span>' in text
    assert 'href="/account/notifications"' in text
    assert "Mozilla/5.0 (iPhone) Safari" in text
    assert "this device" in text
    assert "You have no API tokens." in text
    for action in ("/account/password", "/account/tokens", "/account/sessions/end-others"):
        assert f'action="{action}"' in text
    assert text.count('name="csrf_token"') >= 4  # the three forms and the sign-out button


def test_change_password_keeps_this_session_and_ends_the_others(app_client: TestClient, db: Database) -> None:
    user_id = make_user(db)
    with TestClient(app_client.app) as other:
        api_login(other)
        form_login(app_client)
        assert session_count(db, user_id) == 2

        wrong = account_post(
            app_client,
            "/account/password",
            {"current_password": "not it at all", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 422
        assert "the current password is not right" in wrong.text
        differ = account_post(
            app_client,
            "/account/password",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": "something else!"},
        )
        assert differ.status_code == 422
        short = account_post(
            app_client,
            "/account/password",
            {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
        )
        assert short.status_code == 422
        assert "at least 10 characters" in short.text
        assert session_count(db, user_id) == 2

        done = account_post(
            app_client,
            "/account/password",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/account?done=password"
        assert "Your password was changed" in app_client.get("/account?done=password").text
        assert other.get("/api/auth/me").status_code == 401
        assert app_client.get("/api/auth/me").status_code == 200
        assert session_count(db, user_id) == 1
    assert api_login(app_client, EMAIL, PASSWORD).status_code == 401
    assert api_login(app_client, EMAIL, NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_counts_as_a_failed_sign_in(app_client: TestClient, db: Database) -> None:
    make_user(db)
    form_login(app_client)
    answers = [
        account_post(
            app_client,
            "/account/password",
            {"current_password": f"guess {n} guess", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        )
        for n in range(6)
    ]
    assert [r.status_code for r in answers] == [422] * 5 + [429]
    assert "retry-after" in answers[-1].headers


def test_make_a_token_shown_once_then_revoke_it(app_client: TestClient, db: Database) -> None:
    make_user(db)
    form_login(app_client)
    made = account_post(app_client, "/account/tokens", {"name": "Nightly export", "expires_in_days": "90"})
    assert made.status_code == 303
    assert made.headers["location"] == "/account?done=token_created#tokens"
    sealed = made.cookies.get("luxserv_new_token")
    assert sealed
    assert "lxs_" not in sealed  # the cookie carries it encrypted

    shown = app_client.get("/account?done=token_created")
    raw = new_token_on(shown.text)
    assert raw is not None
    assert "Copy your new token now" in shown.text
    assert "Nightly export" in shown.text
    assert f"<code>{raw[:12]}…</code>" in shown.text
    assert any(h.startswith('luxserv_new_token=""') for h in shown.headers.get_list("set-cookie"))
    again = app_client.get("/account")
    assert new_token_on(again.text) is None  # shown once
    assert "Copy your new token now" not in again.text

    with TestClient(app_client.app) as machine:
        assert machine.get("/api/auth/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
        [token_id] = token_ids(db)
        revoked = account_post(app_client, f"/account/tokens/{token_id}/revoke")
        assert revoked.status_code == 303
        assert machine.get("/api/auth/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert "You have no API tokens." in app_client.get("/account").text


def test_the_new_token_is_not_shown_to_anyone_else(app_client: TestClient, db: Database) -> None:
    make_user(db)
    make_user(db, email="staff@example.com", role=Role.staff)
    form_login(app_client)
    made = account_post(app_client, "/account/tokens", {"name": "mine", "expires_in_days": ""})
    sealed = made.cookies.get("luxserv_new_token")
    with TestClient(app_client.app) as someone:
        form_login(someone, "staff@example.com")
        someone.cookies.set("luxserv_new_token", sealed, path="/account")
        assert new_token_on(someone.get("/account").text) is None
    assert new_token_on(app_client.get("/account").text) is not None


def test_token_form_errors_and_token_signed_in_pages(app_client: TestClient, db: Database) -> None:
    make_user(db)
    form_login(app_client)
    blank = account_post(app_client, "/account/tokens", {"name": "  ", "expires_in_days": "30"})
    assert blank.status_code == 422
    assert "give the token a name" in blank.text
    odd = account_post(app_client, "/account/tokens", {"name": "x", "expires_in_days": "soon"})
    assert odd.status_code == 422
    assert token_ids(db) == []
    # Someone else's token id is not found.
    assert account_post(app_client, "/account/tokens/4242/revoke").status_code == 404


def test_sign_out_everywhere_else(app_client: TestClient, db: Database) -> None:
    user_id = make_user(db)
    with TestClient(app_client.app) as phone, TestClient(app_client.app) as tablet:
        api_login(phone)
        api_login(tablet)
        form_login(app_client)
        assert session_count(db, user_id) == 3
        assert app_client.get("/account").text.count("<tr>") >= 3
        done = account_post(app_client, "/account/sessions/end-others")
        assert done.status_code == 303
        assert done.headers["location"] == "/account?done=sessions#sessions"
        assert phone.get("/api/auth/me").status_code == 401
        assert tablet.get("/api/auth/me").status_code == 401
        assert app_client.get("/api/auth/me").status_code == 200
        assert session_count(db, user_id) == 1


def test_every_account_form_refuses_a_post_without_the_csrf_token(app_client: TestClient, db: Database) -> None:
    user_id = make_user(db)
    with TestClient(app_client.app) as other:
        api_login(other)
        form_login(app_client)
        api_token = app_client.post("/api/auth/tokens", json={"name": "kept"}).json()
        form_token(app_client, "/account")  # the CSRF cookie is there; the field is missing or wrong
        forms = [
            (
                "/account/password",
                {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
            ),
            ("/account/tokens", {"name": "sneaky"}),
            (f"/account/tokens/{api_token['id']}/revoke", {}),
            ("/account/sessions/end-others", {}),
        ]
        for path, data in forms:
            missing = app_client.post(path, data=data, follow_redirects=False)
            assert missing.status_code == 403, path
            forged = app_client.post(path, data={**data, "csrf_token": "forged"}, follow_redirects=False)
            assert forged.status_code == 403, path
        assert token_ids(db) == [api_token["id"]]
        assert session_count(db, user_id) == 2
        assert other.get("/api/auth/me").status_code == 200
    assert api_login(app_client).status_code == 200  # the password did not change


def test_a_page_opened_with_an_api_token_cannot_make_tokens(app_client: TestClient, db: Database) -> None:
    make_user(db)
    api_login(app_client)
    raw = app_client.post("/api/auth/tokens", json={"name": "robot"}).json()["token"]
    app_client.cookies.clear()
    app_client.headers["authorization"] = f"Bearer {raw}"
    refused = account_post(app_client, "/account/tokens", {"name": "offspring", "expires_in_days": "30"})
    assert refused.status_code == 403
    assert len(token_ids(db)) == 1
