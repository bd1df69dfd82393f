"""A message that becomes a dead letter tells every active admin, once, in the transaction that marks it dead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from luxserv.accounts.models import Role, User
from luxserv.core.database import Database
from luxserv.outbox import service, worker
from luxserv.outbox.enqueue import enqueue
from luxserv.outbox.models import Notification, OutboxMessage, OutboxStatus
from luxserv.outbox.sender import SmtpSender
from luxserv.outbox.worker import MAX_ATTEMPTS, deliver_due, tell_admins_of_dead_letter
from tests.factories import make_owner, make_user
from tests.outbox.mailserver import MailServer, free_port, running

GUEST = "sarah@email.com"


@pytest.fixture
def admins(db: Database) -> dict[str, int]:
    owner = make_owner(db)
    people = {
        "first": make_user(db, "admin@example.com", Role.admin),
        "second": make_user(db, "ops@example.com", Role.admin),
        "retired": make_user(db, "gone@example.com", Role.admin),
        "staff": make_user(db, "staff@example.com", Role.staff),
        "owner": make_user(db, "dana@example.com", Role.owner, owner_id=owner),
    }
    with db.unit_of_work() as session:
        retired = session.get(User, people["retired"])
        assert retired is not None
        retired.is_active = False
    return people


@pytest.fixture
def refusing() -> Iterator[tuple[MailServer, SmtpSender]]:
    server = MailServer()
    server.answer = "550 mailbox unavailable"
    with running(server) as port:
        yield server, SmtpSender("127.0.0.1", port, mail_from="LuxServ <no-reply@luxserv.test>", security="none")


def add(db: Database, key: str, *, subject: str = "Your stay at Beach Condo 123", attempts: int = 0) -> int:
    with db.unit_of_work() as session:
        message_id = enqueue(session, dedupe_key=key, channel="email", topic="guest.welcome", recipient=GUEST,
                      payload={"subject": subject, "text": "Welcome"})  # fmt: skip
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        row.attempts = attempts
        return row.id


def notices(db: Database) -> list[Notification]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(Notification).where(Notification.topic == "outbox.dead")))


def outbox(db: Database, topic: str) -> list[OutboxMessage]:
    with db.unit_of_work(write=False) as session:
        query = select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
        return list(session.scalars(query))


def test_every_active_admin_is_told_once(db: Database, admins: dict[str, int], refusing: Any) -> None:
    _, sender = refusing
    outbox_id = add(db, "welcome", subject="Your stay <at> Beach Condo 123")
    assert deliver_due(db, sender) == 1
    (dead,) = outbox(db, "guest.welcome")
    assert dead.status == OutboxStatus.dead

    feed = notices(db)
    assert sorted(n.user_id for n in feed) == sorted([admins["first"], admins["second"]])
    for notice in feed:
        assert notice.title == f"Undeliverable e-mail to {GUEST}: Your stay <at> Beach Condo 123"
        assert notice.link == f"/admin/mail/{outbox_id}"
        assert "550 mailbox unavailable" in notice.body
    mails = outbox(db, "outbox.dead")
    assert sorted(m.recipient for m in mails) == ["admin@example.com", "ops@example.com"]
    for mail in mails:
        assert mail.dedupe_key.startswith(f"outbox.dead:{outbox_id}:1:0:user-")
        assert f"http://testserver/admin/mail/{outbox_id}" in mail.payload["text"]
        assert "Your stay &lt;at&gt; Beach Condo 123" in mail.payload["html"]
        assert "<at>" not in mail.payload["html"]

    # Telling again about the same death writes nothing.
    with db.unit_of_work() as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        assert tell_admins_of_dead_letter(session, row) == 0
    assert len(notices(db)) == 2 and len(outbox(db, "outbox.dead")) == 2


def test_notices_about_dead_letters_never_breed_more(db: Database, admins: dict[str, int], refusing: Any) -> None:
    server, sender = refusing
    add(db, "welcome")
    deliver_due(db, sender)  # the welcome dies; two notices are queued
    assert deliver_due(db, sender) == 2  # the mail server refuses those too
    assert {m.status for m in outbox(db, "outbox.dead")} == {OutboxStatus.dead}
    assert deliver_due(db, sender) == 0
    assert len(outbox(db, "outbox.dead")) == 2 and len(notices(db)) == 2
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
    assert server.count() == 0


def test_a_retried_letter_that_dies_again_is_told_again(db: Database, admins: dict[str, int], refusing: Any) -> None:
    _, sender = refusing
    outbox_id = add(db, "welcome")
    deliver_due(db, sender)
    with db.unit_of_work() as session:
        service.retry(session, outbox_id, actor="user:1")
    deliver_due(db, sender)  # dies again at its first attempt, as before
    welcome = [m for m in outbox(db, "outbox.dead") if m.payload.get("outbox_id") == outbox_id]
    assert len(welcome) == 4
    assert sorted({m.dedupe_key.rsplit(":", 1)[0] for m in welcome}) == [
        f"outbox.dead:{outbox_id}:1:0",
        f"outbox.dead:{outbox_id}:1:1",
    ]
    assert len(notices(db)) == 4


def test_attempts_running_out_tell_the_admins_too(db: Database, admins: dict[str, int]) -> None:
    outbox_id = add(db, "welcome", attempts=MAX_ATTEMPTS - 1)
    down = SmtpSender("127.0.0.1", free_port(), mail_from="LuxServ <a@b.example>", security="none", timeout=2)
    deliver_due(db, down)
    (row,) = outbox(db, "guest.welcome")
    assert (row.status, row.attempts) == (OutboxStatus.dead, MAX_ATTEMPTS)
    assert {n.link for n in notices(db)} == {f"/admin/mail/{outbox_id}"}
    assert len(notices(db)) == 2


def test_the_notice_and_the_dead_mark_commit_together(
    db: Database, admins: dict[str, int], refusing: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, sender = refusing

    def broken(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("notification store unavailable")

    monkeypatch.setattr(worker, "to_user", broken)
    add(db, "welcome")
    deliver_due(db, sender)
    (row,) = outbox(db, "guest.welcome")
    # Nothing was recorded: the lease runs out and the next pass tries again.
    assert (row.status, row.attempts, row.locked_until is not None) == (OutboxStatus.pending, 0, True)
    assert notices(db) == []
