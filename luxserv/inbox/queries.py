"""Reading the inbox for people: one event with what it led to, the providers seen, and a readable payload."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from luxserv.bookings.models import Booking
from luxserv.core.errors import NotFound
from luxserv.inbox.models import InboxEvent

# Header names whose values are credentials wherever a sender puts them. Stored events never keep
# Authorization or Cookie (see `service.store`); these are masked when shown.
_SECRET_MARKERS = ("authorization", "cookie", "secret", "token", "password", "api-key", "apikey", "x-api-key")
MASK = "•••• (hidden)"
MAX_ID = 2**31 - 1


def get_event(session: Session, inbox_id: int) -> InboxEvent:
    """One event with its booking (and that booking's guest and property) loaded."""
    event = None
    if 1 <= inbox_id <= MAX_ID:  # larger ids cannot exist (and overflow the database's integers)
        event = session.scalar(
            select(InboxEvent)
            .where(InboxEvent.id == inbox_id)
            .options(
                selectinload(InboxEvent.booking).options(selectinload(Booking.guest), selectinload(Booking.property))
            )
        )
    if event is None:
        raise NotFound(f"inbox event {inbox_id} not found")
    return event


def providers_seen(session: Session) -> list[str]:
    """Every provider the inbox has events from, for a filter's choices."""
    return list(session.scalars(select(InboxEvent.provider).distinct().order_by(InboxEvent.provider)))


def shown_headers(headers: dict[str, Any]) -> list[tuple[str, str]]:
    """The stored headers by name, with credential-like values masked."""
    shown = []
    for name in sorted(headers, key=str.lower):
        lowered = name.lower()
        value = str(headers[name])
        shown.append((name, MASK if any(marker in lowered for marker in _SECRET_MARKERS) else value))
    return shown


def pretty_body(event: InboxEvent) -> tuple[str, bool]:
    """The body as indented JSON when it parses (True), else as received (False; bad bytes replaced)."""
    text = event.body.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=False), True
    except ValueError:
        return text, False
