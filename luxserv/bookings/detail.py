"""Everything the admin page of one booking shows: the guest and their other stays, the home and what happens there
around these dates, the services of the stay, the messages, where the booking came from, and its audit trail.

A fixed number of queries, whatever the guest's or the home's history; nothing is loaded lazily afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, load_only, raiseload

from luxserv.audit.models import AuditEntry
from luxserv.bookings.models import Booking, BookingMessage
from luxserv.calendars import timeline
from luxserv.core.errors import NotFound
from luxserv.inbox.models import InboxEvent
from luxserv.properties.maintenance import DUE_WITHIN_DAYS, MaintenanceView, local_date, state_of
from luxserv.properties.models import MaintenanceItem, MaintenanceStatus, Property
from luxserv.services import queue
from luxserv.services.requests import RequestFilter

NEARBY_DAYS = 14  # other stays at the home this many days either side of the stay
HISTORY_LIMIT = 50  # at most this many of the guest's other stays
SERVICES_LIMIT = 200


@dataclass(frozen=True)
class BookingDetail:
    booking: Booking  # with guest, property and owner
    today: date  # at the home (or the default time zone while unplaced)
    other_stays: list[Booking]  # the guest's other bookings, latest first, with their homes
    nearby: list[Booking]  # other bookings at the home around these dates, with their guests
    maintenance: list[MaintenanceView]  # open items due by the end of the stay (and a little after)
    services: list[queue.QueueRow]  # requests tied to this stay
    messages: list[BookingMessage]
    events: list[InboxEvent]  # the inbound events that created or changed it (bodies not loaded)
    audit: list[AuditEntry]
    actors: dict[str, str]
    around: timeline.Timeline | None  # the home's timeline around the stay (None while unplaced)

    @property
    def upcoming_stays(self) -> list[Booking]:
        return [b for b in self.other_stays if b.check_in > self.booking.check_in]

    @property
    def earlier_stays(self) -> list[Booking]:
        return [b for b in self.other_stays if b.check_in <= self.booking.check_in]


def booking_detail(session: Session, booking_id: int, *, today: date) -> BookingDetail:
    """The booking page's content. `today` is used while the booking has no home (else the home's local date)."""
    booking = session.scalar(
        select(Booking)
        .options(
            joinedload(Booking.guest),
            joinedload(Booking.property).joinedload(Property.owner),
            raiseload("*"),
        )
        .where(Booking.id == booking_id)
    )
    if booking is None:
        raise NotFound(f"booking {booking_id} not found")
    prop = booking.property
    if prop is not None:
        today = local_date(prop)
    other_stays = list(
        session.scalars(
            select(Booking)
            .options(joinedload(Booking.property), raiseload("*"))
            .where(Booking.guest_id == booking.guest_id, Booking.id != booking.id)
            .order_by(Booking.check_in.desc(), Booking.id.desc())
            .limit(HISTORY_LIMIT)
        )
    )
    nearby: list[Booking] = []
    maintenance: list[MaintenanceView] = []
    around = None
    if prop is not None:
        nearby = list(
            session.scalars(
                select(Booking)
                .options(joinedload(Booking.guest), raiseload("*"))
                .where(
                    Booking.property_id == prop.id,
                    Booking.id != booking.id,
                    Booking.check_out >= booking.check_in - timedelta(days=NEARBY_DAYS),
                    Booking.check_in <= booking.check_out + timedelta(days=NEARBY_DAYS),
                )
                .order_by(Booking.check_in, Booking.id)
            )
        )
        items = session.scalars(
            select(MaintenanceItem)
            .where(
                MaintenanceItem.property_id == prop.id,
                MaintenanceItem.status == MaintenanceStatus.open,
                MaintenanceItem.due_on <= booking.check_out + timedelta(days=DUE_WITHIN_DAYS),
            )
            .order_by(MaintenanceItem.due_on, MaintenanceItem.id)
        )
        maintenance = [MaintenanceView(item, state_of(item, today)) for item in items]
        around = timeline.build(session, window_around(booking), today=today, property_ids=[prop.id])
    services = queue.queue(session, RequestFilter(booking_id=booking.id), limit=SERVICES_LIMIT).rows
    messages = list(
        session.scalars(
            select(BookingMessage)
            .where(BookingMessage.booking_id == booking.id)
            .order_by(BookingMessage.sent_at.asc().nulls_last(), BookingMessage.id)
        )
    )
    events = list(
        session.scalars(
            select(InboxEvent)
            .options(
                load_only(
                    InboxEvent.id,
                    InboxEvent.provider,
                    InboxEvent.event_id,
                    InboxEvent.source,
                    InboxEvent.status,
                    InboxEvent.received_at,
                    InboxEvent.error,
                ),
                raiseload("*"),
            )
            .where(InboxEvent.booking_id == booking.id)
            .order_by(InboxEvent.received_at, InboxEvent.id)
        )
    )
    audit = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "booking", AuditEntry.entity_id == booking.id)
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )
    return BookingDetail(
        booking=booking,
        today=today,
        other_stays=other_stays,
        nearby=nearby,
        maintenance=maintenance,
        services=services,
        messages=messages,
        events=events,
        audit=audit,
        actors=queue.actor_labels(session, [a.actor for a in audit]),
        around=around,
    )


def window_around(booking: Booking) -> timeline.Window:
    """Two weeks or more around a stay: from three days before check-in to a few days after check-out."""
    days = min(timeline.MAX_DAYS, max(14, booking.nights + 7))
    return timeline.Window.span(booking.check_in - timedelta(days=3), days)
