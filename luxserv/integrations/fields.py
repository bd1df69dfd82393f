"""Reading fields out of decoded payloads, rejecting with the field's name when one is missing or wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from luxserv.core.errors import EventRejected


def required_str(data: dict[str, Any], key: str, label: str | None = None) -> str:
    value = optional_str(data, key, label)
    if not value:
        raise EventRejected(f"missing field: {label or key}", field=label or key)
    return value


def optional_str(data: dict[str, Any], key: str, label: str | None = None) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventRejected(f"{label or key} must be a string", field=label or key)
    # NUL cannot be stored in PostgreSQL text and never means anything in a name or a note.
    text = str(value).replace("\x00", "").strip()
    return text or None


def optional_int(data: dict[str, Any], key: str, *, default: int) -> int:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        raise EventRejected(f"{key} must be a whole number", field=key)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value.strip())
    raise EventRejected(f"{key} must be a whole number", field=key)


def parse_date(data: dict[str, Any], key: str) -> date:
    """A calendar date: `YYYY-MM-DD`, or the date part of an ISO 8601 date-time as written (not converted)."""
    value = required_str(data, key)
    try:
        return date.fromisoformat(value[:10])
    except ValueError as error:
        raise EventRejected(f"{key} must be a date like 2026-06-15", field=key) from error


def parse_datetime(data: dict[str, Any], key: str) -> datetime | None:
    """An ISO 8601 instant; one without an offset is taken as UTC."""
    value = optional_str(data, key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise EventRejected(f"{key} must be an ISO 8601 date-time", field=key) from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
