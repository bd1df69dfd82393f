"""The real `luxserv worker` process against the test database and a real SMTP server: SIGTERM and SIGKILL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.outbox.enqueue import enqueue
from luxserv.outbox.models import OutboxMessage, OutboxStatus
from luxserv.outbox.worker import claim
from tests.outbox.mailserver import MailServer, running

WAIT = 30.0  # generous for a loaded machine; the tests take a few seconds otherwise


def start_worker(
    db: Database, data_dir: Path, smtp_port: int, *, once: bool = False, **settings: str
) -> subprocess.Popen[str]:
    """`python -m luxserv worker` with a clean LUXSERV_* environment, sending to the test SMTP server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUXSERV_")}
    env.update(
        {
            "LUXSERV_ENV": "test",
            "LUXSERV_DATA_DIR": str(data_dir),
            "LUXSERV_DATABASE_URL": db.url,
            "LUXSERV_SMTP_HOST": "127.0.0.1",
            "LUXSERV_SMTP_PORT": str(smtp_port),
            "LUXSERV_SMTP_SECURITY": "none",
            "LUXSERV_SMTP_TIMEOUT_SECONDS": "10",
            "PYTHONUNBUFFERED": "1",
            **{f"LUXSERV_{name.upper()}": value for name, value in settings.items()},
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "luxserv", "worker", "--poll", "0.2", *(["--once"] if once else [])],
        env=env,
        cwd=data_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str, str]:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"the worker did not exit after {sig.name}\nstdout: {out}\nstderr: {err}") from None
    return process.returncode, out, err


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


def test_sigterm_mid_batch_finishes_the_send_and_releases_the_rest(db: Database, tmp_path: Path) -> None:
    ids = add_messages(db, 8)
    server = MailServer(delay=0.5)
    with running(server) as port:
        worker = start_worker(db, tmp_path, port)
        try:
            busy = server.wait_for(2, WAIT)  # the second message is being answered
        finally:
            code, out, err = stop(worker, signal.SIGTERM)
        received = server.message_ids()

    assert busy, f"the worker sent nothing\nstdout: {out}\nstderr: {err}"
    assert code == 0, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in err
    match = re.search(r"worker stopped, released (\d+) messages", out)
    assert match, out
    released = int(match.group(1))

    found = rows(db)
    sent = [r for r in found if r.status == OutboxStatus.sent]
    pending = [r for r in found if r.status == OutboxStatus.pending]
    assert len(sent) + len(pending) == 8, [r.status for r in found]
    # The message on the wire when SIGTERM came was finished and recorded; nothing else was sent.
    assert len(sent) >= 2 and sorted(f"<outbox-{r.id}@luxserv>" for r in sent) == sorted(received)
    assert all(r.attempts == 1 and r.locked_until is None for r in sent)
    assert released == len(pending) >= 1, out
    assert all(r.attempts == 0 and r.locked_until is None for r in pending)
    # Another worker takes the released ones immediately.
    assert [m.id for m in claim(db, now=utcnow(), limit=50, lease_seconds=60).messages] == [r.id for r in pending]
    assert {r.id for r in found} == set(ids)


def test_sigkill_mid_send_loses_nothing(db: Database, tmp_path: Path) -> None:
    ids = add_messages(db, 4)
    server = MailServer()
    server.hold_first()  # the server has the first message but has not answered yet
    with running(server) as port:
        first = start_worker(db, tmp_path, port, outbox_lease_seconds="2")
        try:
            assert server.holding.wait(WAIT), "the first worker never reached DATA"
        finally:
            code, _, _ = stop(first, signal.SIGKILL)
        assert code == -signal.SIGKILL
        killed = rows(db)
        assert all(r.status == OutboxStatus.pending and r.attempts == 0 for r in killed)
        assert all(r.locked_until is not None for r in killed)  # leased to a worker that no longer exists
        server.release()

        second = start_worker(db, tmp_path, port, outbox_lease_seconds="2")
        try:
            delivered = server.wait_for(len(ids) + 1, WAIT)
        finally:
            code, out, err = stop(second, signal.SIGTERM)
        received = Counter(server.message_ids())

    assert delivered, f"received {received}\nstdout: {out}\nstderr: {err}"
    assert code == 0, f"exit {code}\nstdout: {out}\nstderr: {err}"
    # Every message arrived; the interrupted one twice, recognisable by its unchanged Message-ID.
    assert received == Counter({f"<outbox-{i}@luxserv>": 2 if i == ids[0] else 1 for i in ids})
    found = rows(db)
    assert [(r.id, r.status, r.attempts, r.locked_until) for r in found] == [
        (i, OutboxStatus.sent, 1, None) for i in ids
    ]


def test_once_makes_one_pass_and_exits(db: Database, tmp_path: Path) -> None:
    ids = add_messages(db, 3)
    server = MailServer()
    with running(server) as port:
        worker = start_worker(db, tmp_path, port, once=True)
        try:
            out, err = worker.communicate(timeout=WAIT * 2)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert worker.returncode == 0, f"exit {worker.returncode}\nstdout: {out}\nstderr: {err}"
    assert "worker stopped, released 0 messages" in out
    assert sorted(server.message_ids()) == sorted(f"<outbox-{i}@luxserv>" for i in ids)
    assert all(r.status == OutboxStatus.sent for r in rows(db))
