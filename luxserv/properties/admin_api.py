"""Managing owners and properties over JSON (admin and staff): CRUD, channel listing ids.

Validation lives in `properties.admin` (these schemas shape JSON and document it): a wrong value answers 422
naming the field, a listing id another property holds 409, deleting a property with history 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.orm import Session

from luxserv.properties import admin
from luxserv.properties.models import DEFAULT_TIME_ZONE, Owner, Property
from luxserv.web.deps import AdminUser, SessionDep

router = APIRouter(prefix="/api/admin", tags=["properties"])

# The shapes below document what `admin` accepts; it checks everything again (a time zone must exist, an owner too).
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S", description="not blank")]
Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="an e-mail address")]
Phone = Annotated[str, Field(max_length=50)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="IANA time zone: the home's local day")]
Bedrooms = Annotated[int, Field(ge=0, le=admin.MAX_ROOMS)]
Guests = Annotated[int, Field(ge=1, le=admin.MAX_GUESTS)]
Id = Annotated[int, Field(ge=1, le=admin.MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=admin.MAX_ID)]


class OwnerPropertyRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    is_active: bool


class OwnerLoginRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    is_active: bool
    last_login_at: datetime | None


class OwnerSummary(BaseModel):
    id: int
    name: str
    email: str | None
    phone: str | None
    properties: int = Field(description="how many homes the owner has")
    logins: int = Field(description="how many sign-ins are linked to the owner")


class OwnerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str | None
    phone: str | None
    created_at: datetime
    properties: list[OwnerPropertyRef]
    logins: list[OwnerLoginRead] = []


class OwnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: Email | None = None
    phone: Phone | None = None


class OwnerUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    name: Name | SkipJsonSchema[None] = None
    email: Email | None = None
    phone: Phone | None = None


class ChannelListingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="the link's own id (what DELETE …/listings/{listing_id} takes)")
    provider: str
    listing_id: str = Field(description="the id the provider gives this property")


class ChannelListingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(
        max_length=40,
        pattern=r"^[a-z0-9]+(?:[_.-][a-z0-9]+)*$",
        description="airbnb, guesty, hostaway, ownerrez, generic, ical, manual…",
    )
    listing_id: str = Field(min_length=1, max_length=200, pattern=r"\S")


class AliasRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str = Field(description="a normalized name or address events are matched on")
    learned: bool = Field(description="taught (by placing a booking or by hand), not derived from the name")


class PropertyOwnerRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class PropertyDetail(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    address: str
    city: str
    state: str
    postal_code: str
    time_zone: str
    bedrooms: int | None
    max_guests: int | None
    is_active: bool
    created_at: datetime
    owner: PropertyOwnerRef | None
    listings: list[ChannelListingRead]
    aliases: list[AliasRead]


class PropertyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    state: str = Field(default="", max_length=60)
    postal_code: str = Field(default="", max_length=20)
    time_zone: TimeZone = DEFAULT_TIME_ZONE
    bedrooms: Bedrooms | None = None
    max_guests: Guests | None = None
    owner_id: Id | None = None
    is_active: bool = True


class PropertyUpdate(BaseModel):
    """Only the fields sent change (`owner_id: null` removes the owner)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | SkipJsonSchema[None] = None
    address: Annotated[str, Field(max_length=300)] | SkipJsonSchema[None] = None
    city: Annotated[str, Field(max_length=120)] | SkipJsonSchema[None] = None
    state: Annotated[str, Field(max_length=60)] | SkipJsonSchema[None] = None
    postal_code: Annotated[str, Field(max_length=20)] | SkipJsonSchema[None] = None
    time_zone: TimeZone | SkipJsonSchema[None] = None
    bedrooms: Bedrooms | None = None
    max_guests: Guests | None = None
    owner_id: Id | None = None
    is_active: bool | SkipJsonSchema[None] = None


@router.get("/owners", operation_id="list_owners", response_model=list[OwnerSummary])
def list_owners(session: SessionDep, user: AdminUser, q: str = "") -> list[OwnerSummary]:
    """Owners by name; `q` searches name, e-mail and phone."""
    return [
        OwnerSummary(id=row.owner.id, name=row.owner.name, email=row.owner.email, phone=row.owner.phone,
                     properties=row.properties, logins=row.logins)
        for row in admin.list_owners(session, search=q)
    ]  # fmt: skip


