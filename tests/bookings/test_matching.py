"""Property matching: listing id per provider, else a normalized name/address; unknown → unplaced; placing."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from luxserv.audit.models import AuditEntry
from luxserv.bookings.apply import ApplyResult, apply
from luxserv.bookings.models import Booking
from luxserv.bookings.service import place
from luxserv.core.database import Database
from luxserv.core.errors import Conflict, NotFound
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.properties.matching import learn_alias, normalize_key, refresh_aliases
from luxserv.properties.models import ChannelListing, Property, PropertyAlias
from tests.factories import make_property

BASE_EVENT = BookingEvent(
    kind=EventKind.created,
    provider="manual",
    external_id="HM-1",
    listing=ListingRef(name="Beach Condo 123"),
    guest=GuestInfo(name="Sarah Johnson", email="sarah@email.com"),
    check_in=date(2026, 6, 15),
    check_out=date(2026, 6, 22),
    guest_count=2,
)


def event(**overrides: Any) -> BookingEvent:
    return dataclasses.replace(BASE_EVENT, **overrides)


def apply_one(db: Database, ev: BookingEvent) -> ApplyResult:
    with db.unit_of_work() as session:
        return apply(session, ev, actor="test")


def placed_on(db: Database, listing: ListingRef, *, provider: str = "manual", external_id: str = "HM-1") -> int | None:
    """Apply a new booking for this listing and return the property it landed on."""
    return apply_one(db, event(provider=provider, external_id=external_id, listing=listing)).booking.property_id


def booking_property(db: Database, booking_id: int) -> int | None:
    with db.unit_of_work(write=False) as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        return booking.property_id


def aliases(db: Database, property_id: int) -> dict[str, bool]:
    """{key: learned} of one property."""
    with db.unit_of_work(write=False) as session:
        rows = session.scalars(select(PropertyAlias).where(PropertyAlias.property_id == property_id))
        return {alias.key: alias.learned for alias in rows}


def audit_actions(db: Database, entity_id: int) -> list[AuditEntry]:
    with db.unit_of_work(write=False) as session:
        query = (
            select(AuditEntry)
            .where(AuditEntry.entity_type == "booking", AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        )
        return list(session.scalars(query))


# --- normalize_key ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Beach Condo 123", "beach condo 123"),
        ("BEACH CONDO 123", "beach condo 123"),
        ("Beach Condo 123,  PCB", "beach condo 123 pcb"),
        ("  beach   condo\t123\n", "beach condo 123"),
        ("Beach-Condo #123!", "beach condo 123"),
        ("beach_condo_123", "beach condo 123"),
        ("Beach Condo \uff11\uff12\uff13", "beach condo 123"),  # full-width digits (NFKC)
        (
            "\uff22\uff45\uff41\uff43\uff48\u3000\uff23\uff4f\uff4e\uff44\uff4f",
            "beach condo",
        ),  # full-width letters, ideographic space
        ("Château Straße", "château strasse"),  # casefold, accents kept
        ("Cha\u0302teau", "château"),  # combining accent composed by NFKC
        ("Unit ½", "unit 1 2"),  # compatibility fraction
        ("", ""),
        (" ,.;! ", ""),
    ],
)
def test_normalize_key(text: str, key: str) -> None:
    assert normalize_key(text) == key


def test_normalize_key_treats_equivalent_spellings_alike() -> None:
    spellings = [
        "Beach Condo 123, Panama City Beach",
        "beach condo 123 panama city beach",
        "BEACH-CONDO 123 / PANAMA CITY BEACH",
    ]
    assert len({normalize_key(text) for text in spellings}) == 1


# --- matching --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "listing",
    [
        pytest.param(ListingRef(name="Beach Condo 123"), id="name"),
        pytest.param(ListingRef(name="beach-condo  123!"), id="name-spelled-differently"),
        pytest.param(ListingRef(address="17751 Front Beach Rd, Unit 123"), id="address"),
        pytest.param(ListingRef(address="17751 FRONT BEACH RD UNIT 123"), id="address-spelled-differently"),
        pytest.param(ListingRef(name="Beach Condo 123, Panama City Beach"), id="name-city"),
        pytest.param(ListingRef(address="17751 Front Beach Rd, Unit 123, Panama City Beach"), id="address-city"),
        pytest.param(
            ListingRef(name="Somewhere Else", address="17751 Front Beach Rd, Unit 123"), id="address-after-name"
        ),
    ],
)
def test_property_is_matched_by_name_or_address(db: Database, listing: ListingRef) -> None:
    make_property(db, name="Gulf View 7", address="1 Other Rd")  # a decoy
    property_id = make_property(db)  # Beach Condo 123 / 17751 Front Beach Rd, Unit 123 / Panama City Beach

    assert placed_on(db, listing) == property_id


def test_listing_id_matches_only_under_its_own_provider(db: Database) -> None:
    property_id = make_property(db, listings={"guesty": "LST-100"})
    unknown_name = "Listing Without A Known Name"

    on_guesty = placed_on(db, ListingRef(listing_id="LST-100", name=unknown_name), provider="guesty")
    on_airbnb = placed_on(db, ListingRef(listing_id="LST-100", name=unknown_name), provider="airbnb")

    assert on_guesty == property_id
    assert on_airbnb is None


def test_listing_id_wins_over_another_propertys_name(db: Database) -> None:
    beach = make_property(db)
    gulf = make_property(db, name="Gulf View 7", address="1 Other Rd", listings={"guesty": "LST-7"})

    assert placed_on(db, ListingRef(listing_id="LST-7", name="Beach Condo 123"), provider="guesty") == gulf
    assert (
        placed_on(
            db, ListingRef(listing_id="LST-unknown", name="Beach Condo 123"), provider="guesty", external_id="HM-2"
        )
        == beach
    )


def test_unknown_property_keeps_the_booking_unplaced_and_audits_it(db: Database) -> None:
    make_property(db)

    result = apply_one(db, event(listing=ListingRef(name="Mystery Cottage", listing_id="X-9")))

    assert result.booking.property_id is None
    assert result.booking.is_unplaced
    assert result.booking.listing_name == "Mystery Cottage"
    assert result.booking.listing_id == "X-9"
    entries = audit_actions(db, result.booking.id)
    assert [e.action for e in entries] == ["booking.created", "booking.unplaced"]
    assert entries[1].details["listing"] == "Mystery Cottage"


def test_placed_booking_has_no_unplaced_audit(db: Database) -> None:
    make_property(db)
    result = apply_one(db, event())
    assert [e.action for e in audit_actions(db, result.booking.id)] == ["booking.created"]


def test_second_property_with_the_same_name_does_not_steal_the_alias(db: Database) -> None:
    first = make_property(db, address="1 First St")
    second = make_property(db, address="2 Second St")  # same name "Beach Condo 123"

    assert "beach condo 123" in aliases(db, first)
    assert "beach condo 123" not in aliases(db, second)
    assert "beach condo 123 panama city beach" not in aliases(db, second)
    assert "2 second st" in aliases(db, second)

    assert placed_on(db, ListingRef(name="Beach Condo 123"), external_id="A") == first
    assert placed_on(db, ListingRef(address="2 Second St"), external_id="B") == second


def test_renaming_drops_the_old_derived_alias_but_keeps_learned_ones(db: Database) -> None:
    property_id = make_property(db)
    with db.unit_of_work() as session:
        prop = session.get(Property, property_id)
        assert prop is not None
        assert learn_alias(session, prop, "Sunset Hideaway")

    with db.unit_of_work() as session:
        prop = session.scalar(
            select(Property).where(Property.id == property_id).options(selectinload(Property.aliases))
        )
        assert prop is not None
        prop.name = "Gulf View 7"
        refresh_aliases(session, prop)

    keys = aliases(db, property_id)
    assert "beach condo 123" not in keys
    assert "beach condo 123 panama city beach" not in keys
    assert keys["gulf view 7"] is False
    assert keys["gulf view 7 panama city beach"] is False
    assert keys["17751 front beach rd unit 123"] is False  # the address did not change
    assert keys["sunset hideaway"] is True

    assert placed_on(db, ListingRef(name="Beach Condo 123"), external_id="A") is None
    assert placed_on(db, ListingRef(name="Gulf View 7"), external_id="B") == property_id
    assert placed_on(db, ListingRef(name="Sunset Hideaway"), external_id="C") == property_id


# --- placing unplaced bookings ---------------------------------------------------------------------------------


def test_place_with_remember_learns_the_name_and_links_the_listing(db: Database) -> None:
    property_id = make_property(db)
    unplaced = apply_one(db, event(provider="guesty", listing=ListingRef(listing_id="G-42", name="Seaside Hideout")))
    assert unplaced.booking.property_id is None

    with db.unit_of_work() as session:
        placed = place(session, unplaced.booking.id, property_id, remember=True, actor="user:1")
        assert placed.property_id == property_id

    assert booking_property(db, unplaced.booking.id) == property_id
    with db.unit_of_work(write=False) as session:
        links = session.execute(select(ChannelListing.provider, ChannelListing.listing_id, ChannelListing.property_id))
        assert [tuple(row) for row in links] == [("guesty", "G-42", property_id)]
    assert aliases(db, property_id)["seaside hideout"] is True
    [placed_entry] = [e for e in audit_actions(db, unplaced.booking.id) if e.action == "booking.placed"]
    assert placed_entry.actor == "user:1"
    assert placed_entry.details["property_id"] == property_id
    assert placed_entry.details["learned"] == ["guesty listing G-42", "name 'Seaside Hideout'"]

    # the next event for that listing (even under a name nobody knows) lands on the property…
    assert (
        placed_on(db, ListingRef(listing_id="G-42", name="Totally New Name"), provider="guesty", external_id="HM-2")
        == property_id
    )
    # …and so does any provider that uses the learned name
    assert placed_on(db, ListingRef(name="SEASIDE HIDEOUT"), provider="manual", external_id="HM-3") == property_id


def test_place_without_remember_learns_nothing_but_later_updates_keep_the_placement(db: Database) -> None:
    property_id = make_property(db)
    unplaced = apply_one(db, event(provider="guesty", listing=ListingRef(listing_id="G-42", name="Seaside Hideout")))

    with db.unit_of_work() as session:
        place(session, unplaced.booking.id, property_id, remember=False, actor="user:1")

    assert "seaside hideout" not in aliases(db, property_id)
    # an update of the same booking whose listing still matches nothing does not unplace it
    update = event(
        kind=EventKind.updated,
        provider="guesty",
        guest_count=3,
        listing=ListingRef(listing_id="G-42", name="Seaside Hideout"),
    )
    assert apply_one(db, update).booking.id == unplaced.booking.id
    assert booking_property(db, unplaced.booking.id) == property_id
    # a new booking for that listing is still unplaced
    assert (
        placed_on(db, ListingRef(listing_id="G-42", name="Seaside Hideout"), provider="guesty", external_id="HM-2")
        is None
    )


def test_placing_an_already_placed_booking_is_a_conflict(db: Database) -> None:
    first = make_property(db)
    second = make_property(db, name="Gulf View 7", address="1 Other Rd")
    booking = apply_one(db, event())
    assert booking.booking.property_id == first

    with pytest.raises(Conflict), db.unit_of_work() as session:
        place(session, booking.booking.id, second, remember=True, actor="test")

    assert booking_property(db, booking.booking.id) == first


def test_placing_on_an_unknown_property_is_not_found(db: Database) -> None:
    unplaced = apply_one(db, event(listing=ListingRef(name="Mystery Cottage")))

    with pytest.raises(NotFound) as caught, db.unit_of_work() as session:
        place(session, unplaced.booking.id, 999_999, remember=True, actor="test")

    assert caught.value.field == "property_id"
    assert booking_property(db, unplaced.booking.id) is None


def test_placing_an_unknown_booking_is_not_found(db: Database) -> None:
    property_id = make_property(db)
    with pytest.raises(NotFound), db.unit_of_work() as session:
        place(session, 999_999, property_id, remember=True, actor="test")
