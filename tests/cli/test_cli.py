"""The real `luxserv` console script, run as a subprocess against SQLite files (and the test databases)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from luxserv.accounts.models import Role, User
from luxserv.accounts.service import create_user
from luxserv.app import create_app
from luxserv.bookings.models import Booking
from luxserv.core.database import Database
from luxserv.core.migrate import pending_revisions
from luxserv.core.settings import Settings
from luxserv.guests.models import Guest
from luxserv.properties.models import Owner, Property

PASSWORD = "long enough pw"
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nope"
STRONG_SECRET_KEY = "k" * 16 + "Zq8vN2xR4tY6uI0pA3sD"
STRONG_WEBHOOK_SECRET = "whk-7Hq2LmX9pRt4Vz"


def run_cli(
    *args: str,
    data_dir: Path,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`python -m luxserv ARGS` with a clean LUXSERV_* environment, no TTY, in `data_dir`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LUXSERV_")}
    environ["LUXSERV_DATA_DIR"] = str(data_dir)
    if database_url is not None:
        environ["LUXSERV_DATABASE_URL"] = database_url
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "luxserv", *args],
        env=environ,
        cwd=data_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A failed command: non-zero exit, exactly one line on stderr starting with `error:`, no traceback."""
    assert result.returncode != 0, f"expected failure\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("error:"), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'luxserv.db').as_posix()}"


@pytest.fixture
def migrated(tmp_path: Path, sqlite_template: Path) -> Path:
    """A data dir whose default SQLite database (data_dir/luxserv.db) is migrated and empty."""
    shutil.copy(sqlite_template, tmp_path / "luxserv.db")
    return tmp_path


