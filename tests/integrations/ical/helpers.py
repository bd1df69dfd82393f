"""A fake feed server (httpx.MockTransport) and a sync environment for the iCal import tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from luxserv.bookings.models import Booking
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.inbox.models import InboxEvent
from luxserv.integrations.generic import GenericProvider
from luxserv.integrations.http import HttpOptions
from luxserv.integrations.ical import IcalProvider
from luxserv.integrations.ical.service import add_feed, sync_feed
from luxserv.integrations.manual import ManualProvider
from luxserv.integrations.models import IcalFeed, PropertyBlock
from luxserv.integrations.registry import Providers
from luxserv.sync.service import SyncReport

FEEDS = Path(__file__).parent / "feeds"
TODAY = date(2027, 3, 1)
SECRET = "f3c9a1b2d4e5f60718293a4b5c6d7e8f"
URLS = {
    "airbnb": f"https://www.airbnb.com/calendar/ical/40512345.ics?s={SECRET}",
    "vrbo": "https://www.vrbo.com/icalendar/7c1e9d0b2f4a4e6b8d3a5c7e9f1b2d4c.ics?nonTentative",
    "booking.com": f"https://admin.booking.com/hotel/hoteladmin/ical.html?t={SECRET}",
}
FILES = {"airbnb": "airbnb.ics", "vrbo": "vrbo.ics", "booking.com": "booking.ics"}


def feed_bytes(channel: str) -> bytes:
    """The feed file as served: bytes, since a fold may split a UTF-8 character (as RFC 5545 allows)."""
    return (FEEDS / FILES[channel]).read_bytes()


@dataclass
class FeedServer:
    """Serves each feed by path with an ETag (unless `etags` is off); can fail with a status or a timeout."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    failure: int | str | None = None
    etags: bool = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failure == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if isinstance(self.failure, int):
            return httpx.Response(self.failure, text="upstream trouble")
        body = self.bodies[request.url.path]
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if self.etags:
            headers["ETag"] = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if request.headers.get("if-none-match") == headers["ETag"]:
                return httpx.Response(304, headers=headers)
        return httpx.Response(200, content=body, headers=headers)

    def serve(self, channel: str, body: bytes | str) -> None:
        self.bodies[httpx.URL(URLS[channel]).path] = body.encode() if isinstance(body, str) else body


@dataclass
class Env:
    db: Database
    vault: Vault
    server: FeedServer
    property_id: int

    @property
    def providers(self) -> Providers:
        generic = GenericProvider.from_secrets(["test-webhook-secret"])
        return Providers([generic, ManualProvider.create(), IcalProvider.create()], db=self.db, vault=self.vault)

    @property
    def http(self) -> HttpOptions:
        return HttpOptions(transport=httpx.MockTransport(self.server), sleep=lambda _: None, max_attempts=2)

    def add(self, channel: str, body: bytes | None = None, url: str | None = None) -> int:
        self.server.serve(channel, feed_bytes(channel) if body is None else body)
        with self.db.unit_of_work() as session:
            feed = add_feed(
                session,
                self.vault,
                property_id=self.property_id,
                url=url or URLS[channel],
                channel=channel,
                actor="test",
            )
            return feed.id

    def sync(self, feed_id: int, today: date = TODAY) -> SyncReport:
        return sync_feed(self.db, self.providers, self.vault, feed_id, self.http, today=today)

    def bookings(self) -> list[Booking]:
        with self.db.unit_of_work(write=False) as session:
            return list(session.scalars(select(Booking).order_by(Booking.check_in)))

    def blocks(self) -> list[PropertyBlock]:
        with self.db.unit_of_work(write=False) as session:
            return list(session.scalars(select(PropertyBlock).order_by(PropertyBlock.starts_on)))

    def feed(self, feed_id: int) -> IcalFeed:
        with self.db.unit_of_work(write=False) as session:
            row = session.get(IcalFeed, feed_id)
            assert row is not None
            return row

    def inbox(self) -> list[InboxEvent]:
        with self.db.unit_of_work(write=False) as session:
            return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))

    def snapshot(self) -> Any:
        """Everything a sync may change, to prove one changed nothing."""
        with self.db.unit_of_work(write=False) as session:
            bookings = session.execute(
                select(Booking.id, Booking.status, Booking.check_in, Booking.check_out, Booking.updated_at)
            ).all()
            blocks = session.execute(
                select(PropertyBlock.id, PropertyBlock.uid, PropertyBlock.starts_on, PropertyBlock.ends_on)
            ).all()
            inbox = session.scalar(select(func.count()).select_from(InboxEvent))
        return sorted(bookings), sorted(blocks), inbox
