"""The daily digest: nothing before 07:00 local, one e-mail a day after it, and what arrives later waits."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update

from luxserv.accounts.models import User
from luxserv.core.database import Database
from luxserv.notifications import feed as notification_feed
from luxserv.notifications.digest import send_digests
from luxserv.notifications.models import EmailMode
from luxserv.services import requests
from luxserv.services.models import Origin, RequestStatus
from tests.notifications.conftest import People
from tests.notifications.support import digest_entries, feed, mails, new_request

LOCAL = ZoneInfo("America/Chicago")  # DEFAULT_TIME_ZONE


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in June 2026, Panama City Beach time, as UTC (as the worker passes it)."""
    return datetime(2026, 6, day, hour, minute, tzinfo=LOCAL).astimezone(ZoneInfo("UTC"))


def digest_for(db: Database, *user_ids: int) -> None:
    with db.unit_of_work() as session:
        for user_id in user_ids:
            notification_feed.save_choices(
                session,
                user_id,
                [notification_feed.ChoiceChange(topic=t, email=EmailMode.digest)
                 for t in ("service_request.created", "service_request.status_changed")],
            )  # fmt: skip


def test_one_digest_a_day_after_seven_and_later_entries_wait_for_tomorrow(db: Database, people: People) -> None:
    digest_for(db, people.dana)
    # Ben files one (Dana hears of it), an admin another.
    new_request(db, people.condo, date(2026, 6, 18), origin=Origin.owner, actor=f"user:{people.dana2}")
    second = new_request(db, people.condo, date(2026, 6, 19), service_type="private_chef")
    assert len(digest_entries(db, people.dana)) == 2
    assert [m.recipient for m in mails(db, "service_request.created")].count("dana@login.example") == 0
    assert len([n for n in feed(db, "service_request.created") if n.user_id == people.dana]) == 2  # still in the app

    assert send_digests(db, now=at(15, 6, 59)) == 0  # before 07:00 local: nothing
    assert mails(db, "notifications.digest") == []

    assert send_digests(db, now=at(15, 7, 0)) == 1
    [mail] = mails(db, "notifications.digest")
    assert mail.recipient == "dana@login.example" and mail.key == f"digest:{people.dana}:2026-06-15"
    assert mail.subject == "Your LuxServ digest for Jun 15: 2 notifications"
    assert "Monday, June 15, 2026" in mail.text
    assert mail.text.count("New service request at Beach Condo 123") == 2
    assert f"http://testserver/owner/properties/{people.condo}" in mail.text
    assert f'href="http://testserver/owner/properties/{people.condo}"' in mail.html
    assert "http://testserver/account/notifications" in mail.text
    assert all(e.digested_at == at(15, 7, 0) for e in digest_entries(db, people.dana))

    assert send_digests(db, now=at(15, 8, 0)) == 0  # the same day again: nothing
    # Something arriving after today's digest waits for tomorrow's.
    with db.unit_of_work() as session:
        requests.change_status(session, second, RequestStatus.cancelled, actor="test")
    assert send_digests(db, now=at(15, 22, 0)) == 0
    pending = [e for e in digest_entries(db, people.dana) if e.digested_at is None]
    assert [e.title for e in pending] == ["Private chef at Beach Condo 123 is cancelled (Jun 19)"]
    assert len(mails(db, "notifications.digest")) == 1

    assert send_digests(db, now=at(16, 6, 0)) == 0  # tomorrow, still before 07:00
    assert send_digests(db, now=at(16, 7, 30)) == 1
    latest = mails(db, "notifications.digest")[-1]
    assert latest.key == f"digest:{people.dana}:2026-06-16"
    assert latest.subject == "Your LuxServ digest for Jun 16: 1 notification"
    assert "Private chef at Beach Condo 123 is cancelled" in latest.text and "New service request" not in latest.text
    assert send_digests(db, now=at(16, 23, 0)) == 0


def test_each_person_gets_their_own_digest_and_inactive_logins_none(db: Database, people: People) -> None:
    digest_for(db, people.dana, people.admin2)
    new_request(db, people.condo, date(2026, 6, 18))  # filed by "test": Dana, Ben and both admins hear of it
    with db.unit_of_work() as session:
        session.execute(update(User).where(User.id == people.admin2).values(is_active=False))
    assert send_digests(db, now=at(20, 9, 0)) == 1
    assert [m.recipient for m in mails(db, "notifications.digest")] == ["dana@login.example"]
    # The admin's entries stay unsent: a disabled login gets no mail.
    assert [e.digested_at for e in digest_entries(db, people.admin2)] == [None]


def test_nobody_waiting_sends_nothing(db: Database, people: People) -> None:
    new_request(db, people.condo, date(2026, 6, 18))  # everyone on immediate e-mail
    assert send_digests(db, now=at(20, 9, 0)) == 0
    assert mails(db, "notifications.digest") == []
