"""The calendar subscription feed (`GET /calendars/{token}.ics`, no login: the token is the credential) and the
JSON calls that show or rotate an owner's URL."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from luxserv.accounts.models import Role, User
from luxserv.calendars.service import export_url, render_calendar, rotate
from luxserv.core.crypto import Vault
from luxserv.core.errors import NotFound, PermissionDenied
from luxserv.properties.models import Property
from luxserv.web.deps import CurrentUser, SessionDep, SettingsDep

router = APIRouter(tags=["calendars"])


class CalendarUrl(BaseModel):
    url: str


@router.get("/calendars/{token}.ics", operation_id="calendar_feed", include_in_schema=False)
def calendar_feed(token: str, session: SessionDep) -> Response:
    """The owner's calendar. Unknown, rotated and malformed tokens all get the same 404."""
    if not 16 <= len(token) <= 100:
        raise NotFound("calendar not found")
    return Response(
        content=render_calendar(session, token),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": 'inline; filename="luxserv.ics"',
            "X-Robots-Tag": "noindex",
        },
    )


@router.post("/api/calendars/properties/{property_id}", operation_id="calendar_url", response_model=CalendarUrl)
def calendar_url(property_id: int, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> CalendarUrl:
    """The subscription URL for one property: an owner's own, or (for admins and staff) its owner's."""
    owner_id = _owner_for(session, user, property_id)
    url = export_url(session, Vault(settings), settings.base_url, owner_id=owner_id, property_id=property_id)
    return CalendarUrl(url=url)


@router.post(
    "/api/calendars/properties/{property_id}/rotate", operation_id="rotate_calendar_url", response_model=CalendarUrl
)
def rotate_calendar_url(property_id: int, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> CalendarUrl:
    """A new subscription URL; the previous one stops working."""
    owner_id = _owner_for(session, user, property_id)
    url = rotate(session, Vault(settings), settings.base_url, owner_id=owner_id, property_id=property_id)
    return CalendarUrl(url=url)


def _owner_for(session: Session, user: User, property_id: int) -> int:
    if user.role == Role.owner:
        if user.owner_id is None:
            raise PermissionDenied("this login is not linked to an owner")
        return user.owner_id
    if not user.is_staff_or_admin:
        raise PermissionDenied("this needs an owner, admin or staff account")
    prop = session.get(Property, property_id)
    if prop is None or prop.owner_id is None:
        raise NotFound(f"property {property_id} not found or has no owner")
    return prop.owner_id
