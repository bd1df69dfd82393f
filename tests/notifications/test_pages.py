"""The feed and preferences pages: for every signed-in person, forms protected by CSRF, post/redirect/get."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.notifications import feed as notification_feed
from luxserv.notifications.dispatch import TOPICS
from luxserv.notifications.models import EmailMode
from luxserv.outbox.models import Notification
from tests.factories import login
from tests.notifications.conftest import People


def add(db: Database, user_id: int, title: str, link: str, *, minutes_ago: int = 0, read: bool = False) -> int:
    with db.unit_of_work() as session:
        at = utcnow() - timedelta(minutes=minutes_ago)
        row = Notification(user_id=user_id, topic="service_request.created", title=title, body=f"Body of {title}",
                           link=link, created_at=at, read_at=at if read else None)  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def read_at(db: Database, notification_id: int) -> object:
    with db.unit_of_work(write=False) as session:
        return session.scalars(select(Notification.read_at).where(Notification.id == notification_id)).one()


def test_signing_in_is_needed(client: TestClient) -> None:
    for path in ("/notifications", "/account/notifications"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"


def test_the_feed_lists_newest_first_and_opening_one_marks_it_read(
    client: TestClient, db: Database, people: People
) -> None:
    old = add(db, people.dana, "Old & read", "/owner", minutes_ago=90, read=True)
    new = add(db, people.dana, "Guest <asks> for chairs", f"/owner/properties/{people.condo}", minutes_ago=5)
    add(db, people.omar, "Omar's secret", "/owner")
    login(client, "dana@login.example")

    page = client.get("/notifications")
    assert page.status_code == 200
    html = page.text
    assert "Guest &lt;asks&gt; for chairs" in html and "Old &amp; read" in html and "Omar" not in html
    assert html.index("Guest &lt;asks&gt;") < html.index("Old &amp; read")
    assert html.count("notif-item notif-unread") == 1
    assert 'data-testid="bell-count">1<' in html  # the shared layout's bell
    assert "notifications.css" in html
    assert f'action="/notifications/{new}/open"' in html and "Mark all as read" in html
    csrf = token(html)

    refused = client.post(f"/notifications/{new}/open", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert refused.status_code == 403 and read_at(db, new) is None
    opened = client.post(f"/notifications/{new}/open", data={"csrf_token": csrf}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/owner/properties/{people.condo}"
    assert read_at(db, new) is not None
    assert (
        client.post(f"/notifications/{old}/open", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )

    unread_only = client.get("/notifications", params={"unread": "true"}).text
    assert "Nothing unread" in unread_only and "Mark all as read" not in unread_only


def test_another_persons_notification_cannot_be_opened(client: TestClient, db: Database, people: People) -> None:
    theirs = add(db, people.omar, "Omar's", "/owner")
    login(client, "dana@login.example")
    csrf = token(client.get("/notifications").text)
    response = client.post(f"/notifications/{theirs}/open", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 404 and "not found" in response.text.lower()
    assert read_at(db, theirs) is None


@pytest.mark.parametrize("link", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", ""])
def test_opening_never_leaves_the_site(client: TestClient, db: Database, people: People, link: str) -> None:
    row = add(db, people.dana, "Odd link", link)
    login(client, "dana@login.example")
    csrf = token(client.get("/notifications").text)
    response = client.post(f"/notifications/{row}/open", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/notifications"
    assert read_at(db, row) is not None


def test_mark_all_as_read(client: TestClient, db: Database, people: People) -> None:
    ids = [add(db, people.admin, f"N{n}", "/admin") for n in range(3)]
    other = add(db, people.admin2, "Ada's", "/admin")
    login(client, "admin@example.com")
    csrf = token(client.get("/notifications").text)
    assert client.post("/notifications/read-all", data={}, follow_redirects=False).status_code == 403
    done = client.post("/notifications/read-all", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    assert all(read_at(db, i) is not None for i in ids) and read_at(db, other) is None
    assert "bell-count" not in client.get("/notifications").text


@pytest.mark.parametrize("email", ["admin@example.com", "staff@example.com", "dana@login.example"])
def test_both_pages_are_for_every_signed_in_person(client: TestClient, people: People, email: str) -> None:
    login(client, email)
    feed_page = client.get("/notifications")
    assert feed_page.status_code == 200 and "No notifications yet" in feed_page.text
    prefs = client.get("/account/notifications")
    assert prefs.status_code == 200
    assert prefs.text.count("<select") == len(TOPICS) and prefs.text.count('type="checkbox"') == len(TOPICS)


def test_the_preferences_form_saves_with_csrf_and_comes_back_saved(
    client: TestClient, db: Database, people: People
) -> None:
    login(client, "dana@login.example")
    page = client.get("/account/notifications")
    html = page.text
    assert 'name="email:booking.created"' in html and 'name="in_app:booking.created"' in html
    assert "Daily digest" in html and 'name="csrf_token"' in html
    form: dict[str, str] = {f"email:{t}": "immediate" for t in TOPICS}
    form.update({f"in_app:{t}": "on" for t in TOPICS})
    form["email:booking.created"] = "digest"
    form["email:service_request.due"] = "off"
    del form["in_app:service_request.due"]  # unchecked

    assert client.post("/account/notifications", data=form, follow_redirects=False).status_code == 403
    saved = client.post("/account/notifications", data={**form, "csrf_token": token(html)}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/account/notifications?saved=1"
    with db.unit_of_work(write=False) as session:
        choices = {c.topic: (c.email, c.in_app) for c in notification_feed.choices(session, people.dana)}
    assert choices["booking.created"] == (EmailMode.digest, True)
    assert choices["service_request.due"] == (EmailMode.off, False)
    assert choices["booking.cancelled"] == (EmailMode.immediate, True)

    after = client.get(saved.headers["location"]).text
    assert "Saved." in after
    assert re.search(r'name="email:booking.created">\s*<option value="immediate">Immediately</option>\s*'
                     r'<option value="digest" selected>', after)  # fmt: skip
    assert 'name="in_app:service_request.due" value="on">' in after  # shown unchecked


def test_an_impossible_choice_is_refused_with_a_message(client: TestClient, db: Database, people: People) -> None:
    login(client, "dana@login.example")
    csrf = token(client.get("/account/notifications").text)
    response = client.post("/account/notifications", data={"csrf_token": csrf, "email:booking.created": "weekly"})
    assert response.status_code == 422 and "new bookings" in response.text
    with db.unit_of_work(write=False) as session:
        assert notification_feed.choices(session, people.dana)[0].email == EmailMode.immediate
