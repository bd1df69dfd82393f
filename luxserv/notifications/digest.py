"""The daily digest: one e-mail a day gathering the notices a person asked to get that way.

Sent once per local day (`DEFAULT_TIME_ZONE`) at or after 07:00, to each active user with pending entries. The
outbox key `digest:<user>:<local date>` makes it once a day even across workers; the entries it lists are marked
in the same transaction, so entries that arrive after today's digest wait for tomorrow's.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from luxserv.accounts.models import User
from luxserv.core.database import Database
from luxserv.core.links import absolute
from luxserv.notifications.models import DigestEntry
from luxserv.notifications.render import render_html, render_text
from luxserv.outbox.enqueue import enqueue
from luxserv.outbox.models import OutboxMessage
from luxserv.properties.models import DEFAULT_TIME_ZONE

TOPIC = "notifications.digest"
SEND_AFTER = time(7, 0)
log = logging.getLogger(__name__)


def digest_key(user_id: int, day: date) -> str:
    return f"digest:{user_id}:{day.isoformat()}"


def send_digests(db: Database, *, now: datetime) -> int:
    """Queue today's digest for every user who has pending entries; returns how many were queued."""
    zone = ZoneInfo(DEFAULT_TIME_ZONE)
    local = now.astimezone(zone)
    if local.time() < SEND_AFTER:
        return 0
    with db.unit_of_work(write=False) as session:
        users = list(session.scalars(select(DigestEntry.user_id).where(DigestEntry.digested_at.is_(None)).distinct()))
    sent = 0
    for user_id in sorted(users):
        with db.unit_of_work() as session:  # one user's failure leaves the others' digests alone
            sent += send_digest(session, user_id, now=now, day=local.date())
    if sent:
        log.info("queued %d daily digest(s) for %s", sent, local.date())
    return sent


def send_digest(session: Session, user_id: int, *, now: datetime, day: date) -> bool:
    """Queue one user's digest for `day` and mark its entries; False if already sent today or nothing waits."""
    key = digest_key(user_id, day)
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None:
        return False  # today's is out: what arrived since waits for tomorrow
    user = session.get(User, user_id)
    if user is None or not user.is_active or not user.email:
        return False
    entries = list(
        session.scalars(
            select(DigestEntry)
            .where(DigestEntry.user_id == user_id, DigestEntry.digested_at.is_(None))
            .order_by(DigestEntry.created_at, DigestEntry.id)
            .with_for_update()
        )
    )
    if not entries:
        return False
    zone = ZoneInfo(DEFAULT_TIME_ZONE)
    values: dict[str, Any] = {
        "day": f"{day:%A, %B %d, %Y}",
        "entries": [
            {
                "title": e.title,
                "time": f"{e.created_at.astimezone(zone):%b %d %H:%M}",
                "link": absolute(session, e.link) if e.link.startswith("/") else e.link,
            }
            for e in entries
        ],
        "settings_link": absolute(session, "/account/notifications"),
    }
    count = len(entries)
    payload = {
        "subject": f"Your LuxServ digest for {day:%b %d}: {count} notification{'' if count == 1 else 's'}",
        "text": render_text("digest.txt", values),
        "html": render_html("digest.html", values),
        "user_id": user_id,
    }
    message = enqueue(session, dedupe_key=key, channel="email", topic=TOPIC, recipient=user.email, payload=payload)
    if message is None:
        return False
    for entry in entries:
        entry.digested_at = now
    session.flush()
    return True
