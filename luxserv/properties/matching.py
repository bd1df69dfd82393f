"""Which property a booking event is for: channel listing id first, then an exact normalized name/address."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import partial

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from luxserv.core.database import memo, remember, remembered, remembers_reads
from luxserv.integrations.base import ListingRef
from luxserv.properties.models import ChannelListing, Property, PropertyAlias

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_key(text: str) -> str:
    """Case, Unicode form, punctuation and spacing do not matter: "Beach Condo 123,  PCB" ~ "beach condo 123 pcb"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NOT_WORD.sub(" ", folded).strip()


def derived_keys(prop: Property) -> set[str]:
    """The names a property answers to without being taught: name, address, each with and without the city."""
    candidates = [prop.name, prop.address]
    if prop.city:
        candidates += [f"{prop.name}, {prop.city}", f"{prop.address}, {prop.city}" if prop.address else ""]
    return {key for key in (normalize_key(c) for c in candidates if c) if key}


def refresh_aliases(session: Session, prop: Property) -> None:
    """Keep the derived aliases in step with the property's name and address (learned ones stay).

    A key another property already answers to is left with that property: an ambiguous name matches nothing new.
    """
    wanted = derived_keys(prop)
    for alias in list(prop.aliases):
        if not alias.learned and alias.key not in wanted:
            prop.aliases.remove(alias)
    have = {alias.key for alias in prop.aliases}
    missing = wanted - have
    if not missing:
        return
    taken = set(session.scalars(select(PropertyAlias.key).where(PropertyAlias.key.in_(missing))))
    for key in sorted(missing - taken):
        prop.aliases.append(PropertyAlias(key=key))


def learn_alias(session: Session, prop: Property, text: str) -> bool:
    """Remember that `text` names this property (after an admin placed a booking). False if already known."""
    key = normalize_key(text)
    if not key or session.scalar(select(PropertyAlias.id).where(PropertyAlias.key == key)):
        return False
    prop.aliases.append(PropertyAlias(key=key, learned=True))
    return True


def link_listing(session: Session, prop: Property, provider: str, listing_id: str) -> bool:
    """Remember a provider's listing id for this property. False if that id is already linked."""
    exists = session.scalar(
        select(ChannelListing.id).where(ChannelListing.provider == provider, ChannelListing.listing_id == listing_id)
    )
    if exists:
        return False
    prop.listings.append(ChannelListing(provider=provider, listing_id=listing_id))
    return True


def match_property(session: Session, provider: str, listing: ListingRef) -> Property | None:
    """The property this listing reference points at, or None (the booking will be kept unplaced).

    Tried in order: a property id, the provider's listing id, then the name and the address as known aliases.
    In a batch (`remember_reads`), each lookup runs once; the memo also keeps the property objects referenced,
    so the session's identity map still holds them for the next event.
    """
    if listing.property_id is not None:
        return session.get(Property, listing.property_id)
    if listing.listing_id:
        listing_id = listing.listing_id
        found = memo(
            session,
            ("listing", provider, listing_id),
            lambda: session.scalar(_BY_LISTING, {"provider": provider, "listing_id": listing_id}),
        )
        if found is not None:
            return found
    for text in (listing.name, listing.address):
        if text:
            key = normalize_key(text)
            found = memo(session, ("alias", key), partial(_by_alias, session, key))
            if found is not None:
                return found
    return None


def look_up_listings(session: Session, refs: Iterable[tuple[str, ListingRef]]) -> None:
    """Read the properties of these (provider, listing) references' listing ids at once, for `match_property`.

    Only in a session that remembers its reads (a batch of events): one query then replaces one per listing id.
    """
    if not remembers_reads(session):
        return
    wanted: dict[str, set[str]] = {}
    for provider, listing in refs:
        key = ("listing", provider, listing.listing_id)
        if listing.property_id is None and listing.listing_id and not remembered(session, key):
            wanted.setdefault(provider, set()).add(listing.listing_id)
    for provider, ids in wanted.items():
        found: dict[str, Property | None] = dict.fromkeys(ids)
        for listing_id, linked in session.execute(_BY_LISTINGS, {"provider": provider, "listing_ids": list(ids)}):
            found[listing_id] = linked
        for listing_id, prop in found.items():
            remember(session, ("listing", provider, listing_id), prop)


def _by_alias(session: Session, key: str) -> Property | None:
    return session.scalar(_BY_ALIAS, {"key": key})


_BY_LISTING = (
    select(Property)
    .join(ChannelListing)
    .where(ChannelListing.provider == bindparam("provider"), ChannelListing.listing_id == bindparam("listing_id"))
)
_BY_LISTINGS = (
    select(ChannelListing.listing_id, Property)
    .join(ChannelListing)
    .where(ChannelListing.provider == bindparam("provider"),
           ChannelListing.listing_id.in_(bindparam("listing_ids", expanding=True)))
)  # fmt: skip
_BY_ALIAS = select(Property).join(PropertyAlias).where(PropertyAlias.key == bindparam("key"))
