"""Planning a booking's services from the automation rules. Runs inside `bookings.apply`'s transaction.

Re-planning is idempotent: one request per (booking, rule); a moved booking moves requests not yet started;
a cancelled booking cancels them; work already in progress or completed is never moved or cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session, selectinload

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.clock import utcnow
from luxserv.core.database import memo, remembers_reads
from luxserv.properties.models import Property
from luxserv.services.keywords import mentions, parse_keywords
from luxserv.services.models import (
    PENDING_STATUSES,
    Anchor,
    AutomationRule,
    Condition,
    Origin,
    PropertyRuleSetting,
    RequestStatus,
    ServiceRequest,
    ServiceRequestChange,
    ServiceType,
)


@dataclass
class PlanResult:
    created: list[ServiceRequest] = field(default_factory=list)
    moved: list[ServiceRequest] = field(default_factory=list)
    cancelled: list[ServiceRequest] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.moved or self.cancelled)


@dataclass(frozen=True)
class Intent:
    """What one rule wants for one booking: a day, or nothing."""

    rule: AutomationRule
    day: date | None


def rules_for(session: Session, property_id: int) -> list[AutomationRule]:
    """Rules in force at a property: enabled ones unless switched off there, plus ones switched on there.

    In a session that remembers its reads (a batch of events), every rule is read once, and so is which
    properties switch any rule on or off; only those properties' switches are read, each once.
    """
    if not remembers_reads(session):
        return _rules_for(session, property_id)
    every = memo(session, "rules", lambda: list(session.scalars(_EVERY_RULE)))
    switched = memo(session, "switched_properties", lambda: set(session.scalars(_SWITCHED_PROPERTIES)))

    def here() -> list[AutomationRule]:
        if property_id not in switched:
            return [rule for rule in every if rule.enabled]
        switches = {rule_id: on for rule_id, on in session.execute(_SWITCHES, {"property_id": property_id})}
        return [rule for rule in every if switches.get(rule.id, rule.enabled)]

    return memo(session, ("rules_for", property_id), here)


_EVERY_RULE = (
    select(AutomationRule)
    .join(ServiceType, ServiceType.id == AutomationRule.service_type_id)
    .where(ServiceType.active.is_(True))
    .order_by(AutomationRule.id)
)
_SWITCHED_PROPERTIES = select(PropertyRuleSetting.property_id).distinct()
_SWITCHES = select(PropertyRuleSetting.rule_id, PropertyRuleSetting.enabled).where(
    PropertyRuleSetting.property_id == bindparam("property_id")
)


def _rules_for(session: Session, property_id: int) -> list[AutomationRule]:
    here = session.execute(
        select(AutomationRule, PropertyRuleSetting.enabled)
        .join(ServiceType, ServiceType.id == AutomationRule.service_type_id)
        .outerjoin(
            PropertyRuleSetting,
            (PropertyRuleSetting.rule_id == AutomationRule.id) & (PropertyRuleSetting.property_id == property_id),
        )
        .where(ServiceType.active.is_(True))
        .order_by(AutomationRule.id)
    )
    return [rule for rule, enabled in here if (rule.enabled if enabled is None else enabled)]


def applies(rule: AutomationRule, booking: Booking) -> bool:
    """The rule's condition, evaluated on the booking."""
    if rule.condition == Condition.always:
        return True
    if rule.condition == Condition.keywords:
        return mentions(booking.special_requests or "", parse_keywords(rule.condition_value))
    if rule.condition == Condition.min_guests:
        return booking.guest_count >= _int(rule.condition_value)
    if rule.condition == Condition.min_nights:
        return booking.nights >= _int(rule.condition_value)
    if rule.condition == Condition.channel:
        wanted = {c.strip().lower() for c in rule.condition_value.split(",") if c.strip()}
        return (booking.channel or "").lower() in wanted
    return False


def day_for(rule: AutomationRule, booking: Booking, time_zone: str) -> date:
    if rule.anchor == Anchor.check_in:
        anchor = booking.check_in
    elif rule.anchor == Anchor.check_out:
        anchor = booking.check_out
    else:
        anchor = booking.created_at.astimezone(ZoneInfo(time_zone)).date()
    return anchor + timedelta(days=rule.offset_days)


def intents(session: Session, booking: Booking, rules: list[AutomationRule] | None = None) -> list[Intent]:
    """What every rule in force wants for this booking (nothing, for a cancelled or unplaced booking)."""
    if booking.property_id is None:
        return []
    prop = session.get(Property, booking.property_id)
    time_zone = prop.time_zone if prop else "America/Chicago"
    active = booking.status != BookingStatus.cancelled
    return [
        Intent(rule, day_for(rule, booking, time_zone) if active and applies(rule, booking) else None)
        for rule in (rules if rules is not None else rules_for(session, booking.property_id))
    ]


