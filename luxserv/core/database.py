"""Engine, sessions and the unit of work. One code path for SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no offset, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; LuxServ stores aware UTC timestamps only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def normalize_url(url: str) -> str:
    """Accept the URL forms operators paste (postgres://, postgresql://) and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalize_url(url)).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Durable and safe for several threads: WAL, full fsync on commit, foreign keys, wait instead of failing.
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock up front (BEGIN IMMEDIATE), so two writers queue on busy_timeout
    # instead of failing with "database is locked" when a read transaction tries to upgrade.
    mode = "IMMEDIATE" if conn.get_execution_options().get("luxserv_write", False) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the URL, with LuxServ's SQLite pragmas or PostgreSQL pool settings."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


class Database:
    """The engine and two session factories: reads, and writes (which lock early on SQLite)."""

    def __init__(self, url: str, *, base_url: str = "", **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        # The public address of the web app, for absolute links in e-mails written inside a transaction.
        self.base_url = base_url.rstrip("/")
        self.engine = make_engine(self.url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Threads of this process queue for it on this lock, which wakes the next
        # one the moment it is free; SQLite's own busy timeout polls with sleeps of up to 100 ms, so under load
        # writers would sit idle while the database is free. Other processes still wait on the busy timeout.
        self._writer = threading.RLock() if self.is_sqlite else None
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(luxserv_write=True), expire_on_commit=False)

    def session(self, *, write: bool = True) -> Session:
        """A new session; the caller commits (see `unit_of_work`)."""
        session = (self._write if write else self._read)()
        session.info["base_url"] = self.base_url
        return session

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: commit when the block ends, roll back if it raises."""
        writer = self._writer if write else None
        if writer is not None:
            writer.acquire()
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if writer is not None:
                writer.release()

    def dispose(self) -> None:
        self.engine.dispose()


_MEMO = "luxserv_memo"
T = TypeVar("T")


def remember_reads(session: Session) -> None:
    """Let `memo` keep what it reads for the rest of this session's transaction (a batch of events, say)."""
    session.info[_MEMO] = {}


def remembers_reads(session: Session) -> bool:
    """Whether this session's transaction opted in with `remember_reads`."""
    return _MEMO in session.info


def remembered(session: Session, key: Hashable) -> bool:
    """Whether `memo` holds `key` for this transaction."""
    return key in session.info.get(_MEMO, {})


def remember(session: Session, key: Hashable, value: Any) -> None:
    """Give `memo` the value of `key` for this transaction, read with others at once (nothing without the opt-in)."""
    store = session.info.get(_MEMO)
    if store is not None:
        store.setdefault(key, value)


def memo(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, remembered for the rest of the transaction if the session opted in with `remember_reads`.

    Only for reads that nothing in that transaction changes, such as a property's rules while a sync applies a
    page of reservations. Without the opt-in, every call computes (an admin's edit is seen at once).
    """
    store = session.info.get(_MEMO)
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return cast(T, store[key])


def race_savepoint(session: Session) -> AbstractContextManager[Any]:
    """A savepoint around an insert that a concurrent transaction may beat to the same unique key.

    On PostgreSQL the loser's IntegrityError then undoes only that insert. On SQLite there is no race to lose:
    a write transaction takes the database's single writer lock at its first statement (BEGIN IMMEDIATE), so
    no other transaction can insert meanwhile, and the savepoint would be two statements for nothing.
    """
    if session.get_bind().dialect.name == "sqlite":
        return nullcontext()
    return session.begin_nested()


def insert_once(session: Session, model: type[Base], key: Sequence[str], values: dict[str, Any]) -> int | None:
    """Insert a row unless one with the same unique `key` columns exists: the new row's id, or None.

    One statement (`INSERT … ON CONFLICT DO NOTHING RETURNING id`) on both databases: no savepoint, no prior
    SELECT, and a concurrent transaction inserting the same key makes this one wait for it, then do nothing.
    The row is not loaded into the session. The statement is built once per table, key and database (column
    defaults fill what `values` leaves out), so SQLAlchemy reuses its compiled form.
    """
    session.flush()  # what an ORM query would do first: pending rows this one may refer to
    connection = session.connection()
    statement = _insert_once_statement(model.__table__, tuple(key), connection.dialect.name)
    return connection.execute(statement, values).scalar()


@functools.cache
def _insert_once_statement(table: Any, key: tuple[str, ...], dialect: str) -> Any:
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(table).on_conflict_do_nothing(index_elements=list(key)).returning(table.c.id)


def insert_all_once(session: Session, model: type[Base], key: str, rows: Sequence[dict[str, Any]]) -> set[str]:
    """`insert_once` for several rows of one table with a unique `key` column: one multi-row
    `INSERT … ON CONFLICT DO NOTHING RETURNING key`; returns the keys of the rows written, in no order.

    Every row must name the same columns. Rows whose key exists already, or came earlier in `rows`, are skipped,
    as `insert_once` one row at a time would. The statement is built once per table, key and database; with
    several rows SQLAlchemy sends them as one multi-row INSERT ("insertmanyvalues").
    """
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row[key], row)
    if not unique:
        return set()
    session.flush()  # what an ORM query would do first: pending rows these may refer to
    connection = session.connection()
    statement = _insert_all_once_statement(model.__table__, key, connection.dialect.name)
    values = list(unique.values())
    return set(connection.execute(statement, values[0] if len(values) == 1 else values).scalars())


@functools.cache
def _insert_all_once_statement(table: Any, key: str, dialect: str) -> Any:
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