@router.post("/owners", operation_id="create_owner", response_model=OwnerRead, status_code=status.HTTP_201_CREATED)
def create_owner(body: OwnerCreate, session: SessionDep, user: AdminUser) -> OwnerRead:
    owner = admin.create_owner(session, body.model_dump(), actor=f"user:{user.id}")
    return _owner(session, owner)


@router.get("/owners/{owner_id}", operation_id="get_owner", response_model=OwnerRead)
def get_owner(owner_id: IdPath, session: SessionDep, user: AdminUser) -> OwnerRead:
    """An owner with their homes and logins."""
    return _owner(session, admin.get_owner(session, owner_id))


@router.patch("/owners/{owner_id}", operation_id="update_owner", response_model=OwnerRead)
def update_owner(owner_id: IdPath, body: OwnerUpdate, session: SessionDep, user: AdminUser) -> OwnerRead:
    owner = admin.update_owner(session, owner_id, _sent(body), actor=f"user:{user.id}")
    return _owner(session, owner)


@router.post(
    "/properties", operation_id="create_property", response_model=PropertyDetail, status_code=status.HTTP_201_CREATED
)
def create_property(body: PropertyCreate, session: SessionDep, user: AdminUser) -> PropertyDetail:
    """A new home. Its name and address become match keys; add channel listing ids next."""
    return _property(admin.create_property(session, body.model_dump(), actor=f"user:{user.id}"))


@router.get("/properties/{property_id}", operation_id="get_property", response_model=PropertyDetail)
def get_property(property_id: IdPath, session: SessionDep, user: AdminUser) -> PropertyDetail:
    return _property(admin.get_property(session, property_id))


@router.patch("/properties/{property_id}", operation_id="update_property", response_model=PropertyDetail)
def update_property(property_id: IdPath, body: PropertyUpdate, session: SessionDep, user: AdminUser) -> PropertyDetail:
    """Change some fields; `is_active: false` deactivates a home that has history."""
    return _property(admin.update_property(session, property_id, _sent(body), actor=f"user:{user.id}"))


@router.delete("/properties/{property_id}", operation_id="delete_property", status_code=status.HTTP_204_NO_CONTENT)
def delete_property(property_id: IdPath, session: SessionDep, user: AdminUser) -> Response:
    """Delete a home with no bookings or service requests; otherwise 409 (deactivate it instead)."""
    admin.delete_property(session, property_id, actor=f"user:{user.id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/properties/{property_id}/listings",
    operation_id="add_channel_listing",
    response_model=PropertyDetail,
    status_code=status.HTTP_201_CREATED,
)
def add_listing(
    property_id: IdPath, body: ChannelListingCreate, session: SessionDep, user: AdminUser
) -> PropertyDetail:
    """Link a provider's listing id; events carrying it then match this home. 409 if another home has it."""
    admin.add_listing(session, property_id, body.provider, body.listing_id, actor=f"user:{user.id}")
    return _property(admin.get_property(session, property_id))


@router.delete(
    "/properties/{property_id}/listings/{listing_id}",
    operation_id="remove_channel_listing",
    response_model=PropertyDetail,
)
def remove_listing(property_id: IdPath, listing_id: IdPath, session: SessionDep, user: AdminUser) -> PropertyDetail:
    """Unlink a channel listing (by the link's `id`, as `GET /api/admin/properties/{id}` lists it)."""
    admin.remove_listing(session, property_id, listing_id, actor=f"user:{user.id}")
    return _property(admin.get_property(session, property_id))


def _owner(session: Session, owner: Owner) -> OwnerRead:
    read = OwnerRead.model_validate(owner)
    read.logins = [OwnerLoginRead.model_validate(u) for u in admin.owner_logins(session, owner.id)]
    return read


def _property(prop: Property) -> PropertyDetail:
    return PropertyDetail.model_validate(prop)


def _sent(body: BaseModel) -> dict[str, Any]:
    """The fields the client actually sent (an explicit null included, which `admin` refuses where not allowed)."""
    return body.model_dump(exclude_unset=True)
