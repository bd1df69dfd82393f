"""Finding bookings for the admin list: by stay dates, home, status, placement, and a search over the guest's name
or e-mail and the booking's confirmation code or channel id. Two queries per page (count and rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, raiseload

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.errors import InvalidInput
from luxserv.guests.models import Guest

MAX_QUERY = 100


@dataclass(frozen=True)
class BookingSearch:
    date_from: date | None = None  # stays that end on or after this day…
    date_to: date | None = None  # …and start on or before this day
    property_id: int | None = None
    status: BookingStatus | None = None
    unplaced: bool | None = None  # True: only unplaced; False: only placed
    query: str = ""  # part of the guest's name or e-mail, or of the confirmation code or channel id


def like_pattern(text: str) -> str:
    """A case-insensitive `LIKE` pattern for "contains `text`" (wildcards in `text` match themselves)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(
    session: Session, flt: BookingSearch, *, limit: int, offset: int, latest_first: bool = True
) -> tuple[list[Booking], int]:
    """A page of bookings with guest and home, by check-in (latest first unless asked), and how many match."""
    found = _query(flt)
    total = session.scalar(select(func.count()).select_from(found.subquery())) or 0
    order = (Booking.check_in.desc(), Booking.id.desc()) if latest_first else (Booking.check_in, Booking.id)
    rows = session.scalars(
        found.options(joinedload(Booking.guest), joinedload(Booking.property), raiseload("*"))
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def _query(flt: BookingSearch) -> Select[Booking]:
    if flt.date_from and flt.date_to and flt.date_to < flt.date_from:
        raise InvalidInput("the end of the date range is before its start", field="date_to")
    query_text = flt.query.strip()
    if len(query_text) > MAX_QUERY:
        raise InvalidInput(f"search for at most {MAX_QUERY} characters", field="q")
    found = select(Booking)
    if flt.date_from is not None:
        found = found.where(Booking.check_out >= flt.date_from)
    if flt.date_to is not None:
        found = found.where(Booking.check_in <= flt.date_to)
    if flt.property_id is not None:
        found = found.where(Booking.property_id == flt.property_id)
    if flt.status is not None:
        found = found.where(Booking.status == flt.status)
    if flt.unplaced is not None:
        found = found.where(Booking.property_id.is_(None) if flt.unplaced else Booking.property_id.is_not(None))
    if query_text:
        pattern = like_pattern(query_text)
        found = found.join(Guest, Guest.id == Booking.guest_id).where(
            or_(
                func.lower(Guest.full_name).like(pattern, escape="\\"),
                Guest.email_normalized.like(pattern, escape="\\"),
                func.lower(Booking.confirmation_code).like(pattern, escape="\\"),
                func.lower(Booking.external_id).like(pattern, escape="\\"),
            )
        )
    return found
