"""The migrations and the models describe the same schema, on SQLite and on PostgreSQL: Alembic's autogenerate
finds nothing to change after `upgrade head`, the open tasks' partial indexes carry the same WHERE clause either way,
and the newest migration goes down one step and up again.

Each test migrates scratch databases of its own (never the session's shared test database)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

from luxserv.core.database import Database, normalize_url
from luxserv.core.migrate import alembic_config, upgrade
from luxserv.core.registry import metadata
from luxserv.services.models import OPEN_INDEX_STATUSES, OPEN_STATUSES, ServiceRequest
from tests.conftest import PG_URL, REQUIRE_POSTGRES

OPEN_INDEXES = {
    "ix_service_requests_open_day": ["scheduled_for", "time_of_day", "id"],
    "ix_service_requests_open_home": ["property_id", "service_type_id", "scheduled_for"],
}


class Scratch:
    """Empty scratch databases of one kind: `new()` makes one more (dropped at the end)."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind, self.tmp_path = kind, tmp_path
        self.made: list[Database] = []
        self.names: list[str] = []
        self.admin: Any = None

    def new(self) -> Database:
        n = len(self.made)
        if self.kind == "sqlite":
            db = Database(f"sqlite:///{self.tmp_path / f'scratch{n}.db'}")
        else:
            url = make_url(normalize_url(PG_URL))
            name = f"luxserv_migrations_{os.getpid()}_{n}"
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.names.append(name)
            db = Database(url.set(database=name).render_as_string(hide_password=False))
        self.made.append(db)
        return db

    def close(self) -> None:
        for db in self.made:
            db.dispose()
        if self.admin is not None:
            with self.admin.connect() as conn:
                for name in self.names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scratch]:
    found = Scratch(request.param, tmp_path)
    if request.param == "postgresql":
        try:
            found.admin = create_engine(make_url(normalize_url(PG_URL)), isolation_level="AUTOCOMMIT")
            with found.admin.connect():
                pass
        except Exception as error:
            message = f"PostgreSQL at {PG_URL} is not reachable: {error}"
            if REQUIRE_POSTGRES:
                pytest.fail(message)
            pytest.skip(message)
    yield found
    found.close()


def differences(db: Database) -> list[Any]:
    """What `alembic revision --autogenerate` would write against this database (empty: nothing)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return list(compare_metadata(context, metadata))


def index_definitions(conn: Connection, names: list[str]) -> dict[str, str]:
    """The database's own text of these indexes (PostgreSQL: pg_get_indexdef; SQLite: the CREATE INDEX stored)."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'service_requests'")
        ).all()
    else:
        rows = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'service_requests'")
        ).all()
    return {name: definition for name, definition in rows if name in names}


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_the_models_and_the_migrations_describe_the_same_schema(scratch: Scratch) -> None:
    migrated = scratch.new()
    upgrade(migrated)
    assert differences(migrated) == []

    # Autogenerate does not compare a partial index's WHERE clause: compare the indexes the models would create.
    declared = scratch.new()
    metadata.create_all(declared.engine)
    with migrated.engine.connect() as a, declared.engine.connect() as b:
        from_migrations, from_models = (
            index_definitions(a, list(OPEN_INDEXES)),
            index_definitions(b, list(OPEN_INDEXES)),
        )
    assert set(from_migrations) == set(OPEN_INDEXES)
    assert from_migrations == from_models


def test_the_open_tasks_indexes_cover_the_open_statuses_only(scratch: Scratch) -> None:
    db = scratch.new()
    upgrade(db)
    assert OPEN_INDEX_STATUSES == ("requested", "scheduled", "in_progress") == tuple(s.value for s in OPEN_STATUSES)
    with db.engine.connect() as conn:
        found = index_definitions(conn, list(OPEN_INDEXES))
    for name, columns in OPEN_INDEXES.items():
        definition = found[name]
        assert f"({', '.join(columns)})" in definition, definition
        if scratch.kind == "postgresql":
            assert definition.endswith(
                "WHERE ((status)::text = ANY (ARRAY['requested'::text, 'scheduled'::text, 'in_progress'::text]))"
            ), definition
        else:
            assert definition.endswith("WHERE status IN ('requested', 'scheduled', 'in_progress')"), definition
    declared = {ix.name: [c.name for c in ix.columns] for ix in ServiceRequest.__table__.indexes}
    assert {name: declared.get(name) for name in OPEN_INDEXES} == OPEN_INDEXES


def test_the_newest_migration_goes_down_one_step_and_up_again(scratch: Scratch) -> None:
    db = scratch.new()
    upgrade(db)
    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    assert head == "0006" and current_revision(db) == head
    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    assert current_revision(db) == "0005"
    with db.engine.connect() as conn:
        assert index_definitions(conn, list(OPEN_INDEXES)) == {}
    assert {(d[0][0] if isinstance(d, list) else d[0]) for d in differences(db)} == {"add_index"}

    upgrade(db)
    assert current_revision(db) == head and differences(db) == []
    with db.engine.connect() as conn:
        assert set(index_definitions(conn, list(OPEN_INDEXES))) == set(OPEN_INDEXES)
