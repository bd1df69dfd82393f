"""Reminders the day before: an open task due tomorrow (in its home's time zone) is announced once.

The assignee is told; a task nobody has taken goes to every active admin. The key names the request, the day and
the person, so the hourly job tells each of them once, and a task moved to another day is announced again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from luxserv.accounts.models import User
from luxserv.core.database import Database
from luxserv.notifications.requests import Recipient, active_admins, deliver, details
from luxserv.properties.models import Property
from luxserv.services.models import RequestStatus, ServiceRequest, ServiceType

TOPIC = "service_request.due"
# Requests still to be done: work in progress is already under way, finished ones need no reminder.
REMINDED_STATUSES = (RequestStatus.requested, RequestStatus.scheduled)
log = logging.getLogger(__name__)


def send_due_reminders(db: Database, *, now: datetime) -> int:
    """Tell people about tomorrow's open tasks; returns how many people were newly told."""
    with db.unit_of_work() as session:
        told = remind(session, now=now)
    if told:
        log.info("sent %d reminder(s) of tasks due tomorrow", told)
    return told


def remind(session: Session, *, now: datetime) -> int:
    """The work of `send_due_reminders`, in the caller's transaction."""
    told = 0
    zones = session.scalars(select(Property.time_zone).distinct())
    for zone in sorted(zones):
        tomorrow = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
        due = session.scalars(
            select(ServiceRequest)
            .join(Property, Property.id == ServiceRequest.property_id)
            .where(
                Property.time_zone == zone,
                ServiceRequest.scheduled_for == tomorrow,
                ServiceRequest.status.in_(REMINDED_STATUSES),
            )
            .order_by(ServiceRequest.time_of_day.asc().nulls_first(), ServiceRequest.id)
        )
        for request in list(due):
            told += _remind(session, request)
    return told


def _remind(session: Session, request: ServiceRequest) -> int:
    prop = session.get(Property, request.property_id)
    kind = session.get(ServiceType, request.service_type_id)
    if prop is None or kind is None:
        return 0
    assignee = session.get(User, request.assigned_to_id) if request.assigned_to_id is not None else None
    if assignee is not None and assignee.is_active:
        people = [Recipient(assignee.id, assignee.email, "admin")]
    else:
        people = active_admins(session)
    at = f" ({request.time_of_day:%H:%M})" if request.time_of_day is not None else ""
    subject = f"Tomorrow: {kind.name} at {prop.name}{at}"
    context = details(session, request, prop, kind)
    if assignee is not None and not assignee.is_active:
        context["assignee_name"] = ""  # an inactive assignee will not do it: the admins see it as unassigned
    told = 0
    for person in people:
        told += deliver(
            session,
            person,
            key=f"{TOPIC}:{request.id}:{request.scheduled_for.isoformat()}",
            topic=TOPIC,
            subject=subject,
            template="service_request_due",
            context=context,
            property_id=prop.id,
            payload={"service_request_id": request.id},
        )
    return told