def count_rows(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        with database.unit_of_work(write=False) as session:
            return {
                name: session.scalar(select(func.count()).select_from(model)) or 0
                for name, model in (
                    ("owners", Owner),
                    ("properties", Property),
                    ("users", User),
                    ("guests", Guest),
                    ("bookings", Booking),
                )
            }
    finally:
        database.dispose()


def api_login(url: str, data_dir: Path, email: str, password: str) -> tuple[int, dict[str, object], int]:
    """Sign in through the real app over this database; returns (status, body, GET /api/bookings status)."""
    database = Database(url)
    settings = Settings(_env_file=None, env="test", database_url=url, data_dir=data_dir)  # type: ignore[call-arg]
    try:
        with TestClient(create_app(settings, database, run_worker=False)) as client:
            response = client.post("/api/auth/login", json={"email": email, "password": password})
            bookings = client.get("/api/bookings").status_code
            return response.status_code, response.json(), bookings
    finally:
        database.dispose()


# --- db upgrade -------------------------------------------------------------------------------------------------


def test_db_upgrade_twice_on_a_new_sqlite_file(tmp_path: Path) -> None:
    first = run_cli("db", "upgrade", data_dir=tmp_path)
    assert_ok(first)
    assert (tmp_path / "luxserv.db").exists()
    assert "head" in first.stdout
    second = run_cli("db", "upgrade", data_dir=tmp_path)
    assert_ok(second)
    database = Database(sqlite_url(tmp_path))
    try:
        assert pending_revisions(database) is False
    finally:
        database.dispose()
    assert count_rows(sqlite_url(tmp_path)) == dict.fromkeys(("owners", "properties", "users", "guests", "bookings"), 0)


def test_db_upgrade_is_idempotent_on_each_database(db: Database, tmp_path: Path) -> None:
    for _ in range(2):
        assert_ok(run_cli("db", "upgrade", data_dir=tmp_path, database_url=db.url))
    assert pending_revisions(db) is False


def test_db_upgrade_output_hides_the_database_password(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", data_dir=tmp_path, database_url="postgresql://luxserv:s3cr3t-pw@127.0.0.1:1/x")
    assert_one_line_error(result, "database error")
    assert "s3cr3t-pw" not in result.stdout + result.stderr


# --- demo -------------------------------------------------------------------------------------------------------


def test_demo_twice_keeps_the_same_counts_and_prints_the_logins(tmp_path: Path) -> None:
    first = run_cli("demo", data_dir=tmp_path)
    assert_ok(first)
    counts = count_rows(sqlite_url(tmp_path))
    assert counts == {"owners": 1, "properties": 2, "users": 2, "guests": 4, "bookings": 4}
    second = run_cli("demo", data_dir=tmp_path)
    assert_ok(second)
    assert count_rows(sqlite_url(tmp_path)) == counts
    for output in (first.stdout, second.stdout):
        assert re.search(r"admin@luxserv\.demo\s+password luxserv-admin-demo", output), output
        assert re.search(r"dana@luxserv\.demo\s+password luxserv-owner-demo", output), output


def test_demo_twice_on_each_database(db: Database, tmp_path: Path) -> None:
    assert_ok(run_cli("demo", data_dir=tmp_path, database_url=db.url))
    counts = count_rows(db.url)
    assert counts == {"owners": 1, "properties": 2, "users": 2, "guests": 4, "bookings": 4}
    assert_ok(run_cli("demo", data_dir=tmp_path, database_url=db.url))
    assert count_rows(db.url) == counts


def test_demo_contents(tmp_path: Path) -> None:
    assert_ok(run_cli("demo", data_dir=tmp_path))
    today = datetime.now(ZoneInfo("America/Chicago")).date()
    database = Database(sqlite_url(tmp_path))
    try:
        with database.unit_of_work(write=False) as session:
            owner = session.scalars(select(Owner)).one()
            assert owner.name == "Dana Whitfield"
            homes = session.scalars(select(Property).where(Property.owner_id == owner.id)).all()
            assert sorted(p.name for p in homes) == ["Beach Condo 123", "Sea Breeze Villa"]
            condo_id = next(p.id for p in homes if p.name == "Beach Condo 123")

            def stay_of(name: str) -> Booking:
                return session.scalars(select(Booking).join(Guest).where(Guest.full_name == name)).one()

            sarah = stay_of("Sarah Johnson")
            assert sarah.check_in <= today < sarah.check_out, (sarah.check_in, today, sarah.check_out)
            assert sarah.guest_count == 4
            assert sarah.special_requests == "Celebrating anniversary"
            assert sarah.property_id == condo_id
            mike = stay_of("Mike Chen")
            assert mike.check_in > sarah.check_out
            assert mike.property_id == condo_id
            unplaced = session.scalars(select(Booking).where(Booking.property_id.is_(None))).all()
            assert len(unplaced) == 1
            roles = {u.email: u.role for u in session.scalars(select(User))}
            assert roles == {"admin@luxserv.demo": Role.admin, "dana@luxserv.demo": Role.owner}
    finally:
        database.dispose()
    status, body, _ = api_login(sqlite_url(tmp_path), tmp_path, "admin@luxserv.demo", "luxserv-admin-demo")
    assert status == 200, body


# --- users create -----------------------------------------------------------------------------------------------


def test_users_create_admin_can_log_in(migrated: Path) -> None:
    result = run_cli(
        "users", "create", "--email", "x@example.com", "--role", "admin", "--password", PASSWORD, data_dir=migrated
    )
    assert_ok(result)
    assert "created admin x@example.com" in result.stdout
    assert PASSWORD not in result.stdout
    status, body, bookings_status = api_login(sqlite_url(migrated), migrated, "x@example.com", PASSWORD)
    assert status == 200, body
    assert body["user"]["role"] == "admin"  # type: ignore[index]
    assert bookings_status == 200
    wrong, _, _ = api_login(sqlite_url(migrated), migrated, "x@example.com", PASSWORD + "!")
    assert wrong == 401


def test_users_create_on_each_database(db: Database, tmp_path: Path) -> None:
    result = run_cli(
        "users",
        "create",
        "--email",
        "Staff.Person@Example.com",
        "--role",
        "staff",
        "--name",
        "Staff Person",
        "--password",
        PASSWORD,
        data_dir=tmp_path,
        database_url=db.url,
    )
    assert_ok(result)
    with db.unit_of_work(write=False) as session:
        user = session.scalars(select(User)).one()
        assert (user.email, user.role, user.full_name) == ("staff.person@example.com", Role.staff, "Staff Person")
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
    status, body, bookings_status = api_login(db.url, tmp_path, "staff.person@example.com", PASSWORD)
    assert status == 200, body
    assert bookings_status == 200


def test_users_create_without_password_and_no_tty_prints_a_generated_one(migrated: Path) -> None:
    result = run_cli("users", "create", "--email", "gen@example.com", "--role", "admin", data_dir=migrated)
    assert_ok(result)
    match = re.search(r"^password: (\S+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    generated = match.group(1)
    assert len(generated) >= 10
    status, body, _ = api_login(sqlite_url(migrated), migrated, "gen@example.com", generated)
    assert status == 200, body


def test_users_create_owner_creates_the_owner_once(migrated: Path) -> None:
    first = run_cli(
        "users",
        "create",
        "--email",
        "nora@example.com",
        "--role",
        "owner",
        "--owner",
        "New Owner",
        "--name",
        "Nora Owner",
        "--password",
        PASSWORD,
        data_dir=migrated,
    )
    assert_ok(first)
    second = run_cli(
        "users",
        "create",
        "--email",
        "ned@example.com",
        "--role",
        "owner",
        "--owner",
        "new owner",
        "--password",
        PASSWORD,
        data_dir=migrated,
    )
    assert_ok(second)
    database = Database(sqlite_url(migrated))
    try:
        with database.unit_of_work(write=False) as session:
            owner = session.scalars(select(Owner)).one()
            assert owner.name == "New Owner"
            users = {u.email: u for u in session.scalars(select(User))}
            assert set(users) == {"nora@example.com", "ned@example.com"}
            for user in users.values():
                assert user.role == Role.owner
                assert user.owner_id == owner.id
            assert users["nora@example.com"].full_name == "Nora Owner"
    finally:
        database.dispose()
    status, body, bookings_status = api_login(sqlite_url(migrated), migrated, "nora@example.com", PASSWORD)
    assert status == 200, body
    assert body["user"]["owner_id"] is not None  # type: ignore[index]
    assert bookings_status == 403


def test_users_create_owner_links_an_existing_owner_by_email_or_id(tmp_path: Path) -> None:
    assert_ok(run_cli("demo", data_dir=tmp_path))
    url = sqlite_url(tmp_path)
    database = Database(url)
    try:
        with database.unit_of_work(write=False) as session:
            dana = session.scalars(select(Owner)).one()
        for email, ref in (("dana2@example.com", "DANA@luxserv.demo"), ("dana3@example.com", str(dana.id))):
            result = run_cli(
                "users",
                "create",
                "--email",
                email,
                "--role",
                "owner",
                "--owner",
                ref,
                "--password",
                PASSWORD,
                data_dir=tmp_path,
            )
            assert_ok(result)
        with database.unit_of_work(write=False) as session:
            assert session.scalar(select(func.count()).select_from(Owner)) == 1
            linked = session.scalars(
                select(User.owner_id).where(User.email.in_(["dana2@example.com", "dana3@example.com"]))
            )
            assert list(linked) == [dana.id, dana.id]
    finally:
        database.dispose()


USER_ERRORS = [
    pytest.param(
        ["--email", "Taken@Example.com", "--role", "admin", "--password", PASSWORD], "already exists", id="duplicate"
    ),
    pytest.param(["--email", "not-an-email", "--role", "admin", "--password", PASSWORD], "e-mail", id="bad-email"),
    pytest.param(["--email", "x@example.com", "--role", "admin", "--password", "short"], "10", id="short-password"),
    pytest.param(["--email", "x@example.com", "--role", "owner", "--password", PASSWORD], "--owner", id="no-owner"),
    pytest.param(
        ["--email", "x@example.com", "--role", "staff", "--owner", "Dana", "--password", PASSWORD],
        "--owner",
        id="owner-with-staff",
    ),
    pytest.param(["--email", "x@example.com", "--role", "admin", "--owner", "Dana"], "--owner", id="owner-with-admin"),
    pytest.param(
        ["--email", "x@example.com", "--role", "wizard", "--password", PASSWORD],
        "wizard",
        id="unknown-role",
    ),
    pytest.param(
        ["--role", "admin", "--password", PASSWORD],
        "--email",
        id="missing-email",
    ),
]


@pytest.mark.parametrize(("args", "needle"), USER_ERRORS)
def test_users_create_errors_are_one_line(migrated: Path, args: list[str], needle: str) -> None:
    database = Database(sqlite_url(migrated))
    try:
        with database.unit_of_work() as session:
            create_user(session, email="taken@example.com", role=Role.admin, password=PASSWORD, actor="test")
        result = run_cli("users", "create", *args, data_dir=migrated)
        assert_one_line_error(result, needle)
        assert "password:" not in result.stdout
        assert count_rows(database.url)["users"] == 1
        assert count_rows(database.url)["owners"] == 0
    finally:
        database.dispose()


def test_users_create_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = run_cli(
        "users", "create", "--email", "x@example.com", "--role", "admin", "--password", PASSWORD, data_dir=tmp_path
    )
    assert_one_line_error(result, "db upgrade")


# --- configuration and connection errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["db", "upgrade"],
        ["demo"],
        ["users", "create", "--email", "x@example.com", "--role", "admin", "--password", PASSWORD],
        ["serve", "--port", "18764"],
        ["worker"],
    ],
    ids=["db-upgrade", "demo", "users-create", "serve", "worker"],
)
def test_unreachable_database_is_one_line(tmp_path: Path, args: list[str]) -> None:
    result = run_cli(*args, data_dir=tmp_path, database_url=UNREACHABLE, timeout=60)
    assert_one_line_error(result, "database error")
    assert "serving" not in result.stdout
    assert "worker started" not in result.stdout


def test_db_upgrade_to_an_unknown_revision_is_one_line(migrated: Path) -> None:
    assert_one_line_error(run_cli("db", "upgrade", "no-such-revision", data_dir=migrated), "no-such-revision")


def test_database_url_with_a_missing_driver_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("db", "upgrade", data_dir=tmp_path, database_url="mysql://u@127.0.0.1:1/x"))


