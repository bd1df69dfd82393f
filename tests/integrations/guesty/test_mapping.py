"""Guesty payloads -> normalized events: every documented shape, the status table, channels, missing fields."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import (
    BookingEvent,
    EventKind,
    EventSkipped,
    GuestInfo,
    ListingRef,
    MessageEvent,
    ProviderDeps,
)
from luxserv.integrations.guesty.mapping import map_payload, normalize_channel, v2_reservation_id
from tests.integrations.guesty.fake import FakeGuesty
from tests.integrations.guesty.helpers import GUESTY_ACCOUNT, MAIN_ID, MAIN_LISTING, load, provider, reservation

EXPECTED_NEW = BookingEvent(
    kind=EventKind.created,
    provider="guesty",
    external_id=MAIN_ID,
    listing=ListingRef(
        listing_id=MAIN_LISTING,
        name="Beach Condo 123",
        address="17751 Front Beach Rd, Unit 123, Panama City Beach, FL 32413, USA",
    ),
    guest=GuestInfo(name="Sarah Johnson", email="sarah.johnson@guest.airbnb.com", phone="+1 850 555 0100"),
    check_in=date(2026, 7, 10),
    check_out=date(2026, 7, 17),
    guest_count=4,
    special_requests="A crib for our toddler, please\n\nArriving late, around 11pm",
    status=None,
    confirmation_code="HMQ4K2XZ9A",
    channel="airbnb",
    occurred_at=datetime(2026, 5, 2, 14, 21, 11, 532000, tzinfo=UTC),
)


def booking(payload: Any) -> BookingEvent:
    event = map_payload(payload)
    assert isinstance(event, BookingEvent)
    return event


def with_reservation(name: str, **changes: Any) -> dict[str, Any]:
    payload = load(name)
    payload["reservation"].update(changes)
    return payload


def test_legacy_new_maps_every_field() -> None:
    event = booking(load("legacy_new"))
    assert event == EXPECTED_NEW
    assert event.raw["_id"] == MAIN_ID


def test_legacy_updated_with_new_dates() -> None:
    event = booking(load("legacy_updated_dates"))
    assert event.kind == EventKind.updated
    assert (event.check_in, event.check_out) == (date(2026, 7, 12), date(2026, 7, 19))
    assert event.occurred_at == datetime(2026, 5, 20, 9, 2, 44, 870000, tzinfo=UTC)
    assert event.status is None


def test_legacy_canceled_cancels() -> None:
    event = booking(load("legacy_canceled"))
    assert event.kind == EventKind.cancelled
    assert event.status == "cancelled"
    assert event.external_id == MAIN_ID


@pytest.mark.parametrize(
    ("status", "kind", "normalized"),
    [
        ("canceled", EventKind.cancelled, "cancelled"),
        ("cancelled", EventKind.cancelled, "cancelled"),
        ("declined", EventKind.cancelled, "cancelled"),
        ("expired", EventKind.cancelled, "cancelled"),
        ("closed", EventKind.cancelled, "cancelled"),
        ("checked_in", EventKind.checked_in, None),
        ("checked_out", EventKind.checked_out, None),
        ("confirmed", EventKind.updated, None),
        ("reserved", EventKind.updated, None),
        ("Confirmed", EventKind.updated, None),
    ],
)
def test_status_table(status: str, kind: EventKind, normalized: str | None) -> None:
    event = booking(with_reservation("legacy_updated_dates", status=status))
    assert (event.kind, event.status) == (kind, normalized)


@pytest.mark.parametrize(
    ("event_name", "kind"),
    [("reservation.new", EventKind.created), ("reservation.updated", EventKind.updated)],
)
def test_event_name_gives_created_or_updated_for_a_confirmed_stay(event_name: str, kind: EventKind) -> None:
    payload = load("legacy_new")
    payload["event"] = event_name
    assert booking(payload).kind == kind


def test_inquiry_is_skipped() -> None:
    with pytest.raises(EventSkipped, match="inquiry is not a booking"):
        map_payload(load("inquiry"))


@pytest.mark.parametrize("status", ["awaiting_payment", "pending", "unknown-thing"])
def test_other_non_booking_statuses_are_skipped(status: str) -> None:
    with pytest.raises(EventSkipped, match="not a booking"):
        map_payload(with_reservation("legacy_new", status=status))


@pytest.mark.parametrize(
    ("platform", "source", "channel"),
    [
        ("airbnb2", "Airbnb", "airbnb"),
        ("airbnb", None, "airbnb"),
        ("homeaway2", None, "vrbo"),
        ("homeaway", None, "vrbo"),
        ("vrbo", None, "vrbo"),
        ("bookingCom", None, "booking.com"),
        ("manual", "Manual", "direct"),
        ("direct", None, "direct"),
        ("website", None, "direct"),
        ("Expedia", None, "expedia"),
        ("tripAdvisor", None, "tripadvisor"),
        (None, "bookingCom", "booking.com"),
        (None, "Website", "direct"),
        (None, None, None),
    ],
)
def test_channel_from_platform_else_source(platform: str | None, source: str | None, channel: str | None) -> None:
    changes: dict[str, Any] = {"integration": {"platform": platform} if platform else {}, "source": source}
    assert booking(with_reservation("legacy_new", **changes)).channel == channel


def test_normalize_channel_ignores_blank() -> None:
    assert normalize_channel("  ") is None
    assert normalize_channel(" BookingCom ") == "booking.com"


def test_dates_fall_back_to_the_date_part_of_check_in_and_out() -> None:
    payload = load("legacy_new")
    del payload["reservation"]["checkInDateLocalized"]
    del payload["reservation"]["checkOutDateLocalized"]
    event = booking(payload)
    assert (event.check_in, event.check_out) == (date(2026, 7, 10), date(2026, 7, 17))


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        ("Late arrival", "Late arrival"),
        ({"specialRequests": "Crib", "guest": "Crib"}, "Crib"),
        (
            {"guest": "Allergic to feathers", "other": "internal, not for us", "cleaning": "deep clean"},
            "Allergic to feathers",
        ),
        ({}, ""),
        (None, ""),
    ],
)
def test_special_requests_from_notes(notes: Any, expected: str) -> None:
    assert booking(with_reservation("legacy_new", notes=notes)).special_requests == expected


def test_guest_name_from_first_and_last_and_contacts_from_lists() -> None:
    event = booking(load("multibyte_zoe"))
    assert event.guest == GuestInfo(name="Zoë Ñúñez", email="zoe.nunez@example.es", phone="+34 612 345 678")
    assert event.channel == "vrbo"
    assert event.special_requests == "¿Podemos tener almohadas extra?"


def test_multibyte_full_name_and_string_notes() -> None:
    event = booking(load("multibyte_yamada"))
    assert event.guest.name == "山田太郎"
    assert event.special_requests == "静かな部屋をお願いします"
    assert event.guest_count == 2


def test_a_guest_without_email() -> None:
    event = booking(load("no_guest_email"))
    assert event.guest == GuestInfo(name="Marcus Bell", email=None, phone="+1 404 555 0199")
    assert event.channel == "direct"
    assert event.special_requests == ""


def test_unknown_listing_keeps_its_id_name_and_address() -> None:
    event = booking(load("unknown_listing"))
    assert event.listing == ListingRef(
        listing_id="64f1c0ffee0000000000aa99",
        name="Lake Cabin 7",
        address="88 Shoreline Dr, Lake Placid, NY 12946, USA",
    )
    assert event.channel == "booking.com"


def test_listing_title_when_there_is_no_nickname_and_zero_guests_count_as_one() -> None:
    payload = load("legacy_new")
    del payload["reservation"]["listing"]["nickname"]
    payload["reservation"]["guestsCount"] = 0
    event = booking(payload)
    assert event.listing.name == "Gulf-front 2BR condo with pool"
    assert event.guest_count == 1


def _drop(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    target = payload["reservation"]
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return payload


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("_id",), "reservation._id"),
        (("status",), "reservation.status"),
        (("guest",), "reservation.guest"),
        (("checkInDateLocalized",), "reservation.checkInDateLocalized"),
    ],
)
def test_missing_reservation_fields_are_rejected_by_name(path: tuple[str, ...], field: str) -> None:
    payload = _drop(load("legacy_new"), *path)
    if path == ("checkInDateLocalized",):
        del payload["reservation"]["checkIn"]
    with pytest.raises(EventRejected) as caught:
        map_payload(payload)
    assert caught.value.field == field


def test_missing_listing_id_is_rejected() -> None:
    payload = load("legacy_new")
    del payload["reservation"]["listingId"]
    del payload["reservation"]["listing"]["_id"]
    with pytest.raises(EventRejected) as caught:
        map_payload(payload)
    assert caught.value.field == "reservation.listingId"


def test_a_guest_without_any_name_is_rejected() -> None:
    payload = with_reservation("legacy_new", guest={"email": "x@example.com"})
    with pytest.raises(EventRejected) as caught:
        map_payload(payload)
    assert caught.value.field == "reservation.guest.fullName"


def test_bad_dates_and_bad_shapes_are_rejected() -> None:
    with pytest.raises(EventRejected) as caught:
        map_payload(with_reservation("legacy_new", checkInDateLocalized="10/07/2026"))
    assert caught.value.field == "reservation.checkInDateLocalized"
    with pytest.raises(EventRejected) as caught:
        map_payload({"event": "reservation.new", "reservation": "nope"})
    assert caught.value.field == "reservation"
    with pytest.raises(EventRejected) as caught:
        map_payload(["reservation.new"])
    assert caught.value.field == "body"
    with pytest.raises(EventRejected) as caught:
        map_payload({"reservation": reservation()})
    assert caught.value.field == "event"


@pytest.mark.parametrize(
    "name", ["listing.updated", "guest.created", "payments.received", "reservation_update_shortlist", "task.created"]
)
def test_unknown_events_are_skipped(name: str) -> None:
    with pytest.raises(EventSkipped, match=name):
        map_payload({"event": name, "reservation": reservation()})


def test_a_lean_v2_event_is_not_mapped_without_its_reservation() -> None:
    with pytest.raises(EventRejected) as caught:
        map_payload(load("v2_created_lean"))
    assert caught.value.field == "reservation"


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"reservationId": "r1"}},
        {"data": {"reservation": {"_id": "r1"}}},
        {"data": {"reservation": {"id": "r1"}}},
        {"data": {"_id": "r1"}},
        {"data": {"id": "r1"}},
        {"reservationId": "r1"},
        {"data": {"reservationId": " r1 ", "_id": "other"}},
    ],
)
def test_v2_reservation_id_variants(body: dict[str, Any]) -> None:
    assert v2_reservation_id({"event": "reservation.updated.v2", **body}) == "r1"


def test_v2_without_a_reservation_id_is_rejected() -> None:
    with pytest.raises(EventRejected) as caught:
        v2_reservation_id({"event": "reservation.updated.v2", "data": {"status": "confirmed"}})
    assert caught.value.field == "data.reservationId"


def test_message_received_and_sent() -> None:
    received = map_payload(load("message_received"))
    assert received == MessageEvent(
        provider="guesty",
        external_id=MAIN_ID,
        message_id="665101aa9dcce60032d93b10",
        body="Hi! Is early check-in possible? Our flight lands at 10am.",
        sender="guest",
        sent_at=datetime(2026, 5, 3, 10, 15, tzinfo=UTC),
    )
    sent = map_payload(load("message_sent"))
    assert isinstance(sent, MessageEvent)
    assert (sent.message_id, sent.sender, sent.body) == (
        "665101ff9dcce60032d93b22",
        "host",
        "Hi Sarah, yes: the condo will be ready at 1pm.",
    )
    assert sent.sent_at == datetime(2026, 5, 3, 10, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reservationId": None}, "reservationId"),
        ({"message": None}, "message"),
        ({"message": {"body": "hi"}}, "message._id"),
        ({"message": {"_id": "m1", "body": "  "}}, "message.body"),
    ],
)
def test_incomplete_messages_are_rejected(change: dict[str, Any], field: str) -> None:
    payload = load("message_received")
    payload.update(change)
    with pytest.raises(EventRejected) as caught:
        map_payload(payload)
    assert caught.value.field == field


def test_message_content_field_is_accepted() -> None:
    payload = load("message_received")
    payload["message"] = {"_id": "m9", "content": "Where do we park?"}
    event = map_payload(payload)
    assert isinstance(event, MessageEvent)
    assert (event.body, event.sent_at) == ("Where do we park?", None)


def test_guesty_account_id_option_rejects_another_accounts_events(deps: ProviderDeps) -> None:
    mine = provider(deps, options={"guesty_account_id": GUESTY_ACCOUNT})
    assert isinstance(mine.map(load("legacy_new")), BookingEvent)
    assert isinstance(mine.map(load("message_received")), MessageEvent)
    other = provider(deps, options={"guesty_account_id": "5f0000000000000000000000"})
    with pytest.raises(EventRejected) as caught:
        other.map(load("legacy_new"))
    assert caught.value.field == "reservation.accountId"
    with pytest.raises(EventRejected):
        other.map(load("message_received"))


# --- the same reservation, whichever way it arrives ---------------------------------------------------------------


def test_legacy_v2_and_sync_give_the_same_event(fake: FakeGuesty, deps: ProviderDeps) -> None:
    guesty = provider(deps)
    fake.add_reservation(reservation("legacy_new"))
    assert guesty.map(guesty.enrich(load("legacy_new"))) == EXPECTED_NEW
    assert guesty.map(guesty.enrich(load("v2_created_lean"))) == EXPECTED_NEW

    fake.add_reservation(reservation("legacy_updated_dates"))
    legacy = guesty.map(guesty.enrich(load("legacy_updated_dates")))
    v2 = guesty.map(guesty.enrich(load("v2_updated_lean")))
    pulled = list(guesty.pull(None))
    assert len(pulled) == 1
    assert pulled[0].event_id == f"sync:{MAIN_ID}:2026-05-20T09:02:44.870Z"
    synced = guesty.map(guesty.enrich(pulled[0].body))
    assert legacy == v2 == synced
    assert isinstance(legacy, BookingEvent)
    assert legacy.kind == EventKind.updated
    assert legacy.check_in == date(2026, 7, 12)


def test_a_reservation_without_guest_or_listing_is_completed_from_the_api(fake: FakeGuesty, deps: ProviderDeps) -> None:
    full = reservation("legacy_new")
    fake.guests[full["guestId"]] = {**full["guest"], "emails": [full["guest"]["email"]]}
    fake.listings[full["listingId"]] = copy.deepcopy(full["listing"])
    bare = {k: v for k, v in full.items() if k not in ("guest", "listing")}
    fake.add_reservation(bare)
    guesty = provider(deps)

    legacy = guesty.map(guesty.enrich({"event": "reservation.new", "reservation": bare}))
    v2 = guesty.map(guesty.enrich(load("v2_created_lean")))
    assert legacy == v2 == EXPECTED_NEW
    paths = [r.url.path for r in fake.api_requests()]
    # The listing is fetched once (kept for a while); the guest every time (it may change).
    assert paths.count(f"/v1/listings/{MAIN_LISTING}") == 1
    assert paths.count(f"/v1/guests-crud/{full['guestId']}") == 2
    guest_call = next(r for r in fake.api_requests() if r.url.path.startswith("/v1/guests-crud/"))
    assert "email" in guest_call.url.params["fields"].split()


def test_a_guest_guesty_no_longer_has_is_rejected_not_retried(fake: FakeGuesty, deps: ProviderDeps) -> None:
    bare = {k: v for k, v in reservation("legacy_new").items() if k != "guest"}
    guesty = provider(deps)
    enriched = guesty.enrich({"event": "reservation.new", "reservation": bare})
    with pytest.raises(EventRejected) as caught:
        guesty.map(enriched)
    assert caught.value.field == "reservation.guest"


def test_inquiries_cost_no_api_calls(fake: FakeGuesty, deps: ProviderDeps) -> None:
    guesty = provider(deps)
    payload = load("inquiry")
    assert guesty.enrich(payload) == payload
    assert fake.requests == []
    with pytest.raises(EventSkipped):
        guesty.map(payload)


def test_messages_and_unknown_events_are_not_enriched(fake: FakeGuesty, deps: ProviderDeps) -> None:
    guesty = provider(deps)
    for payload in (load("message_received"), {"event": "listing.updated", "listing": {}}, [1, 2]):
        assert guesty.enrich(payload) == payload
    assert fake.requests == []


def test_v2_uses_published_at_only_when_the_reservation_has_no_timestamp(fake: FakeGuesty, deps: ProviderDeps) -> None:
    bare = {k: v for k, v in reservation().items() if k not in ("lastUpdatedAt", "createdAt")}
    fake.add_reservation(bare)
    guesty = provider(deps)
    event = guesty.map(guesty.enrich(load("v2_created_lean")))
    assert isinstance(event, BookingEvent)
    assert event.occurred_at == datetime(2026, 5, 2, 14, 21, 12, 4000, tzinfo=UTC)
