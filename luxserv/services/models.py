"""Concierge services: the catalogue, the automation rules, and service requests (automatic tasks and asks)."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    Time,
    UniqueConstraint,
    bindparam,
    cast,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import BindParameter

from luxserv.core.database import Base, UTCDateTime
from luxserv.core.models import created_at_column, str_enum, updated_at_column


class ServiceType(Base):
    """One kind of service in the catalogue (grocery stocking, beach gear delivery, private chef…)."""

    __tablename__ = "service_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    default_duration_minutes: Mapped[int] = mapped_column(default=60)
    default_time: Mapped[time | None] = mapped_column(Time)
    price_cents: Mapped[int | None] = mapped_column()
    guest_requestable: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()


class Anchor(StrEnum):
    check_in = "check_in"
    check_out = "check_out"
    booked = "booked"  # the day the booking was first recorded (property's local date)


class Condition(StrEnum):
    always = "always"
    keywords = "keywords"  # special requests mention one of the comma-separated words
    min_guests = "min_guests"
    min_nights = "min_nights"
    channel = "channel"  # booked through one of the comma-separated channels


class AutomationRule(Base):
    """Data, not code: which service to schedule for a booking, when, and on what condition."""

    __tablename__ = "automation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    service_type_id: Mapped[int] = mapped_column(ForeignKey("service_types.id", ondelete="RESTRICT"))
    anchor: Mapped[Anchor] = mapped_column(str_enum(Anchor, "rule_anchor"))
    offset_days: Mapped[int] = mapped_column(default=0)
    time_of_day: Mapped[time | None] = mapped_column(Time)
    condition: Mapped[Condition] = mapped_column(str_enum(Condition, "rule_condition"), default=Condition.always)
    condition_value: Mapped[str] = mapped_column(String(500), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    service_type: Mapped[ServiceType] = relationship()


class PropertyRuleSetting(Base):
    """A property's override of a rule: switched off here (or on, when the rule is off by default)."""

    __tablename__ = "property_rule_settings"
    __table_args__ = (UniqueConstraint("property_id", "rule_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column()


class Origin(StrEnum):
    automation = "automation"
    guest = "guest"
    owner = "owner"
    admin = "admin"


class RequestStatus(StrEnum):
    requested = "requested"
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


OPEN_STATUSES = (RequestStatus.requested, RequestStatus.scheduled, RequestStatus.in_progress)
# What automation may still move or cancel: work not yet started.
PENDING_STATUSES = (RequestStatus.requested, RequestStatus.scheduled)

# The open tasks' partial indexes (migration 0006) cover the rows whose status is one of these. A query meant to use
# them repeats the predicate (`open_predicate`) with the values written into its SQL: a database can only use a
# partial index when it can prove, while planning, that the query's WHERE clause implies the index's.
OPEN_INDEX_STATUSES: tuple[str, ...] = tuple(status.value for status in OPEN_STATUSES)
_OPEN_LIST = ", ".join(f"'{value}'" for value in OPEN_INDEX_STATUSES)
# PostgreSQL: on the column's text, so the predicate reads the same whether the column is VARCHAR or a native enum.
OPEN_WHERE_POSTGRESQL = f"CAST(status AS TEXT) IN ({_OPEN_LIST})"
OPEN_WHERE_SQLITE = f"status IN ({_OPEN_LIST})"


class ServiceRequest(Base):
    """Work at a property on a day: made by an automation rule, or asked for by a guest, an owner or an admin."""

    __tablename__ = "service_requests"
    __table_args__ = (
        # A rule makes at most one request per booking; re-planning never duplicates.
        UniqueConstraint("booking_id", "rule_id"),
        Index("ix_service_requests_property_day", "property_id", "scheduled_for"),
        Index("ix_service_requests_status_day", "status", "scheduled_for"),
        # Open tasks only (a few percent of the table after some years): the queue by day, and one home's open
        # tasks by service (the owner's cards count them from the index alone).
        Index(
            "ix_service_requests_open_day",
            "scheduled_for",
            "time_of_day",
            "id",
            postgresql_where=text(OPEN_WHERE_POSTGRESQL),
            sqlite_where=text(OPEN_WHERE_SQLITE),
        ),
        Index(
            "ix_service_requests_open_home",
            "property_id",
            "service_type_id",
            "scheduled_for",
            postgresql_where=text(OPEN_WHERE_POSTGRESQL),
            sqlite_where=text(OPEN_WHERE_SQLITE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guests.id", ondelete="SET NULL"), index=True)
    service_type_id: Mapped[int] = mapped_column(ForeignKey("service_types.id", ondelete="RESTRICT"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("automation_rules.id", ondelete="SET NULL"))
    origin: Mapped[Origin] = mapped_column(str_enum(Origin, "request_origin"))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, "request_status"))
    scheduled_for: Mapped[date] = mapped_column(Date)
    time_of_day: Mapped[time | None] = mapped_column(Time)
    notes: Mapped[str] = mapped_column(Text, default="")
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    service_type: Mapped[ServiceType] = relationship()
    changes: Mapped[list[ServiceRequestChange]] = relationship(
        back_populates="request", order_by="ServiceRequestChange.id", cascade="all, delete-orphan"
    )


class ServiceRequestChange(Base):
    """Who changed a request, when, from which status to which (and why)."""

    __tablename__ = "service_request_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = created_at_column()
    actor: Mapped[str] = mapped_column(String(120))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[ServiceRequest] = relationship(back_populates="changes")


def open_predicate(dialect_name: str) -> ColumnElement[bool]:
    """`ServiceRequest` is open, written as the open tasks' partial indexes say it, so the planner may use them.

    The statuses are rendered into the statement (`literal_execute`), not sent as parameters: a prepared statement's
    generic plan cannot know that bound values fall within an index's predicate.
    """
    statuses: BindParameter[list[str]] = bindparam(
        "open_index_statuses", list(OPEN_INDEX_STATUSES), expanding=True, literal_execute=True
    )
    if dialect_name == "postgresql":
        return cast(ServiceRequest.status, Text).in_(statuses)
    return ServiceRequest.status.in_(statuses)
