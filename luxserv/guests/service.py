"""Guest profiles: same e-mail (any case) is the same guest, across every channel and stay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select
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
    email = _email(info)
    key = normalize_email(email)
    guest = None
    if key:
        guest = session.scalar(_BY_EMAIL, {"key": key})
    elif current is not None:
        guest = current
    if guest is None:
        return _insert(session, Guest(full_name=info.name, email=email, email_normalized=key, phone=info.phone))
    _refresh(guest, info)
    return guest


def upsert_for_new_bookings(session: Session, infos: Sequence[GuestInfo]) -> list[Guest]:
    """`upsert_from_booking` for the guests of several new bookings, in order, with a statement or two.

    The guests found are refreshed as each event would refresh them; a new e-mail makes one profile, shared by
    the later events that name it, and all new profiles with an e-mail are inserted in one statement. A
    concurrent insert of the same e-mail fails it (the caller then applies the events one by one).
    """
    emails = [_email(info) for info in infos]
    keys = [normalize_email(email) for email in emails]
    wanted = list({key for key in keys if key})
    known = {g.email_normalized: g for g in session.scalars(_BY_EMAILS, {"keys": wanted})} if wanted else {}
    fresh: dict[str, Guest] = {}  # new profiles by e-mail, as the events leave them (not in the session)
    anonymous: list[Guest] = []  # without an e-mail, each event makes its own profile
    for info, email, key in zip(infos, emails, keys, strict=True):
        if key is None:
            anonymous.append(Guest(full_name=info.name, email=None, email_normalized=None, phone=info.phone))
        elif key in known or key in fresh:
            _refresh(known.get(key) or fresh[key], info)
        else:
            fresh[key] = Guest(full_name=info.name, email=email, email_normalized=key, phone=info.phone)
    if fresh:
        rows = [{name: getattr(g, name) for name in _NEW_GUEST_COLUMNS} for g in fresh.values()]
        known.update({g.email_normalized: g for g in session.scalars(_INSERT_GUESTS, rows)})  # rows in any order
    session.add_all(anonymous)
    unnamed = iter(anonymous)
    return [known[key] if key else next(unnamed) for key in keys]


@dataclass(frozen=True)
class Profile:
    """What a booking event can change of a guest."""

    name: str
    phone: str | None
    email: str | None


def profile_after(profile: Profile | None, info: GuestInfo) -> Profile:
    """The guest's profile once `upsert_from_booking` has applied `info` to it (None: a new guest)."""
    email = _email(info)
    if profile is None:
        return Profile(info.name, info.phone, email)
    # Name and phone from the newest event; a missing e-mail never erases a known one.
    return Profile(info.name or profile.name, info.phone or profile.phone, email or profile.email)


def profiles(session: Session, keys: Sequence[str]) -> dict[str, Profile]:
    """The profiles of the guests with these (normalized) e-mails, by e-mail, in one query."""
    if not keys:
        return {}
    found = session.execute(_PROFILES, {"keys": list(keys)})
    return {key: Profile(name, phone, email) for key, name, phone, email in found if key}


def _email(info: GuestInfo) -> str | None:
    return info.email.strip() if info.email and info.email.strip() else None


def _refresh(guest: Guest, info: GuestInfo) -> None:
    after = profile_after(Profile(guest.full_name, guest.phone, guest.email), info)
    guest.full_name, guest.phone, guest.email = after.name, after.phone, after.email


_BY_EMAIL = select(Guest).where(Guest.email_normalized == bindparam("key"))
_NEW_GUEST_COLUMNS = ("full_name", "email", "email_normalized", "phone")
_INSERT_GUESTS = insert(Guest).returning(Guest)
_PROFILES = select(Guest.email_normalized, Guest.full_name, Guest.phone, Guest.email).where(
    Guest.email_normalized.in_(bindparam("keys", expanding=True))
)
_BY_EMAILS = select(Guest).where(Guest.email_normalized.in_(bindparam("keys", expanding=True)))


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
