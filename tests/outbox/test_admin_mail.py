"""The outbox for admins: listing and searching, one message in full, retrying a dead letter (API and pages)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.accounts.models import Role
from luxserv.accounts.reset import request_reset
from luxserv.app import create_app
from luxserv.audit.models import AuditEntry
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.errors import Conflict
from luxserv.core.settings import Settings
from luxserv.outbox import service
from luxserv.outbox.enqueue import enqueue
from luxserv.outbox.models import OutboxMessage, OutboxStatus
from luxserv.outbox.sender import SmtpSender
from luxserv.outbox.worker import deliver_due
from tests.factories import admin_client, login, make_owner, make_user
from tests.outbox.mailserver import MailServer, running

HTML_BODY = '<p onclick="steal()">Hello <b>Dana</b> &amp; co</p><script>alert(1)</script>'


def add(
    db: Database,
    key: str,
    *,
    status: OutboxStatus = OutboxStatus.pending,
    recipient: str = "dana@example.com",
    topic: str = "booking.created",
    payload: dict[str, Any] | None = None,
    attempts: int = 0,
    error: str = "",
) -> int:
    with db.unit_of_work() as session:
        payload = payload or {"subject": f"Subject {key}", "text": f"Text {key}", "html": HTML_BODY}
        message_id = enqueue(
            session, dedupe_key=key, channel="email", topic=topic, recipient=recipient, payload=payload
        )
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        row.status, row.attempts, row.last_error = status, attempts, error
        if status == OutboxStatus.sent:
            row.sent_at = utcnow()
        return row.id


@pytest.fixture
def mail(db: Database) -> dict[str, int]:
    """Three sent, two pending, one dead; created in this order (ids ascending)."""
    return {
        "sent1": add(db, "sent1", status=OutboxStatus.sent, attempts=1),
        "sent2": add(db, "sent2", status=OutboxStatus.sent, attempts=1, recipient="admin@example.com"),
        "pending1": add(db, "pending1", attempts=2, error="TemporaryFailure: SMTP 451 try later"),
        "dead1": add(
            db,
            "dead1",
            status=OutboxStatus.dead,
            attempts=8,
            recipient="Nobody@Bad.Example",
            topic="guest.welcome",
            error="PermanentFailure: SMTP 550 no such user",
        ),
        "sent3": add(db, "sent3", status=OutboxStatus.sent, attempts=2, topic="service_request.created"),
        "pending2": add(db, "pending2", topic="service_request.created"),
    }


def csrf_from(page_html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, page_html
    return match.group(1)


def owner_client(client: TestClient, db: Database) -> TestClient:
    owner_id = make_owner(db)
    make_user(db, "dana@example.com", Role.owner, owner_id=owner_id)
    login(client, "dana@example.com")
    return client


# --- service ----------------------------------------------------------------------------------------------------


def test_list_filters_by_status_and_search_newest_first(db: Database, mail: dict[str, int]) -> None:
    with db.unit_of_work(write=False) as session:
        rows, total = service.list_messages(session, service.MailFilter(), limit=50, offset=0)
        assert total == 6 and [r.id for r in rows] == sorted(mail.values(), reverse=True)
        rows, total = service.list_messages(session, service.MailFilter(status=OutboxStatus.sent), limit=2, offset=0)
        assert total == 3 and [r.id for r in rows] == [mail["sent3"], mail["sent2"]]
        rows, _ = service.list_messages(session, service.MailFilter(status=OutboxStatus.sent), limit=2, offset=2)
        assert [r.id for r in rows] == [mail["sent1"]]
        # Recipient or topic, any case, any part.
        rows, total = service.list_messages(session, service.MailFilter(q="bad.EXAMPLE"), limit=50, offset=0)
        assert (total, [r.id for r in rows]) == (1, [mail["dead1"]])
        rows, total = service.list_messages(session, service.MailFilter(q="Service_Request"), limit=50, offset=0)
        assert [r.id for r in rows] == [mail["pending2"], mail["sent3"]]
        # LIKE wildcards in the search are plain characters.
        assert service.list_messages(session, service.MailFilter(q="%"), limit=50, offset=0)[1] == 0
        assert service.list_messages(session, service.MailFilter(q="service_"), limit=50, offset=0)[1] == 2
        assert service.list_messages(session, service.MailFilter(q="service%"), limit=50, offset=0)[1] == 0
        assert service.counts(session) == {OutboxStatus.pending: 2, OutboxStatus.sent: 3, OutboxStatus.dead: 1}
        assert service.counts(session, "service_request") == {
            OutboxStatus.pending: 1,
            OutboxStatus.sent: 1,
            OutboxStatus.dead: 0,
        }


def test_retry_puts_a_dead_letter_back_and_audits_it(db: Database, mail: dict[str, int]) -> None:
    before = utcnow()
    with db.unit_of_work() as session:
        message = service.retry(session, mail["dead1"], actor="user:7")
        assert (message.status, message.attempts, message.locked_until) == (OutboxStatus.pending, 0, None)
        assert before <= message.next_attempt_at <= utcnow()
    with db.unit_of_work(write=False) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "outbox_message")).one()
    assert (entry.actor, entry.action, entry.entity_id) == ("user:7", "outbox_message.retried", mail["dead1"])
    assert entry.details["attempts"] == 8 and "550" in entry.details["error"]
    for key in ("sent1", "pending1", "dead1"):  # dead1 is pending now
        with pytest.raises(Conflict), db.unit_of_work() as session:
            service.retry(session, mail[key], actor="user:7")


# --- JSON API ---------------------------------------------------------------------------------------------------


def test_api_lists_counts_and_hides_bodies(app_client: TestClient, db: Database, mail: dict[str, int]) -> None:
    client = admin_client(app_client, db)
    everything = client.get("/api/admin/outbox").json()
    assert everything["total"] == 6
    assert everything["counts"] == {"pending": 2, "sent": 3, "dead": 1}
    assert [m["id"] for m in everything["messages"]] == sorted(mail.values(), reverse=True)
    first = everything["messages"][0]
    assert first["subject"] == "Subject pending2" and "html" not in first and "text" not in first
    dead = client.get("/api/admin/outbox", params={"status": "dead"}).json()
    assert dead["total"] == 1 and dead["messages"][0]["last_error"] == "PermanentFailure: SMTP 550 no such user"
    page = client.get("/api/admin/outbox", params={"q": "dana", "limit": 2, "offset": 1}).json()
    assert page["total"] == 4 and [m["id"] for m in page["messages"]] == [mail["sent3"], mail["pending1"]]
    assert page["counts"] == {"pending": 2, "sent": 2, "dead": 0}
    assert client.get("/api/admin/outbox", params={"status": "lost"}).status_code == 422
    assert client.get("/api/admin/outbox", params={"limit": 0}).status_code == 422


def test_api_shows_one_message_in_full(app_client: TestClient, db: Database, mail: dict[str, int]) -> None:
    client = admin_client(app_client, db)
    body = client.get(f"/api/admin/outbox/{mail['dead1']}").json()
    assert body["message_id"] == f"<outbox-{mail['dead1']}@luxserv>"
    assert (body["subject"], body["text"], body["html"]) == ("Subject dead1", "Text dead1", HTML_BODY)
    assert (body["status"], body["attempts"], body["withheld"]) == ("dead", 8, False)
    assert body["created_at"] and body["sent_at"] is None
    missing = client.get("/api/admin/outbox/999999")
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]


def test_a_body_carrying_a_secret_is_withheld(app_client: TestClient, db: Database) -> None:
    secret = "https://luxserv.example/sign-in?token=s3cret"
    payload = {"subject": "Your sign-in link", "text": secret, "html": secret, "confidential": True}
    flagged = add(db, "sign-in", topic="account.sign_in", payload=payload)
    client = admin_client(app_client, db)  # admin@example.com
    make_user(db, "staff@example.com", Role.staff)
    with db.unit_of_work() as session:  # the real password reset e-mail, for the admin's own login
        assert request_reset(session, "admin@example.com")
        reset = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "account.password_reset")).one()
        reset_id, link_text = reset.id, reset.payload["text"]
    token = re.search(r"token=([\w-]+)", link_text)
    assert token, link_text

    login(client, "staff@example.com")  # staff must not read a reset link that signs in as an admin
    for outbox_id, subject, hidden in ((flagged, "Your sign-in link", "s3cret"),
                                       (reset_id, "Reset your LuxServ password", token.group(1))):  # fmt: skip
        body = client.get(f"/api/admin/outbox/{outbox_id}").json()
        assert (body["subject"], body["text"], body["html"], body["withheld"]) == (subject, None, None, True)
        page = client.get(f"/admin/mail/{outbox_id}")
        assert page.status_code == 200 and html.escape(subject) in page.text
        assert hidden not in page.text and "Withheld" in page.text
    assert token.group(1) not in client.get("/admin/mail", params={"q": "admin@"}).text


def test_api_retry(app_client: TestClient, db: Database, mail: dict[str, int]) -> None:
    client = admin_client(app_client, db)
    retried = client.post(f"/api/admin/outbox/{mail['dead1']}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    with db.unit_of_work(write=False) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox_message.retried")).one()
    assert entry.entity_id == mail["dead1"] and entry.actor.startswith("user:")
    again = client.post(f"/api/admin/outbox/{mail['dead1']}/retry")
    assert again.status_code == 409 and "pending" in again.json()["detail"]
    sent = client.post(f"/api/admin/outbox/{mail['sent1']}/retry")
    assert sent.status_code == 409 and "sent" in sent.json()["detail"]
    assert client.post("/api/admin/outbox/999999/retry").status_code == 404

    # The worker sends it now: it is due at once.
    server = MailServer()
    with running(server) as port:
        sender = SmtpSender("127.0.0.1", port, mail_from="LuxServ <no-reply@luxserv.test>", security="none")
        deliver_due(db, sender)
    assert "<outbox-{}@luxserv>".format(mail["dead1"]) in server.message_ids()
    with db.unit_of_work(write=False) as session:
        row = session.get(OutboxMessage, mail["dead1"])
        assert row is not None and (row.status, row.attempts) == (OutboxStatus.sent, 1)


def test_api_is_for_admins_and_staff(app_client: TestClient, db: Database, mail: dict[str, int]) -> None:
    assert app_client.get("/api/admin/outbox").status_code == 401
    owner = owner_client(app_client, db)
    assert owner.get("/api/admin/outbox").status_code == 403
    assert owner.get(f"/api/admin/outbox/{mail['dead1']}").status_code == 403
    assert owner.post(f"/api/admin/outbox/{mail['dead1']}/retry").status_code == 403
    make_user(db, "staff@example.com", Role.staff)
    login(app_client, "staff@example.com")
    assert app_client.get("/api/admin/outbox").json()["total"] == 6


def test_operations_are_in_the_openapi(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    assert paths["/api/admin/outbox"]["get"]["operationId"] == "list_outbox"
    assert paths["/api/admin/outbox/{outbox_id}"]["get"]["operationId"] == "get_outbox_message"
    assert paths["/api/admin/outbox/{outbox_id}/retry"]["post"]["operationId"] == "retry_outbox_message"
    assert "/admin/mail" not in paths


# --- pages ------------------------------------------------------------------------------------------------------


def test_mail_page_tabs_rows_and_search(
    app_client: TestClient, db: Database, settings: Settings, mail: dict[str, int]
) -> None:
    client = admin_client(app_client, db)
    page = client.get("/admin/mail")
    assert page.status_code == 200
    text = page.text
    assert re.search(r'aria-current="page"[^>]*>\s*Sent <span class="badge" data-testid="count-sent">3</span>', text)
    assert 'data-testid="count-pending">2<' in text and 'data-testid="count-dead">1<' in text
    assert "Subject sent1" in text and "Subject sent3" in text and "Subject pending1" not in text
    assert f'href="/admin/mail/{mail["sent1"]}"' in text
    # Development without a mail server: the page says where the mail went.
    assert str((settings.data_dir / "mail").resolve()) in text and "LUXSERV_SMTP_HOST" in text

    dead = client.get("/admin/mail", params={"status": "dead"}).text
    assert "Subject dead1" in dead and "Nobody@Bad.Example" in dead
    assert "PermanentFailure: SMTP 550 no such user" in dead and "Subject sent1" not in dead

    pending = client.get("/admin/mail", params={"status": "pending"}).text
    assert "SMTP 451 try later" in pending and "Subject pending2" in pending

    found = client.get("/admin/mail", params={"status": "sent", "q": "admin@"}).text
    assert "Subject sent2" in found and "Subject sent1" not in found
    assert 'value="admin@"' in found and 'data-testid="count-sent">1<' in found
    assert "No message matches" in client.get("/admin/mail", params={"q": "nobody-here"}).text
    assert client.get("/admin/mail", params={"status": "lost"}).status_code == 422


def test_mail_page_pages_through_many(app_client: TestClient, db: Database) -> None:
    for n in range(55):
        add(db, f"m{n:02d}", status=OutboxStatus.sent)
    client = admin_client(app_client, db)
    first = client.get("/admin/mail").text
    assert "Subject m54" in first and "Subject m05" in first and "Subject m04" not in first
    assert 'href="/admin/mail?status=sent&amp;offset=50" rel="next"' in first
    second = client.get("/admin/mail", params={"offset": 50}).text
    assert "Subject m04" in second and "Subject m00" in second and "Subject m05" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_no_folder_notice_with_a_mail_server(settings: Settings, db: Database) -> None:
    configured = settings.model_copy(update={"smtp_host": "mail.example.com"})
    with TestClient(create_app(configured, db, run_worker=False)) as client:
        admin_client(client, db)
        page = client.get("/admin/mail")
    assert page.status_code == 200 and "LUXSERV_SMTP_HOST" not in page.text


def test_message_page_shows_headers_text_and_sandboxed_html(
    app_client: TestClient, db: Database, mail: dict[str, int]
) -> None:
    client = admin_client(app_client, db)
    page = client.get(f"/admin/mail/{mail['sent1']}")
    assert page.status_code == 200
    text = page.text
    assert "dana@example.com" in text and "LuxServ &lt;no-reply@luxserv.local&gt;" in text
    assert html.escape(f"<outbox-{mail['sent1']}@luxserv>") in text
    assert '<pre class="mail-text">Text sent1</pre>' in text
    # The HTML body lives only inside the sandboxed frame's attribute (and the escaped source), never as markup.
    frame = re.search(r'<iframe class="mail-html" sandbox srcdoc="([^"]*)"', text)
    assert frame, text
    assert html.unescape(frame.group(1)) == HTML_BODY
    assert "<script>alert(1)</script>" not in text and 'onclick="steal()"' not in text
    assert "Retry" not in text  # only dead letters can be retried
    assert client.get("/admin/mail/999999").status_code == 404


def test_retry_form(app_client: TestClient, db: Database, mail: dict[str, int]) -> None:
    client = admin_client(app_client, db)
    page = client.get(f"/admin/mail/{mail['dead1']}")
    assert f'action="/admin/mail/{mail["dead1"]}/retry"' in page.text
    token = csrf_from(page.text)

    refused = client.post(f"/admin/mail/{mail['dead1']}/retry", data={}, follow_redirects=False)
    assert refused.status_code == 403
    done = client.post(f"/admin/mail/{mail['dead1']}/retry", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/mail/{mail['dead1']}?retried=true"
    after = client.get(done.headers["location"])
    assert "Queued to be sent again" in after.text and 'action="/admin/mail/' not in after.text
    with db.unit_of_work(write=False) as session:
        row = session.get(OutboxMessage, mail["dead1"])
        assert row is not None and (row.status, row.attempts) == (OutboxStatus.pending, 0)
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox_message.retried")).one()

    conflict = client.post(f"/admin/mail/{mail['sent1']}/retry", data={"csrf_token": token}, follow_redirects=False)
    assert conflict.status_code == 409
    assert 'role="alert"' in conflict.text and "only a dead letter can be sent again" in conflict.text


def test_pages_are_for_admins_and_staff(app_client: TestClient, db: Database, mail: dict[str, int]) -> None:
    anonymous = app_client.get("/admin/mail", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/admin/mail"
    owner = owner_client(app_client, db)
    assert owner.get("/admin/mail").status_code == 403
    page = owner.get(f"/admin/mail/{mail['dead1']}")
    assert page.status_code == 403 and "Subject dead1" not in page.text
    token = csrf_from(page.text)
    refused = owner.post(f"/admin/mail/{mail['dead1']}/retry", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403
    with db.unit_of_work(write=False) as session:
        row = session.get(OutboxMessage, mail["dead1"])
        assert row is not None and row.status == OutboxStatus.dead
    make_user(db, "staff@example.com", Role.staff)
    login(app_client, "staff@example.com")
    assert "Subject dead1" in app_client.get("/admin/mail", params={"status": "dead"}).text


def test_a_leased_pending_message_shows_as_being_sent(app_client: TestClient, db: Database) -> None:
    outbox_id = add(db, "busy")
    with db.unit_of_work() as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        row.locked_until = utcnow() + timedelta(minutes=2)
    client = admin_client(app_client, db)
    assert '<span class="status">sending</span>' in client.get("/admin/mail", params={"status": "pending"}).text
    assert "a worker is sending it" in client.get(f"/admin/mail/{outbox_id}").text
