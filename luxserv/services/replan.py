"""Re-planning future bookings after the rules or a property's overrides change.

`preview` says what `planning.plan()` would create, move or cancel, without writing anything; `apply_replan`
runs `plan()` and says what it did. Both look at placed bookings that have not ended before `today` (any status:
a cancelled booking may still hold requests to cancel). Work already started or done never changes.

Bookings, their properties, their automatic requests, the rules and every override are read in a handful of
queries whatever the number of bookings; the preview then works in memory, mirroring `plan()` decision by decision.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from luxserv.audit.service import record
from luxserv.bookings.models import Booking
from luxserv.properties.models import Property
from luxserv.services.catalog import get_rule
from luxserv.services.models import (
    PENDING_STATUSES,
    AutomationRule,
    PropertyRuleSetting,
    RequestStatus,
    ServiceRequest,
)
from luxserv.services.planning import PlanResult, intents, plan


class Action(StrEnum):
    create = "create"
    move = "move"
    cancel = "cancel"


@dataclass(frozen=True)
class Change:
    """One automatic request created, moved or cancelled (a cancelled request scheduled again is a create)."""

    booking_id: int
    rule_id: int
    rule_key: str
    action: Action
    from_day: date | None
    to_day: date | None


@dataclass(frozen=True)
class _Stored:
    """A stored request as it was before re-planning."""

    rule_id: int
    status: RequestStatus
    day: date
    property_id: int


@dataclass
class _World:
    bookings: list[Booking]
    properties: list[Property]  # held only to keep them in the session's identity map
    stored: dict[int, dict[int, _Stored]]  # booking id → rule id → request
    rules: dict[int, AutomationRule]  # every rule, by id
    in_force: dict[int, list[AutomationRule]]  # property id → rules in force there, by id


def preview(session: Session, rule_id: int | None, *, today: date) -> list[Change]:
    """What `plan()` would change for bookings ending on or after `today` (only `rule_id`'s requests, if given)."""
    if rule_id is not None:
        get_rule(session, rule_id)
    world = _load(session, today)
    changes = [c for b in world.bookings for c in sorted(_diff(session, world, b), key=lambda c: c.rule_id)]
    return [c for c in changes if rule_id is None or c.rule_id == rule_id]


def apply_replan(session: Session, rule_id: int | None, *, today: date, actor: str) -> list[Change]:
    """Run `plan()` on the bookings the preview names (every future placed booking when `rule_id` is None).

    Returns every change `plan()` made, including, on those bookings, other rules' pending changes.
    """
    if rule_id is not None:
        get_rule(session, rule_id)
    world = _load(session, today, lock=True)
    if rule_id is None:
        targets = world.bookings
    else:
        touched = {c.booking_id for b in world.bookings for c in _diff(session, world, b) if c.rule_id == rule_id}
        targets = [b for b in world.bookings if b.id in touched]
    changes: list[Change] = []
    for booking in targets:
        result = plan(session, booking, actor=actor)
        changes.extend(_done(world, booking.id, result))
    if changes:
        record(session, actor=actor, action="automation_rule.replanned", entity_type="automation_rule",
               entity_id=rule_id, bookings=len({c.booking_id for c in changes}), changes=len(changes))  # fmt: skip
    return changes


def _load(session: Session, today: date, *, lock: bool = False) -> _World:
    """Five queries: bookings, their properties, their automatic requests, the rules, every override.

    With `lock`, the bookings are locked (and read afresh) first: a booking moved meanwhile by `bookings.apply`
    is re-planned on its new dates, never back to the old ones.
    """
    future = (Booking.property_id.is_not(None), Booking.check_out >= today)
    query = select(Booking).where(*future).order_by(Booking.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    bookings = sorted(session.scalars(query), key=lambda b: (b.check_in, b.id))
    # Kept (the identity map holds objects weakly) so that `intents()` finds each property there without a query.
    properties = list(
        session.scalars(select(Property).where(Property.id.in_(select(Booking.property_id).where(*future))))
    )
    stored: dict[int, dict[int, _Stored]] = defaultdict(dict)
    for request in session.scalars(
        select(ServiceRequest)
        .join(Booking, Booking.id == ServiceRequest.booking_id)
        .where(*future, ServiceRequest.rule_id.is_not(None))
    ):
        assert request.booking_id is not None and request.rule_id is not None
        stored[request.booking_id][request.rule_id] = _Stored(
            request.rule_id, request.status, request.scheduled_for, request.property_id
        )
    rules = {rule.id: rule for rule in session.scalars(select(AutomationRule).order_by(AutomationRule.id))}
    overrides: dict[int, dict[int, bool]] = defaultdict(dict)
    for setting in session.scalars(select(PropertyRuleSetting)):
        overrides[setting.property_id][setting.rule_id] = setting.enabled
    in_force = {
        prop_id: [r for r in rules.values() if overrides[prop_id].get(r.id, r.enabled)]
        for prop_id in {b.property_id for b in bookings if b.property_id is not None}
    }
    return _World(bookings, properties, stored, rules, in_force)


def _diff(session: Session, world: _World, booking: Booking) -> Iterable[Change]:
    """The changes `plan()` would make to this booking, decided exactly as `plan()` decides them."""
    assert booking.property_id is not None
    existing = world.stored.get(booking.id, {})
    wanted = {i.rule.id: i for i in intents(session, booking, world.in_force[booking.property_id])}
    for rule_id, intent in wanted.items():
        request = existing.get(rule_id)
        if intent.day is not None:
            if request is None or request.status == RequestStatus.cancelled:
                yield _change(world, booking.id, rule_id, Action.create, None, intent.day)
            elif request.status in PENDING_STATUSES and (
                request.day != intent.day or request.property_id != booking.property_id
            ):
                yield _change(world, booking.id, rule_id, Action.move, request.day, intent.day)
        elif request is not None and request.status in PENDING_STATUSES:
            yield _change(world, booking.id, rule_id, Action.cancel, request.day, None)
    for rule_id, request in existing.items():
        if rule_id not in wanted and request.status in PENDING_STATUSES:
            yield _change(world, booking.id, rule_id, Action.cancel, request.day, None)


def _done(world: _World, booking_id: int, result: PlanResult) -> list[Change]:
    """What `plan()` did, told against the requests as they were before it ran."""
    before = world.stored.get(booking_id, {})
    changes = []
    for request in result.created:
        assert request.rule_id is not None
        changes.append(_change(world, booking_id, request.rule_id, Action.create, None, request.scheduled_for))
    for request in result.moved:
        assert request.rule_id is not None
        old = before.get(request.rule_id)
        if old is None or old.status == RequestStatus.cancelled:
            changes.append(_change(world, booking_id, request.rule_id, Action.create, None, request.scheduled_for))
        else:
            changes.append(_change(world, booking_id, request.rule_id, Action.move, old.day, request.scheduled_for))
    for request in result.cancelled:
        assert request.rule_id is not None
        old = before.get(request.rule_id)
        changes.append(_change(world, booking_id, request.rule_id, Action.cancel, old.day if old else None, None))
    return sorted(changes, key=lambda c: c.rule_id)


def _change(world: _World, booking_id: int, rule_id: int, action: Action, old: date | None, new: date | None) -> Change:
    rule = world.rules.get(rule_id)
    return Change(booking_id, rule_id, rule.key if rule else f"rule-{rule_id}", action, old, new)
