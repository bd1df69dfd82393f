"""Properties JSON API (admin and staff)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from luxserv.properties.service import list_properties
from luxserv.web.deps import AdminUser, SessionDep

router = APIRouter(prefix="/api", tags=["properties"])


class ListingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    provider: str
    listing_id: str


class OwnerRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class PropertyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    address: str
    city: str
    state: str
    postal_code: str
    time_zone: str
    owner: OwnerRef | None
    listings: list[ListingRead]


@router.get("/properties", operation_id="list_properties", response_model=list[PropertyRead])
def properties(session: SessionDep, user: AdminUser) -> list[PropertyRead]:
    """Every property with its owner and channel listing ids (what `place` needs)."""
    return [PropertyRead.model_validate(p) for p in list_properties(session)]
