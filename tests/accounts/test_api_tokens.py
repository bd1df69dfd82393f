"""API tokens for machine clients: made from a signed-in session, shown once, used as a bearer, revoked, expired."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update

from luxserv.accounts.models import ApiToken, Role
from luxserv.audit.models import AuditEntry
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.registry import metadata
from luxserv.core.security import token_digest
from tests.accounts.helpers import api_login, set_active
from tests.factories import make_owner, make_user

EMAIL = "admin@example.com"


def make_token(client: TestClient, name: str = "Reporting script", **extra: Any) -> dict[str, Any]:
    response = client.post("/api/auth/tokens", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def with_token(client: TestClient, token: str, path: str = "/api/auth/me", method: str = "GET") -> Response:
    """A request carrying only the token (no cookie)."""
    client.cookies.clear()
    return client.request(method, path, headers={"Authorization": f"Bearer {token}"})


def token_row(db: Database, token_id: int) -> ApiToken:
    with db.unit_of_work(write=False) as session:
        row = session.get(ApiToken, token_id)
        assert row is not None
        return row


def move_last_use(db: Database, token_id: int, when: datetime) -> None:
    with db.unit_of_work() as session:
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=when))


def test_make_a_token_and_use_it_as_a_bearer(app_client: TestClient, db: Database) -> None:
    user_id = make_user(db)
    api_login(app_client)
    before = utcnow()
    created = make_token(app_client, "  Reporting   script ", expires_in_days=30)
    raw = created["token"]
    assert raw.startswith("lxs_")
    assert len(raw) >= 4 + 43
    assert created["name"] == "Reporting script"
    assert created["prefix"] == raw[:12]
    assert created["last_used_at"] is None
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=30) - timedelta(seconds=5) <= expires - before <= timedelta(days=30, seconds=30)
    assert set(created) == {"token", "id", "name", "prefix", "created_at", "last_used_at", "expires_at"}

    me = with_token(app_client, raw)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user_id
    assert token_row(db, created["id"]).last_used_at is not None

    # Listing never shows the secret again.
    api_login(app_client)
    listed = app_client.get("/api/auth/tokens")
    assert listed.status_code == 200
    [item] = listed.json()
    assert "token" not in item
    assert item["id"] == created["id"]
    assert item["prefix"] == created["prefix"]
    assert item["last_used_at"] is not None


def test_last_use_is_recorded_at_most_once_a_minute(app_client: TestClient, db: Database) -> None:
    make_user(db)
    api_login(app_client)
    created = make_token(app_client)
    assert with_token(app_client, created["token"]).status_code == 200
    recent = utcnow() - timedelta(seconds=20)
    move_last_use(db, created["id"], recent)
    assert with_token(app_client, created["token"]).status_code == 200
    assert token_row(db, created["id"]).last_used_at == recent
    old = utcnow() - timedelta(minutes=5)
    move_last_use(db, created["id"], old)
    assert with_token(app_client, created["token"]).status_code == 200
    used = token_row(db, created["id"]).last_used_at
    assert used is not None
    assert used > old + timedelta(minutes=4)


def test_revoked_and_expired_tokens_are_refused(app_client: TestClient, db: Database) -> None:
    make_user(db)
    api_login(app_client)
    revoked = make_token(app_client, "old laptop")
    expiring = make_token(app_client, "temporary", expires_in_days=1)
    assert app_client.delete(f"/api/auth/tokens/{revoked['id']}").status_code == 204
    refused = with_token(app_client, revoked["token"])
    assert refused.status_code == 401
    assert refused.json() == {"detail": "the API token is unknown, revoked or expired, or its user is disabled"}

    assert with_token(app_client, expiring["token"]).status_code == 200
    with db.unit_of_work() as session:
        session.execute(
            update(ApiToken).where(ApiToken.id == expiring["id"]).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert with_token(app_client, expiring["token"]).status_code == 401
    assert with_token(app_client, expiring["token"] + "x").status_code == 401
    assert with_token(app_client, "lxs_").status_code == 401

    api_login(app_client)
    assert [t["name"] for t in app_client.get("/api/auth/tokens").json()] == ["temporary"]  # expired still listed
    assert app_client.delete(f"/api/auth/tokens/{revoked['id']}").status_code == 404  # already revoked
    with db.unit_of_work(write=False) as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "api_token")))
    assert actions == {"api_token.created", "api_token.revoked"}


def test_another_users_token_is_not_found_and_keeps_working(app_client: TestClient, db: Database) -> None:
    make_user(db)
    make_user(db, email="staff@example.com", role=Role.staff)
    api_login(app_client, "staff@example.com")
    theirs = make_token(app_client, "staff robot")
    api_login(app_client)
    response = app_client.delete(f"/api/auth/tokens/{theirs['id']}")
    assert response.status_code == 404
    assert app_client.get("/api/auth/tokens").json() == []
    assert app_client.delete("/api/auth/tokens/999999").status_code == 404
    assert with_token(app_client, theirs["token"]).json()["email"] == "staff@example.com"


def test_a_token_cannot_make_tokens(app_client: TestClient, db: Database) -> None:
    make_user(db)
    api_login(app_client)
    raw = make_token(app_client)["token"]
    app_client.cookies.clear()
    refused = app_client.post(
        "/api/auth/tokens", json={"name": "offspring"}, headers={"Authorization": f"Bearer {raw}"}
    )
    assert refused.status_code == 403
    assert "only be made from a signed-in session" in refused.json()["detail"]
    with db.unit_of_work(write=False) as session:
        assert len(session.scalars(select(ApiToken)).all()) == 1
    # A session's bearer token is a signed-in session: it may.
    session_token = api_login(app_client).json()["token"]
    app_client.cookies.clear()
    allowed = app_client.post(
        "/api/auth/tokens", json={"name": "from a session"}, headers={"Authorization": f"Bearer {session_token}"}
    )
    assert allowed.status_code == 201


def test_a_disabled_users_tokens_stop_until_enabled(app_client: TestClient, db: Database) -> None:
    user_id = make_user(db)
    api_login(app_client)
    raw = make_token(app_client)["token"]
    set_active(db, user_id, False)
    assert with_token(app_client, raw).status_code == 401
    set_active(db, user_id, True)
    assert with_token(app_client, raw).status_code == 200


def test_a_token_acts_with_its_users_role(app_client: TestClient, db: Database) -> None:
    owner_id = make_owner(db)
    make_user(db, email="dana@example.com", role=Role.owner, owner_id=owner_id)
    api_login(app_client, "dana@example.com")
    raw = make_token(app_client)["token"]
    assert with_token(app_client, raw, "/api/properties").status_code == 403
    assert with_token(app_client, raw).json()["role"] == "owner"


def test_token_input_is_validated(app_client: TestClient, db: Database) -> None:
    make_user(db)
    api_login(app_client)
    for body, field in (
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "ok", "expires_in_days": 3651}, "expires_in_days"),
        ({}, "name"),
    ):
        response = app_client.post("/api/auth/tokens", json=body)
        assert response.status_code == 422, body
        assert response.json()["field"] == field, response.json()
    app_client.cookies.clear()
    assert app_client.post("/api/auth/tokens", json={"name": "anonymous"}).status_code == 401
    assert app_client.get("/api/auth/tokens").status_code == 401


def test_only_the_digest_of_a_token_is_stored(app_client: TestClient, db: Database) -> None:
    make_user(db)
    api_login(app_client)
    created = make_token(app_client)
    raw = created["token"]
    assert token_row(db, created["id"]).token_digest == token_digest(raw)
    with db.unit_of_work(write=False) as session:
        for table in metadata.sorted_tables:
            for row in session.execute(select(table)):
                assert raw not in repr(tuple(row)), table.name
