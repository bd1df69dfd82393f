"""Plain functions that make test data through the real services."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from fastapi.testclient import TestClient

from luxserv.accounts.models import Role
from luxserv.accounts.service import create_user
from luxserv.core.database import Database
from luxserv.properties.models import Owner
from luxserv.properties.service import create_owner, create_property

PASSWORD = "correct horse battery"


def make_owner(db: Database, name: str = "Dana Whitfield", email: str = "dana@example.com") -> int:
    with db.unit_of_work() as session:
        return create_owner(session, name=name, email=email, actor="test").id


def make_property(
    db: Database,
    *,
    owner_id: int | None = None,
    name: str = "Beach Condo 123",
    address: str = "17751 Front Beach Rd, Unit 123",
    city: str = "Panama City Beach",
    listings: dict[str, str] | None = None,
) -> int:
    with db.unit_of_work() as session:
        owner = session.get(Owner, owner_id) if owner_id else None
        prop = create_property(
            session, owner=owner, name=name, address=address, city=city, state="FL", listings=listings, actor="test"
        )
        return prop.id


def make_user(
    db: Database, email: str = "admin@example.com", role: Role = Role.admin, owner_id: int | None = None
) -> int:
    with db.unit_of_work() as session:
        owner = session.get(Owner, owner_id) if owner_id else None
        return create_user(session, email=email, role=role, password=PASSWORD, owner=owner, actor="test").id


def login(client: TestClient, email: str = "admin@example.com", password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def admin_client(client: TestClient, db: Database) -> TestClient:
    make_user(db)
    login(client)
    return client


def flat_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "booking_id": "HM123456789",
        "property": "Beach Condo 123, Panama City Beach",
        "guest_name": "Sarah Johnson",
        "guest_email": "sarah@email.com",
        "check_in": "2026-06-15",
        "check_out": "2026-06-22",
        "guest_count": 4,
        "special_requests": "Celebrating anniversary",
    }
    payload.update(overrides)
    return payload


def nested_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "booking_id": "HM123456789",
        "source": "airbnb",
        "property": {"address": "Beach Condo 123, Panama City Beach"},
        "guest": {"name": "Sarah Johnson", "email": "sarah@email.com"},
        "check_in_date": "2026-06-15",
        "check_out_date": "2026-06-22",
        "guest_count": 4,
        "special_requests": "Celebrating anniversary",
    }
    payload.update(overrides)
    return payload


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_signed(
    client: TestClient, payload: Any, *, secret: str, path: str = "/webhooks/generic", raw: bytes | None = None
) -> Any:
    body = raw if raw is not None else json.dumps(payload).encode()
    return client.post(
        path,
        content=body,
        headers={"Content-Type": "application/json", "X-Webhook-Signature": sign(body, secret)},
    )
