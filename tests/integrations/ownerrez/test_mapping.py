"""OwnerRez: webhook authentication and the mapping of booking envelopes, from the documented payload shapes."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any

import pytest

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import (
    AccountConfig,
    EventKind,
    EventSkipped,
    GuestInfo,
    InboundRequest,
    ListingRef,
    SignatureInvalid,
)
from luxserv.integrations.catalog import provider_class
from luxserv.integrations.ownerrez import OwnerRezProvider
from luxserv.integrations.ownerrez.mapping import normalize_channel
from tests.integrations.ownerrez.fake_api import CREDENTIALS, WEBHOOK_PASSWORD, WEBHOOK_USER, basic, payload


def provider(credentials: dict[str, str] | None = None) -> OwnerRezProvider:
    return OwnerRezProvider(
        AccountConfig(id=1, provider="ownerrez", name="Main", credentials=credentials or CREDENTIALS)
    )


def request(authorization: str | None) -> InboundRequest:
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    return InboundRequest(body=b"{}", headers=headers)


def test_catalog_exposes_the_provider() -> None:
    assert provider_class("ownerrez") is OwnerRezProvider
    assert OwnerRezProvider.name == "ownerrez"


def test_the_configured_basic_credentials_are_accepted() -> None:
    provider().verify(request(basic(WEBHOOK_USER, WEBHOOK_PASSWORD)))
    provider().verify(request("basic " + base64.b64encode(f"{WEBHOOK_USER}:{WEBHOOK_PASSWORD}".encode()).decode()))


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        basic(WEBHOOK_USER, "wrong"),
        basic("someone-else", WEBHOOK_PASSWORD),
        basic(WEBHOOK_USER, WEBHOOK_PASSWORD + "x"),
        basic(WEBHOOK_USER, ""),
        "Bearer " + WEBHOOK_PASSWORD,
        "Basic not-base64!!",
        "Basic " + base64.b64encode(f"{WEBHOOK_USER}{WEBHOOK_PASSWORD}".encode()).decode(),  # no colon
    ],
)
def test_anything_else_is_refused(authorization: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        provider().verify(request(authorization))


def test_a_connection_without_webhook_credentials_refuses_everything() -> None:
    bare = provider({"api_username": "a@example.com", "api_token": "pt_x"})
    with pytest.raises(SignatureInvalid, match="webhook_username"):
        bare.verify(request(basic("", "")))


def test_a_created_booking_maps_every_documented_field() -> None:
    body = payload("booking_created")
    event = provider().map(body)
    assert event.kind == EventKind.created
    assert event.provider == "ownerrez"
    assert event.external_id == "16879744"
    assert event.confirmation_code == "HMCFDR58EZ"
    assert event.listing == ListingRef(listing_id="474841", name="S402 Ocean View")
    # The default e-mail address wins over the first one.
    assert event.guest == GuestInfo(name="Sarah Johnson", email="sarah@example.com", phone="+1 850 555 0100")
    assert (event.check_in, event.check_out) == (date(2026, 6, 15), date(2026, 6, 22))
    assert event.guest_count == 3  # adults + children; infants are not counted
    assert event.special_requests == "Celebrating our anniversary, late arrival around 9pm"
    assert event.channel == "airbnb"
    assert event.occurred_at == datetime(2026, 3, 8, 17, 56, 10, tzinfo=UTC)
    assert event.status is None
    assert event.raw == body


def test_entity_insert_is_a_creation_too() -> None:
    body = payload("booking_created")
    body["action"] = "entity_insert"
    assert provider().map(body).kind == EventKind.created


def test_an_update_with_new_dates() -> None:
    event = provider().map(payload("booking_updated_dates"))
    assert event.kind == EventKind.updated
    assert (event.check_in, event.check_out) == (date(2026, 6, 17), date(2026, 6, 24))
    assert event.occurred_at == datetime(2026, 3, 12, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "canceled"},
        {"status": "Cancelled"},
        {"canceled_utc": "2026-03-20T11:02:33Z"},
    ],
)
def test_cancellation_by_status_or_cancel_time(change: dict[str, Any]) -> None:
    body = payload("booking_updated_dates")
    body["entity"].update(change)
    assert provider().map(body).kind == EventKind.cancelled
    assert provider().map(payload("booking_cancelled")).kind == EventKind.cancelled


def test_a_delete_with_the_booking_cancels_it() -> None:
    body = payload("booking_created")
    body["action"] = "entity_delete"
    event = provider().map(body)
    assert event.kind == EventKind.cancelled
    assert event.check_in == date(2026, 6, 15)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("block_created", "block"),
        ("webhook_test", "test webhook"),
        ("authorization_revoked", "revoked"),
        ("guest_updated", "'guest'"),
    ],
)
def test_deliveries_that_change_no_booking_are_skipped_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(EventSkipped, match=reason):
        provider().map(payload(name))


def test_a_block_marked_only_by_its_type_is_skipped() -> None:
    body = payload("booking_created")
    body["entity"]["type"] = "block"
    with pytest.raises(EventSkipped, match="block"):
        provider().map(body)


def test_an_unknown_action_is_skipped() -> None:
    body = payload("booking_created")
    body["action"] = "entity_archive"
    with pytest.raises(EventSkipped, match="entity_archive"):
        provider().map(body)


def test_a_guest_without_e_mail_keeps_the_phone() -> None:
    event = provider().map(payload("no_guest_email"))
    assert event.guest == GuestInfo(name="Marcus Lee", email=None, phone="+1 404 555 0199")
    assert event.channel == "vrbo"
    assert event.confirmation_code is None
    assert event.guest_count == 4
    assert event.special_requests == ""


def test_multi_byte_names_and_notes_survive() -> None:
    event = provider().map(payload("multibyte_names"))
    assert event.guest.name == "Zoë Ñúñez"
    assert event.special_requests == "Cuna para el bebé, por favor 🙏"
    assert event.channel == "booking.com"


def test_an_unknown_property_keeps_its_listing_id_and_name() -> None:
    event = provider().map(payload("unknown_property"))
    assert event.listing == ListingRef(listing_id="999001", name="Mountain Cabin 7")


def test_a_legacy_single_email_field_is_used() -> None:
    body = payload("booking_created")
    body["entity"]["guest"] = {"id": 1, "first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}
    assert provider().map(body).guest == GuestInfo(name="Ann Lee", email="ann@example.com")


def test_a_party_of_nobody_counts_as_one_guest() -> None:
    body = payload("booking_created")
    body["entity"].update(adults=0, children=None)
    assert provider().map(body).guest_count == 1


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        ({"guest": {"id": 1, "first_name": " ", "last_name": None}}, "guest.first_name"),
        ({"arrival": None}, "arrival"),
        ({"departure": "next week"}, "departure"),
        ({"adults": "two"}, "adults"),
    ],
)
def test_unusable_bookings_are_rejected_naming_the_field(broken: dict[str, Any], field: str) -> None:
    body = payload("booking_created")
    body["entity"].update(broken)
    with pytest.raises(EventRejected) as caught:
        provider().map(body)
    assert caught.value.field == field


def test_a_body_that_is_not_an_object_or_has_no_booking_is_rejected() -> None:
    with pytest.raises(EventRejected):
        provider().map(["not", "an", "object"])
    body = payload("lean_update")
    with pytest.raises(EventRejected, match="entity"):
        provider().map(body)


@pytest.mark.parametrize(
    ("site", "channel"),
    [
        ("Airbnb", "airbnb"),
        ("VRBO", "vrbo"),
        ("Vrbo", "vrbo"),
        ("HomeAway", "vrbo"),
        ("Booking.com", "booking.com"),
        ("Direct", "direct"),
        ("OwnerRez", "direct"),
        ("Expedia", "expedia"),
        (None, None),
    ],
)
def test_channels_are_normalized(site: str | None, channel: str | None) -> None:
    assert normalize_channel(site) == channel
