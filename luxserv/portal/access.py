"""Guest access codes: issuing the secret in a portal link, and opening a stay from it.

A code is 96 random bits (URL-safe, 16 characters); only its SHA-256 is stored. A code opens its booking until
noon UTC of the day after check-out plus `GRACE` (so a guest can still ask about a forgotten item), unless it is
revoked or the booking is cancelled. Every kind of failure gives the same `None`: a caller cannot tell a wrong code
from an expired one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.clock import utcnow
from luxserv.core.security import new_token, token_digest
from luxserv.portal.models import GuestAccessCode

GRACE = timedelta(days=3)
CODE_BYTES = 12  # 96 bits
_MAX_CODE_LENGTH = 64
_INSERT_CODE = insert(GuestAccessCode)  # column defaults (created_at) fill the rest


def expiry_for(booking: Booking) -> datetime:
    """When a code for this booking stops working."""
    return datetime.combine(booking.check_out, time(12), tzinfo=UTC) + GRACE


def issue_code(session: Session, booking: Booking) -> str:
    """A new access code for the booking; returns the raw code (shown once: in the welcome e-mail or the CLI)."""
    return issue_codes(session, [booking])[0]


def issue_codes(session: Session, bookings: Sequence[Booking]) -> list[str]:
    """`issue_code` for each booking, in one statement."""
    codes = [new_token(CODE_BYTES) for _ in bookings]
    if not codes:
        return codes
    session.flush()  # the bookings (and anything else pending) first, as adding the rows through the ORM would
    # A Core INSERT: the same rows, without building (and flushing) ORM objects that nothing here uses.
    rows = [
        {"booking_id": booking.id, "code_digest": token_digest(code), "expires_at": expiry_for(booking)}
        for booking, code in zip(bookings, codes, strict=True)
    ]
    session.connection().execute(_INSERT_CODE, rows[0] if len(rows) == 1 else rows)
    return codes


def booking_for_code(session: Session, code: str, *, now: datetime | None = None) -> Booking | None:
    """The live booking this code opens, or None (wrong, expired, revoked, cancelled, or unplaced)."""
    code = code.strip()
    if not code or len(code) > _MAX_CODE_LENGTH:
        return None
    row = session.scalar(select(GuestAccessCode).where(GuestAccessCode.code_digest == token_digest(code)))
    if row is None or row.revoked_at is not None or (now or utcnow()) >= row.expires_at:
        return None
    booking = session.scalar(
        select(Booking)
        .where(Booking.id == row.booking_id)
        .options(selectinload(Booking.guest), selectinload(Booking.property))
    )
    if booking is None or booking.status == BookingStatus.cancelled or booking.property_id is None:
        return None
    return booking


def revoke_codes(session: Session, booking_id: int) -> int:
    """Stop every code of a booking (e.g. when the guest's e-mail changed hands); returns how many."""
    rows = session.scalars(
        select(GuestAccessCode).where(GuestAccessCode.booking_id == booking_id, GuestAccessCode.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


def extend_codes(session: Session, booking: Booking) -> None:
    """Move the codes' expiry with the booking's check-out (called when a stay moves)."""
    for row in session.scalars(select(GuestAccessCode).where(GuestAccessCode.booking_id == booking.id)):
        row.expires_at = expiry_for(booking)
