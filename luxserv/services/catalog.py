"""The service catalogue and the automation rules: listing, creating, editing, and per-property overrides.

Runs in the caller's transaction and never commits. Every value is checked here (not only by the API's schemas),
and a wrong one raises `InvalidInput` naming the field; a duplicate key raises `Conflict`. Every change is audited.
Changing a rule re-plans nothing by itself: `replan.preview` shows what would follow, `replan.apply_replan` does it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from luxserv.audit.service import record
from luxserv.core.database import Base
from luxserv.core.errors import Conflict, InvalidInput, NotFound
from luxserv.properties.models import Property
from luxserv.services.keywords import parse_keywords
from luxserv.services.models import Anchor, AutomationRule, Condition, PropertyRuleSetting, ServiceType

MAX_OFFSET_DAYS = 60
_SLUG = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
_E = TypeVar("_E", bound=StrEnum)
_M = TypeVar("_M", bound=Base)

TYPE_DEFAULTS: dict[str, Any] = {
    "description": "",
    "default_duration_minutes": 60,
    "default_time": None,
    "price_cents": None,
    "guest_requestable": False,
    "active": True,
}
RULE_DEFAULTS: dict[str, Any] = {
    "offset_days": 0,
    "time_of_day": None,
    "condition": Condition.always,
    "condition_value": "",
    "enabled": True,
}


# --- service types -------------------------------------------------------------------------------------------


def list_service_types(
    session: Session, *, guest_requestable: bool | None = None, active: bool | None = None
) -> list[ServiceType]:
    query = select(ServiceType).order_by(ServiceType.name, ServiceType.id)
    if guest_requestable is not None:
        query = query.where(ServiceType.guest_requestable.is_(guest_requestable))
    if active is not None:
        query = query.where(ServiceType.active.is_(active))
    return list(session.scalars(query))


def get_service_type(session: Session, type_id: int) -> ServiceType:
    found = session.get(ServiceType, type_id)
    if found is None:
        raise NotFound(f"service type {type_id} not found")
    return found


def create_service_type(session: Session, values: Mapping[str, Any], *, actor: str) -> ServiceType:
    """A new catalogue entry; `key` and `name` are required, the rest default as in TYPE_DEFAULTS."""
    clean = _clean_type({**TYPE_DEFAULTS, **values}, required=("key", "name"))
    service_type = ServiceType(**clean)
    _insert(session, service_type, f"a service type with key {clean['key']!r} already exists")
    record(session, actor=actor, action="service_type.created", entity_type="service_type",
           entity_id=service_type.id, **_plain(clean))  # fmt: skip
    return service_type


def update_service_type(session: Session, type_id: int, values: Mapping[str, Any], *, actor: str) -> ServiceType:
    """Change some fields; only what actually changes is written and audited."""
    service_type = get_service_type(session, type_id)
    changes = _apply(service_type, _clean_type(values, required=()))
    if changes:
        _insert(session, service_type, f"a service type with key {service_type.key!r} already exists")
        record(session, actor=actor, action="service_type.updated", entity_type="service_type",
               entity_id=service_type.id, changes=changes)  # fmt: skip
    return service_type


def _clean_type(values: Mapping[str, Any], *, required: tuple[str, ...]) -> dict[str, Any]:
    _known(values, {"key", "name", *TYPE_DEFAULTS})
    _required(values, required)
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name == "key":
            clean[name] = _slug(value, name)
        elif name == "name":
            clean[name] = _text(value, name, 120, empty=False)
        elif name == "description":
            clean[name] = _text(value, name, 5000, empty=True)
        elif name == "default_duration_minutes":
            clean[name] = _integer(value, name, low=1, high=7 * 24 * 60)
        elif name == "default_time":
            clean[name] = _time(value, name)
        elif name == "price_cents":
            clean[name] = None if value is None else _integer(value, name, low=0, high=10**9)
        else:  # guest_requestable, active
            clean[name] = _boolean(value, name)
    return clean


# --- automation rules ----------------------------------------------------------------------------------------


def list_rules(session: Session) -> list[AutomationRule]:
    return list(
        session.scalars(
            select(AutomationRule).options(selectinload(AutomationRule.service_type)).order_by(AutomationRule.id)
        )
    )


def get_rule(session: Session, rule_id: int) -> AutomationRule:
    found = session.get(AutomationRule, rule_id)
    if found is None:
        raise NotFound(f"automation rule {rule_id} not found")
    return found


def create_rule(session: Session, values: Mapping[str, Any], *, actor: str) -> AutomationRule:
    """A new rule; `key`, `name`, `service_type_id` and `anchor` are required."""
    merged = {**RULE_DEFAULTS, **values}
    clean = _clean_rule(session, merged, required=("key", "name", "service_type_id", "anchor"))
    clean["condition_value"] = _condition_value(clean["condition"], merged["condition_value"])
    rule = AutomationRule(**clean)
    _insert(session, rule, f"a rule with key {clean['key']!r} already exists")
    record(session, actor=actor, action="automation_rule.created", entity_type="automation_rule",
           entity_id=rule.id, **_plain(clean))  # fmt: skip
    return rule


def update_rule(session: Session, rule_id: int, values: Mapping[str, Any], *, actor: str) -> AutomationRule:
    """Change some fields of a rule. The condition and its value are checked together, as they will be stored."""
    rule = get_rule(session, rule_id)
    clean = _clean_rule(session, values, required=())
    if "condition" in values or "condition_value" in values:
        condition = clean.get("condition", rule.condition)
        raw = values.get("condition_value", rule.condition_value)
        clean["condition_value"] = _condition_value(condition, raw)
    changes = _apply(rule, clean)
    if changes:
        _insert(session, rule, f"a rule with key {rule.key!r} already exists")
        record(session, actor=actor, action="automation_rule.updated", entity_type="automation_rule",
               entity_id=rule.id, changes=changes)  # fmt: skip
    return rule


def _clean_rule(session: Session, values: Mapping[str, Any], *, required: tuple[str, ...]) -> dict[str, Any]:
    _known(values, {"key", "name", "service_type_id", "anchor", *RULE_DEFAULTS})
    _required(values, required)
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name == "key":
            clean[name] = _slug(value, name)
        elif name == "name":
            clean[name] = _text(value, name, 120, empty=False)
        elif name == "service_type_id":
            type_id = _integer(value, name, low=1, high=2**31 - 1)
            if session.get(ServiceType, type_id) is None:
                raise InvalidInput(f"service type {type_id} does not exist", field=name)
            clean[name] = type_id
        elif name == "anchor":
            clean[name] = _choice(Anchor, value, name)
        elif name == "offset_days":
            clean[name] = _integer(value, name, low=-MAX_OFFSET_DAYS, high=MAX_OFFSET_DAYS)
        elif name == "time_of_day":
            clean[name] = _time(value, name)
        elif name == "condition":
            clean[name] = _choice(Condition, value, name)
        elif name == "enabled":
            clean[name] = _boolean(value, name)
    return clean


def _condition_value(condition: Condition, value: Any) -> str:
    """The stored form of a condition's value: "" for always, "a, b" for lists, "4" for thresholds."""
    field = "condition_value"
    if condition == Condition.always:
        return ""
    if condition in (Condition.min_guests, Condition.min_nights):
        if isinstance(value, str) and value.strip().isdecimal():
            value = int(value.strip())
        return str(_integer(value, field, low=1, high=10_000, what=f"a positive whole number for {condition}"))
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidInput(f"{field} must be a list of words for {condition}", field=field)
    if condition == Condition.keywords:
        parts = [" ".join(words) for words in parse_keywords(",".join(items))]
    else:
        parts = [item.strip().lower() for item in items if item.strip()]
        if any(len(part) > 40 for part in parts):
            raise InvalidInput("a channel name is at most 40 characters", field=field)
    if not parts:
        raise InvalidInput(f"{field} needs at least one entry for {condition}", field=field)
    stored = ", ".join(dict.fromkeys(parts))
    if len(stored) > 500:
        raise InvalidInput(f"{field} is longer than 500 characters", field=field)
    return stored


