"""Who hears about service requests, through the JSON API and the services: owners and admins (never the one who
acted), the guest who asked (a receipt, then scheduled / completed / cancelled), and the assignee."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.core.database import Database
from luxserv.notifications import requests as notify
from luxserv.services import requests
from luxserv.services.models import Origin, RequestStatus, ServiceRequest
from tests.notifications.conftest import People
from tests.notifications.support import bearer, book, feed, mails, new_request

CREATED, CHANGED, ASSIGNED = "service_request.created", "service_request.status_changed", "service_request.assigned"


def test_an_admins_request_tells_the_owners_logins_and_the_other_admins(
    client: TestClient, db: Database, people: People
) -> None:
    admin = bearer(client, "admin@example.com")
    ask = {"property_id": people.condo, "service_type": "private_chef", "scheduled_for": "2026-06-18",
           "notes": "Dinner for 4 <script>alert(1)</script> & wine"}  # fmt: skip
    response = client.post("/api/service-requests", json=ask, headers=admin)
    assert response.status_code == 201, response.text
    rid = response.json()["id"]

    told = feed(db, CREATED)
    assert [(n.user_id, n.title, n.link) for n in told] == [
        (people.dana, "New service request at Beach Condo 123", f"/owner/properties/{people.condo}"),
        (people.dana2, "New service request at Beach Condo 123", f"/owner/properties/{people.condo}"),
        (people.admin2, "New service request at Beach Condo 123", f"/admin/requests?property={people.condo}"),
    ]  # not the admin who filed it, nor staff, the inactive admin or Omar
    sent = mails(db, CREATED)
    assert [m.recipient for m in sent] == ["dana@login.example", "ben@login.example", "ada@example.com"]
    owner_mail, admin_mail = sent[0], sent[2]
    assert owner_mail.subject == "New service request at Beach Condo 123"
    assert owner_mail.key == f"{CREATED}:{rid}:user-{people.dana}"
    assert "Private chef" in owner_mail.text and "Thu Jun 18, 2026 at 18:00" in owner_mail.text
    assert "<script>alert(1)</script> & wine" in owner_mail.text  # plain text: as typed
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; wine" in owner_mail.html and "<script>" not in owner_mail.html
    assert f"http://testserver/owner/properties/{people.condo}" in owner_mail.text
    assert f'href="http://testserver/admin/requests?property={people.condo}"' in admin_mail.html


def test_an_owners_request_tells_the_admins_and_the_other_login_only(
    client: TestClient, db: Database, people: People
) -> None:
    dana = bearer(client, "dana@login.example")
    path = f"/api/owner/properties/{people.condo}/service-requests"
    response = client.post(path, json={"service_type": "maintenance", "scheduled_for": "2026-06-20"}, headers=dana)
    assert response.status_code == 201, response.text
    assert sorted(n.user_id for n in feed(db, CREATED)) == sorted([people.dana2, people.admin, people.admin2])
    assert {m.subject for m in mails(db, CREATED)} == {"New service request at Beach Condo 123"}


def test_a_guests_request_is_announced_as_such_and_confirmed_to_the_guest(db: Database, people: People) -> None:
    book(db, people.condo, date(2026, 6, 15), date(2026, 6, 22))
    rid = new_request(db, people.condo, date(2026, 6, 18), origin=Origin.guest, notes="4 chairs please")

    titles = {n.user_id: n.title for n in feed(db, CREATED)}
    assert titles == {uid: "Service request from current guest at Beach Condo 123"
                      for uid in (people.dana, people.dana2, people.admin, people.admin2)}  # fmt: skip
    [receipt] = mails(db, "guest.request_received")
    assert receipt.recipient == "sarah@email.com"
    assert receipt.subject == "We received your request: Beach gear delivery at Beach Condo 123"
    assert "4 chairs please" in receipt.text and receipt.key == f"guest.request_received:{rid}"
    guest_line = next(m for m in mails(db, CREATED) if m.recipient == "dana@login.example")
    assert "Sarah Johnson" in guest_line.text and "the guest" in guest_line.text

    # Told again (a retried transaction): nothing new for anyone.
    with db.unit_of_work() as session:
        request = session.get(ServiceRequest, rid)
        assert request is not None
        assert notify.request_created(session, request, actor="test") == 0
    assert len(feed(db, CREATED)) == 4 and len(mails(db, "guest.request_received")) == 1


def test_a_guest_without_an_e_mail_address_gets_nothing(db: Database, people: People) -> None:
    book(db, people.condo, date(2026, 6, 15), date(2026, 6, 22), email="")
    rid = new_request(db, people.condo, date(2026, 6, 18), origin=Origin.guest)
    with db.unit_of_work() as session:
        requests.change_status(session, rid, RequestStatus.scheduled, actor="test")
    assert mails(db, "guest.request_received") == [] and mails(db, "guest.request_status") == []
    assert len(feed(db, CHANGED)) == 4


def test_status_changes_tell_owners_and_admins_and_the_guest_when_it_matters(
    client: TestClient, db: Database, people: People
) -> None:
    book(db, people.condo, date(2026, 6, 15), date(2026, 6, 22))
    rid = new_request(db, people.condo, date(2026, 6, 18), origin=Origin.guest)
    admin = bearer(client, "admin@example.com")

    def move(status: str, note: str = "") -> None:
        response = client.post(f"/api/service-requests/{rid}/status", json={"status": status, "note": note},
                               headers=admin)  # fmt: skip
        assert response.status_code == 200, response.text

    move("scheduled", "Chairs & umbrella <b>ready</b>")
    changed = feed(db, CHANGED)
    assert sorted(n.user_id for n in changed) == sorted([people.dana, people.dana2, people.admin2])
    assert changed[0].title == "Beach gear delivery at Beach Condo 123 is scheduled (Jun 18)"
    [owner_mail] = [m for m in mails(db, CHANGED) if m.recipient == "dana@login.example"]
    assert "went from requested to scheduled" in owner_mail.text
    assert "Chairs &amp; umbrella &lt;b&gt;ready&lt;/b&gt;" in owner_mail.html
    assert owner_mail.key == f"{CHANGED}:{rid}:scheduled:user-{people.dana}"
    [confirmed] = mails(db, "guest.request_status")
    assert (confirmed.recipient, confirmed.subject) == (
        "sarah@email.com",
        "Confirmed: Beach gear delivery at Beach Condo 123",
    )
    assert "is confirmed for Thu Jun 18, 2026 at 09:00" in confirmed.text
    assert "ready" not in confirmed.text  # the team's note is for the team

    move("in_progress")  # nobody is told of this step: work starting is not news
    assert len(mails(db, "guest.request_status")) == 1
    assert len(feed(db, CHANGED)) == 3
    move("completed")
    guest_mails = mails(db, "guest.request_status")
    assert [m.subject for m in guest_mails] == [
        "Confirmed: Beach gear delivery at Beach Condo 123",
        "Done: Beach gear delivery at Beach Condo 123",
    ]
    assert [m.key for m in guest_mails] == [
        f"guest.request_status:{rid}:scheduled",
        f"guest.request_status:{rid}:completed",
    ]
    assert len(feed(db, CHANGED)) == 6


def test_a_cancelled_guest_request_is_explained_to_the_guest(db: Database, people: People) -> None:
    book(db, people.condo, date(2026, 6, 15), date(2026, 6, 22))
    rid = new_request(db, people.condo, date(2026, 6, 19), origin=Origin.guest, service_type="private_chef")
    with db.unit_of_work() as session:
        requests.change_status(session, rid, RequestStatus.cancelled, actor=f"user:{people.dana}")
    [mail] = mails(db, "guest.request_status")
    assert mail.subject == "Cancelled: Private chef at Beach Condo 123"
    assert "was cancelled" in mail.text and "was cancelled" in mail.html
    # Dana cancelled it herself: her second login and the admins hear of it.
    assert sorted(n.user_id for n in feed(db, CHANGED)) == sorted([people.dana2, people.admin, people.admin2])


def test_requests_that_no_guest_asked_for_send_no_guest_mail(db: Database, people: People) -> None:
    book(db, people.condo, date(2026, 6, 15), date(2026, 6, 22))  # automatic services for Sarah's stay
    rid = new_request(db, people.condo, date(2026, 6, 18), origin=Origin.owner)
    with db.unit_of_work() as session:
        requests.change_status(session, rid, RequestStatus.scheduled, actor="test")
        requests.change_status(session, rid, RequestStatus.completed, actor="test")
    assert mails(db, "guest.request_status") == []
    assert len(feed(db, CHANGED)) == 2 * 4


def test_the_assignee_is_told_unless_they_took_it_themselves(client: TestClient, db: Database, people: People) -> None:
    rid = new_request(db, people.condo, date(2026, 6, 18))
    admin = bearer(client, "admin@example.com")

    def assign(user_id: int | None, headers: dict[str, str] = admin) -> None:
        response = client.post(f"/api/service-requests/{rid}/assign", json={"user_id": user_id}, headers=headers)
        assert response.status_code == 200, response.text

    assign(people.staff)
    assign(people.staff)  # the same assignment again: nothing changes, nobody is told again
    assign(people.admin)  # to themselves: not told
    assign(None)
    assign(people.staff)  # back to the staff member: a new assignment, told again
    told = feed(db, ASSIGNED)
    assert [n.user_id for n in told] == [people.staff, people.staff]
    assert told[0].title == "Assigned to you: Beach gear delivery at Beach Condo 123 on Jun 18"
    assert told[0].link == f"/admin/requests?property={people.condo}"
    assert told[0].dedupe_key != told[1].dedupe_key
    sent = mails(db, ASSIGNED)
    assert [m.recipient for m in sent] == ["staff@example.com"] * 2
    assert "was assigned to you" in sent[0].text


def test_automatic_tasks_are_news_only_when_done_or_cancelled(db: Database, people: People) -> None:
    booking = book(db, people.condo, date(2026, 6, 15), date(2026, 6, 22))
    with db.unit_of_work(write=False) as session:
        rid = session.scalars(
            select(ServiceRequest.id).where(ServiceRequest.booking_id == booking).order_by(ServiceRequest.id)
        ).first()
    assert rid is not None
    with db.unit_of_work() as session:
        requests.change_status(session, rid, RequestStatus.in_progress, actor="test")
    assert feed(db, CHANGED) == []
    with db.unit_of_work() as session:
        requests.change_status(session, rid, RequestStatus.completed, actor="test")
    assert len(feed(db, CHANGED)) == 4  # Dana's two logins and the two active admins


def test_back_filled_history_tells_nobody(db: Database, people: People) -> None:
    rid = new_request(db, people.condo, date(2026, 6, 19), origin=Origin.owner, service_type="private_chef")
    before = len(feed(db, CHANGED))
    with db.unit_of_work() as session:
        requests.change_status(session, rid, RequestStatus.cancelled, actor="demo", notify=False)
    assert len(feed(db, CHANGED)) == before
