"""The inbox pages: events filtered and paginated newest first, one event with its (escaped) payload, headers
with credentials hidden, and replay through the form."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from luxserv.accounts.models import Role
from luxserv.core.database import Database
from luxserv.inbox import pages
from luxserv.inbox.service import NewEvent, store
from tests.conftest import WEBHOOK_SECRET
from tests.factories import flat_payload, login, make_owner, make_property, make_user, post_signed

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def admin(app_client: TestClient, db: Database) -> TestClient:
    make_user(db)
    login(app_client)
    return app_client


def stored_event(db: Database, event_id: str = "generic:stored-1") -> int:
    """An event stored but never applied (as if the process died between the two transactions)."""
    body = json.dumps(flat_payload(booking_id="STORED-1", guest_name="Walk In", guest_email="walk.in@example.com"))
    headers = {"x-webhook-signature": "sha256=abc123", "x-api-key": "s3cr3t-key-value", "user-agent": "relay/1.0"}
    with db.unit_of_work() as session:
        inbox_id, created = store(
            session,
            NewEvent(provider="generic", event_id=event_id, source="webhook", body=body.encode(), headers=headers),
        )
        assert created
        return inbox_id


def test_the_payload_is_shown_escaped(admin: TestClient, db: Database) -> None:
    make_property(db)
    payload = flat_payload(guest_name=SCRIPT, special_requests="<img src=x onerror=alert(2)>")
    sent = post_signed(admin, payload, secret=WEBHOOK_SECRET)
    assert sent.status_code == 200, sent.text
    page = admin.get(f"/admin/inbox/{sent.json()['inbox_id']}")
    assert page.status_code == 200
    html = page.text
    assert SCRIPT not in html and "<img src=x" not in html
    shown = re.search(r'<pre class="payload"[^>]*>(.*?)</pre>', html, re.S)
    assert shown, html
    assert "&#34;guest_name&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in shown.group(1)
    assert unescape(shown.group(1)) == json.dumps(payload, indent=2)  # pretty-printed, nothing lost
    assert "Booking</dt>" in html and "&lt;script&gt;alert(1)&lt;/script&gt; ·" in html  # the linked booking's guest
    assert re.search(r"Booking</dt>\s*<dd>\s*<a href=\"/admin/bookings/\d+\">", html)
    listing = admin.get("/admin/inbox").text
    assert SCRIPT not in listing


def test_a_payload_that_is_not_json_is_shown_as_received(admin: TestClient, db: Database) -> None:
    raw = b'{"booking_id": "X", <script>alert(1)</script>'
    sent = post_signed(admin, None, secret=WEBHOOK_SECRET, raw=raw)
    assert sent.status_code == 400
    event_id = admin.get("/api/admin/inbox").json()["items"][0]["id"]
    html = admin.get(f"/admin/inbox/{event_id}").text
    assert "not valid JSON, shown as received" in html
    assert "{&#34;booking_id&#34;: &#34;X&#34;, &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "status-rejected" in html


def test_headers_hide_credentials_and_replay_applies_a_stored_event(admin: TestClient, db: Database) -> None:
    make_property(db)
    event_id = stored_event(db)
    page = admin.get(f"/admin/inbox/{event_id}")
    html = page.text
    assert "s3cr3t-key-value" not in html
    assert re.search(r"<dt>x-api-key</dt><dd><code>•••• \(hidden\)</code>", html)
    assert re.search(r"<dt>x-webhook-signature</dt><dd><code>sha256=abc123</code>", html)
    assert "status-received" in html and "not yet" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token

    refused = admin.post(f"/admin/inbox/{event_id}/replay", data={}, follow_redirects=False)
    assert refused.status_code == 403
    replayed = admin.post(
        f"/admin/inbox/{event_id}/replay", data={"csrf_token": token.group(1)}, follow_redirects=False
    )
    assert replayed.status_code == 303
    assert replayed.headers["location"] == f"/admin/inbox/{event_id}?done=replayed"
    after = admin.get(replayed.headers["location"]).text
    assert "Replayed: the event is now <strong>processed</strong>" in after
    assert "Walk In" in after and "Beach Condo 123" in after
    event = admin.get("/api/admin/inbox").json()["items"][0]
    assert (event["id"], event["status"], event["attempts"]) == (event_id, "processed", 1)
    assert event["booking_id"] is not None

    # Replaying again is harmless: the booking is unchanged.
    again = admin.post(f"/admin/inbox/{event_id}/replay", data={"csrf_token": token.group(1)})
    assert again.status_code == 200 and "now <strong>processed</strong>" in again.text
    bookings = admin.get("/api/bookings").json()
    assert bookings["total"] == 1


def test_the_list_filters_and_pages_newest_first(
    admin: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_property(db)
    ids = [post_signed(admin, flat_payload(booking_id=f"B{n}"), secret=WEBHOOK_SECRET).json()["inbox_id"]
           for n in range(3)]  # fmt: skip
    rejected = post_signed(admin, flat_payload(booking_id="BAD", check_out="2026-06-01"), secret=WEBHOOK_SECRET)
    assert rejected.status_code == 422
    stored = stored_event(db)

    def listed(html: str) -> list[int]:
        return [int(n) for n in re.findall(r'aria-label="Event (\d+)"', html)]

    everything = admin.get("/admin/inbox").text
    assert listed(everything) == sorted(listed(everything), reverse=True)
    assert len(listed(everything)) == 5
    assert listed(admin.get("/admin/inbox", params={"status": "received"}).text) == [stored]
    only_rejected = admin.get("/admin/inbox", params={"status": "rejected"}).text
    assert len(listed(only_rejected)) == 1 and "check_out" in only_rejected
    assert listed(admin.get("/admin/inbox", params={"provider": "guesty"}).text) == []
    assert '<option value="generic"' in everything

    bad = admin.get("/admin/inbox", params={"status": "lost"})
    assert bad.status_code == 422
    assert re.search(r'id="status-error" class="field-error">status must be one of', bad.text)

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first = admin.get("/admin/inbox").text
    assert listed(first) == [stored, ids[-1] + 1]
    assert "1\N{EN DASH}2 of 5" in first and "offset=2" in first
    second = admin.get("/admin/inbox", params={"offset": 2}).text
    assert listed(second) == [ids[2], ids[1]]
    assert "offset=0" in second and "offset=4" in second


def test_only_admins_and_staff_see_the_inbox(app_client: TestClient, db: Database) -> None:
    owner = make_owner(db)
    make_user(db, "dana@login.example", Role.owner, owner_id=owner)
    event_id = stored_event(db)
    assert app_client.get("/admin/inbox", follow_redirects=False).status_code == 303
    login(app_client, "dana@login.example")
    assert app_client.get("/admin/inbox").status_code == 403
    assert app_client.get(f"/admin/inbox/{event_id}").status_code == 403
    csrf = app_client.cookies.get("luxserv_csrf") or ""
    assert app_client.post(f"/admin/inbox/{event_id}/replay", data={"csrf_token": csrf}).status_code == 403
    app_client.cookies.clear()
    make_user(db, "staff@example.com", Role.staff)
    login(app_client, "staff@example.com")
    assert app_client.get(f"/admin/inbox/{event_id}").status_code == 200
    assert app_client.get("/admin/inbox/999").status_code == 404
    assert app_client.get("/admin/inbox/99999999999").status_code == 404
