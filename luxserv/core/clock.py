"""One source of "now", so tests and local-date logic agree."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def local_today(time_zone: str) -> date:
    """Today's calendar date in the given IANA time zone (a property's "today")."""
    return utcnow().astimezone(ZoneInfo(time_zone)).date()
