"""Helpers for account tests: forms with their CSRF token, sign-in by form, and reading what was e-mailed."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update

from luxserv.accounts.models import User, UserSession
from luxserv.core.database import Database
from luxserv.outbox.models import OutboxMessage
from tests.factories import PASSWORD

RESET_TOPIC = "account.password_reset"


def form_token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token of a page's form (the page also sets the matching cookie)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def post_form(client: TestClient, path: str, data: dict[str, Any], *, page: str = "/login") -> Response:
    """POST a form with a valid CSRF token, without following the redirect."""
    return client.post(path, data={**data, "csrf_token": form_token(client, page)}, follow_redirects=False)


def form_login(client: TestClient, email: str = "admin@example.com", password: str = PASSWORD) -> Response:
    return post_form(client, "/login", {"email": email, "password": password, "next": "/admin"})


def api_login(client: TestClient, email: str = "admin@example.com", password: str = PASSWORD) -> Response:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def session_count(db: Database, user_id: int) -> int:
    with db.unit_of_work(write=False) as session:
        return len(session.scalars(select(UserSession.id).where(UserSession.user_id == user_id)).all())


def set_active(db: Database, user_id: int, active: bool) -> None:
    with db.unit_of_work() as session:
        session.execute(update(User).where(User.id == user_id).values(is_active=active))


def reset_mails(db: Database) -> list[OutboxMessage]:
    with db.unit_of_work(write=False) as session:
        query = select(OutboxMessage).where(OutboxMessage.topic == RESET_TOPIC).order_by(OutboxMessage.id)
        return list(session.scalars(query))


def reset_link(message: OutboxMessage) -> str:
    """The link as the person reads it in the plain-text e-mail."""
    match = re.search(r"(http://testserver/password/reset\?token=\S+)", str(message.payload["text"]))
    assert match, message.payload
    return match.group(1)


def token_of(link: str) -> str:
    return link.split("token=", 1)[1]
