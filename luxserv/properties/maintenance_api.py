"""Maintenance JSON API: admins and staff keep the list; owners see their own homes' items."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from luxserv.properties import maintenance
from luxserv.properties.maintenance import MAX_RECURRENCE_MONTHS, MaintenanceState, MaintenanceView
from luxserv.properties.models import MaintenanceStatus
from luxserv.web.deps import AdminUser, OwnerOrStaffUser, SessionDep, owner_scope

router = APIRouter(prefix="/api", tags=["maintenance"])


class MaintenanceRead(BaseModel):
    id: int
    property_id: int
    title: str
    notes: str
    due_on: date
    recurrence_months: int | None
    status: MaintenanceStatus
    state: MaintenanceState
    completed_at: datetime | None
    created_at: datetime


class MaintenanceCreate(BaseModel):
    title: str = Field(min_length=1, max_length=maintenance.MAX_TITLE)
    due_on: date
    recurrence_months: int | None = Field(default=None, ge=1, le=MAX_RECURRENCE_MONTHS)
    notes: str = Field(default="", max_length=5000)


class MaintenanceCompleted(BaseModel):
    item: MaintenanceRead
    next: MaintenanceRead | None = Field(description="the next occurrence of a recurring item")


def _read(view: MaintenanceView) -> MaintenanceRead:
    item = view.item
    return MaintenanceRead(
        id=item.id,
        property_id=item.property_id,
        title=item.title,
        notes=item.notes,
        due_on=item.due_on,
        recurrence_months=item.recurrence_months,
        status=item.status,
        state=view.state,
        completed_at=item.completed_at,
        created_at=item.created_at,
    )


@router.get(
    "/properties/{property_id}/maintenance", operation_id="list_maintenance", response_model=list[MaintenanceRead]
)
def list_maintenance(property_id: int, session: SessionDep, user: AdminUser) -> list[MaintenanceRead]:
    """Open items by due date (overdue, due within 14 days, upcoming), then done ones."""
    return [_read(v) for v in maintenance.list_items(session, property_id)]


@router.post(
    "/properties/{property_id}/maintenance", operation_id="create_maintenance", response_model=MaintenanceRead,
    status_code=201,
)  # fmt: skip
def create_maintenance(
    property_id: int, body: MaintenanceCreate, session: SessionDep, user: AdminUser
) -> MaintenanceRead:
    item = maintenance.create_item(
        session,
        property_id,
        title=body.title,
        due_on=body.due_on,
        recurrence_months=body.recurrence_months,
        notes=body.notes,
        actor=f"user:{user.id}",
    )
    return _read(maintenance.view_of(session, item))


@router.post(
    "/maintenance/{item_id}/complete", operation_id="complete_maintenance", response_model=MaintenanceCompleted
)
def complete_maintenance(item_id: int, session: SessionDep, user: AdminUser) -> MaintenanceCompleted:
    """Mark an item done (409 if it already is); a recurring item comes back N months after its due date."""
    item, following = maintenance.complete_item(session, item_id, actor=f"user:{user.id}")
    return MaintenanceCompleted(
        item=_read(maintenance.view_of(session, item)),
        next=_read(maintenance.view_of(session, following)) if following else None,
    )


@router.get(
    "/owner/properties/{property_id}/maintenance", operation_id="list_owner_maintenance",
    response_model=list[MaintenanceRead],
)  # fmt: skip
def list_owner_maintenance(property_id: int, session: SessionDep, user: OwnerOrStaffUser) -> list[MaintenanceRead]:
    """The maintenance of one of the signed-in owner's homes (404 for anyone else's)."""
    return [_read(v) for v in maintenance.list_items(session, property_id, owner_id=owner_scope(user))]
