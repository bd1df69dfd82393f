"""iCal feeds: adding one (URL encrypted), and syncing: blocks to `property_blocks`, stays through the inbox."""

from __future__ import annotations

import json
import logging
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from luxserv.audit.service import record
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.clock import local_today, utcnow
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.errors import Conflict, InvalidInput, LuxServError, NotFound
from luxserv.guests.models import Guest
from luxserv.inbox import flows
from luxserv.inbox.models import InboxEvent, InboxStatus
from luxserv.inbox.service import NewEvent
from luxserv.integrations.http import HttpOptions
from luxserv.integrations.ical.fetch import fetch_feed
from luxserv.integrations.ical.parse import EntryKind, FeedEntry, parse_feed
from luxserv.integrations.ical.plan import FeedInfo, KnownBooking, plan
from luxserv.integrations.ical.provider import NAME
from luxserv.integrations.models import IcalFeed, PropertyBlock
from luxserv.integrations.registry import Providers
from luxserv.properties.models import Property
from luxserv.sync.service import SyncReport

log = logging.getLogger(__name__)
MAX_URL_LENGTH = 2000
CHANNELS = {
    "airbnb": "airbnb",
    "vrbo": "vrbo",
    "homeaway": "vrbo",
    "booking.com": "booking.com",
    "booking": "booking.com",
    "bookingcom": "booking.com",
    "other": "other",
}


def validate_feed_url(url: str) -> str:
    """An absolute http(s) URL (a `webcal://` link is read over https). The URL itself is never echoed back."""
    text = url.strip()
    if text.lower().startswith("webcal://"):
        text = "https://" + text[len("webcal://") :]
    if not text or len(text) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in text):
        raise InvalidInput("the feed URL is empty, too long or contains spaces", field="url")
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise InvalidInput("the feed URL is not a valid URL", field="url") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the feed URL must be an http:// or https:// address with a host", field="url")
    return text


def add_feed(session: Session, vault: Vault, *, property_id: int, url: str, channel: str, actor: str) -> IcalFeed:
    """Register a property's exported calendar. The URL embeds a secret: it is stored encrypted only."""
    if session.get(Property, property_id) is None:
        raise NotFound(f"property {property_id} not found")
    clean = validate_feed_url(url)
    key = CHANNELS.get(channel.strip().lower())
    if key is None:
        raise InvalidInput("channel must be one of airbnb, vrbo, booking.com or other", field="channel")
    for existing in session.scalars(select(IcalFeed).where(IcalFeed.property_id == property_id)):
        if vault.decrypt(existing.url_encrypted) == clean:
            raise Conflict(f"this property already reads that feed (feed {existing.id})", field="url")
    feed = IcalFeed(property_id=property_id, channel=key, url_encrypted=vault.encrypt(clean), etag="", last_error="")
    session.add(feed)
    session.flush()
    record(
        session,
        actor=actor,
        action="ical_feed.created",
        entity_type="ical_feed",
        entity_id=feed.id,
        property_id=property_id,
        channel=key,
        host=urlsplit(clean).hostname,
    )
    return feed


def sync_feed(
    db: Database, providers: Providers, vault: Vault, feed_id: int, http: HttpOptions, *, today: date | None = None
) -> SyncReport:
    """Fetch one feed and bring the property in step with it. A failed fetch changes nothing and is recorded on
    the feed (`last_error`); a 304 Not Modified changes nothing either. `today` (the property's local date by
    default) decides which stays are over: those are neither imported nor cancelled."""
    report = SyncReport(source=f"ical feed #{feed_id}")
    with db.unit_of_work(write=False) as session:
        row = session.get(IcalFeed, feed_id)
        if row is None:
            raise NotFound(f"iCal feed {feed_id} not found")
        prop = session.get(Property, row.property_id)
        feed = FeedInfo(id=row.id, property_id=row.property_id, channel=row.channel)
        url, etag = vault.decrypt(row.url_encrypted), row.etag
        day = today or local_today(prop.time_zone if prop else "UTC")
    new_etag: str | None = None
    try:
        fetched = fetch_feed(url, etag=etag, http=http, label=report.source)
        if not fetched.not_modified:
            entries = parse_feed(fetched.body, feed.channel)
            _store_blocks(db, feed, entries)
            for change in plan(feed, entries, _known(db, feed.id), day):
                body = json.dumps(change.body, sort_keys=True).encode()
                new = NewEvent(provider=NAME, event_id=change.event_id, source="sync", body=body)
                report.count(flows.receive(db, providers, new, actor=f"sync:ical:{feed_id}"))
        if not report.statuses.get("failed"):  # a failed apply is retried by the worker; re-read this version too
            new_etag = fetched.etag
    except LuxServError as error:
        report.error = error.message
    except Exception as error:  # a feed answering nonsense must not kill the worker
        log.exception("sync of iCal feed %s failed", feed_id)
        report.error = f"{type(error).__name__}: {error}"
    _finish(db, feed_id, report.error, new_etag)
    return report


