"""Double bookings: two live stays on one property overlapping (usually two channels out of sync)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from luxserv.accounts.models import Role, User
from luxserv.audit.service import record
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.links import absolute
from luxserv.guests.models import Guest
from luxserv.notifications.dispatch import Notice, to_user
from luxserv.notifications.render import render_html, render_text
from luxserv.outbox.sender import one_line
from luxserv.properties.models import Property

OVERLAP = "booking.overlap"


def overlapping(session: Session, booking: Booking) -> list[Booking]:
    """Other non-cancelled bookings of the same property whose nights overlap this one's."""
    if booking.property_id is None or booking.status == BookingStatus.cancelled:
        return []
    found = session.connection().execute(
        _OVERLAPPING,
        {"property_id": booking.property_id, "id": booking.id, "check_in": booking.check_in,
         "check_out": booking.check_out},
    ).scalars().all()  # fmt: skip
    if not found:  # the usual answer, read without building any booking object
        return []
    return _stays(session, found)


def _stays(session: Session, ids: Sequence[int]) -> list[Booking]:
    return list(session.scalars(select(Booking).where(Booking.id.in_(ids)).order_by(Booking.check_in)))


_bookings = Booking.__table__
_OVERLAPPING = select(_bookings.c.id).where(  # Core on the table, built once
    _bookings.c.property_id == bindparam("property_id"),
    _bookings.c.id != bindparam("id"),
    _bookings.c.status != BookingStatus.cancelled,
    _bookings.c.check_in < bindparam("check_out", type_=_bookings.c.check_in.type),
    _bookings.c.check_out > bindparam("check_in", type_=_bookings.c.check_out.type),
)


def alert_new_overlaps(session: Session, bookings: Sequence[Booking], actors: Sequence[str]) -> None:
    """`alert_overlaps` for several bookings inserted in this transaction, in order, with one query for all.

    Each booking is checked against the stays stored before it and those earlier in `bookings`, as if each had
    been applied alone, one after the other: a later booking of the same batch is not yet there.
    """
    live = [(n, b) for n, b in enumerate(bookings) if b.property_id is not None and b.status != BookingStatus.cancelled]
    if not live:
        return
    spans: dict[int, tuple[date, date]] = {}
    for _, b in live:
        assert b.property_id is not None
        first, last = spans.get(b.property_id, (b.check_in, b.check_out))
        spans[b.property_id] = (min(first, b.check_in), max(last, b.check_out))
    found = session.connection().execute(
        select(_bookings.c.id, _bookings.c.property_id, _bookings.c.check_in, _bookings.c.check_out).where(
            _bookings.c.status != BookingStatus.cancelled,
            or_(*(
                and_(_bookings.c.property_id == home, _bookings.c.check_in < last, _bookings.c.check_out > first)
                for home, (first, last) in spans.items()
            )),
        )
    ).all()  # fmt: skip
    position = {b.id: n for n, b in enumerate(bookings)}
    for n, booking in live:
        clash = [
            row.id for row in found
            if row.property_id == booking.property_id and row.id != booking.id
            and row.check_in < booking.check_out and row.check_out > booking.check_in
            and position.get(row.id, -1) < n
        ]  # fmt: skip
        if clash:  # rare: then read the stays as `alert_overlaps` does
            alert_overlaps(session, booking, actor=actors[n], others=_stays(session, clash))


def alert_overlaps(
    session: Session, booking: Booking, *, actor: str, others: list[Booking] | None = None
) -> list[Booking]:
    """Tell every active admin (topic `booking.overlap`, as each chose) and the audit log about overlaps.

    Returns the conflicting bookings (`others`, when the caller found them already). The notice's key names the
    booking, its dates and the stays it overlaps, so the same conflict found again writes nothing new.
    """
    if others is None:
        others = overlapping(session, booking)
    if not others:
        return []
    prop = session.get(Property, booking.property_id)
    name = prop.name if prop else f"property {booking.property_id}"
    stays = [booking, *others]
    found = session.scalars(select(Guest).where(Guest.id.in_({b.guest_id for b in stays})))
    guests = {g.id: g.full_name for g in found}
    listed = [
        {"summary": f"{b.provider} {b.external_id} ({b.check_in:%b %d} to {b.check_out:%b %d})",
         "guest_name": guests.get(b.guest_id, "")}
        for b in stays
    ]  # fmt: skip
    path = f"/admin/bookings/{booking.id}"
    values = {"property_name": name, "bookings": listed, "link": absolute(session, path)}
    text, html = render_text("booking_overlap.txt", values), render_html("booking_overlap.html", values)
    conflict = f"{booking.id}:{booking.check_in:%Y%m%d}-{booking.check_out:%Y%m%d}:" + ",".join(
        str(b.id) for b in sorted(others, key=lambda b: b.id)
    )
    if len(conflict) > 120:  # many overlapping stays: keep the key short, and still unique per conflict
        conflict = hashlib.sha256(conflict.encode()).hexdigest()[:40]
    admins = session.scalars(select(User).where(User.role == Role.admin, User.is_active.is_(True)).order_by(User.id))
    for admin in admins:
        notice = Notice(
            key=f"{OVERLAP}:{conflict}:user-{admin.id}",
            topic=OVERLAP,
            subject=one_line(f"Double booking at {name}"),
            text=text,
            html=html,
            link=path,
            payload={"booking_id": booking.id},
        )
        to_user(session, admin.id, admin.email, notice)
    record(
        session,
        actor=actor,
        action="booking.double_booked",
        entity_type="booking",
        entity_id=booking.id,
        overlaps=[b.id for b in others],
    )
    return others