# --- per-property overrides ----------------------------------------------------------------------------------


def set_property_override(
    session: Session, property_id: int, rule_id: int, enabled: bool | None, *, actor: str
) -> bool:
    """Switch a rule on or off at one property, or (None) go back to the rule's own setting.

    Returns whether the rule is now in force at that property.
    """
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidInput("enabled must be true, false or null", field="enabled")
    if session.get(Property, property_id) is None:
        raise NotFound(f"property {property_id} not found")
    rule = get_rule(session, rule_id)
    setting = session.scalar(
        select(PropertyRuleSetting).where(
            PropertyRuleSetting.property_id == property_id, PropertyRuleSetting.rule_id == rule_id
        )
    )
    before = None if setting is None else setting.enabled
    if before != enabled:
        if enabled is None:
            assert setting is not None
            session.delete(setting)
        elif setting is None:
            session.add(PropertyRuleSetting(property_id=property_id, rule_id=rule_id, enabled=enabled))
        else:
            setting.enabled = enabled
        session.flush()
        action = "automation_rule.override_removed" if enabled is None else "automation_rule.override_set"
        record(session, actor=actor, action=action, entity_type="property", entity_id=property_id,
               rule_id=rule_id, rule_key=rule.key, enabled=[before, enabled])  # fmt: skip
    return rule.enabled if enabled is None else enabled


