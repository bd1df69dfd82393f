"""Fixtures: a migrated database per test (SQLite always, PostgreSQL when reachable — required in CI)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from luxserv.app import create_app
from luxserv.core.database import Database, normalize_url
from luxserv.core.migrate import upgrade
from luxserv.core.registry import metadata
from luxserv.core.settings import Settings

PG_URL = os.environ.get("LUXSERV_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# In CI a missing PostgreSQL is a failure, never a skip.
REQUIRE_POSTGRES = bool(os.environ.get("CI") or os.environ.get("LUXSERV_REQUIRE_POSTGRES"))
WEBHOOK_SECRET = "test-webhook-secret"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy (isolated and fast)."""
    path = tmp_path_factory.mktemp("template") / "luxserv.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Database]:
    """A scratch database on the PostgreSQL server, migrated once, dropped at the end."""
    admin_url = make_url(normalize_url(PG_URL))
    name = f"luxserv_test_{os.getpid()}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        message = f"PostgreSQL at {admin_url.render_as_string(hide_password=True)} is not reachable: {error}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    db = Database(admin_url.set(database=name).render_as_string(hide_password=False))
    upgrade(db)
    _SEED_ROWS.update(_snapshot(db))
    yield db
    db.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Rows the migrations seed (the default service catalogue and rules), restored after each truncation.
_SEED_ROWS: dict[str, list[dict[str, object]]] = {}


def _snapshot(db: Database) -> dict[str, list[dict[str, object]]]:
    with db.engine.connect() as conn:
        rows = {t.name: [dict(r) for r in conn.execute(t.select()).mappings()] for t in metadata.sorted_tables}
    return {name: found for name, found in rows.items() if found}


def _truncate_all(db: Database) -> None:
    """Empty every table and restart its ids, then restore the seed rows.

    DELETE in dependency order, not TRUNCATE: on a few dozen small tables it is twenty times faster.
    """
    tables = metadata.sorted_tables
    restart = ", ".join(f"setval(pg_get_serial_sequence('{t.name}', 'id'), 1, false)" for t in tables if "id" in t.c)
    with db.engine.begin() as conn:
        for table in reversed(tables):
            conn.execute(table.delete())
        conn.execute(text(f"SELECT {restart}"))
        for table in tables:
            rows = _SEED_ROWS.get(table.name)
            if rows:
                conn.execute(table.insert(), rows)
                name = table.name  # our own table names, not input
                sequence = f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM \"{name}\"))"  # noqa: S608
                conn.execute(text(sequence))


BASE_URL = "http://testserver"  # what links in e-mails start with in tests


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "luxserv.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}", base_url=BASE_URL)
        yield database
        database.dispose()
    else:
        database = request.getfixturevalue("postgres_database")
        database.base_url = BASE_URL
        _truncate_all(database)
        yield database


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        database_url=db.url,
        data_dir=tmp_path,
        webhook_secret=WEBHOOK_SECRET,
        base_url=BASE_URL,
    )


@pytest.fixture
def app_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_app(settings, db, run_worker=False)
    with TestClient(app) as client:
        yield client
