"""Guest profiles: same e-mail (any case) is the same guest, across every channel and stay."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from luxserv.core.database import race_savepoint
from luxserv.core.errors import NotFound
from luxserv.guests.models import Guest
from luxserv.integrations.base import GuestInfo


def normalize_email(email: str | None) -> str | None:
    return email.strip().lower() if email and email.strip() else None


def upsert_from_booking(session: Session, info: GuestInfo, *, current: Guest | None = None) -> Guest:
    """The guest for a booking event: found by e-mail, else the booking's current guest, else a new profile.

    Name and phone are refreshed from the newest event; a missing e-mail never erases a known one.
    """
    email = info.email.strip() if info.email and info.email.strip() else None
    key = normalize_email(email)
    guest = None
    if key:
        guest = session.scalar(_BY_EMAIL, {"key": key})
    elif current is not None:
        guest = current
    if guest is None:
        return _insert(session, Guest(full_name=info.name, email=email, email_normalized=key, phone=info.phone))
    guest.full_name = info.name or guest.full_name
    guest.phone = info.phone or guest.phone
    if email:
        guest.email = email
    return guest


_BY_EMAIL = select(Guest).where(Guest.email_normalized == bindparam("key"))


def _insert(session: Session, guest: Guest) -> Guest:
    # Two events for one new guest may race: the loser finds the winner's row instead of failing.
    try:
        with race_savepoint(session):
            session.add(guest)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Guest).where(Guest.email_normalized == guest.email_normalized))
        if existing is None:
            raise
        return existing
    return guest


def get_with_history(session: Session, guest_id: int) -> Guest:
    """A guest and every stay, newest first."""
    guest = session.scalar(select(Guest).where(Guest.id == guest_id).options(selectinload(Guest.bookings)))
    if guest is None:
        raise NotFound(f"guest {guest_id} not found")
    return guest
