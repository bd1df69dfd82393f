"""Admin view of the inbox: every inbound event, its status and error; replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from luxserv.bookings.schemas import Page
from luxserv.inbox import flows, service
from luxserv.inbox.models import InboxEvent, InboxStatus
from luxserv.web.deps import AdminUser, DatabaseDep, ProvidersDep, SessionDep

router = APIRouter(prefix="/api/admin", tags=["inbox"])


class InboxEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    event_id: str
    source: str
    status: InboxStatus
    received_at: datetime
    processed_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    error: str
    error_field: str | None
    booking_id: int | None
    content_type: str
    body: str = Field(description="the raw body as received (UTF-8; undecodable bytes replaced)")
    headers: dict[str, Any]

    @classmethod
    def of(cls, event: InboxEvent) -> InboxEventRead:
        data = {c: getattr(event, c) for c in cls.model_fields if c != "body"}
        return cls(**data, body=event.body.decode("utf-8", errors="replace"))


class ReplayResult(BaseModel):
    inbox_id: int
    status: InboxStatus
    booking_id: int | None
    outcome: str | None
    error: str
    error_field: str | None


@router.get("/inbox", operation_id="list_inbox", response_model=Page[InboxEventRead])
def list_inbox(
    session: SessionDep,
    user: AdminUser,
    status: InboxStatus | None = None,
    provider: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[InboxEventRead]:
    """Inbound events, newest first."""
    rows, total = service.list_events(
        session, service.InboxFilter(status=status, provider=provider), limit=limit, offset=offset
    )
    return Page(items=[InboxEventRead.of(e) for e in rows], total=total, limit=limit, offset=offset)


@router.post("/inbox/{inbox_id}/replay", operation_id="replay_inbox_event", response_model=ReplayResult)
def replay(inbox_id: int, db: DatabaseDep, providers: ProvidersDep, user: AdminUser) -> ReplayResult:
    """Apply a stored event again. Harmless for one already applied: the booking is unchanged."""
    receipt = flows.replay(db, providers, inbox_id, actor=f"user:{user.id}")
    return ReplayResult(
        inbox_id=receipt.inbox_id,
        status=receipt.status,
        booking_id=receipt.booking_id,
        outcome=receipt.outcome,
        error=receipt.error,
        error_field=receipt.error_field,
    )
