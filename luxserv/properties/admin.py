"""Managing owners and properties: editing them, their channel listing ids and aliases, and owner logins.

Runs in the caller's transaction and never commits. Every value is checked here, whatever route it came through:
wrong values raise `InvalidFields` (every field's message at once, so a form can show each next to its field), a
collision raises `Conflict`. Every change is audited.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from luxserv.accounts.models import Role, User
from luxserv.accounts.service import create_user
from luxserv.audit.service import record
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.errors import Conflict, InvalidInput, NotFound
from luxserv.properties import service as properties
from luxserv.properties.matching import normalize_key, refresh_aliases
from luxserv.properties.models import DEFAULT_TIME_ZONE, ChannelListing, Owner, Property, PropertyAlias
from luxserv.services.models import ServiceRequest

# Providers whose listing ids bookings carry; any other lower-case name is accepted too (a new source).
KNOWN_PROVIDERS = ("airbnb", "generic", "guesty", "hostaway", "ical", "manual", "ownerrez")
MAX_ROOMS = 100
MAX_GUESTS = 100
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
_PROVIDER = re.compile(r"[a-z0-9]+(?:[_.-][a-z0-9]+)*")
_TEXT_LIMITS = {"name": 200, "address": 300, "city": 120, "state": 60, "postal_code": 20, "phone": 50}
OWNER_FIELDS = ("name", "email", "phone")
PROPERTY_FIELDS = (
    "name",
    "address",
    "city",
    "state",
    "postal_code",
    "time_zone",
    "bedrooms",
    "max_guests",
    "owner_id",
    "is_active",
)


class InvalidFields(InvalidInput):
    """Several fields are wrong at once; `errors` maps each to its message (the first one is the message)."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors))
        super().__init__(errors[first], field=first)
        self.errors = errors


# --- owners ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerRow:
    owner: Owner
    properties: int
    logins: int


def list_owners(session: Session, *, search: str = "") -> list[OwnerRow]:
    """Owners by name with how many homes and logins each has; `search` matches name, e-mail or phone."""
    query = select(Owner).order_by(Owner.name, Owner.id)
    if search.strip():
        pattern = _like(search)
        query = query.where(
            or_(Owner.name.ilike(pattern, escape="\\"), Owner.email.ilike(pattern, escape="\\"),
                Owner.phone.ilike(pattern, escape="\\"))
        )  # fmt: skip
    owners = list(session.scalars(query))
    ids = [o.id for o in owners]
    homes = _counts(session, Property.owner_id, ids)
    logins = _counts(session, User.owner_id, ids)
    return [OwnerRow(o, homes.get(o.id, 0), logins.get(o.id, 0)) for o in owners]


def get_owner(session: Session, owner_id: int) -> Owner:
    """The owner with their properties loaded."""
    owner = None
    if 1 <= owner_id <= MAX_ID:  # larger ids cannot exist (and overflow the database's integers)
        owner = session.scalar(select(Owner).where(Owner.id == owner_id).options(selectinload(Owner.properties)))
    if owner is None:
        raise NotFound(f"owner {owner_id} not found", field="owner_id")
    return owner


def owner_choices(session: Session) -> list[Owner]:
    """Every owner by name, for a property's owner select."""
    return list(session.scalars(select(Owner).order_by(Owner.name, Owner.id)))


def create_owner(session: Session, values: Mapping[str, Any], *, actor: str) -> Owner:
    """A new owner; `name` is required, `email` and `phone` optional."""
    clean = _clean_owner(values, required=True)
    return properties.create_owner(
        session, name=clean["name"], email=clean.get("email"), phone=clean.get("phone"), actor=actor
    )


def update_owner(session: Session, owner_id: int, values: Mapping[str, Any], *, actor: str) -> Owner:
    """Change some of an owner's fields; only what actually changes is written and audited."""
    owner = get_owner(session, owner_id)
    changes = _apply(owner, _clean_owner(values, required=False))
    if changes:
        session.flush()
        record(session, actor=actor, action="owner.updated", entity_type="owner", entity_id=owner.id, changes=changes)
    return owner