def test_database_url_that_cannot_be_parsed_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("db", "upgrade", data_dir=tmp_path, database_url="not a url"), "database error")


def test_data_dir_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("db", "upgrade", data_dir=tmp_path, env={"LUXSERV_DATA_DIR": str(blocker / "data")})
    assert_one_line_error(result)


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["db", "upgrade"], {"LUXSERV_SESSION_IDLE_MINUTES": "abc"}, "session_idle_minutes"),
        (["serve", "--port", "1"], {"LUXSERV_SESSION_IDLE_MINUTES": "abc"}, "session_idle_minutes"),
        (["demo"], {"LUXSERV_ENV": "staging"}, "env"),
        (["db", "upgrade"], {"LUXSERV_WEBHOOK_MAX_BYTES": "10"}, "webhook_max_bytes"),
    ],
    ids=["db-upgrade-idle", "serve-idle", "demo-env", "db-upgrade-max-bytes"],
)
def test_invalid_setting_is_one_line(tmp_path: Path, args: list[str], env: dict[str, str], needle: str) -> None:
    result = run_cli(*args, data_dir=tmp_path, env=env, timeout=60)
    assert_one_line_error(result, "invalid setting", needle)
    assert not (tmp_path / "luxserv.db").exists()


@pytest.mark.parametrize(
    ("env", "named", "not_named"),
    [
        ({}, ["LUXSERV_SECRET_KEY", "LUXSERV_WEBHOOK_SECRET"], []),
        ({"LUXSERV_WEBHOOK_SECRET": STRONG_WEBHOOK_SECRET}, ["LUXSERV_SECRET_KEY"], ["LUXSERV_WEBHOOK_SECRET"]),
        ({"LUXSERV_SECRET_KEY": STRONG_SECRET_KEY}, ["LUXSERV_WEBHOOK_SECRET"], ["LUXSERV_SECRET_KEY"]),
    ],
    ids=["both-placeholders", "placeholder-secret-key", "placeholder-webhook-secret"],
)
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_production_with_placeholder_secrets_fails_fast(
    tmp_path: Path, command: str, env: dict[str, str], named: list[str], not_named: list[str]
) -> None:
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)] if command == "serve" else ["worker"]
    started = time.monotonic()
    result = run_cli(*args, data_dir=tmp_path, env={"LUXSERV_ENV": "production", **env}, timeout=60)
    assert time.monotonic() - started < 30
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "something is listening"
    line = assert_one_line_error(result, "production", *named)
    for name in not_named:
        assert name not in line
    assert "serving" not in result.stdout
    assert "worker started" not in result.stdout
    assert "Uvicorn running" not in result.stderr
    assert not (tmp_path / "luxserv.db").exists()


def test_no_arguments_shows_help_not_a_traceback(tmp_path: Path) -> None:
    result = run_cli(data_dir=tmp_path)
    assert "Traceback" not in result.stdout + result.stderr
    assert "users" in result.stdout + result.stderr
