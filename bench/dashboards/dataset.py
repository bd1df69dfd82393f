"""The dashboard benchmark's data: a scratch PostgreSQL database migrated by LuxServ's own migrations, then filled
by bulk SQL (`INSERT … SELECT` over `generate_series`, never the ORM row by row).

At scale 1.0: 200 owners (each with an owner login), 2,000 homes (10 per owner), 180,000 guests, 300,000 bookings
(150 per home over about three years around today, never overlapping at one home), 1,000,000 service tasks and
about 1.6 million entries of their history, 12,000 maintenance items and the in-app notifications the team and
owners were sent about requests. Every scale keeps the same density per home (10 homes per owner, 150 bookings and
about 500 tasks per home): only the number of owners, and so of everything else, changes.

Values are drawn from a hash of each row's key (`pg_temp.pick`), so the same scale always gives the same data.
Rows are inserted in the order they would have been created (by `created_at`), so a home's bookings and tasks are
spread over the table as in a database that grew over years, not stored side by side.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.dashboards.statements import GUEST_CHOICE, LOAD, PICK, RESET_SEQUENCES, SESSION_SETTINGS
from bench.support import POSTGRES_ADMIN_URL
from luxserv.bookings.models import Booking
from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.core.migrate import upgrade
from luxserv.core.security import hash_password
from luxserv.portal.access import issue_code
from luxserv.properties.models import DEFAULT_TIME_ZONE

HOMES_PER_OWNER = 10
BOOKINGS_PER_HOME = 150
TASKS_PER_BOOKING = 10 / 3  # 1,000,000 tasks for 300,000 bookings
GUESTS_PER_BOOKING = 0.6  # four guests in ten come back
STAFF = 6  # admins' colleagues who are assigned tasks
MAINTENANCE_PER_HOME = 6
CANCELLED_PERCENT = 7
HISTORY_DAYS = 730  # the first stays are about two years ago; 150 stays of 7 days on average reach ~10 months ahead
PASSWORD = "bench-dashboards-password"
ADMIN_EMAIL = "admin@bench.luxserv.test"
OWNER_CHOICES = 5  # owner logins the benchmark signs in with
GUEST_CHOICES = 5  # stays the benchmark opens in the guest portal

FIRST = ["Sarah", "Michael", "Olivia", "James", "Emma", "David", "Sophia", "Daniel", "Ava", "Matthew", "Isabella",
         "Christopher", "Mia", "Andrew", "Emily", "Joshua", "Grace", "Ryan", "Chloe", "Brandon", "Hannah", "Tyler",
         "Madison", "Ethan", "Abigail", "Noah", "Lily", "Logan", "Natalie", "Caleb", "Dana", "Mike", "Priya", "Carlos",
         "Mei", "Luis", "Aisha", "Jordan", "Elena", "Marcus"]  # fmt: skip
LAST = ["Johnson", "Chen", "Martinez", "Lee", "Smith", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez",
        "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker",
        "Hall", "Young", "King", "Wright", "Lopez", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell",
        "Whitfield", "Patel", "Nguyen", "Kim", "Turner", "Parker"]  # fmt: skip
PLACES = ["Sea Breeze", "Pelican Point", "Sandpiper", "Gulf View", "Coral Reef", "Dune Walk", "Emerald Coast",
          "Sunset Shores", "Seagrove", "Starfish", "Blue Heron", "Tidewater", "Osprey Nest", "Saltwater", "Palm Cove",
          "Driftwood", "Seashell", "Laguna", "Marina Bay", "Harbor Light"]  # fmt: skip
KINDS = ["Villa", "Cottage", "Condo", "Beach House", "Retreat", "Bungalow", "Townhome", "Penthouse"]
STREETS = ["Front Beach Rd", "Thomas Dr", "Hutchison Blvd", "Arnold Rd", "Lullwater Dr", "Scenic Gulf Dr",
           "Old Hwy 98", "Emerald Coast Pkwy", "County Hwy 30A", "Bay Point Rd"]  # fmt: skip
# Panama City Beach first, then its neighbours (city, ZIP code).
TOWNS = [("Panama City Beach", "32407"), ("Panama City Beach", "32408"), ("Panama City Beach", "32413"),
         ("Panama City Beach", "32408"), ("Destin", "32541"), ("Miramar Beach", "32550"),
         ("Santa Rosa Beach", "32459"), ("Rosemary Beach", "32461"), ("Inlet Beach", "32461")]  # fmt: skip
MAIL_DOMAINS = ["example.com", "example.net", "example.org"]
MAINTENANCE = ["HVAC filter replacement", "Pool service", "Pest control", "Smoke detector test", "Carpet deep clean",
               "Gutter cleaning", "Hot tub service", "Window washing", "Water heater flush"]  # fmt: skip


@dataclass(frozen=True)
class Size:
    """How much data one scale means."""

    scale: float
    owners: int
    properties: int
    bookings: int
    guests: int
    tasks: int

    @classmethod
    def of(cls, scale: float) -> Size:
        """Scale 1.0: 200 owners, 2,000 homes, 300,000 bookings, 1,000,000 tasks; at least one owner."""
        owners = max(1, round(200 * scale))
        properties = owners * HOMES_PER_OWNER
        bookings = properties * BOOKINGS_PER_HOME
        return cls(
            scale=scale,
            owners=owners,
            properties=properties,
            bookings=bookings,
            guests=round(bookings * GUESTS_PER_BOOKING),
            tasks=round(bookings * TASKS_PER_BOOKING),
        )

    @property
    def label(self) -> str:
        return f"{self.scale:g}"

    def line(self) -> str:
        return f"{self.owners:,} owners, {self.properties:,} homes, {self.bookings:,} bookings, {self.tasks:,} tasks"


@dataclass
class Dataset:
    """A generated database and what the benchmark needs to sign in and pick pages in it."""

    size: Size
    database: str
    url: str  # SQLAlchemy URL
    today: date  # the homes' local date when it was generated
    seconds: dict[str, float] = field(default_factory=dict)  # migrate, each load step, vacuum analyze
    rows: dict[str, int] = field(default_factory=dict)  # counted afterwards
    owner_emails: list[str] = field(default_factory=list)
    guest_codes: list[str] = field(default_factory=list)

    @property
    def generation_seconds(self) -> float:
        return sum(self.seconds.values())


def database_url(name: str) -> str:
    """The benchmark's PostgreSQL server, database `name`."""
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def create_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def server_version() -> str:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        row = admin.execute("SELECT version()").fetchone()
    return str(row[0]) if row else "unknown"


