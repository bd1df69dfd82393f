"""Reminders of tomorrow's tasks: "tomorrow" in each home's time zone, the assignee or else every admin, once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from luxserv.accounts.models import User
from luxserv.core.database import Database
from luxserv.notifications.reminders import send_due_reminders
from luxserv.properties.models import Property
from luxserv.services import requests
from luxserv.services.models import Origin, RequestStatus, ServiceRequest
from tests.notifications.conftest import People
from tests.notifications.support import feed, mails, new_request

DUE = "service_request.due"
# 20:00 on June 14 in Panama City Beach is already 13:00 on June 15 in Auckland.
NOW = datetime(2026, 6, 14, 20, 0, tzinfo=ZoneInfo("America/Chicago")).astimezone(ZoneInfo("UTC"))


def test_tomorrow_is_counted_in_each_homes_time_zone(db: Database, people: People) -> None:
    with db.unit_of_work() as session:
        session.execute(update(Property).where(Property.id == people.loft).values(time_zone="Pacific/Auckland"))
    condo_due = new_request(db, people.condo, date(2026, 6, 15))  # tomorrow in Chicago
    loft_due = new_request(db, people.loft, date(2026, 6, 16), service_type="private_chef")  # tomorrow in Auckland
    new_request(db, people.condo, date(2026, 6, 16), service_type="airport_transfer")  # the day after tomorrow
    new_request(db, people.loft, date(2026, 6, 15))  # today in Auckland

    assert send_due_reminders(db, now=NOW) == 4  # two requests, nobody assigned: both active admins each
    sent = mails(db, DUE)
    assert sorted((m.recipient, m.subject) for m in sent) == sorted([
        ("admin@example.com", "Tomorrow: Beach gear delivery at Beach Condo 123 (09:00)"),
        ("ada@example.com", "Tomorrow: Beach gear delivery at Beach Condo 123 (09:00)"),
        ("admin@example.com", "Tomorrow: Private chef at Harbor Loft (18:00)"),
        ("ada@example.com", "Tomorrow: Private chef at Harbor Loft (18:00)"),
    ])  # fmt: skip
    keys = {m.key for m in sent}
    assert f"{DUE}:{condo_due}:2026-06-15:user-{people.admin}" in keys
    assert f"{DUE}:{loft_due}:2026-06-16:user-{people.admin2}" in keys
    condo_mail = next(m for m in sent if "Beach Condo" in m.subject)
    assert "Nobody is assigned yet" in condo_mail.text
    assert f"http://testserver/admin/requests?property={people.condo}" in condo_mail.text
    assert {n.link for n in feed(db, DUE)} == {f"/admin/requests?property={people.condo}",
                                               f"/admin/requests?property={people.loft}"}  # fmt: skip

    # The hourly job runs again: nobody is told twice.
    assert send_due_reminders(db, now=NOW + timedelta(hours=1)) == 0
    assert len(mails(db, DUE)) == 4
    # After midnight in Chicago, the day after is the next "tomorrow" there.
    assert send_due_reminders(db, now=NOW + timedelta(hours=4, minutes=30)) == 2


def test_the_assignee_alone_is_reminded(db: Database, people: People) -> None:
    rid = new_request(db, people.condo, date(2026, 6, 15), service_type="airport_transfer")
    with db.unit_of_work() as session:
        requests.assign(session, rid, people.staff, actor="test")
    assert send_due_reminders(db, now=NOW) == 1
    [mail] = mails(db, DUE)
    assert (mail.recipient, mail.subject) == ("staff@example.com", "Tomorrow: Airport transfer at Beach Condo 123")
    assert "staff@example.com" in mail.text  # shown as the assignee


def test_an_inactive_assignee_falls_back_to_the_admins(db: Database, people: People) -> None:
    rid = new_request(db, people.condo, date(2026, 6, 15))
    with db.unit_of_work() as session:
        requests.assign(session, rid, people.staff, actor="test")
        session.execute(update(User).where(User.id == people.staff).values(is_active=False))
    assert send_due_reminders(db, now=NOW) == 2
    assert sorted(m.recipient for m in mails(db, DUE)) == ["ada@example.com", "admin@example.com"]


def test_only_open_requests_not_yet_started_are_reminded(db: Database, people: People) -> None:
    requested = new_request(db, people.condo, date(2026, 6, 15), origin=Origin.owner)
    for status in (RequestStatus.in_progress, RequestStatus.completed, RequestStatus.cancelled):
        rid = new_request(db, people.condo, date(2026, 6, 15))
        with db.unit_of_work() as session:
            requests.change_status(session, rid, status, actor="test")
    assert send_due_reminders(db, now=NOW) == 2
    assert {m.key.split(":")[1] for m in mails(db, DUE)} == {str(requested)}


def test_a_task_moved_to_another_day_is_reminded_again(db: Database, people: People) -> None:
    rid = new_request(db, people.condo, date(2026, 6, 15))
    assert send_due_reminders(db, now=NOW) == 2
    with db.unit_of_work() as session:
        session.execute(update(ServiceRequest).where(ServiceRequest.id == rid).values(scheduled_for=date(2026, 6, 16)))
    assert send_due_reminders(db, now=NOW + timedelta(days=1)) == 2
    assert len(mails(db, DUE)) == 4
