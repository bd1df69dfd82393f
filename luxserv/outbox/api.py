"""Admin view of the outbox: sent, pending and dead messages, one message in full, sending a dead letter again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from luxserv.outbox import service
from luxserv.outbox.models import OutboxStatus
from luxserv.web.deps import AdminUser, SessionDep

router = APIRouter(prefix="/api/admin", tags=["outbox"])


class OutboxMessageSummary(BaseModel):
    id: int
    channel: str
    topic: str
    recipient: str
    subject: str
    status: OutboxStatus
    attempts: int
    last_error: str
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    locked_until: datetime | None = Field(description="leased to a worker until then (being sent), else null")

    @classmethod
    def of(cls, view: service.MailView) -> OutboxMessageSummary:
        m = view.message
        return cls(
            id=m.id,
            channel=m.channel,
            topic=m.topic,
            recipient=m.recipient,
            subject=view.subject,
            status=m.status,
            attempts=m.attempts,
            last_error=m.last_error,
            created_at=m.created_at,
            next_attempt_at=m.next_attempt_at,
            sent_at=m.sent_at,
            locked_until=m.locked_until,
        )


class OutboxMessageRead(OutboxMessageSummary):
    message_id: str | None = Field(description="the Message-ID header of an e-mail (the same on every attempt)")
    text: str | None = Field(description="the plain-text body; null when withheld")
    html: str | None = Field(description="the HTML body; null when there is none or it is withheld")
    withheld: bool = Field(description="the message carries a secret (a sign-in link): its body is not shown")

    @classmethod
    def full(cls, view: service.MailView) -> OutboxMessageRead:
        summary = OutboxMessageSummary.of(view)
        return cls(
            **summary.model_dump(),
            message_id=view.message_id,
            text=view.text,
            html=view.html,
            withheld=view.withheld,
        )


class StatusCounts(BaseModel):
    pending: int
    sent: int
    dead: int


class OutboxPage(BaseModel):
    total: int = Field(description="messages matching status and q")
    counts: StatusCounts = Field(description="messages matching q, per status")
    limit: int
    offset: int
    messages: list[OutboxMessageSummary]


@router.get("/outbox", operation_id="list_outbox", response_model=OutboxPage)
def list_outbox(
    session: SessionDep,
    user: AdminUser,
    status: OutboxStatus | None = None,
    q: Annotated[str | None, Query(max_length=200, description="part of the topic or recipient")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OutboxPage:
    """Outgoing messages, newest first (no bodies; see `get_outbox_message`)."""
    rows, total = service.list_messages(session, service.MailFilter(status=status, q=q), limit=limit, offset=offset)
    per_status = service.counts(session, q)
    return OutboxPage(
        total=total,
        counts=StatusCounts(**{s.value: n for s, n in per_status.items()}),
        limit=limit,
        offset=offset,
        messages=[OutboxMessageSummary.of(service.MailView.of(m)) for m in rows],
    )


@router.get("/outbox/{outbox_id}", operation_id="get_outbox_message", response_model=OutboxMessageRead)
def get_outbox_message(outbox_id: int, session: SessionDep, user: AdminUser) -> OutboxMessageRead:
    """One message in full: headers, plain-text and HTML bodies, attempts and the last error."""
    return OutboxMessageRead.full(service.MailView.of(service.get_message(session, outbox_id)))


@router.post("/outbox/{outbox_id}/retry", operation_id="retry_outbox_message", response_model=OutboxMessageRead)
def retry_outbox_message(outbox_id: int, session: SessionDep, user: AdminUser) -> OutboxMessageRead:
    """Send a dead letter again: pending, attempts from zero, due now. 409 for a message that is not dead."""
    message = service.retry(session, outbox_id, actor=f"user:{user.id}")
    return OutboxMessageRead.full(service.MailView.of(message))
