"""Syncing real-shaped Airbnb, VRBO and Booking.com feeds: stays through the inbox, blocks aside, diffs over time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from luxserv.bookings.models import BookingStatus
from luxserv.core.clock import utcnow
from luxserv.guests.models import Guest
from luxserv.inbox import flows
from luxserv.inbox.models import InboxEvent
from luxserv.integrations.ical.service import sync_all_feeds, sync_feed
from luxserv.integrations.manual import ManualProvider
from luxserv.integrations.models import IcalFeed
from luxserv.integrations.registry import Providers
from tests.integrations.ical.helpers import SECRET, TODAY, Env, feed_bytes

AIRBNB_FIRST_UID = "1418fb94e984-5e1b6ad4d9d8d9a7b1d4f2f1c0e0a7d2@airbnb.com"


def without_event(body: bytes, uid: str) -> bytes:
    """The feed with the VEVENT of this UID removed."""
    parts = body.split(b"BEGIN:VEVENT\r\n")
    return b"BEGIN:VEVENT\r\n".join(p for p in parts if f"UID:{uid}\r\n".encode() not in p)


def test_airbnb_stays_become_bookings_through_the_inbox_and_blocks_are_stored(env: Env) -> None:
    feed_id = env.add("airbnb")
    report = env.sync(feed_id)

    assert report.error == ""
    assert report.statuses == {"created": 2}  # the stay that ended before today is not imported
    first, second = env.bookings()
    assert (first.check_in, first.check_out) == (date(2027, 3, 10), date(2027, 3, 14))
    assert (second.check_in, second.check_out) == (date(2027, 4, 2), date(2027, 4, 5))
    assert first.external_id == f"{feed_id}:{AIRBNB_FIRST_UID}"
    assert first.confirmation_code == "HMABCD1234"
    assert first.property_id == env.property_id
    assert first.channel == "airbnb"
    assert first.status == BookingStatus.confirmed
    events = env.inbox()
    assert [(e.provider, e.source, e.status.value) for e in events] == [("ical", "sync", "processed")] * 2
    assert all(e.event_id.startswith(f"ical:{feed_id}:") and len(e.event_id) <= 200 for e in events)
    assert {e.booking_id for e in events} == {first.id, second.id}

    (block,) = env.blocks()
    assert (block.source, block.starts_on, block.ends_on) == (f"ical:{feed_id}", date(2027, 3, 20), date(2027, 3, 25))
    assert block.summary == "Airbnb (Not available)"
    assert block.property_id == env.property_id
    row = env.feed(feed_id)
    assert row.last_error == ""
    assert row.etag.startswith('"')
    assert row.last_fetched_at is not None
    assert env.server.requests[0].url.params["s"] == SECRET


def test_airbnb_guest_is_a_placeholder_with_the_phone_digits(env: Env) -> None:
    feed_id = env.add("airbnb")
    env.sync(feed_id)
    with env.db.unit_of_work(write=False) as session:
        names = sorted(session.scalars(select(Guest.full_name)))
    assert names == ["Airbnb guest (phone …4321)", "Airbnb guest (phone …6789)"]


def test_vrbo_names_come_from_the_summary_and_blocked_is_a_block(env: Env) -> None:
    feed_id = env.add("vrbo")
    report = env.sync(feed_id)
    assert report.statuses == {"created": 2}
    with env.db.unit_of_work(write=False) as session:
        names = sorted(session.scalars(select(Guest.full_name)))
    assert names == ["Sarah J.", "Zoë Ångström-Lindqvist"]  # folded inside "Å" and still whole
    assert {b.channel for b in env.bookings()} == {"vrbo"}
    (block,) = env.blocks()
    assert (block.summary, block.starts_on, block.ends_on) == ("Blocked", date(2027, 3, 15), date(2027, 3, 18))


def test_booking_com_closed_dates_are_stays_in_either_date_form(env: Env) -> None:
    feed_id = env.add("booking.com")
    report = env.sync(feed_id)
    assert report.statuses == {"created": 2}
    stays = [(b.check_in, b.check_out, b.channel) for b in env.bookings()]
    assert stays == [
        (date(2027, 3, 3), date(2027, 3, 6), "booking.com"),
        (date(2027, 3, 20), date(2027, 3, 22), "booking.com"),  # DTSTART/DTEND as date-times
    ]
    assert env.blocks() == []


def test_a_second_identical_sync_changes_nothing(env: Env) -> None:
    env.server.etags = False  # the body is fetched and diffed again
    feed_id = env.add("airbnb")
    env.sync(feed_id)
    before = env.snapshot()
    report = env.sync(feed_id)
    assert report.error == ""
    assert report.pulled == 0
    assert env.snapshot() == before


def test_a_date_change_moves_the_booking_and_back_again(env: Env) -> None:
    env.server.etags = False
    original = feed_bytes("airbnb")
    feed_id = env.add("airbnb", original)
    env.sync(feed_id)
    booking_id = env.bookings()[0].id

    env.server.serve("airbnb", original.replace(b"DTEND;VALUE=DATE:20270314", b"DTEND;VALUE=DATE:20270316"))
    assert env.sync(feed_id).statuses == {"updated": 1}
    moved = env.bookings()[0]
    assert (moved.id, moved.check_out, moved.status) == (booking_id, date(2027, 3, 16), BookingStatus.confirmed)

    env.server.serve("airbnb", original)  # back to the first dates: a new change, not a replay of the first event
    assert env.sync(feed_id).statuses == {"updated": 1}
    assert env.bookings()[0].check_out == date(2027, 3, 14)
    assert len(env.bookings()) == 2


def test_a_vanished_future_stay_is_cancelled_and_a_past_one_left_alone(env: Env) -> None:
    env.server.etags = False
    feed_id = env.add("airbnb")
    env.sync(feed_id)
    emptied = without_event(feed_bytes("airbnb"), AIRBNB_FIRST_UID)
    emptied = without_event(emptied, "7f3a2c1e9b8d-0c4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b@airbnb.com")
    env.server.serve("airbnb", emptied)

    report = env.sync(feed_id, today=date(2027, 3, 20))  # the March stay is over, the April one is not
    assert report.statuses == {"cancelled": 1}
    past, future = env.bookings()
    assert past.status == BookingStatus.confirmed
    assert future.status == BookingStatus.cancelled
    cancel = env.inbox()[-1]
    assert (cancel.source, cancel.booking_id) == ("sync", future.id)

    before = env.snapshot()
    assert env.sync(feed_id, today=date(2027, 3, 20)).pulled == 0  # cancelled once only
    assert env.snapshot() == before


def test_a_stay_cancelled_by_the_feed_comes_back_when_it_reappears(env: Env) -> None:
    env.server.etags = False
    feed_id = env.add("airbnb")
    env.sync(feed_id)
    env.server.serve("airbnb", without_event(feed_bytes("airbnb"), AIRBNB_FIRST_UID))
    env.sync(feed_id)
    assert env.bookings()[0].status == BookingStatus.cancelled

    env.server.serve("airbnb", feed_bytes("airbnb"))
    assert env.sync(feed_id).statuses == {"updated": 1}
    assert env.bookings()[0].status == BookingStatus.confirmed
    assert env.sync(feed_id).pulled == 0


def test_a_vrbo_stay_reissued_under_a_new_uid_is_moved_not_cancelled(env: Env) -> None:
    env.server.etags = False
    original = feed_bytes("vrbo")
    feed_id = env.add("vrbo", original)
    env.sync(feed_id)
    sarah = env.bookings()[1]

    reissued = original.replace(b"UID:9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4", b"UID:0f0f0f0f-new-uid-after-edit")
    env.server.serve("vrbo", reissued.replace(b"DTEND;VALUE=DATE:20270417", b"DTEND;VALUE=DATE:20270419"))
    assert env.sync(feed_id).statuses == {"updated": 1}
    bookings = env.bookings()
    assert len(bookings) == 2
    assert (bookings[1].id, bookings[1].check_out, bookings[1].status) == (
        sarah.id,
        date(2027, 4, 19),
        BookingStatus.confirmed,
    )
    assert env.sync(feed_id).pulled == 0


def test_an_overlapping_airbnb_stay_with_another_code_is_another_booking(env: Env) -> None:
    env.server.etags = False
    original = feed_bytes("airbnb")
    feed_id = env.add("airbnb", original)
    env.sync(feed_id)
    first = env.bookings()[0]

    other_guest = original.replace(AIRBNB_FIRST_UID.encode(), b"5d6e7f8a9b0c-another-guest@airbnb.com")
    env.server.serve("airbnb", other_guest.replace(b"tails/HMABCD1234", b"tails/HMQWER5678"))
    assert env.sync(feed_id).statuses == {"created": 1, "cancelled": 1}
    by_code = {b.confirmation_code: b for b in env.bookings()}
    assert by_code["HMABCD1234"].id == first.id
    assert by_code["HMABCD1234"].status == BookingStatus.cancelled
    assert by_code["HMQWER5678"].status == BookingStatus.confirmed


def test_blocks_are_updated_in_place_and_removed_when_gone(env: Env) -> None:
    env.server.etags = False
    original = feed_bytes("vrbo")
    feed_id = env.add("vrbo", original)
    env.sync(feed_id)
    (block,) = env.blocks()

    env.server.serve("vrbo", original.replace(b"DTEND;VALUE=DATE:20270318", b"DTEND;VALUE=DATE:20270321"))
    env.sync(feed_id)
    (moved,) = env.blocks()
    assert (moved.id, moved.ends_on) == (block.id, date(2027, 3, 21))

    env.server.serve("vrbo", without_event(original, "c0ffee00-1111-2222-3333-444455556666"))
    env.sync(feed_id)
    assert env.blocks() == []
    assert len(env.bookings()) == 2


def test_not_modified_changes_nothing(env: Env) -> None:
    feed_id = env.add("airbnb")
    env.sync(feed_id)
    etag = env.feed(feed_id).etag
    before = env.snapshot()

    report = env.sync(feed_id)
    assert env.server.requests[-1].headers["if-none-match"] == etag
    assert (report.error, report.pulled) == ("", 0)
    assert env.snapshot() == before

    # Even if the server's copy changed, its 304 is believed: nothing is fetched, diffed or cancelled.
    env.server.serve("airbnb", without_event(feed_bytes("airbnb"), AIRBNB_FIRST_UID))
    env.server.failure = 304
    report = env.sync(feed_id)
    assert (report.error, report.pulled) == ("", 0)
    assert env.snapshot() == before
    assert env.feed(feed_id).etag == etag


def test_a_failing_feed_records_the_error_and_loses_nothing(env: Env) -> None:
    feed_id = env.add("airbnb")
    env.sync(feed_id)
    fetched = env.feed(feed_id)
    before = env.snapshot()

    for failure, expected in ((500, "HTTP 500"), ("timeout", "ReadTimeout")):
        env.server.failure = failure
        report = env.sync(feed_id)
        assert expected in report.error
        row = env.feed(feed_id)
        assert expected in row.last_error
        assert SECRET not in row.last_error
        assert (row.etag, row.last_fetched_at) == (fetched.etag, fetched.last_fetched_at)
        assert env.snapshot() == before

    env.server.failure = None
    assert env.sync(feed_id).error == ""
    assert env.feed(feed_id).last_error == ""


def test_a_body_that_is_not_a_calendar_cancels_nothing(env: Env) -> None:
    feed_id = env.add("airbnb")
    env.sync(feed_id)
    etag = env.feed(feed_id).etag
    before = env.snapshot()
    env.server.serve("airbnb", "<html><body>Please log in</body></html>")
    report = env.sync(feed_id)
    assert "not a valid iCalendar" in report.error
    assert env.snapshot() == before
    assert env.feed(feed_id).etag == etag  # the unreadable version's ETag is not kept: it is fetched again


def test_sync_all_feeds_reads_every_enabled_feed_of_the_property(env: Env) -> None:
    airbnb = env.add("airbnb")
    vrbo = env.add("vrbo")
    booking = env.add("booking.com")
    with env.db.unit_of_work() as session:
        row = session.get(IcalFeed, booking)
        assert row is not None
        row.enabled = False
    reports = sync_all_feeds(env.db, env.providers, env.vault, env.http, env.property_id, today=TODAY)
    assert [r.source for r in reports] == [f"ical feed #{airbnb}", f"ical feed #{vrbo}"]
    assert len(env.bookings()) == 4
    assert sync_all_feeds(env.db, env.providers, env.vault, env.http, env.property_id + 1, today=TODAY) == []


def test_without_the_ical_provider_events_wait_in_the_inbox_and_the_version_is_read_again(env: Env) -> None:
    feed_id = env.add("airbnb")
    unwired = Providers([ManualProvider.create()], db=env.db, vault=env.vault)
    report = sync_feed(env.db, unwired, env.vault, feed_id, env.http, today=TODAY)
    assert report.statuses == {"failed": 2}  # kept in the inbox: the worker applies them once "ical" is registered
    assert env.feed(feed_id).etag == ""
    assert env.bookings() == []

    with env.db.unit_of_work() as session:  # the worker's retry comes due
        session.execute(update(InboxEvent).values(next_attempt_at=utcnow()))
    assert flows.process_due(env.db, env.providers) == 2
    assert len(env.bookings()) == 2
    report = env.sync(feed_id)  # read again, as no ETag was kept: it now matches the bookings
    assert (report.error, report.pulled) == ("", 0)
    assert env.feed(feed_id).etag != ""
