"""Owners and properties: creating, listing, and keeping their match keys in step."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from luxserv.audit.service import record
from luxserv.properties.matching import link_listing, refresh_aliases
from luxserv.properties.models import DEFAULT_TIME_ZONE, Owner, Property


def create_owner(session: Session, *, name: str, email: str | None, phone: str | None = None, actor: str) -> Owner:
    owner = Owner(name=name, email=email, phone=phone)
    session.add(owner)
    session.flush()
    record(session, actor=actor, action="owner.created", entity_type="owner", entity_id=owner.id, name=name)
    return owner


def create_property(
    session: Session,
    *,
    owner: Owner | None,
    name: str,
    address: str = "",
    city: str = "",
    state: str = "",
    postal_code: str = "",
    time_zone: str = DEFAULT_TIME_ZONE,
    bedrooms: int | None = None,
    max_guests: int | None = None,
    listings: dict[str, str] | None = None,
    actor: str,
) -> Property:
    """A property with its derived match keys and any channel listing ids ({provider: listing id})."""
    prop = Property(
        owner=owner,
        name=name,
        address=address,
        city=city,
        state=state,
        postal_code=postal_code,
        time_zone=time_zone,
        bedrooms=bedrooms,
        max_guests=max_guests,
    )
    session.add(prop)
    session.flush()
    refresh_aliases(session, prop)
    for provider, listing_id in (listings or {}).items():
        link_listing(session, prop, provider, listing_id)
    session.flush()
    record(session, actor=actor, action="property.created", entity_type="property", entity_id=prop.id, name=name)
    return prop


def list_properties(session: Session, *, owner_id: int | None = None) -> list[Property]:
    query = select(Property).options(selectinload(Property.listings), selectinload(Property.owner))
    if owner_id is not None:
        query = query.where(Property.owner_id == owner_id)
    return list(session.scalars(query.order_by(Property.name, Property.id)))
