"""Service catalogue and automation rules JSON API: admins (and staff) edit; any signed-in user reads the catalogue.

Validation lives in `catalog` (these schemas only shape JSON and document it): a wrong value answers 422 naming
the field, a duplicate key 409.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from luxserv.core.clock import local_today
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services import catalog, replan
from luxserv.services.models import Anchor, Condition
from luxserv.web.deps import AdminUser, CurrentUser, SessionDep

router = APIRouter(prefix="/api", tags=["services"])

ConditionValue = str | int | list[str]


class ServiceTypePublic(BaseModel):
    """What guests and owners may pick from."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str
    description: str
    default_duration_minutes: int
    default_time: time | None
    price_cents: int | None
    guest_requestable: bool


class ServiceTypeRead(ServiceTypePublic):
    active: bool
    created_at: datetime


class ServiceTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=60, description="lower-case slug, unique: beach_gear_delivery")
    name: str = Field(max_length=120)
    description: str = ""
    default_duration_minutes: int = Field(default=60, gt=0)
    default_time: time | None = None
    price_cents: int | None = Field(default=None, ge=0)
    guest_requestable: bool = False
    active: bool = True


class ServiceTypeUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = None
    name: str | None = None
    description: str | None = None
    default_duration_minutes: int | None = Field(default=None, gt=0)
    default_time: time | None = None
    price_cents: int | None = Field(default=None, ge=0)
    guest_requestable: bool | None = None
    active: bool | None = None


class ServiceTypeRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str
    service_type: ServiceTypeRef
    anchor: Anchor
    offset_days: int
    time_of_day: time | None
    condition: Condition
    condition_value: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=60)
    name: str = Field(max_length=120)
    service_type_id: int
    anchor: Anchor
    offset_days: int = Field(default=0, ge=-catalog.MAX_OFFSET_DAYS, le=catalog.MAX_OFFSET_DAYS)
    time_of_day: time | None = None
    condition: Condition = Condition.always
    condition_value: ConditionValue = Field(
        default="", description="keywords or channels: a list (or comma-separated); min_guests/min_nights: a number"
    )
    enabled: bool = True


class RuleUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = None
    name: str | None = None
    service_type_id: int | None = None
    anchor: Anchor | None = None
    offset_days: int | None = Field(default=None, ge=-catalog.MAX_OFFSET_DAYS, le=catalog.MAX_OFFSET_DAYS)
    time_of_day: time | None = None
    condition: Condition | None = None
    condition_value: ConditionValue | None = None
    enabled: bool | None = None


class OverrideWrite(BaseModel):
    enabled: bool | None = Field(description="true/false overrides the rule at this property; null removes that")


class OverrideRead(BaseModel):
    property_id: int
    rule_id: int
    override: bool | None
    in_force: bool


class ReplanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_id: int | None = Field(default=None, description="only this rule's requests (all rules when null)")
    apply: bool = Field(default=False, description="false: only say what would change")


