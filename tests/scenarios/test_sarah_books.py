"""Scenario 1 of the seed, end to end: Sarah Johnson's booking webhook → e-mails at a real SMTP server, the bell.

The seed's webhook (`generic-flat.json`) is posted byte for byte. Its stay is in June 2024, so the property's
"today" is set to June 1, 2024: the welcome e-mail goes to guests whose stay is still ahead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from luxserv.accounts.models import Role
from luxserv.app import create_app
from luxserv.core import clock
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.registry import Providers
from luxserv.portal.access import booking_for_code
from luxserv.worker.runner import run_once
from tests.conftest import BASE_URL, WEBHOOK_SECRET
from tests.factories import PASSWORD, make_owner, make_property, make_user, sign
from tests.outbox.test_outbox import Collector, free_port

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "samples" / "generic-flat.json"
OWNER_EMAIL, ADMIN_EMAIL = "dana@example.com", "admin@example.com"


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    handler, port = Collector(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def june_2024(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local "today" is June 1, 2024 (only the calendar date; instants stay real, so the outbox is due now)."""
    real = clock.utcnow
    monkeypatch.setattr(clock, "utcnow", lambda: real().replace(year=2024, month=6, day=1, tzinfo=UTC))


def _body() -> bytes:
    if SAMPLE.exists():
        return SAMPLE.read_bytes()
    # The same seed, kept here so the test also runs outside the monorepo checkout.
    return (
        b'{"booking_id": "HM123456789", "property": "Beach Condo 123, Panama City Beach", "guest_name": '
        b'"Sarah Johnson", "guest_email": "sarah@email.com", "check_in": "2024-06-15", "check_out": "2024-06-22", '
        b'"guest_count": 4, "special_requests": "Celebrating anniversary"}'
    )


def test_sarahs_webhook_mails_the_owner_and_welcomes_the_guest_once(
    db: Database, settings: Settings, smtp: tuple[Collector, int], june_2024: None
) -> None:
    server, port = smtp
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"})
    dana = make_owner(db, email=OWNER_EMAIL)
    make_property(db, owner_id=dana)
    make_user(db, OWNER_EMAIL, Role.owner, owner_id=dana)
    make_user(db, ADMIN_EMAIL, Role.admin)
    body = _body()
    headers = {"Content-Type": "application/json", "X-Webhook-Signature": sign(body, WEBHOOK_SECRET)}

    with TestClient(create_app(configured, db, run_worker=False)) as client:
        first = client.post("/webhooks/generic", content=body, headers=headers)
        assert first.status_code == 200, first.text
        run_once(db, Providers.from_settings(configured, db), configured)

        to_owner = [m for m in server.messages() if m["To"] == OWNER_EMAIL]
        to_guest = [m for m in server.messages() if m["To"] == "sarah@email.com"]
        assert len(to_owner) == 1 and len(to_guest) == 1
        assert to_owner[0]["Subject"].startswith("New booking at Beach Condo 123")
        owner_text = _text(to_owner[0])
        for expected in ("Sarah Johnson", "Celebrating anniversary", "Grocery stocking", "Celebration setup"):
            assert expected in owner_text
        welcome = _text(to_guest[0])
        assert to_guest[0]["Subject"] == "Your stay at Beach Condo 123: Jun 15 to Jun 22"
        match = re.search(rf"{re.escape(BASE_URL)}/portal\?booking=([A-Za-z0-9_-]{{16,}})", welcome)
        assert match, welcome
        with db.unit_of_work(write=False) as session:
            opened = booking_for_code(session, match.group(1), now=datetime(2024, 6, 1, tzinfo=UTC))
            assert opened is not None and opened.guest.full_name == "Sarah Johnson"

        # The same webhook again (a provider retry): nothing new is sent.
        again = client.post("/webhooks/generic", content=body, headers=headers)
        assert again.status_code == 200
        run_once(db, Providers.from_settings(configured, db), configured)
        assert len(server.messages()) == 3  # owner, admin, guest

        # The owner's bell shows the booking.
        signed_in = client.post("/api/auth/login", json={"email": OWNER_EMAIL, "password": PASSWORD})
        assert signed_in.status_code == 200
        page = client.get("/")
        assert re.search(r'data-testid="bell-count">1<', page.text), page.text


def _text(message: Any) -> str:
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content())
