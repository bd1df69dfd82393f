"""Stored XSS: script and markup typed by a guest (name, special requests, a service request's notes) arrive
through the webhook and the guest portal, and are shown escaped on every page and in every e-mail."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.accounts.models import Role
from luxserv.app import create_app
from luxserv.bookings.models import Booking
from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.inbox.models import InboxEvent
from luxserv.outbox.models import OutboxMessage
from luxserv.portal.access import issue_code
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services.models import ServiceRequest
from tests.conftest import WEBHOOK_SECRET
from tests.factories import PASSWORD, flat_payload, make_owner, make_property, make_user, post_signed

SCRIPT = '<script>alert("xss")</script>'
IMG = "<img src=x onerror=alert(1)>"
RAW = (SCRIPT, IMG, "<script>", "<img src=x")  # escaped, they read &lt;script&gt; and are harmless


def assert_escaped(where: str, text: str) -> None:
    found = [needle for needle in RAW if needle in text]
    assert not found, f"{where} shows {found} unescaped"


def test_guest_typed_markup_is_escaped_on_every_page_and_in_every_email(db: Database, settings: Settings) -> None:
    owner = make_owner(db, email="dana@example.com")
    prop = make_property(db, owner_id=owner)
    make_user(db, "dana@example.com", Role.owner, owner_id=owner)
    make_user(db)
    today = local_today(DEFAULT_TIME_ZONE)
    with TestClient(create_app(settings, db, run_worker=False)) as client:
        payload = flat_payload(
            booking_id="XSS-1",
            guest_name=f"Eve {SCRIPT}",
            guest_email="eve@example.com",
            check_in=(today - timedelta(days=1)).isoformat(),
            check_out=(today + timedelta(days=5)).isoformat(),
            special_requests=f"Anniversary {IMG}",
        )
        assert post_signed(client, payload, secret=WEBHOOK_SECRET).status_code == 200
        with db.unit_of_work() as session:
            booking = session.scalars(select(Booking)).one()
            code = issue_code(session, booking)
            booking_id, guest_id = booking.id, booking.guest_id
        filed = client.post(
            f"/api/bookings/lookup/{code}/service-requests",
            json={"service_type": "beach_gear_delivery", "date": (today + timedelta(days=1)).isoformat(),
                  "notes": f"Umbrellas {SCRIPT} {IMG}"},
        )  # fmt: skip
        assert filed.status_code == 201, filed.text
        with db.unit_of_work(write=False) as session:
            request_id = session.scalars(
                select(ServiceRequest.id).where(ServiceRequest.notes.contains("Umbrellas"))
            ).one()
            inbox_id = session.scalars(select(InboxEvent.id)).first()
            mails = list(session.scalars(select(OutboxMessage)))
        assert mails
        for mail in mails:
            assert_escaped(f"e-mail {mail.topic} to {mail.recipient} (HTML)", str(mail.payload.get("html", "")))
            assert "\n" not in str(mail.payload.get("subject", ""))

        guest_page = client.get("/portal", params={"booking": code})
        assert guest_page.status_code == 200 and "Umbrellas" in guest_page.text
        assert_escaped("guest portal", guest_page.text)

        pages = {
            "admin": [
                "/admin", "/admin/calendar", "/admin/requests", f"/admin/requests/{request_id}", "/admin/bookings",
                f"/admin/bookings/{booking_id}", "/admin/guests", f"/admin/guests/{guest_id}", "/admin/inbox",
                f"/admin/inbox/{inbox_id}", "/admin/audit", "/admin/mail", "/notifications",
                f"/admin/properties/{prop}",
            ],
            "dana@example.com": ["/owner", f"/owner/properties/{prop}", "/notifications"],
        }  # fmt: skip
        for email, paths in pages.items():
            address = "admin@example.com" if email == "admin" else email
            assert client.post("/api/auth/login", json={"email": address, "password": PASSWORD}).status_code == 200
            for path in paths:
                page = client.get(path)
                assert page.status_code == 200, f"{path}: {page.status_code}"
                assert_escaped(f"{address} on {path}", page.text)
            if email == "admin":
                for mail in mails:
                    shown = client.get(f"/admin/mail/{mail.id}")
                    assert shown.status_code == 200
                    assert_escaped(f"/admin/mail/{mail.id}", shown.text)
        assert json.dumps(SCRIPT)  # the payloads above really contained markup
