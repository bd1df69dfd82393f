"""Disabling a login ends its sessions and stops its API tokens: the service, the admin API and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.accounts.models import Role, User
from luxserv.accounts.service import set_active
from luxserv.audit.models import AuditEntry
from luxserv.core.database import Database
from luxserv.core.errors import NotFound, PermissionDenied
from tests.accounts.helpers import api_login, form_login, session_count
from tests.factories import make_owner, make_user

STAFF = "staff@example.com"


def user_is_active(db: Database, user_id: int) -> bool:
    with db.unit_of_work(write=False) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.is_active


def test_set_active_ends_sessions_and_audits(app_client: TestClient, db: Database) -> None:
    admin_id = make_user(db)
    staff_id = make_user(db, email=STAFF, role=Role.staff)
    with TestClient(app_client.app) as phone, TestClient(app_client.app) as laptop:
        api_login(phone, STAFF)
        assert form_login(laptop, STAFF).status_code == 303
        assert session_count(db, staff_id) == 2
        with db.unit_of_work() as session:
            set_active(session, staff_id, False, actor=f"user:{admin_id}")
        assert session_count(db, staff_id) == 0
        assert phone.get("/api/auth/me").status_code == 401
        assert laptop.get("/admin", follow_redirects=False).status_code == 303  # back to the sign-in page
    with db.unit_of_work() as session:
        set_active(session, staff_id, False, actor="cli")  # again: nothing more to do, no second entry
        set_active(session, staff_id, True, actor="cli")
    with db.unit_of_work(write=False) as session:
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.details)
            .where(AuditEntry.entity_id == staff_id, AuditEntry.action.in_(["user.disabled", "user.enabled"]))
            .order_by(AuditEntry.id)
        ).all()
    assert [(a, b) for a, b, _ in entries] == [("user.disabled", f"user:{admin_id}"), ("user.enabled", "cli")]
    assert entries[0][2]["sessions_ended"] == 2


def test_set_active_refuses_oneself_and_unknown_users(db: Database) -> None:
    admin_id = make_user(db)
    with db.unit_of_work() as session, pytest.raises(PermissionDenied):
        set_active(session, admin_id, False, actor=f"user:{admin_id}")
    with db.unit_of_work() as session, pytest.raises(NotFound):
        set_active(session, admin_id + 100, False, actor="cli")
    assert user_is_active(db, admin_id)


def test_admin_api_disables_and_enables(app_client: TestClient, db: Database) -> None:
    make_user(db)
    staff_id = make_user(db, email=STAFF, role=Role.staff)
    with TestClient(app_client.app) as staff:
        api_login(staff, STAFF)
        created = staff.post("/api/auth/tokens", json={"name": "robot"})
        assert created.status_code == 201
        robot = created.json()["token"]

        api_login(app_client)
        disabled = app_client.post(f"/api/admin/users/{staff_id}/disable")
        assert disabled.status_code == 200, disabled.text
        assert disabled.json() == {
            "id": staff_id,
            "email": STAFF,
            "full_name": "",
            "role": "staff",
            "is_active": False,
        }
        assert staff.get("/api/auth/me").status_code == 401
        staff.cookies.clear()
        assert staff.get("/api/auth/me", headers={"Authorization": f"Bearer {robot}"}).status_code == 401
        assert api_login(staff, STAFF).status_code == 401

        enabled = app_client.post(f"/api/admin/users/{staff_id}/enable")
        assert enabled.status_code == 200
        assert enabled.json()["is_active"] is True
        assert staff.get("/api/auth/me", headers={"Authorization": f"Bearer {robot}"}).status_code == 200
        staff.cookies.clear()
        assert staff.get("/api/auth/me").status_code == 401  # ended sessions stay ended
        assert api_login(staff, STAFF).status_code == 200


def test_only_admins_may_disable_and_never_themselves(app_client: TestClient, db: Database) -> None:
    admin_id = make_user(db)
    make_user(db, email=STAFF, role=Role.staff)
    owner_id = make_owner(db)
    owner_user = make_user(db, email="dana@example.com", role=Role.owner, owner_id=owner_id)

    api_login(app_client, STAFF)
    refused = app_client.post(f"/api/admin/users/{owner_user}/disable")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this needs an admin account"
    api_login(app_client, "dana@example.com")
    assert app_client.post(f"/api/admin/users/{admin_id}/disable").status_code == 403
    app_client.cookies.clear()
    assert app_client.post(f"/api/admin/users/{admin_id}/disable").status_code == 401

    api_login(app_client)
    itself = app_client.post(f"/api/admin/users/{admin_id}/disable")
    assert itself.status_code == 403
    assert "cannot disable your own login" in itself.json()["detail"]
    assert app_client.get("/api/auth/me").status_code == 200
    assert app_client.post("/api/admin/users/424242/disable").status_code == 404
    assert user_is_active(db, owner_user)


def run_cli(db: Database, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LUXSERV_")}
    environ.update({"LUXSERV_DATABASE_URL": db.url, "LUXSERV_DATA_DIR": str(tmp_path), "LUXSERV_ENV": "test"})
    return subprocess.run(
        [sys.executable, "-m", "luxserv", *args],
        env=environ,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_disables_and_enables_by_email(app_client: TestClient, db: Database, tmp_path: Path) -> None:
    staff_id = make_user(db, email=STAFF, role=Role.staff)
    api_login(app_client, STAFF)
    disabled = run_cli(db, tmp_path, "users", "disable", "Staff@Example.com")
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.strip() == f"disabled {STAFF}: signed out everywhere, API tokens refused"
    assert session_count(db, staff_id) == 0
    assert app_client.get("/api/auth/me").status_code == 401
    assert not user_is_active(db, staff_id)

    enabled = run_cli(db, tmp_path, "users", "enable", STAFF)
    assert enabled.returncode == 0, enabled.stderr
    assert enabled.stdout.strip() == f"enabled {STAFF}"
    assert user_is_active(db, staff_id)

    unknown = run_cli(db, tmp_path, "users", "disable", "nobody@example.com")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no login with e-mail nobody@example.com"
