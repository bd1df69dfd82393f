"""The notifications JSON API: a person's own feed only, marking read, and preferences with their validation."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.notifications.dispatch import TOPICS
from luxserv.notifications.models import NotificationPreference
from luxserv.outbox.models import Notification
from tests.notifications.conftest import People
from tests.notifications.support import bearer


def add(db: Database, user_id: int, title: str, *, minutes_ago: int = 0, read: bool = False) -> int:
    with db.unit_of_work() as session:
        at = utcnow() - timedelta(minutes=minutes_ago)
        row = Notification(user_id=user_id, topic="booking.created", title=title, body=f"About {title}",
                           link="/owner", created_at=at, read_at=at if read else None)  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def test_the_feed_shows_ones_own_notifications_newest_first(client: TestClient, db: Database, people: People) -> None:
    old = add(db, people.dana, "Old news", minutes_ago=60, read=True)
    mid = add(db, people.dana, "Middle", minutes_ago=30)
    new = add(db, people.dana, "Newest", minutes_ago=1)
    add(db, people.dana2, "Ben's own")
    dana = bearer(client, "dana@login.example")

    body = client.get("/api/notifications", headers=dana).json()
    assert (body["unread"], body["total"]) == (2, 3)
    assert [n["id"] for n in body["notifications"]] == [new, mid, old]
    first = body["notifications"][0]
    assert set(first) == {"id", "topic", "title", "body", "link", "created_at", "read_at"}
    assert (first["title"], first["body"], first["link"], first["read_at"]) == (
        "Newest",
        "About Newest",
        "/owner",
        None,
    )

    unread = client.get("/api/notifications", params={"unread": "true"}, headers=dana).json()
    assert (unread["unread"], unread["total"], [n["id"] for n in unread["notifications"]]) == (2, 2, [new, mid])
    paged = client.get("/api/notifications", params={"limit": 1, "offset": 1}, headers=dana).json()
    assert (paged["total"], [n["id"] for n in paged["notifications"]]) == (3, [mid])
    assert client.get("/api/notifications", params={"limit": 0}, headers=dana).status_code == 422
    assert client.get("/api/notifications").status_code == 401


def test_marking_read_works_on_ones_own_only(client: TestClient, db: Database, people: People) -> None:
    mine = add(db, people.dana, "Mine")
    theirs = add(db, people.omar, "Omar's")
    dana = bearer(client, "dana@login.example")

    response = client.post(f"/api/notifications/{mine}/read", headers=dana)
    assert response.status_code == 200 and response.json()["read_at"] is not None
    read_at = response.json()["read_at"]
    assert client.post(f"/api/notifications/{mine}/read", headers=dana).json()["read_at"] == read_at  # kept

    for other in (theirs, theirs + 1000):
        refused = client.post(f"/api/notifications/{other}/read", headers=dana)
        assert refused.status_code == 404 and "not found" in refused.json()["detail"]
    with db.unit_of_work(write=False) as session:
        assert session.scalars(select(Notification.read_at).where(Notification.id == theirs)).one() is None


def test_read_all_marks_ones_own_unread(client: TestClient, db: Database, people: People) -> None:
    for n in range(3):
        add(db, people.dana, f"N{n}")
    add(db, people.dana, "Seen", read=True)
    add(db, people.dana2, "Ben's")
    dana = bearer(client, "dana@login.example")
    assert client.post("/api/notifications/read-all", headers=dana).json() == {"marked": 3}
    assert client.post("/api/notifications/read-all", headers=dana).json() == {"marked": 0}
    assert client.get("/api/notifications", headers=dana).json()["unread"] == 0
    ben = bearer(client, "ben@login.example")
    assert client.get("/api/notifications", headers=ben).json()["unread"] == 1


def test_preferences_list_every_topic_and_save_a_partial_change(
    client: TestClient, db: Database, people: People
) -> None:
    admin = bearer(client, "admin@example.com")
    listed = client.get("/api/notifications/preferences", headers=admin).json()["preferences"]
    assert [p["topic"] for p in listed] == list(TOPICS)
    assert all(p["email"] == "immediate" and p["in_app"] is True for p in listed)
    assert listed[0]["label"] == TOPICS[listed[0]["topic"]]

    change = {"preferences": [
        {"topic": "booking.created", "email": "digest"},
        {"topic": "service_request.due", "email": "off", "in_app": False, "label": "whatever"},
    ]}  # fmt: skip
    response = client.put("/api/notifications/preferences", json=change, headers=admin)
    assert response.status_code == 200, response.text
    saved = {p["topic"]: (p["email"], p["in_app"]) for p in response.json()["preferences"]}
    assert saved["booking.created"] == ("digest", True)
    assert saved["service_request.due"] == ("off", False)
    assert saved["booking.overlap"] == ("immediate", True)
    # Only in_app this time: the e-mail choice stays.
    client.put("/api/notifications/preferences", json={"preferences": [{"topic": "booking.created", "in_app": False}]},
               headers=admin)  # fmt: skip
    listed = client.get("/api/notifications/preferences", headers=admin).json()["preferences"]
    again = {p["topic"]: (p["email"], p["in_app"]) for p in listed}
    assert again["booking.created"] == ("digest", False)
    # Someone else's choices are theirs.
    dana = bearer(client, "dana@login.example")
    dana_prefs = client.get("/api/notifications/preferences", headers=dana).json()["preferences"]
    assert all(p["email"] == "immediate" for p in dana_prefs)


def test_bad_preferences_are_refused_whole_with_the_reason(client: TestClient, db: Database, people: People) -> None:
    admin = bearer(client, "admin@example.com")

    def put(items: list[dict[str, object]]) -> tuple[int, dict[str, str]]:
        response = client.put("/api/notifications/preferences", json={"preferences": items}, headers=admin)
        return response.status_code, response.json()

    status, body = put([{"topic": "booking.created", "email": "off"}, {"topic": "booking.exploded", "email": "off"}])
    assert status == 422 and "booking.exploded" in body["detail"] and body["field"] == "preferences.1.topic"
    status, body = put([{"topic": "booking.created", "email": "weekly"}])
    assert status == 422 and body["field"] == "preferences.0.email"
    status, body = put([{"topic": "booking.created", "in_app": "maybe"}])
    assert status == 422 and body["field"] == "preferences.0.in_app"
    status, body = put([{"topic": "booking.created", "email": "off"}, {"topic": "booking.created", "email": "digest"}])
    assert status == 422 and "twice" in body["detail"]
    with db.unit_of_work(write=False) as session:
        assert session.scalars(select(NotificationPreference)).all() == []  # nothing half-saved
    assert client.put("/api/notifications/preferences", json={"preferences": []}).status_code == 401


def test_the_api_is_documented_with_stable_operation_ids(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/api/notifications"]["get"]["operationId"] == "list_notifications"
    assert paths["/api/notifications/{notification_id}/read"]["post"]["operationId"] == "mark_notification_read"
    assert paths["/api/notifications/read-all"]["post"]["operationId"] == "mark_all_notifications_read"
    prefs = paths["/api/notifications/preferences"]
    assert (prefs["get"]["operationId"], prefs["put"]["operationId"]) == (
        "get_notification_preferences", "update_notification_preferences"
    )  # fmt: skip
    assert not any(p.startswith(("/notifications", "/account/notifications")) for p in paths)
