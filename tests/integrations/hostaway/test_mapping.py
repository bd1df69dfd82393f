"""Hostaway: webhook authentication and the mapping of reservation envelopes, from the documented shapes."""

from __future__ import annotations

import re
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
from luxserv.integrations.hostaway import HostawayProvider
from luxserv.integrations.hostaway.mapping import normalize_channel
from tests.integrations.hostaway.fake_api import CREDENTIALS, WEBHOOK_PASSWORD, WEBHOOK_USER, basic, payload


def provider(credentials: dict[str, str] | None = None) -> HostawayProvider:
    return HostawayProvider(
        AccountConfig(id=1, provider="hostaway", name="Main", credentials=credentials or CREDENTIALS)
    )


def request(authorization: str | None) -> InboundRequest:
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    return InboundRequest(body=b"{}", headers=headers)


def test_catalog_exposes_the_provider() -> None:
    assert provider_class("hostaway") is HostawayProvider


def test_the_configured_login_and_password_are_accepted() -> None:
    provider().verify(request(basic(WEBHOOK_USER, WEBHOOK_PASSWORD)))


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic(WEBHOOK_USER, "wrong"),
        basic("intruder", WEBHOOK_PASSWORD),
        basic(WEBHOOK_PASSWORD, WEBHOOK_USER),
        "Bearer whatever",
        "Basic %%%",
    ],
)
def test_anything_else_is_refused(authorization: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        provider().verify(request(authorization))


@pytest.mark.parametrize(
    "credentials",
    [
        {"account_id": "59808", "api_key": "k"},
        {"account_id": "59808", "api_key": "k", "webhook_username": "u", "webhook_password": ""},
    ],
)
def test_without_webhook_credentials_nothing_is_accepted(credentials: dict[str, str]) -> None:
    for authorization in (None, basic("", ""), basic("u", "")):
        with pytest.raises(SignatureInvalid, match="webhook_username/webhook_password"):
            provider(credentials).verify(request(authorization))


def test_a_created_reservation_maps_every_documented_field() -> None:
    body = payload("reservation_created")
    event = provider().map(body)
    assert event.kind == EventKind.created
    assert event.provider == "hostaway"
    assert event.external_id == "49264388"
    assert event.confirmation_code == "HMQ4XK2N8P"
    assert event.listing == ListingRef(listing_id="218666", name="211 N Wilbur Ave")
    assert event.guest == GuestInfo(name="Logan Pierce", email="logan.pierce@example.com", phone="+1 208 555 0147")
    assert (event.check_in, event.check_out) == (date(2026, 6, 15), date(2026, 6, 22))
    assert event.guest_count == 3
    assert event.special_requests == "We will arrive late, around 10pm"  # hostNote is internal and left out
    assert event.channel == "airbnb"
    assert event.occurred_at == datetime(2026, 5, 2, 14, 3, 11, tzinfo=UTC)
    assert event.raw == body


@pytest.mark.parametrize("name", ["reservationCreated", "reservation_created", "Reservation.Created"])
def test_other_spellings_of_the_event_name(name: str) -> None:
    body = payload("reservation_created")
    body["event"] = name
    assert provider().map(body).kind == EventKind.created


def test_a_modification_with_new_dates() -> None:
    event = provider().map(payload("reservation_updated_dates"))
    assert event.kind == EventKind.updated
    assert (event.check_in, event.check_out) == (date(2026, 6, 17), date(2026, 6, 24))
    assert event.occurred_at == datetime(2026, 5, 10, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize("status", ["cancelled", "canceled", "declined", "expired"])
def test_cancelling_statuses(status: str) -> None:
    body = payload("reservation_cancelled")
    body["data"]["status"] = status
    assert provider().map(body).kind == EventKind.cancelled


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("ownerStay", "owner stay"),
        ("inquiry", "'inquiry'"),
        ("inquiryPreapproved", "'inquiryPreapproved'"),
        ("inquiryDenied", "'inquiryDenied'"),
        ("inquiryTimedout", "'inquiryTimedout'"),
        ("pending", "'pending'"),
        ("awaitingPayment", "'awaitingPayment'"),
        ("somethingNew", "'somethingNew'"),
        (None, "(none)"),
    ],
)
def test_statuses_that_are_not_stays_are_skipped(status: str | None, reason: str) -> None:
    body = payload("reservation_created")
    body["data"]["status"] = status
    with pytest.raises(EventSkipped, match=re.escape(reason)):
        provider().map(body)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("owner_stay", "owner stay"),
        ("inquiry", "inquiry"),
        ("test_ping", "test webhook"),
        ("message_received", "conversationMessage"),  # the message event's exact name is undocumented
    ],
)
def test_payload_files_that_change_no_booking(name: str, reason: str) -> None:
    with pytest.raises(EventSkipped, match=reason):
        provider().map(payload(name))


def test_an_unknown_event_is_skipped() -> None:
    body = payload("reservation_created")
    body["event"] = "reservation.archived"
    with pytest.raises(EventSkipped, match=r"reservation\.archived"):
        provider().map(body)


def test_a_guest_without_e_mail() -> None:
    event = provider().map(payload("no_guest_email"))
    assert event.guest == GuestInfo(name="Marcus Lee", email=None, phone="+1 404 555 0199")
    assert event.guest_count == 5  # numberOfGuests 0: adults + children
    assert event.channel == "vrbo"
    assert event.confirmation_code == "HA-7Q2ZPX"  # channelReservationId when there is no reservationId
    assert event.special_requests == "Asked for a crib"


def test_multi_byte_names_and_notes_survive() -> None:
    event = provider().map(payload("multibyte_names"))
    assert event.guest.name == "山田太郎"
    assert event.special_requests == "禁煙の部屋をお願いします\nLate check-in"
    assert event.channel == "booking.com"
    split = provider().map(payload("split_name"))
    assert split.guest.name == "Zoë Ñúñez"  # guestFirstName + guestLastName without guestName


def test_an_unknown_listing_keeps_its_id_and_name() -> None:
    assert provider().map(payload("unknown_listing")).listing == ListingRef(
        listing_id="777777", name="Lakeside Loft 4B"
    )


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        ({"guestName": None, "guestFirstName": None, "guestLastName": None}, "data.guestName"),
        ({"arrivalDate": None}, "arrivalDate"),
        ({"departureDate": "soon"}, "departureDate"),
        ({"numberOfGuests": "lots"}, "numberOfGuests"),
        ({"id": None}, "data.id"),
    ],
)
def test_unusable_reservations_are_rejected_naming_the_field(broken: dict[str, Any], field: str) -> None:
    body = payload("reservation_created")
    body["data"].update(broken)
    with pytest.raises(EventRejected) as caught:
        provider().map(body)
    assert caught.value.field == field


def test_a_body_without_a_reservation_is_rejected() -> None:
    with pytest.raises(EventRejected):
        provider().map("reservation")
    with pytest.raises(EventRejected, match="data"):
        provider().map({"object": "reservation", "event": "reservation.created", "data": [1]})


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("airbnbOfficial", "airbnb"),
        ("airbnb", "airbnb"),
        ("homeaway", "vrbo"),
        ("vrboical", "vrbo"),
        ("bookingcom", "booking.com"),
        ("direct", "direct"),
        ("expedia", "expedia"),
        (None, None),
    ],
)
def test_channels_are_normalized(name: str | None, channel: str | None) -> None:
    assert normalize_channel(name) == channel
