"""Guest profiles: one person across many stays."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from luxserv.core.database import Base
from luxserv.core.models import created_at_column, updated_at_column

if TYPE_CHECKING:
    from luxserv.bookings.models import Booking


class Guest(Base):
    __tablename__ = "guests"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    # Lower-cased e-mail: the identity of a guest across channels. NULL when a channel hides it.
    email_normalized: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(50), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    bookings: Mapped[list[Booking]] = relationship(back_populates="guest", order_by="Booking.check_in.desc()")
