"""`notifications.dispatch` with the choices people save: in the app, e-mail now, the daily digest, or nothing;
and the same notice delivered again writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from luxserv.core.database import Database
from luxserv.notifications import feed as notification_feed
from luxserv.notifications.dispatch import Notice, to_user
from luxserv.notifications.models import DigestEntry, EmailMode
from luxserv.outbox.models import Notification, OutboxMessage
from tests.notifications.conftest import People


def notice(key: str, topic: str = "service_request.created") -> Notice:
    return Notice(key=key, topic=topic, subject=f"Subject {key}", text=f"Text {key}", html=f"<p>{key}</p>",
                  link="/owner/properties/1")  # fmt: skip


def deliver(db: Database, user_id: int, item: Notice, email: str = "someone@example.com") -> bool:
    with db.unit_of_work() as session:
        return to_user(session, user_id, email, item)


def choose(db: Database, user_id: int, topic: str, email: EmailMode, in_app: bool) -> None:
    with db.unit_of_work() as session:
        notification_feed.save_choices(
            session, user_id, [notification_feed.ChoiceChange(topic=topic, email=email, in_app=in_app)]
        )


def counts(db: Database, user_id: int) -> tuple[int, int, int]:
    """(in-app rows, e-mails, digest entries) for the user."""
    with db.unit_of_work(write=False) as session:
        feed_rows = session.scalar(
            select(func.count()).select_from(Notification).where(Notification.user_id == user_id)
        )
        emails = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.payload["user_id"].as_integer() == user_id)
        )
        entries = session.scalar(select(func.count()).select_from(DigestEntry).where(DigestEntry.user_id == user_id))
        return int(feed_rows or 0), int(emails or 0), int(entries or 0)


def test_by_default_a_notice_goes_to_the_feed_and_by_e_mail_once(db: Database, people: People) -> None:
    assert deliver(db, people.dana, notice("n1:user-dana"))
    assert counts(db, people.dana) == (1, 1, 0)
    with db.unit_of_work(write=False) as session:
        row = session.scalars(select(Notification)).one()
        mail = session.scalars(select(OutboxMessage)).one()
    assert (row.title, row.body, row.link, row.dedupe_key) == ("Subject n1:user-dana", "Text n1:user-dana",
                                                                "/owner/properties/1", "n1:user-dana")  # fmt: skip
    assert (mail.recipient, mail.channel, mail.topic) == ("someone@example.com", "email", "service_request.created")
    assert mail.payload["html"] == "<p>n1:user-dana</p>" and mail.payload["user_id"] == people.dana
    # Replayed (the same event applied again, a retried job): nothing new anywhere.
    assert not deliver(db, people.dana, notice("n1:user-dana"))
    assert counts(db, people.dana) == (1, 1, 0)


def test_a_digest_choice_holds_the_e_mail_for_the_daily_digest(db: Database, people: People) -> None:
    choose(db, people.dana, "service_request.created", EmailMode.digest, in_app=True)
    assert deliver(db, people.dana, notice("n1"))
    assert counts(db, people.dana) == (1, 0, 1)
    [entry] = _entries(db)
    assert (entry.title, entry.link, entry.digested_at) == ("Subject n1", "/owner/properties/1", None)
    assert not deliver(db, people.dana, notice("n1"))
    assert counts(db, people.dana) == (1, 0, 1)


def test_off_and_not_in_the_app_writes_nothing(db: Database, people: People) -> None:
    choose(db, people.dana, "service_request.created", EmailMode.off, in_app=False)
    assert not deliver(db, people.dana, notice("n1"))
    assert counts(db, people.dana) == (0, 0, 0)
    # Other topics keep the default.
    assert deliver(db, people.dana, notice("n2", topic="service_request.status_changed"))
    assert counts(db, people.dana) == (1, 1, 0)


def test_e_mail_only_skips_the_feed_and_another_persons_choice_is_theirs(db: Database, people: People) -> None:
    choose(db, people.dana, "service_request.created", EmailMode.immediate, in_app=False)
    assert deliver(db, people.dana, notice("n1:user-dana"))
    assert deliver(db, people.dana2, notice("n1:user-dana2"))
    assert counts(db, people.dana) == (0, 1, 0)
    assert counts(db, people.dana2) == (1, 1, 0)


def test_a_topic_nobody_can_choose_is_always_e_mailed(db: Database, people: People) -> None:
    assert deliver(db, people.admin, notice("d1", topic="notifications.digest"))
    assert counts(db, people.admin) == (1, 1, 0)


@pytest.mark.parametrize("key", ["", "k" * 201])
def test_a_notice_needs_a_usable_key(db: Database, people: People, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        deliver(db, people.dana, notice(key))


def _entries(db: Database) -> list[DigestEntry]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(DigestEntry)))
