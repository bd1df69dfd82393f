"""The people and homes the notification tests share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from luxserv.accounts.models import Role, User
from luxserv.app import create_app
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from tests.factories import make_owner, make_property, make_user


@dataclass
class People:
    condo: int  # Beach Condo 123, Dana's
    loft: int  # Harbor Loft, Omar's
    admin: int
    admin2: int
    retired: int  # an inactive admin: never told
    staff: int
    dana: int  # Dana's owner login
    dana2: int  # Dana's second login
    omar: int


def same_password_user(db: Database, email: str, role: Role, *, like: int, owner_id: int | None = None) -> int:
    """A login with the same password as user `like` (hashing each password again only slows the tests down)."""
    with db.unit_of_work() as session:
        model = session.get(User, like)
        assert model is not None
        user = User(email=email, role=role, owner_id=owner_id, password_hash=model.password_hash)
        session.add(user)
        session.flush()
        return user.id


@pytest.fixture
def people(db: Database) -> People:
    dana, omar = make_owner(db), make_owner(db, "Omar Haddad", "omar@example.com")
    admin = make_user(db, "admin@example.com", Role.admin)
    found = People(
        condo=make_property(db, owner_id=dana),
        loft=make_property(db, owner_id=omar, name="Harbor Loft", address="9 Harbor St"),
        admin=admin,
        admin2=same_password_user(db, "ada@example.com", Role.admin, like=admin),
        retired=same_password_user(db, "old@example.com", Role.admin, like=admin),
        staff=same_password_user(db, "staff@example.com", Role.staff, like=admin),
        dana=same_password_user(db, "dana@login.example", Role.owner, like=admin, owner_id=dana),
        dana2=same_password_user(db, "ben@login.example", Role.owner, like=admin, owner_id=dana),
        omar=same_password_user(db, "omar@login.example", Role.owner, like=admin, owner_id=omar),
    )
    with db.unit_of_work() as session:
        session.execute(update(User).where(User.id == found.retired).values(is_active=False))
    return found


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_app(settings, db, run_worker=False)
    with TestClient(app) as test_client:
        yield test_client
