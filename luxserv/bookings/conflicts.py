"""Double bookings: two live stays on one property overlapping (usually two channels out of sync)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from luxserv.accounts.models import Role, User
from luxserv.audit.service import record
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.outbox.models import Notification
from luxserv.properties.models import Property


def overlapping(session: Session, booking: Booking) -> list[Booking]:
    """Other non-cancelled bookings of the same property whose nights overlap this one's."""
    if booking.property_id is None or booking.status == BookingStatus.cancelled:
        return []
    return list(
        session.scalars(
            select(Booking)
            .where(
                Booking.property_id == booking.property_id,
                Booking.id != booking.id,
                Booking.status != BookingStatus.cancelled,
                Booking.check_in < booking.check_out,
                Booking.check_out > booking.check_in,
            )
            .order_by(Booking.check_in)
        )
    )


def alert_overlaps(session: Session, booking: Booking, *, actor: str) -> list[Booking]:
    """Tell every admin (in-app feed) and the audit log about overlaps; returns the conflicting bookings."""
    others = overlapping(session, booking)
    if not others:
        return []
    prop = session.get(Property, booking.property_id)
    name = prop.name if prop else f"property {booking.property_id}"
    title = f"Double booking at {name}"
    body = "; ".join(
        f"{b.provider} {b.external_id} ({b.check_in:%b %d} to {b.check_out:%b %d})" for b in [booking, *others]
    )
    admins = session.scalars(select(User.id).where(User.role == Role.admin, User.is_active.is_(True)))
    for admin_id in admins:
        session.add(
            Notification(user_id=admin_id, topic="booking.double_booked", title=title, body=body,
                         link=f"/admin/bookings/{booking.id}")
        )  # fmt: skip
    record(
        session,
        actor=actor,
        action="booking.double_booked",
        entity_type="booking",
        entity_id=booking.id,
        overlaps=[b.id for b in others],
    )
    return others