def property_overrides(session: Session, property_id: int) -> dict[int, bool]:
    """{rule id: enabled} for the rules this property overrides."""
    rows = session.scalars(select(PropertyRuleSetting).where(PropertyRuleSetting.property_id == property_id))
    return {row.rule_id: row.enabled for row in rows}


# --- checks and helpers ----------------------------------------------------------------------------------------


def _known(values: Mapping[str, Any], allowed: set[str]) -> None:
    for name in values:
        if name not in allowed:
            raise InvalidInput(f"unknown field {name!r}", field=name)


def _required(values: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if values.get(name) is None:
            raise InvalidInput(f"{name} is required", field=name)


def _slug(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value) or len(value) > 60:
        raise InvalidInput(
            f"{field} must be 1-60 lower-case letters and digits, words joined by '_' or '-'", field=field
        )
    return value


def _text(value: Any, field: str, limit: int, *, empty: bool) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    text = value.strip()
    if not text and not empty:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(text) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return text


def _integer(value: Any, field: str, *, low: int, high: int, what: str | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be {what or f'a whole number from {low} to {high}'}", field=field)
    return value


def _boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{field} must be true or false", field=field)
    return value


def _time(value: Any, field: str) -> time | None:
    if value is None or isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput(f"{field} must be a time of day such as 10:00", field=field)


def _choice(enum: type[_E], value: Any, field: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(f"{field} must be one of {', '.join(m.value for m in enum)}", field=field) from None


def _apply(row: Base, clean: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set the values that differ; returns {field: [old, new]} (JSON-ready) of what changed."""
    changes: dict[str, list[Any]] = {}
    for name, value in clean.items():
        old = getattr(row, name)
        if old != value:
            setattr(row, name, value)
            changes[name] = [_json(old), _json(value)]
    return changes


def _insert(session: Session, row: _M, duplicate: str) -> _M:
    """Flush the new or changed row; a unique key taken meanwhile is a Conflict on `key`, not a crash."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(duplicate, field="key") from None
    return row


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _json(value) for name, value in values.items()}


def _json(value: Any) -> Any:
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")
    if isinstance(value, StrEnum):
        return value.value
    return value
