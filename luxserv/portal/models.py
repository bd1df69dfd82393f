"""Guest access codes: the secret in a guest's portal link. Only the SHA-256 is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from luxserv.core.database import Base, UTCDateTime
from luxserv.core.models import created_at_column


class GuestAccessCode(Base):
    """One portal code for one booking. It stops working after check-out plus a grace period, or when revoked."""

    __tablename__ = "guest_access_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
