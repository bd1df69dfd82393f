"""The signed-in user's notifications (the bell's feed) and how they want to be told, as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from luxserv.notifications import feed
from luxserv.notifications.models import EmailMode
from luxserv.web.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    topic: str
    title: str
    body: str
    link: str = Field(description="a path on this site, or empty")
    created_at: datetime
    read_at: datetime | None


class NotificationFeed(BaseModel):
    unread: int = Field(description="every unread notification of the user")
    total: int = Field(description="how many match the query")
    notifications: list[NotificationRead]


class MarkedRead(BaseModel):
    marked: int


class PreferenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    topic: str
    label: str
    email: EmailMode = Field(description="immediate, digest (one e-mail a day) or off")
    in_app: bool


class PreferenceWrite(BaseModel):
    topic: str = Field(max_length=80)
    label: str | None = Field(default=None, description="ignored; sent back by GET for display")
    email: EmailMode | None = Field(default=None, description="omitted: unchanged")
    in_app: bool | None = Field(default=None, description="omitted: unchanged")


class Preferences(BaseModel):
    preferences: list[PreferenceRead]


class PreferencesUpdate(BaseModel):
    preferences: list[PreferenceWrite] = Field(max_length=100, description="only the topics to change")


@router.get("", operation_id="list_notifications", response_model=NotificationFeed)
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    unread: Annotated[bool, Query(description="only unread notifications")] = False,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> NotificationFeed:
    """The signed-in user's notifications, newest first."""
    page = feed.feed(session, user.id, unread_only=unread, limit=limit, offset=offset)
    return NotificationFeed(
        unread=page.unread,
        total=page.total,
        notifications=[NotificationRead.model_validate(n) for n in page.notifications],
    )


@router.post("/read-all", operation_id="mark_all_notifications_read", response_model=MarkedRead)
def mark_all_notifications_read(session: SessionDep, user: CurrentUser) -> MarkedRead:
    """Mark every unread notification of the signed-in user read."""
    return MarkedRead(marked=feed.mark_all_read(session, user.id))


@router.post("/{notification_id}/read", operation_id="mark_notification_read", response_model=NotificationRead)
def mark_notification_read(notification_id: int, session: SessionDep, user: CurrentUser) -> NotificationRead:
    """Mark one notification read (404 unless it is the signed-in user's)."""
    return NotificationRead.model_validate(feed.mark_read(session, user.id, notification_id))


@router.get("/preferences", operation_id="get_notification_preferences", response_model=Preferences)
def get_notification_preferences(session: SessionDep, user: CurrentUser) -> Preferences:
    """How the signed-in user hears about each topic."""
    return Preferences(preferences=[PreferenceRead.model_validate(c) for c in feed.choices(session, user.id)])


@router.put("/preferences", operation_id="update_notification_preferences", response_model=Preferences)
def update_notification_preferences(body: PreferencesUpdate, session: SessionDep, user: CurrentUser) -> Preferences:
    """Change some topics (422 naming an unknown one); answers with every topic's choice."""
    changes = [feed.ChoiceChange(topic=p.topic, email=p.email, in_app=p.in_app) for p in body.preferences]
    saved = feed.save_choices(session, user.id, changes)
    return Preferences(preferences=[PreferenceRead.model_validate(c) for c in saved])
