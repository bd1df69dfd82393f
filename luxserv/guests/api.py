"""Guest profiles JSON API."""

from __future__ import annotations

from fastapi import APIRouter

from luxserv.bookings.schemas import GuestRead
from luxserv.guests.service import get_with_history
from luxserv.web.deps import AdminUser, SessionDep

router = APIRouter(prefix="/api", tags=["guests"])


@router.get("/guests/{guest_id}", operation_id="get_guest", response_model=GuestRead)
def get_guest(guest_id: int, session: SessionDep, user: AdminUser) -> GuestRead:
    """A guest with every stay, newest first."""
    return GuestRead.model_validate(get_with_history(session, guest_id))
