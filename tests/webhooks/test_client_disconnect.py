"""A sender that hangs up before its body arrives: nothing stored, nothing logged as an error."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from luxserv.app import create_app
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.inbox.models import InboxEvent


def test_a_disconnect_before_the_body_is_answered_quietly(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, db, run_worker=False)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/webhooks/generic", "raw_path": b"/webhooks/generic", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"500")],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # A thread of its own: a test run may already have an event loop running in this one.
    with caplog.at_level(logging.INFO):
        runner = threading.Thread(target=asyncio.run, args=(app(scope, receive, send),))
        runner.start()
        runner.join(timeout=30)

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("client disconnected" in r.getMessage() for r in caplog.records)
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == 0
