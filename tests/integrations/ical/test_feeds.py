"""Adding feeds (validated, URL encrypted) and the parsing and mapping rules on their own."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from luxserv.audit.models import AuditEntry
from luxserv.core.errors import Conflict, EventRejected, InvalidInput, NotFound
from luxserv.integrations.base import EventKind
from luxserv.integrations.ical import IcalProvider
from luxserv.integrations.ical.parse import EntryKind, FeedInvalid, classify, guest_name, parse_feed, uid_key
from luxserv.integrations.ical.service import add_feed
from luxserv.integrations.models import IcalFeed
from tests.integrations.ical.helpers import SECRET, URLS, Env, feed_bytes


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://files.example.com/cal.ics",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://",
        "https:///calendar.ics",
        "https://www.airbnb.com/calendar/ical/1.ics?s=a b",
        "https://www.airbnb.com:99999/calendar/ical/1.ics",
        "https://example.com/" + "x" * 2000,
    ],
)
def test_an_invalid_url_is_refused(env: Env, url: str) -> None:
    with env.db.unit_of_work() as session, pytest.raises(InvalidInput) as caught:
        add_feed(session, env.vault, property_id=env.property_id, url=url, channel="airbnb", actor="test")
    assert caught.value.field == "url"
    with env.db.unit_of_work(write=False) as session:
        assert session.scalars(select(IcalFeed)).all() == []


def test_channel_and_property_are_checked(env: Env) -> None:
    with env.db.unit_of_work() as session:
        with pytest.raises(InvalidInput, match="channel"):
            add_feed(session, env.vault, property_id=env.property_id, url=URLS["vrbo"], channel="expedia", actor="t")
        with pytest.raises(NotFound):
            add_feed(session, env.vault, property_id=env.property_id + 99, url=URLS["vrbo"], channel="vrbo", actor="t")


def test_the_same_url_twice_for_a_property_is_a_conflict(env: Env) -> None:
    env.add("airbnb")
    with env.db.unit_of_work() as session, pytest.raises(Conflict):
        add_feed(session, env.vault, property_id=env.property_id, url=URLS["airbnb"], channel="airbnb", actor="t")


def test_a_webcal_link_is_read_over_https_and_channel_aliases_are_understood(env: Env) -> None:
    with env.db.unit_of_work() as session:
        feed = add_feed(
            session,
            env.vault,
            property_id=env.property_id,
            url="webcal://www.vrbo.com/icalendar/abc.ics",
            channel=" HomeAway ",
            actor="t",
        )
        assert feed.channel == "vrbo"
        assert env.vault.decrypt(feed.url_encrypted) == "https://www.vrbo.com/icalendar/abc.ics"


def test_the_stored_url_is_encrypted(env: Env) -> None:
    feed_id = env.add("airbnb")
    with env.db.unit_of_work(write=False) as session:
        rows = session.execute(text("SELECT * FROM ical_feeds")).all()
        stored = session.scalar(select(IcalFeed.url_encrypted).where(IcalFeed.id == feed_id))
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "ical_feed.created")).one()
    assert SECRET not in repr(rows)
    assert "airbnb.com" not in repr(rows)
    assert stored is not None
    assert env.vault.decrypt(stored) == URLS["airbnb"]
    assert SECRET not in repr(audit.details)
    assert audit.details["host"] == "www.airbnb.com"


@pytest.mark.parametrize(
    ("summary", "channel", "kind"),
    [
        ("Reserved", "airbnb", EntryKind.booking),
        ("Airbnb (Not available)", "airbnb", EntryKind.block),
        ("Not available", "other", EntryKind.block),
        ("Reserved - Jane Doe", "vrbo", EntryKind.booking),
        ("Blocked", "vrbo", EntryKind.block),
        ("CLOSED - Not available", "booking.com", EntryKind.booking),
        ("CLOSED - Not available", "other", EntryKind.block),
    ],
)
def test_classification(summary: str, channel: str, kind: EntryKind) -> None:
    assert classify(summary, channel) == kind


@pytest.mark.parametrize(
    ("summary", "description", "channel", "name"),
    [
        ("Reserved - Jane Doe", "", "vrbo", "Jane Doe"),
        ("Reserved: Jane Doe", "", "other", "Jane Doe"),
        ("Sarah J.", "", "vrbo", "Sarah J."),
        ("Reserved", "Phone Number (Last 4 Digits): 6789", "airbnb", "Airbnb guest (phone …6789)"),
        ("CLOSED - Not available", "CHECKIN: 2027-03-03\nNAME: Ana Pérez\n", "booking.com", "Ana Pérez"),
        ("CLOSED - Not available", "", "booking.com", "Booking.com guest"),
        ("Reserved", "", "other", "Guest"),
    ],
)
def test_guest_names(summary: str, description: str, channel: str, name: str) -> None:
    assert guest_name(summary, description, channel) == name


def test_parse_skips_cancelled_undated_and_empty_events_and_keys_long_uids() -> None:
    long_uid = "x" * 400 + "@example.com"
    raw = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:cancelled\r\nSTATUS:CANCELLED\r\nDTSTART;VALUE=DATE:20270301\r\n"
        "DTEND;VALUE=DATE:20270303\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:undated\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:empty\r\nDTSTART;VALUE=DATE:20270301\r\nDTEND;VALUE=DATE:20270301\r\n"
        "SUMMARY:Reserved\r\nEND:VEVENT\r\n"
        f"BEGIN:VEVENT\r\nUID:{long_uid}\r\nDTSTART;VALUE=DATE:20270301\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    ).encode()
    (entry,) = parse_feed(raw, "other")
    assert entry.uid == uid_key(long_uid) != long_uid
    assert len(entry.uid) <= 150
    assert (entry.start, entry.end) == (date(2027, 3, 1), date(2027, 3, 2))  # no DTEND: one day


@pytest.mark.parametrize("raw", [b"", b"<html>login</html>", b"BEGIN:VEVENT\r\nEND:VEVENT\r\n"])
def test_parse_refuses_what_is_not_a_calendar(raw: bytes) -> None:
    with pytest.raises(FeedInvalid):
        parse_feed(raw, "airbnb")


def test_the_fixtures_are_crlf_and_folded() -> None:
    for channel in ("airbnb", "vrbo", "booking.com"):
        raw = feed_bytes(channel)
        assert raw.count(b"\r\n") == raw.count(b"\n")
    assert b"\r\n " in feed_bytes("airbnb")
    assert b"\xc3\r\n \x85" in feed_bytes("vrbo")  # "Å" split by the fold


def test_provider_maps_a_sync_body() -> None:
    body = {
        "feed_id": 7,
        "property_id": 3,
        "channel": "airbnb",
        "uid": "abc@airbnb.com",
        "summary": "Reserved",
        "description": "Reservation URL: https://www.airbnb.com/hosting/reservations/details/HMABCD1234",
        "start": "2027-03-10",
        "end": "2027-03-14",
    }
    event = IcalProvider.create().map(body)
    assert event.kind == EventKind.created
    assert (event.provider, event.external_id) == ("ical", "7:abc@airbnb.com")
    assert event.listing.property_id == 3
    assert event.guest.name == "Airbnb guest"
    assert event.confirmation_code == "HMABCD1234"
    assert (event.check_in, event.check_out) == (date(2027, 3, 10), date(2027, 3, 14))
    assert event.status is None
    cancelled = IcalProvider.create().map(body | {"status": "cancelled", "guest_name": "Kept Name"})
    assert (cancelled.kind, cancelled.guest.name) == (EventKind.cancelled, "Kept Name")
    assert IcalProvider.create().map(body | {"status": "confirmed"}).status == "confirmed"
    with pytest.raises(EventRejected):
        IcalProvider.create().map(body | {"property_id": "3"})
    with pytest.raises(EventRejected):
        IcalProvider.create().map(body | {"status": "maybe"})
    assert IcalProvider.accepts_webhooks is False
