"""Password reset by e-mail, end to end: the form, the e-mail in the outbox, the single-use link, the sessions."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update

from luxserv.accounts.models import PasswordResetToken
from luxserv.audit.models import AuditEntry
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.security import token_digest
from tests.accounts.helpers import (
    api_login,
    form_login,
    form_token,
    post_form,
    reset_link,
    reset_mails,
    session_count,
    set_active,
    token_of,
)
from tests.factories import PASSWORD, make_user

EMAIL = "admin@example.com"
NEW_PASSWORD = "a brand new passphrase"
SENT = "If an account exists for that e-mail, we sent it a link to reset its password."


def ask_by_form(client: TestClient, email: str) -> str:
    """Submit the forgot form and return the text of the page the browser lands on."""
    response = post_form(client, "/password/forgot", {"email": email}, page="/password/forgot")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/password/forgot?sent=true"
    landed = client.get(response.headers["location"])
    assert landed.status_code == 200
    return landed.text


def submit_reset(client: TestClient, token: str, password: str, confirm: str | None = None) -> Response:
    return client.post(
        "/password/reset",
        data={
            "token": token,
            "password": password,
            "confirm_password": password if confirm is None else confirm,
            "csrf_token": form_token(client, "/password/forgot"),
        },
        follow_redirects=False,
    )


def api_reset(client: TestClient, token: str, password: str = NEW_PASSWORD) -> Response:
    return client.post("/api/auth/password/reset", json={"token": token, "password": password})


def test_forgot_reset_and_sign_in_end_to_end(app_client: TestClient, db: Database) -> None:
    user_id = make_user(db)
    with TestClient(app_client.app) as elsewhere:  # a session on another device, to be ended
        assert api_login(elsewhere).status_code == 200
        assert session_count(db, user_id) == 1

        login_page = app_client.get("/login")
        assert '<a href="/password/forgot">Forgot your password?</a>' in login_page.text
        landed = ask_by_form(app_client, EMAIL)
        assert SENT in landed

        [mail] = reset_mails(db)
        assert mail.recipient == EMAIL
        assert mail.channel == "email"
        assert mail.payload["subject"] == "Reset your LuxServ password"
        link = reset_link(mail)
        token = token_of(link)
        assert len(token) >= 43  # 256 bits, URL-safe base64
        assert link in mail.payload["html"]
        assert "60 minutes" in mail.payload["text"]

        form = app_client.get(link.removeprefix("http://testserver"))
        assert form.status_code == 200
        assert f'name="token" value="{token}"' in form.text
        assert form.headers["cache-control"] == "no-store"

        done = submit_reset(app_client, token, NEW_PASSWORD)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/login?done=password_reset"
        notice = app_client.get("/login?done=password_reset")
        assert "Your password was changed and you were signed out everywhere" in notice.text

        assert session_count(db, user_id) == 0
        assert elsewhere.get("/api/auth/me").status_code == 401
    assert api_login(app_client, EMAIL, PASSWORD).status_code == 401
    assert form_login(app_client, EMAIL, NEW_PASSWORD).status_code == 303

    # Single use: the same link now shows the error page, and posting it changes nothing.
    again = app_client.get(link.removeprefix("http://testserver"))
    assert again.status_code == 400
    assert "This link cannot be used" in again.text
    assert submit_reset(app_client, token, "yet another passphrase").status_code == 400
    assert api_login(app_client, EMAIL, NEW_PASSWORD).status_code == 200

    with db.unit_of_work(write=False) as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == user_id)))
        row = session.scalars(select(PasswordResetToken)).one()
    assert "password_reset.requested" in actions
    assert "user.password_reset" in actions
    assert row.token_digest == token_digest(token)
    assert row.used_at is not None
    assert row.expires_at - row.created_at == timedelta(hours=1)


def test_unknown_and_disabled_emails_get_the_same_answer_and_no_email(app_client: TestClient, db: Database) -> None:
    make_user(db)
    gone = make_user(db, email="gone@example.com")
    set_active(db, gone, False)
    pages = [ask_by_form(app_client, email) for email in ("nobody@example.com", "gone@example.com", EMAIL)]
    assert all(SENT in page for page in pages)
    assert [m.recipient for m in reset_mails(db)] == [EMAIL]

    api = [
        app_client.post("/api/auth/password/forgot", json={"email": email})
        for email in ("nobody@example.com", "gone@example.com", EMAIL)
    ]
    assert [r.status_code for r in api] == [202, 202, 202]
    assert len({r.content for r in api}) == 1
    assert api[0].json() == {"detail": SENT}
    assert [m.recipient for m in reset_mails(db)] == [EMAIL, EMAIL]


def test_invalid_email_is_refused_without_telling_anything(app_client: TestClient, db: Database) -> None:
    response = post_form(app_client, "/password/forgot", {"email": "not an address"}, page="/password/forgot")
    assert response.status_code == 422
    assert "not a valid e-mail address" in response.text
    api = app_client.post("/api/auth/password/forgot", json={"email": "nope"})
    assert api.status_code == 202  # the API's answer never depends on the address
    assert api.json() == {"detail": SENT}
    assert reset_mails(db) == []


def test_used_expired_and_unknown_links_give_one_same_error_page(app_client: TestClient, db: Database) -> None:
    make_user(db)
    for _ in range(2):
        app_client.post("/api/auth/password/forgot", json={"email": EMAIL})
    used, expired = (token_of(reset_link(m)) for m in reset_mails(db))
    assert api_reset(app_client, used).status_code == 204
    with db.unit_of_work() as session:
        session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.token_digest == token_digest(expired))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    pages = [app_client.get("/password/reset", params={"token": t}) for t in (used, expired, "made-up-token", "")]
    assert [p.status_code for p in pages] == [400, 400, 400, 400]
    assert len({p.text for p in pages}) == 1
    assert "already used, it expired, or it was not copied whole" in pages[0].text
    assert 'href="/password/forgot"' in pages[0].text


def test_setting_a_password_voids_the_other_links(app_client: TestClient, db: Database) -> None:
    make_user(db)
    for _ in range(2):
        app_client.post("/api/auth/password/forgot", json={"email": EMAIL})
    first, second = (token_of(reset_link(m)) for m in reset_mails(db))
    assert api_reset(app_client, second).status_code == 204
    assert app_client.get("/password/reset", params={"token": first}).status_code == 400


def test_expired_link_via_api_and_a_short_password_keeps_the_link(app_client: TestClient, db: Database) -> None:
    make_user(db)
    app_client.post("/api/auth/password/forgot", json={"email": EMAIL})
    [mail] = reset_mails(db)
    token = token_of(reset_link(mail))

    short = app_client.post("/api/auth/password/reset", json={"token": token, "password": "short"})
    assert short.status_code == 422
    assert short.json()["field"] == "password"
    mismatch = submit_reset(app_client, token, NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
    assert mismatch.status_code == 422
    assert "differ" in mismatch.text
    assert app_client.get("/password/reset", params={"token": token}).status_code == 200  # still usable

    with db.unit_of_work() as session:
        session.execute(update(PasswordResetToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    late = app_client.post("/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert late.status_code == 404
    assert late.json()["field"] == "token"
    assert api_login(app_client).status_code == 200  # the old password still works


def test_a_disabled_user_cannot_use_a_link_sent_before(app_client: TestClient, db: Database) -> None:
    user_id = make_user(db)
    app_client.post("/api/auth/password/forgot", json={"email": EMAIL})
    token = token_of(reset_link(reset_mails(db)[0]))
    set_active(db, user_id, False)
    assert app_client.get("/password/reset", params={"token": token}).status_code == 400
    response = app_client.post("/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 404


def test_forgot_is_throttled_per_email_whether_or_not_it_exists(app_client: TestClient, db: Database) -> None:
    make_user(db)
    for email in (EMAIL, "nobody@example.com"):
        answers = [app_client.post("/api/auth/password/forgot", json={"email": email}) for _ in range(4)]
        assert [r.status_code for r in answers] == [202, 202, 202, 429], email
        assert 0 < int(answers[-1].headers["retry-after"]) <= 3600
        assert answers[-1].json() == {"detail": "too many password reset requests; try again in 60 minutes"}
    assert len(reset_mails(db)) == 3
    page = post_form(app_client, "/password/forgot", {"email": EMAIL}, page="/password/forgot")
    assert page.status_code == 429
    assert "retry-after" in page.headers
    assert "too many password reset requests" in page.text


def test_forgot_is_throttled_per_client(app_client: TestClient, db: Database) -> None:
    answers = [
        app_client.post("/api/auth/password/forgot", json={"email": f"person{n}@example.com"}) for n in range(11)
    ]
    assert [r.status_code for r in answers] == [202] * 10 + [429]


def test_reset_clears_the_failed_sign_ins(app_client: TestClient, db: Database) -> None:
    make_user(db)
    for _ in range(6):
        api_login(app_client, EMAIL, "wrong wrong wrong")
    assert api_login(app_client).status_code == 429
    app_client.post("/api/auth/password/forgot", json={"email": EMAIL})
    token = token_of(reset_link(reset_mails(db)[0]))
    assert api_reset(app_client, token).status_code == 204
    assert api_login(app_client, EMAIL, NEW_PASSWORD).status_code == 200


def test_reset_forms_refuse_a_post_without_the_csrf_token(app_client: TestClient, db: Database) -> None:
    make_user(db)
    form_token(app_client, "/password/forgot")  # the browser has its CSRF cookie, but the field is missing
    assert app_client.post("/password/forgot", data={"email": EMAIL}, follow_redirects=False).status_code == 403
    assert reset_mails(db) == []
    app_client.post("/api/auth/password/forgot", json={"email": EMAIL})
    token = token_of(reset_link(reset_mails(db)[0]))
    refused = app_client.post(
        "/password/reset",
        data={"token": token, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert app_client.get("/password/reset", params={"token": token}).status_code == 200
    assert api_login(app_client).status_code == 200


def test_the_email_text_and_html_carry_the_absolute_link(app_client: TestClient, db: Database) -> None:
    make_user(db)
    app_client.post("/api/auth/password/forgot", json={"email": EMAIL})
    [mail] = reset_mails(db)
    link = reset_link(mail)
    assert re.fullmatch(r"http://testserver/password/reset\?token=[A-Za-z0-9_-]{43}", link)
    assert f'<a href="{link}">' in mail.payload["html"]
    assert mail.payload["user_id"] is not None
