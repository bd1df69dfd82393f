"""Maintenance at a property: what is due, overdue or coming, and recurring items that renew when completed.

"Today" is the property's local date (its time zone), so an item due on the 9th is not overdue in Panama City
Beach while it is already the 10th in UTC. Runs in the caller's transaction and never commits.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from luxserv.audit.service import record
from luxserv.core.clock import utcnow
from luxserv.core.errors import Conflict, InvalidInput, NotFound
from luxserv.properties.models import MaintenanceItem, MaintenanceStatus, Property

DUE_WITHIN_DAYS = 14
MAX_RECURRENCE_MONTHS = 60
MAX_TITLE = 200


class MaintenanceState(StrEnum):
    overdue = "overdue"  # open, due before today
    due = "due"  # open, due today or within DUE_WITHIN_DAYS days
    upcoming = "upcoming"  # open, due later
    done = "done"


@dataclass(frozen=True)
class MaintenanceView:
    item: MaintenanceItem
    state: MaintenanceState


def state_of(item: MaintenanceItem, today: date) -> MaintenanceState:
    if item.status == MaintenanceStatus.done:
        return MaintenanceState.done
    if item.due_on < today:
        return MaintenanceState.overdue
    if item.due_on <= today + timedelta(days=DUE_WITHIN_DAYS):
        return MaintenanceState.due
    return MaintenanceState.upcoming


def local_date(prop: Property, now: datetime | None = None) -> date:
    """The property's calendar date at `now` (default: the current instant)."""
    return (now or utcnow()).astimezone(ZoneInfo(prop.time_zone)).date()


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month (Jan 31 + 1 → Feb 28 or 29)."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def get_property(session: Session, property_id: int, *, owner_id: int | None = None) -> Property:
    """The property; with `owner_id`, only when that owner owns it (the same 404 either way)."""
    prop = session.get(Property, property_id)
    if prop is None or (owner_id is not None and prop.owner_id != owner_id):
        raise NotFound(f"property {property_id} not found", field="property_id")
    return prop


def list_items(
    session: Session, property_id: int, *, owner_id: int | None = None, now: datetime | None = None
) -> list[MaintenanceView]:
    """A property's items with their state: open ones first by due date, then done ones, latest first."""
    prop = get_property(session, property_id, owner_id=owner_id)
    today = local_date(prop, now)
    done_last = case((MaintenanceItem.status == MaintenanceStatus.done, 1), else_=0)
    items = session.scalars(
        select(MaintenanceItem)
        .where(MaintenanceItem.property_id == prop.id)
        .order_by(done_last, MaintenanceItem.due_on, MaintenanceItem.id)
    ).all()
    views = [MaintenanceView(item, state_of(item, today)) for item in items]
    open_ = [v for v in views if v.state != MaintenanceState.done]
    done = [v for v in views if v.state == MaintenanceState.done]
    return open_ + done[::-1]


def create_item(
    session: Session,
    property_id: int,
    *,
    title: str,
    due_on: date,
    recurrence_months: int | None = None,
    notes: str = "",
    actor: str,
) -> MaintenanceItem:
    prop = get_property(session, property_id)
    title = title.strip()
    if not title:
        raise InvalidInput("title is empty", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"title is longer than {MAX_TITLE} characters", field="title")
    if recurrence_months is not None and not 1 <= recurrence_months <= MAX_RECURRENCE_MONTHS:
        raise InvalidInput(f"recurrence_months must be 1 to {MAX_RECURRENCE_MONTHS}", field="recurrence_months")
    item = MaintenanceItem(
        property_id=prop.id,
        title=title,
        due_on=due_on,
        recurrence_months=recurrence_months,
        notes=notes.strip(),
        status=MaintenanceStatus.open,
    )
    session.add(item)
    session.flush()
    record(
        session,
        actor=actor,
        action="maintenance.created",
        entity_type="maintenance_item",
        entity_id=item.id,
        property_id=prop.id,
        due_on=due_on.isoformat(),
        recurrence_months=recurrence_months,
    )
    return item


def complete_item(session: Session, item_id: int, *, actor: str) -> tuple[MaintenanceItem, MaintenanceItem | None]:
    """Mark an item done; a recurring one gets its next occurrence (due date + N months). Returns both."""
    item = session.scalar(select(MaintenanceItem).where(MaintenanceItem.id == item_id).with_for_update())
    if item is None:
        raise NotFound(f"maintenance item {item_id} not found")
    if item.status == MaintenanceStatus.done:
        raise Conflict(f"maintenance item {item_id} is already done")
    item.status = MaintenanceStatus.done
    item.completed_at = utcnow()
    following = None
    if item.recurrence_months:
        following = MaintenanceItem(
            property_id=item.property_id,
            title=item.title,
            notes=item.notes,
            due_on=add_months(item.due_on, item.recurrence_months),
            recurrence_months=item.recurrence_months,
            status=MaintenanceStatus.open,
        )
        session.add(following)
    session.flush()
    record(
        session,
        actor=actor,
        action="maintenance.completed",
        entity_type="maintenance_item",
        entity_id=item.id,
        property_id=item.property_id,
        next_item_id=following.id if following else None,
        next_due_on=following.due_on.isoformat() if following else None,
    )
    return item, following


def view_of(session: Session, item: MaintenanceItem, *, now: datetime | None = None) -> MaintenanceView:
    """One item with its state as of the property's local today."""
    return MaintenanceView(item, state_of(item, local_date(get_property(session, item.property_id), now)))
