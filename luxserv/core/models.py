"""Column helpers shared by every domain's models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum
from sqlalchemy.orm import Mapped, mapped_column

from luxserv.core.clock import utcnow
from luxserv.core.database import UTCDateTime


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A readable-word status column: VARCHAR plus a CHECK constraint, the same on SQLite and PostgreSQL."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def created_at_column() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def updated_at_column() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


def as_dict(**values: Any) -> dict[str, Any]:
    """Drop None values (keeps JSON details small and readable)."""
    return {key: value for key, value in values.items() if value is not None}