def generate(size: Size, name: str, password_hash: str) -> Dataset:
    """Create database `name`, migrate it and fill it; the caller drops it (`drop_database`), unless this fails."""
    create_database(name)
    try:
        return _fill(size, name, password_hash)
    except BaseException:
        drop_database(name)
        raise


def _fill(size: Size, name: str, password_hash: str) -> Dataset:
    url = database_url(name)
    data = Dataset(size=size, database=name, url=url, today=local_today(DEFAULT_TIME_ZONE))
    with _step(data, "migrate"):
        db = Database(url)
        try:
            upgrade(db)
        finally:
            db.dispose()
    params = _params(size, data.today, password_hash)
    with psycopg.connect(url) as conn:
        conn.execute(PICK)
        for setting in SESSION_SETTINGS:
            conn.execute(setting)
        with _loading(conn, data):
            for step, statements in LOAD:
                with _step(data, step):
                    for statement in statements:
                        conn.execute(statement, _needed(statement, params))
            conn.execute(RESET_SEQUENCES)
        conn.commit()
    with _step(data, "vacuum analyze"), psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    with psycopg.connect(url) as conn:
        for table in COUNTED:
            found = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            data.rows[table] = int(found[0]) if found else 0
    data.owner_emails = _owner_choices(size)
    data.guest_codes = _guest_codes(url, data.today)
    return data


def new_password_hash() -> str:
    """One argon2 hash shared by every generated login (hashing each would take minutes)."""
    return hash_password(PASSWORD)


