"""The floor: the least any webhook receiver must do, as a plain ASGI callable (no framework).

It verifies the same signatures LuxServ verifies (`X-Webhook-Signature: sha256=<hex>` with the generic secret, or
Svix headers with the Guesty `whsec_` secret), then stores the raw body in one committed transaction, in the
same kind of database LuxServ uses (SQLite in WAL mode with synchronous=FULL and BEGIN IMMEDIATE, or PostgreSQL),
and answers 200. Served by uvicorn exactly like LuxServ:

    BENCH_FLOOR_DATABASE=sqlite:///floor.db BENCH_FLOOR_WEBHOOK_SECRET=… BENCH_FLOOR_SVIX_SECRET=whsec_… \
        uvicorn bench.webhooks.floor:app --workers 1

`python -m bench.webhooks` creates the table (`create_table`) before it starts the server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import psycopg

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1024 * 1024
TOLERANCE_SECONDS = 300
SQLITE_TABLE = (
    "CREATE TABLE IF NOT EXISTS webhook_events (id INTEGER PRIMARY KEY, received_at REAL NOT NULL, body BLOB)"
)
POSTGRES_TABLE = (
    "CREATE TABLE IF NOT EXISTS webhook_events "
    "(id BIGSERIAL PRIMARY KEY, received_at TIMESTAMPTZ NOT NULL DEFAULT now(), body BYTEA NOT NULL)"
)


class Store(Protocol):
    def insert(self, body: bytes) -> int: ...


class SqliteStore:
    """One connection per thread, with LuxServ's pragmas (luxserv/core/database.py)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
                conn.execute(f"PRAGMA {pragma}")
            self._local.conn = conn
        return conn

    def insert(self, body: bytes) -> int:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.execute("INSERT INTO webhook_events (received_at, body) VALUES (?, ?)", (time.time(), body))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return int(cursor.lastrowid or 0)


class PostgresStore:
    """One psycopg connection per thread; each insert is its own committed transaction."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._local = threading.local()

    def insert(self, body: bytes) -> int:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = psycopg.connect(self._url, autocommit=True)
            self._local.conn = conn
        with conn.transaction():
            row = conn.execute("INSERT INTO webhook_events (body) VALUES (%s) RETURNING id", (body,)).fetchone()
        return int(row[0]) if row else 0


def open_store(database: str) -> Store:
    """`sqlite:///path` or a `postgresql://` URL."""
    if database.startswith("sqlite:///"):
        return SqliteStore(database.removeprefix("sqlite:///"))
    return PostgresStore(database)


def create_table(database: str) -> None:
    if database.startswith("sqlite:///"):
        with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(SQLITE_TABLE)
        return
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(POSTGRES_TABLE)


def count_rows(database: str) -> int:
    if database.startswith("sqlite:///"):
        with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
            return int(conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0])
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_events").fetchone()
        return int(row[0]) if row else 0


# --- signatures -----------------------------------------------------------------------------------------------


def verified(headers: dict[str, str], body: bytes, webhook_secret: bytes, svix_key: bytes) -> bool:
    """The generic hex HMAC, else Svix (`v1,` base64 HMAC of `{id}.{timestamp}.{body}`, timestamp within 5 min)."""
    given = headers.get("x-webhook-signature")
    if given is not None:
        expected = hmac.new(webhook_secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, given.strip().lower().removeprefix("sha256="))
    msg_id, stamp, signatures = (headers.get(f"svix-{h}", "") for h in ("id", "timestamp", "signature"))
    if not (msg_id and stamp.isdigit() and signatures):
        return False
    if abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return False
    digest = hmac.new(svix_key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    offered = (part.split(",", 1)[1] for part in signatures.split() if part.startswith("v1,"))
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


# --- the ASGI application -------------------------------------------------------------------------------------


class Floor:
    def __init__(self) -> None:
        self._store: Store | None = None
        self._webhook_secret = os.environ.get("BENCH_FLOOR_WEBHOOK_SECRET", "").encode()
        svix = os.environ.get("BENCH_FLOOR_SVIX_SECRET", "")
        self._svix_key = base64.b64decode(svix.removeprefix("whsec_")) if svix else b""

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(os.environ["BENCH_FLOOR_DATABASE"])
        return self._store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _respond(send, 200, {"status": "ok"})
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await _respond(send, 413, {"detail": "body too large"})
                return
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not verified(headers, bytes(body), self._webhook_secret, self._svix_key):
            await _respond(send, 401, {"detail": "signature does not match", "field": "signature"})
            return
        row_id = await asyncio.to_thread(self.store.insert, bytes(body))
        await _respond(send, 200, {"status": "success", "id": row_id})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(send: Send, status: int, content: dict[str, Any]) -> None:
    data = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


app = Floor()
