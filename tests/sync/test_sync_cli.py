"""`luxserv providers` and `luxserv sync` end to end, against a fake Guesty served on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import func, select

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.database import Database
from luxserv.core.migrate import upgrade
from luxserv.core.settings import Settings
from luxserv.integrations.fake.guesty import FakeGuesty
from luxserv.integrations.models import ProviderAccount
from luxserv.integrations.registry import Providers
from luxserv.worker.runner import run_once
from tests.factories import make_property


def reservation(
    n: int, *, listing: str = "L-1", status: str = "confirmed", updated: str = "2026-11-01"
) -> dict[str, Any]:
    start = date(2027, 1, 1) + timedelta(days=n)
    return {
        "_id": f"R{n:05d}",
        "confirmationCode": f"GY-{n:05d}",
        "status": status,
        "listingId": listing,
        "listing": {"_id": listing, "nickname": "Beach Condo 123", "address": {"full": "17751 Front Beach Rd"}},
        "guestId": f"G{n}",
        "guest": {"_id": f"G{n}", "fullName": f"Guest {n}", "email": f"guest{n}@example.com", "phone": "+18505550100"},
        "checkInDateLocalized": start.isoformat(),
        "checkOutDateLocalized": (start + timedelta(days=3)).isoformat(),
        "guestsCount": 2,
        "integration": {"platform": "airbnb2"},
        "lastUpdatedAt": f"{updated}T10:00:00.000Z",
        "createdAt": "2026-10-01T10:00:00.000Z",
    }


@pytest.fixture
def fake_guesty() -> Iterator[tuple[FakeGuesty, str]]:
    fake = FakeGuesty(reservations=[reservation(n) for n in range(130)])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield fake, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUXSERV_")}
    env.update({"LUXSERV_DATA_DIR": str(data_dir), "COLUMNS": "120"})
    return subprocess.run(
        [sys.executable, "-m", "luxserv", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_sync_pulls_every_page_with_one_token_and_is_idempotent(
    tmp_path: Path, fake_guesty: tuple[FakeGuesty, str]
) -> None:
    fake, url = fake_guesty
    db = Database(f"sqlite:///{tmp_path / 'luxserv.db'}")
    upgrade(db)
    make_property(db, listings={"guesty": "L-1"})

    added = cli(
        tmp_path, "providers", "add", "guesty", "--name", "Main",
        "-c", "client_id=fake-client", "-c", "client_secret=fake-secret",
        "-o", f"base_url={url}", "-o", f"token_url={url}/oauth2/token",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "/webhooks/guesty" in added.stdout

    first = cli(tmp_path, "sync", "guesty")
    assert first.returncode == 0, first.stderr + first.stdout
    assert "130 pulled" in first.stdout
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 130
        placed = session.scalar(select(func.count()).select_from(Booking).where(Booking.property_id.is_not(None)))
        assert placed == 130
    assert fake.token_requests == 1  # Guesty allows five a day: the token is kept in the database

    # One reservation is cancelled upstream; the next sync (a new process) applies it and reuses the token.
    fake.reservations[7] = reservation(7, status="canceled", updated="2026-11-30")
    second = cli(tmp_path, "sync", "guesty", "--since", "2026-11-29")
    assert second.returncode == 0, second.stderr
    assert "1 pulled" in second.stdout
    assert fake.token_requests == 1
    with db.unit_of_work(write=False) as session:
        cancelled = session.scalar(select(Booking).where(Booking.external_id == "R00007"))
        assert cancelled is not None and cancelled.status == BookingStatus.cancelled
        assert session.scalar(select(func.count()).select_from(Booking)) == 130

    listed = cli(tmp_path, "providers", "list")
    assert "guesty" in listed.stdout and "Main" in listed.stdout
    assert "fake-secret" not in listed.stdout + listed.stderr
    db.dispose()


def test_sync_survives_rate_limits_and_reports_provider_errors(
    tmp_path: Path, fake_guesty: tuple[FakeGuesty, str]
) -> None:
    fake, url = fake_guesty
    fake.throttle_every = 2  # every other API call answers 429 with Retry-After: 1
    db = Database(f"sqlite:///{tmp_path / 'luxserv.db'}")
    upgrade(db)
    assert cli(
        tmp_path, "providers", "add", "guesty", "--name", "Main",
        "-c", "client_id=fake-client", "-c", "client_secret=wrong",
        "-o", f"base_url={url}", "-o", f"token_url={url}/oauth2/token",
    ).returncode == 0  # fmt: skip
    failed = cli(tmp_path, "sync", "guesty")
    assert failed.returncode == 1
    assert "error" in failed.stdout
    with db.unit_of_work(write=False) as session:
        account = session.scalars(select(ProviderAccount)).one()
        assert account.last_sync_error
        assert account.last_synced_at is None
    db.dispose()


def test_the_worker_runs_the_periodic_sync(
    db: Database, settings: Settings, fake_guesty: tuple[FakeGuesty, str]
) -> None:
    fake, url = fake_guesty
    from luxserv.core.crypto import Vault
    from luxserv.integrations.accounts import create_account

    with db.unit_of_work() as session:
        create_account(
            session,
            Vault(settings),
            provider="guesty",
            name="Main",
            credentials={"client_id": "fake-client", "client_secret": "fake-secret"},
            options={"base_url": url, "token_url": f"{url}/oauth2/token"},
            actor="test",
        )
    providers = Providers.from_settings(settings, db)
    assert run_once(db, providers, settings) >= 1
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 130
    # Not due again within the interval: a second pass pulls nothing.
    calls = fake.api_calls
    run_once(db, providers, settings)
    assert fake.api_calls == calls
