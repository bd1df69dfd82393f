"""Fixtures of the webhook tests: an admin client, and a home the generic payloads name."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from luxserv.core.database import Database
from tests.factories import admin_client, make_owner, make_property


@pytest.fixture
def admin(app_client: TestClient, db: Database) -> TestClient:
    """The app client, signed in as an admin (webhooks ignore the session)."""
    return admin_client(app_client, db)


@pytest.fixture
def beach_condo(db: Database) -> int:
    return make_property(db, owner_id=make_owner(db))