class ChangeRead(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    booking_id: int
    rule_id: int
    rule_key: str
    action: replan.Action
    from_: date | None = Field(alias="from")
    to: date | None


class ReplanRead(BaseModel):
    applied: bool
    today: date
    changes: list[ChangeRead]


@router.get("/admin/service-types", operation_id="list_service_types", response_model=list[ServiceTypeRead])
def list_service_types(session: SessionDep, user: AdminUser, active: bool | None = None) -> list[ServiceTypeRead]:
    """The whole catalogue, inactive entries included unless `active` says otherwise."""
    return [ServiceTypeRead.model_validate(t) for t in catalog.list_service_types(session, active=active)]


@router.post(
    "/admin/service-types",
    operation_id="create_service_type",
    response_model=ServiceTypeRead,
    status_code=status.HTTP_201_CREATED,
)
def create_service_type(body: ServiceTypeCreate, session: SessionDep, user: AdminUser) -> ServiceTypeRead:
    created = catalog.create_service_type(session, body.model_dump(), actor=f"user:{user.id}")
    return ServiceTypeRead.model_validate(created)


@router.patch("/admin/service-types/{type_id}", operation_id="update_service_type", response_model=ServiceTypeRead)
def update_service_type(type_id: int, body: ServiceTypeUpdate, session: SessionDep, user: AdminUser) -> ServiceTypeRead:
    updated = catalog.update_service_type(session, type_id, _sent(body), actor=f"user:{user.id}")
    return ServiceTypeRead.model_validate(updated)


@router.get("/service-types", operation_id="list_requestable_service_types", response_model=list[ServiceTypePublic])
def list_requestable_service_types(
    session: SessionDep, user: CurrentUser, guest_requestable: bool | None = None
) -> list[ServiceTypePublic]:
    """The active catalogue, for anyone signed in; `guest_requestable=true` gives what guests and owners may ask."""
    found = catalog.list_service_types(session, guest_requestable=guest_requestable, active=True)
    return [ServiceTypePublic.model_validate(t) for t in found]


@router.get("/admin/rules", operation_id="list_automation_rules", response_model=list[RuleRead])
def list_rules(session: SessionDep, user: AdminUser) -> list[RuleRead]:
    return [RuleRead.model_validate(r) for r in catalog.list_rules(session)]


@router.post(
    "/admin/rules", operation_id="create_automation_rule", response_model=RuleRead, status_code=status.HTTP_201_CREATED
)
def create_rule(body: RuleCreate, session: SessionDep, user: AdminUser) -> RuleRead:
    """A new rule. It applies to bookings planned from now on; `POST /api/admin/rules/replan` extends it."""
    return RuleRead.model_validate(catalog.create_rule(session, body.model_dump(), actor=f"user:{user.id}"))


@router.patch("/admin/rules/{rule_id}", operation_id="update_automation_rule", response_model=RuleRead)
def update_rule(rule_id: int, body: RuleUpdate, session: SessionDep, user: AdminUser) -> RuleRead:
    return RuleRead.model_validate(catalog.update_rule(session, rule_id, _sent(body), actor=f"user:{user.id}"))


@router.put(
    "/admin/properties/{property_id}/rules/{rule_id}",
    operation_id="set_property_rule_override",
    response_model=OverrideRead,
)
def set_override(
    property_id: int, rule_id: int, body: OverrideWrite, session: SessionDep, user: AdminUser
) -> OverrideRead:
    """Switch a rule on or off at one property (null: follow the rule). Re-plan to apply it to existing bookings."""
    in_force = catalog.set_property_override(session, property_id, rule_id, body.enabled, actor=f"user:{user.id}")
    return OverrideRead(property_id=property_id, rule_id=rule_id, override=body.enabled, in_force=in_force)


@router.post("/admin/rules/replan", operation_id="replan_automation_rules", response_model=ReplanRead)
def replan_rules(body: ReplanRequest, session: SessionDep, user: AdminUser) -> ReplanRead:
    """What re-planning bookings not yet ended would create, move or cancel; with `apply`, do it."""
    today = local_today(DEFAULT_TIME_ZONE)
    if body.apply:
        changes = replan.apply_replan(session, body.rule_id, today=today, actor=f"user:{user.id}")
    else:
        changes = replan.preview(session, body.rule_id, today=today)
    return ReplanRead(
        applied=body.apply,
        today=today,
        changes=[
            ChangeRead(booking_id=c.booking_id, rule_id=c.rule_id, rule_key=c.rule_key, action=c.action,
                       from_=c.from_day, to=c.to_day)
            for c in changes
        ],
    )  # fmt: skip


def _sent(body: BaseModel) -> dict[str, Any]:
    """The fields the client actually sent (an explicit null included, which `catalog` refuses where not allowed)."""
    return body.model_dump(exclude_unset=True)
