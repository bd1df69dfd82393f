"""Helpers for the admin page tests: stays made through `bookings.apply` (so their services are planned), signing
in through the API, reading a page's CSRF token and its rows, and counting SQL statements."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from luxserv.accounts.models import Role
from luxserv.bookings.apply import apply
from luxserv.core.database import Database
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from tests.factories import login, make_user


def stay(
    db: Database,
    property_id: int | None,
    external_id: str,
    check_in: date,
    nights: int,
    *,
    guest: str = "Sarah Johnson",
    email: str | None = None,
    kind: EventKind = EventKind.created,
    **extra: Any,
) -> tuple[int, int]:
    """A booking as a channel would send it: (booking id, guest id)."""
    ev = BookingEvent(
        kind=kind,
        provider=extra.pop("provider", "manual"),
        external_id=external_id,
        listing=ListingRef(property_id=property_id, name=extra.pop("listing_name", None)),
        guest=GuestInfo(
            name=guest, email=email or f"{guest.split()[0].lower()}@example.com", phone=extra.pop("phone", None)
        ),
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
        guest_count=extra.pop("guest_count", 2),
        **extra,
    )
    with db.unit_of_work() as session:
        booking = apply(session, ev, actor="test").booking
        return booking.id, booking.guest_id


def sign_in(
    client: TestClient,
    db: Database,
    email: str = "admin@example.com",
    role: Role = Role.admin,
    owner_id: int | None = None,
) -> int:
    """A login of that role, signed in on the client (the session cookie); returns the user's id."""
    user_id = make_user(db, email, role, owner_id=owner_id)
    login(client, email)
    return user_id


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def ids(html: str, kind: str) -> list[int]:
    """The ids of the rows a page lists, in order (`data-request="12"` and the like)."""
    return [int(found) for found in re.findall(rf'<tr data-{kind}="(\d+)"', html)]


def main(html: str) -> str:
    """The page's own content, without the layout's navigation."""
    start, end = html.index("<main"), html.index("</main>")
    return html[start:end]


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """Every SQL statement sent while the block runs."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
