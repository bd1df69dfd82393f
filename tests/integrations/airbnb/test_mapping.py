"""Airbnb reservation payloads → normalized booking events (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from luxserv.core.errors import EventRejected
from luxserv.integrations.airbnb import PROVIDER, AirbnbProvider
from luxserv.integrations.base import AccountConfig, EventKind, EventSkipped
from luxserv.integrations.catalog import provider_class


def reservation(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "confirmation_code": "HMABCD1234",
        "listing_id": 40512345,
        "status": "accepted",
        "start_date": "2026-06-15",
        "end_date": "2026-06-22",
        "number_of_guests": 4,
        "guest": {"first_name": "Sarah", "last_name": "Johnson", "email": "sarah@email.com", "phone": "+18505550100"},
        "created_at": "2026-05-01T10:00:00Z",
        "updated_at": "2026-05-01T10:00:00Z",
    }
    body.update(overrides)
    return body


@pytest.fixture
def airbnb() -> AirbnbProvider:
    return AirbnbProvider(AccountConfig(id=None, provider="airbnb", name="unconfigured"))


def test_catalog_exposes_the_provider() -> None:
    assert provider_class("airbnb") is AirbnbProvider is PROVIDER
    assert AirbnbProvider.name == "airbnb"
    assert AirbnbProvider.default_daily_call_budget == 1000
    assert AirbnbProvider.accepts_webhooks is False


def test_accepted_reservation_maps_every_field(airbnb: AirbnbProvider) -> None:
    event = airbnb.map(reservation())
    assert event.kind == EventKind.created
    assert event.provider == "airbnb"
    assert event.external_id == event.confirmation_code == "HMABCD1234"
    assert event.listing.listing_id == "40512345"
    assert event.guest.name == "Sarah Johnson"
    assert event.guest.email == "sarah@email.com"
    assert event.guest.phone == "+18505550100"
    assert (event.check_in, event.check_out) == (date(2026, 6, 15), date(2026, 6, 22))
    assert event.guest_count == 4
    assert event.channel == "airbnb"
    assert event.occurred_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def test_flat_guest_fields_check_in_keys_and_guest_details(airbnb: AirbnbProvider) -> None:
    body = reservation(
        guest=None,
        guest_first_name="Zoë",
        guest_last_name="Ørsted",
        guest_email="zoe@example.com",
        guest_phone="+4512345678",
        number_of_guests=None,
        guest_details={"number_of_adults": 2, "number_of_children": 1, "number_of_infants": 1},
        start_date=None,
        end_date=None,
        check_in="2026-07-01",
        check_out="2026-07-04",
    )
    del body["guest"], body["start_date"], body["end_date"]
    event = airbnb.map(body)
    assert event.guest.name == "Zoë Ørsted"
    assert event.guest.phone == "+4512345678"
    assert event.guest_count == 3  # infants do not count
    assert (event.check_in, event.check_out) == (date(2026, 7, 1), date(2026, 7, 4))


def test_wrapped_reservation_nights_and_placeholder_guest(airbnb: AirbnbProvider) -> None:
    body = reservation(guest={}, nights=3)
    del body["end_date"]
    event = airbnb.map({"reservation": body})
    assert event.guest.name == "Airbnb guest"
    assert event.check_out == date(2026, 6, 18)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("accepted", EventKind.created),
        ("confirmed", EventKind.created),
        ("cancelled_by_guest", EventKind.cancelled),
        ("cancelled_by_host", EventKind.cancelled),
        ("canceled", EventKind.cancelled),
        ("denied", EventKind.cancelled),
        ("checked_in", EventKind.checked_in),
    ],
)
def test_status_decides_the_kind(airbnb: AirbnbProvider, status: str, kind: EventKind) -> None:
    assert airbnb.map(reservation(status=status)).kind == kind


def test_a_changed_reservation_is_an_update(airbnb: AirbnbProvider) -> None:
    event = airbnb.map(reservation(updated_at="2026-05-03T08:00:00Z"))
    assert event.kind == EventKind.updated


@pytest.mark.parametrize("status", ["pending", "inquiry", "Pending-Payment", "expired"])
def test_requests_and_inquiries_are_skipped(airbnb: AirbnbProvider, status: str) -> None:
    with pytest.raises(EventSkipped, match="not a booking yet"):
        airbnb.map(reservation(status=status))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"status": "teleported"}, "status"),
        ({"confirmation_code": ""}, "confirmation_code"),
        ({"listing_id": None}, "listing_id"),
        ({"start_date": "next tuesday"}, "start_date"),
        ({"number_of_guests": "four"}, "number_of_guests"),
        ({"guest": {"first_name": ["Sarah"]}}, "guest.first_name"),
    ],
)
def test_bad_payloads_are_rejected_naming_the_field(
    airbnb: AirbnbProvider, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(EventRejected) as caught:
        airbnb.map(reservation(**overrides))
    assert caught.value.field == field


def test_a_body_that_is_not_an_object_is_rejected(airbnb: AirbnbProvider) -> None:
    with pytest.raises(EventRejected, match="JSON object"):
        airbnb.map(["HMABCD1234"])