def owner_logins(session: Session, owner_id: int) -> list[User]:
    """The logins linked to an owner, by e-mail."""
    return list(session.scalars(select(User).where(User.owner_id == owner_id).order_by(User.email)))


def create_owner_login(
    session: Session, owner_id: int, *, email: str, full_name: str = "", actor: str
) -> tuple[User, str]:
    """A login for the owner with a generated password, returned once (only its hash is stored)."""
    owner = get_owner(session, owner_id)
    if len(full_name.strip()) > 200:
        raise InvalidFields({"full_name": "name is longer than 200 characters"})
    password = secrets.token_urlsafe(12)
    user = create_user(
        session, email=email, role=Role.owner, password=password, full_name=full_name.strip(), owner=owner, actor=actor
    )
    return user, password


def _clean_owner(values: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
    _known(values, OWNER_FIELDS)
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if required and "name" not in values:
        errors["name"] = "name is required"
    for name, value in values.items():
        try:
            if name == "name":
                clean[name] = _text(value, name, required=True)
            elif name == "email":
                clean[name] = _email(value)
            else:
                clean[name] = _text(value, name, required=False) or None
        except InvalidInput as error:
            errors[name] = error.message
    if errors:
        raise InvalidFields(errors)
    return clean


# --- properties ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyRow:
    property: Property
    upcoming_bookings: int


def list_properties(session: Session, *, search: str = "", today: date) -> list[PropertyRow]:
    """Properties by name with owner, listings, and how many bookings are current or to come from `today`.

    `search` matches the name, address, city, the owner's name or a channel listing id (case-insensitive).
    """
    query = select(Property).options(selectinload(Property.owner), selectinload(Property.listings))
    if search.strip():
        pattern = _like(search)
        listed = select(ChannelListing.property_id).where(ChannelListing.listing_id.ilike(pattern, escape="\\"))
        owned = select(Owner.id).where(Owner.name.ilike(pattern, escape="\\"))
        query = query.where(
            or_(Property.name.ilike(pattern, escape="\\"), Property.address.ilike(pattern, escape="\\"),
                Property.city.ilike(pattern, escape="\\"), Property.id.in_(listed), Property.owner_id.in_(owned))
        )  # fmt: skip
    found = list(session.scalars(query.order_by(Property.name, Property.id)))
    counted = session.execute(
        select(Booking.property_id, func.count(Booking.id))
        .where(
            Booking.property_id.in_([p.id for p in found]),
            Booking.check_out >= today,
            Booking.status != BookingStatus.cancelled,
        )
        .group_by(Booking.property_id)
    )
    upcoming = {prop_id: count for prop_id, count in counted}
    return [PropertyRow(p, upcoming.get(p.id, 0)) for p in found]


def get_property(session: Session, property_id: int) -> Property:
    """The property with its owner, listings and aliases loaded."""
    prop = None
    if 1 <= property_id <= MAX_ID:  # larger ids cannot exist (and overflow the database's integers)
        prop = session.scalar(
            select(Property)
            .where(Property.id == property_id)
            .options(selectinload(Property.owner), selectinload(Property.listings), selectinload(Property.aliases))
        )
    if prop is None:
        raise NotFound(f"property {property_id} not found", field="property_id")
    return prop


def create_property(session: Session, values: Mapping[str, Any], *, actor: str) -> Property:
    """A new property; `name` is required, the time zone defaults to Panama City Beach's."""
    clean = _clean_property(session, {"time_zone": DEFAULT_TIME_ZONE, **values}, required=True)
    owner_id = clean.pop("owner_id", None)
    is_active = clean.pop("is_active", True)
    prop = properties.create_property(
        session, owner=session.get(Owner, owner_id) if owner_id else None, actor=actor, **clean
    )
    if not is_active:
        prop.is_active = False
        session.flush()
    return get_property(session, prop.id)


def update_property(session: Session, property_id: int, values: Mapping[str, Any], *, actor: str) -> Property:
    """Change some fields; the derived aliases follow a new name, address or city. Only changes are audited."""
    prop = get_property(session, property_id)
    changes = _apply(prop, _clean_property(session, values, required=False))
    if changes:
        if "owner_id" in changes:  # keep the loaded relationship in step with the new id
            prop.owner = session.get(Owner, prop.owner_id) if prop.owner_id else None
        if changes.keys() & {"name", "address", "city"}:
            refresh_aliases(session, prop)
        session.flush()
        record(session, actor=actor, action="property.updated", entity_type="property", entity_id=prop.id,
               changes=changes)  # fmt: skip
    return prop


def delete_property(session: Session, property_id: int, *, actor: str) -> None:
    """Delete a property nothing refers to yet. One with bookings or service requests keeps its history:
    it is refused (Conflict), and can be deactivated instead."""
    prop = get_property(session, property_id)
    bookings = session.scalar(select(func.count(Booking.id)).where(Booking.property_id == prop.id)) or 0
    requests = session.scalar(select(func.count(ServiceRequest.id)).where(ServiceRequest.property_id == prop.id)) or 0
    if bookings or requests:
        held = " and ".join(p for p in (_plural(bookings, "booking"), _plural(requests, "service request")) if p)
        raise Conflict(
            f"{prop.name} cannot be deleted: it has {held}; deactivate it instead (its history stays)",
            field="is_active",
        )
    name = prop.name
    session.delete(prop)
    session.flush()
    record(session, actor=actor, action="property.deleted", entity_type="property", entity_id=property_id, name=name)


def _clean_property(session: Session, values: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
    _known(values, PROPERTY_FIELDS)
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if required and "name" not in values:
        errors["name"] = "name is required"
    for name, value in values.items():
        try:
            clean[name] = _property_value(session, name, value)
        except InvalidInput as error:
            errors[name] = error.message
    if errors:
        raise InvalidFields(errors)
    return clean


def _property_value(session: Session, name: str, value: Any) -> Any:
    if name == "name":
        return _text(value, name, required=True)
    if name in ("address", "city", "state", "postal_code"):
        return _text(value, name, required=False)
    if name == "time_zone":
        zone = _text(value, name, required=True)
        if zone not in _time_zones():
            raise InvalidInput(f"{zone!r} is not an IANA time zone such as America/Chicago", field=name)
        return zone
    if name == "bedrooms":
        return _count(value, name, low=0, high=MAX_ROOMS)
    if name == "max_guests":
        return _count(value, name, low=1, high=MAX_GUESTS)
    if name == "owner_id":
        if value is None:
            return None
        owner_id = _count(value, name, low=1, high=MAX_ID)
        if owner_id is None or session.get(Owner, owner_id) is None:
            raise InvalidInput(f"owner {value} does not exist", field=name)
        return owner_id
    if not isinstance(value, bool):  # is_active
        raise InvalidInput(f"{name} must be true or false", field=name)
    return value


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


# --- channel listing ids and aliases ----------------------------------------------------------------------------


def add_listing(session: Session, property_id: int, provider: Any, listing_id: Any, *, actor: str) -> ChannelListing:
    """Link a provider's listing id to the property. A listing id is unique per provider (Conflict otherwise)."""
    prop = get_property(session, property_id)
    errors: dict[str, str] = {}
    clean_provider = clean_listing = ""
    try:
        clean_provider = _text(provider, "provider", required=True).lower()
        if len(clean_provider) > 40 or not _PROVIDER.fullmatch(clean_provider):
            errors["provider"] = "provider must be a lower-case name such as airbnb or guesty (at most 40 characters)"
    except InvalidInput as error:
        errors["provider"] = error.message
    try:
        clean_listing = _text(listing_id, "listing_id", required=True, limit=200)
    except InvalidInput as error:
        errors["listing_id"] = error.message
    if errors:
        raise InvalidFields(errors)
    holder = session.scalar(
        select(Property)
        .join(ChannelListing)
        .where(ChannelListing.provider == clean_provider, ChannelListing.listing_id == clean_listing)
    )
    if holder is not None:
        where = "this property" if holder.id == prop.id else f"{holder.name} (property {holder.id})"
        raise Conflict(f"{clean_provider} listing {clean_listing} is already linked to {where}", field="listing_id")
    listing = ChannelListing(provider=clean_provider, listing_id=clean_listing)
    _insert(session, prop.listings, listing, f"{clean_provider} listing {clean_listing} was just linked elsewhere")
    record(session, actor=actor, action="property.listing_added", entity_type="property", entity_id=prop.id,
           provider=clean_provider, listing_id=clean_listing)  # fmt: skip
    return listing


def remove_listing(session: Session, property_id: int, listing_pk: int, *, actor: str) -> None:
    """Unlink one of the property's channel listings (by its row id); later events for it no longer match it."""
    prop = get_property(session, property_id)
    listing = next((item for item in prop.listings if item.id == listing_pk), None)
    if listing is None:
        raise NotFound(f"channel listing {listing_pk} is not linked to property {property_id}", field="listing_id")
    prop.listings.remove(listing)
    session.flush()
    record(session, actor=actor, action="property.listing_removed", entity_type="property", entity_id=prop.id,
           provider=listing.provider, listing_id=listing.listing_id)  # fmt: skip


def add_alias(session: Session, property_id: int, text: Any, *, actor: str) -> PropertyAlias:
    """Teach the property another name or address that channels use for it (matched after normalizing)."""
    prop = get_property(session, property_id)
    key = normalize_key(_text(text, "alias", required=True, limit=400))
    if not key:
        raise InvalidFields({"alias": "alias needs at least one letter or digit"})
    holder = session.scalar(select(Property).join(PropertyAlias).where(PropertyAlias.key == key))
    if holder is not None:
        where = "this property" if holder.id == prop.id else f"{holder.name} (property {holder.id})"
        raise Conflict(f"{key!r} already names {where}", field="alias")
    alias = PropertyAlias(key=key, learned=True)
    _insert(session, prop.aliases, alias, f"{key!r} was just taught to another property")
    record(session, actor=actor, action="property.alias_added", entity_type="property", entity_id=prop.id, key=key)
    return alias


def remove_alias(session: Session, property_id: int, alias_id: int, *, actor: str) -> None:
    """Forget a taught alias. Aliases derived from the name and address follow those fields instead."""
    prop = get_property(session, property_id)
    alias = next((item for item in prop.aliases if item.id == alias_id), None)
    if alias is None:
        raise NotFound(f"alias {alias_id} does not belong to property {property_id}", field="alias")
    if not alias.learned:
        raise Conflict(f"{alias.key!r} comes from the property's name or address; change those instead", field="alias")
    prop.aliases.remove(alias)
    session.flush()
    record(session, actor=actor, action="property.alias_removed", entity_type="property", entity_id=prop.id,
           key=alias.key)  # fmt: skip


# --- checks and helpers ----------------------------------------------------------------------------------------


def _known(values: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = [name for name in values if name not in allowed]
    if unknown:
        raise InvalidFields({name: f"unknown field {name!r}" for name in unknown})


def _text(value: Any, field: str, *, required: bool, limit: int | None = None) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{field.replace('_', ' ')} must not be empty", field=field)
    limit = limit or _TEXT_LIMITS.get(field, 200)
    if len(text) > limit:
        raise InvalidInput(f"{field.replace('_', ' ')} is longer than {limit} characters", field=field)
    return text


def _email(value: Any) -> str | None:
    text = _text(value, "email", required=False, limit=320)
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidInput(f"{text!r} is not a valid e-mail address", field="email") from None


def _count(value: Any, field: str, *, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field.replace('_', ' ')} must be a whole number from {low} to {high}", field=field)
    return value


def _apply(row: Owner | Property, clean: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set the values that differ; returns {field: [old, new]} of what changed."""
    changes: dict[str, list[Any]] = {}
    for name, value in clean.items():
        old = getattr(row, name)
        if old != value:
            setattr(row, name, value)
            changes[name] = [old, value]
    return changes


def _insert(session: Session, collection: list[Any], row: Any, taken: str) -> None:
    """Add and flush; a unique key taken by a concurrent request meanwhile is a Conflict, not a crash."""
    try:
        with session.begin_nested():
            collection.append(row)
            session.flush()
    except IntegrityError:
        raise Conflict(taken) from None


def _counts(session: Session, column: Any, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
    return {key: count for key, count in rows if key is not None}


def _like(search: str) -> str:
    escaped = search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _plural(count: int, noun: str) -> str:
    if not count:
        return ""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