def sync_all_feeds(
    db: Database,
    providers: Providers,
    vault: Vault,
    http: HttpOptions,
    property_id: int | None = None,
    *,
    today: date | None = None,
) -> list[SyncReport]:
    """Sync every enabled feed (of one property, if given), one after another; one failing does not stop the rest."""
    ids = enabled_feed_ids(db, property_id)
    return [sync_feed(db, providers, vault, feed_id, http, today=today) for feed_id in ids]


def enabled_feed_ids(db: Database, property_id: int | None = None) -> list[int]:
    with db.unit_of_work(write=False) as session:
        query = select(IcalFeed.id).where(IcalFeed.enabled.is_(True)).order_by(IcalFeed.id)
        if property_id is not None:
            query = query.where(IcalFeed.property_id == property_id)
        return list(session.scalars(query))


def _finish(db: Database, feed_id: int, error: str, etag: str | None) -> None:
    values: dict[str, object] = {"last_error": error}
    if not error and etag is not None:  # the ETag is kept only once everything in that version was handled
        values.update(etag=etag, last_fetched_at=utcnow())
    with db.unit_of_work() as session:
        session.execute(update(IcalFeed).where(IcalFeed.id == feed_id).values(**values))


def _store_blocks(db: Database, feed: FeedInfo, entries: list[FeedEntry]) -> None:
    """Mirror the feed's blocks: new ones added, changed ones updated in place, vanished ones removed."""
    source = f"ical:{feed.id}"
    wanted = {e.uid: e for e in entries if e.kind == EntryKind.block}
    with db.unit_of_work() as session:
        session.get(IcalFeed, feed.id, with_for_update=True)  # one sync of a feed writes its blocks at a time
        existing = {b.uid: b for b in session.scalars(select(PropertyBlock).where(PropertyBlock.source == source))}
        for uid, block in existing.items():
            if uid not in wanted:
                session.delete(block)
        for uid, entry in wanted.items():
            block = existing.get(uid) or PropertyBlock(property_id=feed.property_id, source=source, uid=uid)
            block.starts_on, block.ends_on, block.summary = entry.start, entry.end, entry.summary[:300]
            session.add(block)


def _known(db: Database, feed_id: int) -> dict[str, KnownBooking]:
    """The bookings earlier syncs of this feed made, by UID."""
    prefix = f"{feed_id}:"
    with db.unit_of_work(write=False) as session:
        rows = session.execute(
            select(Booking, Guest.full_name)
            .join(Guest, Guest.id == Booking.guest_id)
            .where(Booking.provider == NAME, Booking.external_id.startswith(prefix, autoescape=True))
        ).all()
        known: dict[str, KnownBooking] = {}
        for booking, name in rows:
            uid = booking.external_id[len(prefix) :]
            known[uid] = KnownBooking(
                id=booking.id,
                uid=uid,
                status=booking.status,
                check_in=booking.check_in,
                check_out=booking.check_out,
                guest_name=name,
                guest_count=booking.guest_count,
                special_requests=booking.special_requests,
                updated_at=booking.updated_at,
                confirmation_code=booking.confirmation_code,
                cancelled_by_feed=booking.status == BookingStatus.cancelled and _cancelled_by_feed(session, booking),
            )
        return known


def _cancelled_by_feed(session: Session, booking: Booking) -> bool:
    """True when the booking's last applied feed event cancelled it, and nothing cancelled it again since."""
    last = session.scalar(
        select(InboxEvent)
        .where(InboxEvent.booking_id == booking.id, InboxEvent.provider == NAME)
        .where(InboxEvent.status == InboxStatus.processed)
        .order_by(InboxEvent.id.desc())
        .limit(1)
    )
    if last is None or last.processed_at is None or booking.cancelled_at is None:
        return False
    try:
        status = json.loads(last.body).get("status")
    except (ValueError, AttributeError):
        return False
    return bool(status == "cancelled" and last.processed_at >= booking.cancelled_at)