@contextmanager
def _loading(conn: psycopg.Connection[Any], data: Dataset) -> Iterator[None]:
    """Load without the foreign keys and plain indexes, then put back exactly what the migrations made.

    As pg_restore does: maintaining indexes and checking foreign keys row by row is most of a bulk load's time,
    while building an index once and validating a foreign key with one query over the whole table is quick.
    Primary keys, unique and check constraints stay in force throughout; every foreign key is validated when it is
    added back, and the schema is compared with the one before.
    """
    before = _schema(conn)
    for table, name, _ in before.foreign_keys:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name)))
    for name, _ in before.indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    with _step(data, "indexes, foreign keys"):
        for _, definition in before.indexes:
            conn.execute(definition)  # pg_get_indexdef's own text
        for table, name, definition in before.foreign_keys:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(table),
                    sql.Identifier(name),
                    sql.SQL(definition),  # pg_get_constraintdef's own text
                )
            )
    if _schema(conn) != before:
        raise RuntimeError("the schema after loading differs from the one the migrations made")


@dataclass(frozen=True)
class _Schema:
    foreign_keys: tuple[tuple[str, str, str], ...]  # (table, constraint, definition)
    indexes: tuple[tuple[str, str], ...]  # (index, CREATE INDEX statement): those backing no constraint


def _schema(conn: psycopg.Connection[Any]) -> _Schema:
    keys = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE c.contype = 'f' AND n.nspname = 'public' ORDER BY 1, 2"
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = 'public' AND NOT i.indisprimary AND NOT i.indisunique "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
    ).fetchall()
    return _Schema(tuple((t, n, d) for t, n, d in keys), tuple((n, d) for n, d in indexes))


@contextmanager
def _step(data: Dataset, name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    data.seconds[name] = time.perf_counter() - started


def _params(size: Size, today: date, password_hash: str) -> dict[str, Any]:
    return {
        "owners": size.owners,
        "homes_per_owner": HOMES_PER_OWNER,
        "per_home": BOOKINGS_PER_HOME,
        "guests": size.guests,
        "tasks": size.tasks,
        "staff": STAFF,
        "first_user": 2 + STAFF,  # owners' logins come after the admin and the staff
        "maintenance": MAINTENANCE_PER_HOME,
        "cancelled_percent": CANCELLED_PERCENT,
        "today": today,
        "first_day": date.fromordinal(today.toordinal() - HISTORY_DAYS),
        "now": datetime.now(UTC).replace(tzinfo=None),  # stored as naive UTC, as LuxServ stores timestamps
        "tz": DEFAULT_TIME_ZONE,
        "password_hash": password_hash,
        "admin_email": ADMIN_EMAIL,
        "first": FIRST,
        "last": LAST,
        "places": PLACES,
        "kinds": KINDS,
        "streets": STREETS,
        "towns": [town for town, _ in TOWNS],
        "zips": [zip_code for _, zip_code in TOWNS],
        "domains": MAIL_DOMAINS,
        "maintenance_titles": MAINTENANCE,
    }


def _needed(statement: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The parameters a statement names (None for a statement without any, so `%` is not a placeholder there)."""
    return {key: value for key, value in params.items() if f"%({key})s" in statement} or None


def _owner_choices(size: Size) -> list[str]:
    """Owner logins spread over the owners (first, last and between)."""
    count = min(OWNER_CHOICES, size.owners)
    ids = sorted({1 + round(i * (size.owners - 1) / max(1, count - 1)) for i in range(count)})
    return [f"owner{owner_id}@owners.example.com" for owner_id in ids]


def _guest_codes(url: str, today: date) -> list[str]:
    """Portal codes for stays under way today and stays starting soon, guests who asked for something first."""
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            ids = session.scalars(text(GUEST_CHOICE), {"today": today, "limit": GUEST_CHOICES}).all()
            return [issue_code(session, session.get_one(Booking, booking_id)) for booking_id in ids]
    finally:
        db.dispose()


COUNTED = ("owners", "users", "properties", "guests", "bookings", "service_requests", "service_request_changes",
           "maintenance_items", "notifications")  # fmt: skip
