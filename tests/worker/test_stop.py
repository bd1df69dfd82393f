"""Stopping a worker: the message in hand is finished, the rest of the batch is handed back at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.registry import Providers
from luxserv.outbox.enqueue import enqueue
from luxserv.outbox.models import OutboxMessage, OutboxStatus
from luxserv.outbox.sender import SmtpSender
from luxserv.outbox.worker import claim, deliver_due, release
from luxserv.worker.runner import BackgroundWorker, run_once
from luxserv.worker.stop import StopSignal
from tests.outbox.mailserver import MailServer, running


@pytest.fixture
def slow_server() -> Iterator[tuple[MailServer, int]]:
    server = MailServer(delay=0.4)
    with running(server) as port:
        yield server, port


def sender(port: int) -> SmtpSender:
    return SmtpSender("127.0.0.1", port, mail_from="LuxServ <no-reply@luxserv.test>", security="none", timeout=10)


def add_messages(db: Database, count: int) -> list[int]:
    ids = []
    with db.unit_of_work() as session:
        for n in range(count):
            message_id = enqueue(session, dedupe_key=f"m{n}", channel="email", topic="test",
                                 recipient=f"guest{n}@example.com",
                          payload={"subject": f"Message {n}", "text": "Hello"})  # fmt: skip
            assert message_id is not None
            ids.append(message_id)
    return ids


def rows(db: Database) -> list[OutboxMessage]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def stop_when_data_arrives(server: MailServer, stop: StopSignal) -> threading.Thread:
    """Set `stop` as soon as the server is receiving a message (the sender is mid-send)."""

    def watch() -> None:
        if server.data_started.wait(15):
            stop.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_stop_mid_send_finishes_that_message_and_releases_the_rest(
    db: Database, slow_server: tuple[MailServer, int]
) -> None:
    server, port = slow_server
    ids = add_messages(db, 5)
    stop = StopSignal()
    watcher = stop_when_data_arrives(server, stop)
    assert deliver_due(db, sender(port), stop=stop) == 1
    watcher.join(5)

    assert stop.released == 4
    assert server.message_ids() == [f"<outbox-{ids[0]}@luxserv>"]
    first, *rest = rows(db)
    assert (first.status, first.attempts, first.locked_until) == (OutboxStatus.sent, 1, None)
    assert all((r.status, r.attempts, r.locked_until) == (OutboxStatus.pending, 0, None) for r in rest)
    # Another worker takes them at once, without waiting for the lease to run out.
    batch = claim(db, now=utcnow(), limit=50, lease_seconds=60)
    assert [m.id for m in batch.messages] == ids[1:]


def test_a_worker_asked_to_stop_claims_nothing(db: Database, slow_server: tuple[MailServer, int]) -> None:
    _, port = slow_server
    add_messages(db, 2)
    stop = StopSignal()
    stop.set()
    assert deliver_due(db, sender(port), stop=stop) == 0
    assert stop.released == 0
    assert all(r.locked_until is None and r.status == OutboxStatus.pending for r in rows(db))


def test_release_leaves_a_lease_another_worker_took(db: Database) -> None:
    add_messages(db, 2)
    start = utcnow()
    ours = claim(db, now=start, limit=50, lease_seconds=1)
    # Our lease ran out and another worker claimed the messages since.
    theirs = claim(db, now=start + timedelta(seconds=2), limit=50, lease_seconds=60)
    assert [m.id for m in theirs.messages] == [m.id for m in ours.messages]
    assert release(db, ours.messages, lease_until=ours.lease_until) == 0
    assert all(r.locked_until == theirs.lease_until for r in rows(db))
    assert release(db, theirs.messages, lease_until=theirs.lease_until) == 2
    assert all(r.locked_until is None for r in rows(db))


def test_a_batch_slower_than_its_lease_hands_back_the_rest(db: Database, slow_server: tuple[MailServer, int]) -> None:
    server, port = slow_server
    ids = add_messages(db, 3)
    assert deliver_due(db, sender(port), lease_seconds=0.3) == 1  # the first send alone outlasts the lease
    assert server.message_ids() == [f"<outbox-{ids[0]}@luxserv>"]
    assert [(r.status, r.locked_until) for r in rows(db)] == [
        (OutboxStatus.sent, None),
        (OutboxStatus.pending, None),
        (OutboxStatus.pending, None),
    ]


def test_run_once_does_nothing_once_stopped(
    db: Database, settings: Settings, slow_server: tuple[MailServer, int]
) -> None:
    _, port = slow_server
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"})
    add_messages(db, 2)
    stop = StopSignal()
    stop.set()
    assert run_once(db, Providers.from_settings(configured, db), configured, stop=stop) == 0
    assert all(r.status == OutboxStatus.pending and r.locked_until is None for r in rows(db))


def test_the_in_process_worker_stops_cleanly(
    db: Database, settings: Settings, slow_server: tuple[MailServer, int]
) -> None:
    server, port = slow_server
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"})
    add_messages(db, 6)
    background = BackgroundWorker(db, Providers.from_settings(configured, db), interval=0.1, settings=configured)
    background.start()
    assert server.data_started.wait(15)
    released = background.stop(timeout=15)

    found = rows(db)
    sent = [r for r in found if r.status == OutboxStatus.sent]
    pending = [r for r in found if r.status == OutboxStatus.pending]
    assert len(sent) + len(pending) == 6 and sent
    assert len(sent) == server.count()  # whatever reached the server was recorded, nothing more
    assert released == len(pending) >= 1
    assert all(r.locked_until is None for r in found)