def plan(session: Session, booking: Booking, *, actor: str, new: bool = False) -> PlanResult:
    """Create, move or cancel the booking's automatic requests so they match the rules. Never duplicates.

    `new` says the booking was inserted in this transaction, so it has no requests yet to look up.
    """
    result = PlanResult()
    existing = {} if new else {r.rule_id: r for r in session.scalars(_PLANNED, {"booking_id": booking.id})}
    wanted = {intent.rule.id: intent for intent in intents(session, booking)}
    to_create: list[Intent] = []
    for rule_id, intent in wanted.items():
        request = existing.get(rule_id)
        if intent.day is not None:
            if request is None:
                to_create.append(intent)
            elif request.status in PENDING_STATUSES and (
                request.scheduled_for != intent.day or request.property_id != booking.property_id
            ):
                _move(request, booking, intent.day, actor)
                result.moved.append(request)
            elif request.status == RequestStatus.cancelled and _cancelled_by_planning(request):
                _change(request, RequestStatus.scheduled, actor, "the booking needs it again")
                request.cancelled_at = None
                request.scheduled_for = intent.day
                request.property_id = booking.property_id or request.property_id
                result.moved.append(request)
        elif request is not None and request.status in PENDING_STATUSES:
            _cancel(request, actor, "the booking no longer needs it")
            result.cancelled.append(request)
    # Requests of rules no longer in force here (switched off, deleted) are cancelled if not started.
    for old_rule_id, request in existing.items():
        if old_rule_id not in wanted and request.status in PENDING_STATUSES:
            _cancel(request, actor, "the rule is no longer in force for this property")
            result.cancelled.append(request)
    result.created = _create(session, [(booking, intent, actor) for intent in to_create])
    if result.changed:
        session.flush()
    return result


def plan_new(session: Session, bookings: Sequence[Booking], actors: Sequence[str]) -> list[PlanResult]:
    """`plan(new=True)` for several bookings inserted in this transaction (each with its actor): every request
    and every history entry of all of them in one statement each."""
    wanted = [
        (booking, intent, actor)
        for booking, actor in zip(bookings, actors, strict=True)
        for intent in intents(session, booking)
        if intent.day is not None
    ]
    results = {booking.id: PlanResult() for booking in bookings}
    for (booking, _, _), request in zip(wanted, _create(session, wanted), strict=True):
        results[booking.id].created.append(request)
    return [results[booking.id] for booking in bookings]


_PLANNING_NOTES = ("the booking no longer needs it", "the rule is no longer in force for this property")


def _cancelled_by_planning(request: ServiceRequest) -> bool:
    """Only automation's own cancellations are undone by re-planning; a person's decision stands."""
    last = request.changes[-1] if request.changes else None
    return last is not None and last.to_status == RequestStatus.cancelled.value and last.note in _PLANNING_NOTES


def _create(session: Session, wanted: Sequence[tuple[Booking, Intent, str]]) -> list[ServiceRequest]:
    """Insert the requests (booking, the rule's intent, actor) and their first history entries: one statement
    each, in the order given."""
    if not wanted:
        return []
    rows = [
        {"property_id": booking.property_id, "booking_id": booking.id, "guest_id": booking.guest_id,
         "service_type_id": intent.rule.service_type_id, "rule_id": intent.rule.id, "origin": Origin.automation,
         "status": RequestStatus.scheduled, "scheduled_for": intent.day, "time_of_day": intent.rule.time_of_day,
         "created_by": actor}
        for booking, intent, actor in wanted
    ]  # fmt: skip
    # One multi-row INSERT … RETURNING. Its rows may come back in any order; a booking has one request per rule.
    by_key = {(r.booking_id, r.rule_id): r for r in session.scalars(_INSERT, rows)}
    created = [by_key[booking.id, intent.rule.id] for booking, intent, _ in wanted]
    history = [
        {"request_id": request.id, "actor": actor, "from_status": None, "to_status": RequestStatus.scheduled.value,
         "note": f"planned by rule {intent.rule.key}"}
        for request, (_, intent, actor) in zip(created, wanted, strict=True)
    ]  # fmt: skip
    session.connection().execute(_HISTORY, history)  # Core, one executemany: no objects to track
    return created


_HISTORY = insert(cast(Table, ServiceRequestChange.__table__))
_INSERT = insert(ServiceRequest).returning(ServiceRequest)
_PLANNED = (
    select(ServiceRequest)
    .where(ServiceRequest.booking_id == bindparam("booking_id"), ServiceRequest.rule_id.is_not(None))
    .options(selectinload(ServiceRequest.changes))
)


def _move(request: ServiceRequest, booking: Booking, day: date, actor: str) -> None:
    note = f"moved from {request.scheduled_for.isoformat()} to {day.isoformat()}"
    request.scheduled_for = day
    request.property_id = booking.property_id or request.property_id
    request.changes.append(
        ServiceRequestChange(actor=actor, from_status=request.status.value, to_status=request.status.value, note=note)
    )


def _cancel(request: ServiceRequest, actor: str, note: str) -> None:
    assert note in _PLANNING_NOTES
    _change(request, RequestStatus.cancelled, actor, note)
    request.cancelled_at = utcnow()


def _change(request: ServiceRequest, status: RequestStatus, actor: str, note: str) -> None:
    request.changes.append(
        ServiceRequestChange(actor=actor, from_status=request.status.value, to_status=status.value, note=note)
    )
    request.status = status


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 10**6  # a malformed threshold never matches (rules are validated when saved)
