"""Automatic service requests planned from the rules as bookings are created, moved, cancelled and placed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from luxserv.bookings.apply import apply
from luxserv.bookings.models import Booking
from luxserv.bookings.service import place
from luxserv.core.clock import utcnow
from luxserv.core.database import Database, remember_reads
from luxserv.integrations.base import BookingEvent, EventKind, GuestInfo, ListingRef
from luxserv.services import catalog
from luxserv.services.models import (
    AutomationRule,
    Origin,
    RequestStatus,
    ServiceRequest,
    ServiceRequestChange,
    ServiceType,
)
from luxserv.services.planning import plan, rules_for
from luxserv.services.replan import Action, apply_replan, preview
from tests.factories import make_owner, make_property

GROCERY, CLEANING, CELEBRATION, TURNOVER = (
    "grocery_before_arrival",
    "cleaning_verification_on_arrival",
    "celebration_setup_on_arrival",
    "post_checkout_cleaning",
)
SCHEDULED, COMPLETED, CANCELLED = RequestStatus.scheduled, RequestStatus.completed, RequestStatus.cancelled

SARAH = BookingEvent(
    kind=EventKind.created,
    provider="manual",
    external_id="HM123456789",
    listing=ListingRef(name="Beach Condo 123"),
    guest=GuestInfo(name="Sarah Johnson", email="sarah@email.com"),
    check_in=date(2026, 6, 15),
    check_out=date(2026, 6, 22),
    guest_count=4,
    special_requests="Celebrating anniversary",
    channel="airbnb",
)


def send(db: Database, **overrides: Any) -> int:
    """Apply Sarah's booking event with some fields replaced; returns the booking id."""
    with db.unit_of_work() as session:
        return apply(session, dataclasses.replace(SARAH, **overrides), actor="test").booking.id


def planned(db: Database, booking_id: int) -> dict[str, ServiceRequest]:
    """The booking's automatic requests by rule key, with their history."""
    with db.unit_of_work(write=False) as session:
        keys = {rule.id: rule.key for rule in session.scalars(select(AutomationRule))}
        rows = session.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.booking_id == booking_id)
            .options(selectinload(ServiceRequest.changes), selectinload(ServiceRequest.service_type))
        )
        return {keys[r.rule_id]: r for r in rows if r.rule_id is not None}


def days(db: Database, booking_id: int) -> dict[str, tuple[RequestStatus, date]]:
    return {key: (r.status, r.scheduled_for) for key, r in planned(db, booking_id).items()}


def set_status(db: Database, request_id: int, status: RequestStatus) -> None:
    with db.unit_of_work() as session:
        request = session.get(ServiceRequest, request_id)
        assert request is not None
        request.status = status
        request.completed_at = utcnow() if status == COMPLETED else None


def add_rule(db: Database, **values: Any) -> int:
    with db.unit_of_work() as session:
        type_id = session.scalars(select(ServiceType.id).where(ServiceType.key == "extra_cleaning")).one()
        base = {"name": values["key"], "service_type_id": type_id, "anchor": "check_in"}
        return catalog.create_rule(session, {**base, **values}, actor="test").id


def rule_id(db: Database, key: str) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalars(select(AutomationRule.id).where(AutomationRule.key == key)).one()


@pytest.fixture
def condo(db: Database) -> int:
    return make_property(db, owner_id=make_owner(db))


def test_the_seed_scenario_plans_four_requests_each_with_its_rule(db: Database, condo: int) -> None:
    booking_id = send(db)

    requests = planned(db, booking_id)
    assert days(db, booking_id) == {
        GROCERY: (SCHEDULED, date(2026, 6, 13)),
        CLEANING: (SCHEDULED, date(2026, 6, 15)),
        CELEBRATION: (SCHEDULED, date(2026, 6, 15)),
        TURNOVER: (SCHEDULED, date(2026, 6, 22)),
    }
    assert {key: r.service_type.key for key, r in requests.items()} == {
        GROCERY: "grocery_stocking",
        CLEANING: "cleaning_verification",
        CELEBRATION: "celebration_setup",
        TURNOVER: "post_checkout_cleaning",
    }
    assert {key: r.time_of_day for key, r in requests.items()} == {
        GROCERY: time(10),
        CLEANING: time(12),
        CELEBRATION: time(14),
        TURNOVER: time(11),
    }
    for key, request in requests.items():
        assert request.rule_id == rule_id(db, key)
        assert (request.origin, request.property_id, request.booking_id) == (Origin.automation, condo, booking_id)
        assert request.guest_id is not None
        [created] = request.changes
        assert (created.from_status, created.to_status, created.actor) == (None, "scheduled", "test")
        assert created.note == f"planned by rule {key}"


def test_moving_the_booking_moves_every_request_and_history_says_from_and_to(db: Database, condo: int) -> None:
    booking_id = send(db)
    before = {key: r.id for key, r in planned(db, booking_id).items()}

    send(db, kind=EventKind.updated, check_in=date(2026, 6, 20), check_out=date(2026, 6, 27))

    requests = planned(db, booking_id)
    assert {key: r.id for key, r in requests.items()} == before  # the same rows, moved
    assert days(db, booking_id) == {
        GROCERY: (SCHEDULED, date(2026, 6, 18)),
        CLEANING: (SCHEDULED, date(2026, 6, 20)),
        CELEBRATION: (SCHEDULED, date(2026, 6, 20)),
        TURNOVER: (SCHEDULED, date(2026, 6, 27)),
    }
    moved = requests[GROCERY].changes[-1]
    assert (moved.from_status, moved.to_status) == ("scheduled", "scheduled")
    assert moved.note == "moved from 2026-06-13 to 2026-06-18"
    assert requests[TURNOVER].changes[-1].note == "moved from 2026-06-22 to 2026-06-27"


def test_cancelling_the_booking_cancels_its_requests(db: Database, condo: int) -> None:
    booking_id = send(db)

    send(db, kind=EventKind.cancelled)

    requests = planned(db, booking_id)
    assert {key: r.status for key, r in requests.items()} == dict.fromkeys(requests, CANCELLED)
    assert len(requests) == 4
    for request in requests.values():
        assert request.cancelled_at is not None
        assert (request.changes[-1].from_status, request.changes[-1].to_status) == ("scheduled", "cancelled")


def test_work_started_or_done_survives_the_move_and_the_cancel(db: Database, condo: int) -> None:
    booking_id = send(db)
    requests = planned(db, booking_id)
    set_status(db, requests[GROCERY].id, COMPLETED)
    set_status(db, requests[CELEBRATION].id, RequestStatus.in_progress)

    send(db, kind=EventKind.updated, check_in=date(2026, 6, 20), check_out=date(2026, 6, 27))
    assert days(db, booking_id) == {
        GROCERY: (COMPLETED, date(2026, 6, 13)),
        CLEANING: (SCHEDULED, date(2026, 6, 20)),
        CELEBRATION: (RequestStatus.in_progress, date(2026, 6, 15)),
        TURNOVER: (SCHEDULED, date(2026, 6, 27)),
    }

    send(db, kind=EventKind.cancelled)
    assert days(db, booking_id) == {
        GROCERY: (COMPLETED, date(2026, 6, 13)),
        CLEANING: (CANCELLED, date(2026, 6, 20)),
        CELEBRATION: (RequestStatus.in_progress, date(2026, 6, 15)),
        TURNOVER: (CANCELLED, date(2026, 6, 27)),
    }
    assert len(planned(db, booking_id)[GROCERY].changes) == 1  # nothing was written on the completed one


def test_re_applying_and_re_planning_never_duplicate(db: Database, condo: int) -> None:
    booking_id = send(db)
    send(db)  # the same event again
    send(db, kind=EventKind.updated, guest_count=3)  # a change that re-plans but moves nothing
    with db.unit_of_work() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        assert not plan(session, booking, actor="test").changed

    requests = planned(db, booking_id)
    assert len(requests) == 4
    assert all(len(r.changes) == 1 for r in requests.values())
    with db.unit_of_work(write=False) as session:
        assert len(session.scalars(select(ServiceRequest.id)).all()) == 4


def test_dropping_the_celebration_from_the_requests_cancels_only_the_setup(db: Database, condo: int) -> None:
    booking_id = send(db)

    send(db, kind=EventKind.updated, special_requests="Late arrival, around 9pm")
    assert days(db, booking_id) == {
        GROCERY: (SCHEDULED, date(2026, 6, 13)),
        CLEANING: (SCHEDULED, date(2026, 6, 15)),
        CELEBRATION: (CANCELLED, date(2026, 6, 15)),
        TURNOVER: (SCHEDULED, date(2026, 6, 22)),
    }
    assert planned(db, booking_id)[CELEBRATION].changes[-1].note == "the booking no longer needs it"

    send(db, kind=EventKind.updated, special_requests="Birthday!")  # needed again: the same row, rescheduled
    setup = planned(db, booking_id)[CELEBRATION]
    assert (setup.status, setup.scheduled_for, setup.cancelled_at) == (SCHEDULED, date(2026, 6, 15), None)
    assert [c.to_status for c in setup.changes] == ["scheduled", "cancelled", "scheduled"]


@pytest.mark.parametrize(
    ("check_in", "check_out", "grocery"),
    [
        (date(2027, 3, 12), date(2027, 3, 16), date(2027, 3, 10)),  # US DST starts Sunday March 14, 2027
        (date(2026, 3, 6), date(2026, 3, 10), date(2026, 3, 4)),  # … and Sunday March 8, 2026
        (date(2026, 10, 30), date(2026, 11, 3), date(2026, 10, 28)),  # DST ends Sunday November 1, 2026
        (date(2026, 12, 30), date(2027, 1, 3), date(2026, 12, 28)),  # across the new year
    ],
)
def test_local_dates_across_dst_changes_and_the_new_year(
    db: Database, condo: int, check_in: date, check_out: date, grocery: date
) -> None:
    booking_id = send(db, check_in=check_in, check_out=check_out)
    assert days(db, booking_id) == {
        GROCERY: (SCHEDULED, grocery),
        CLEANING: (SCHEDULED, check_in),
        CELEBRATION: (SCHEDULED, check_in),
        TURNOVER: (SCHEDULED, check_out),
    }


@pytest.mark.parametrize(
    ("recorded_at", "local_day"),
    [
        (datetime(2027, 3, 14, 5, 30, tzinfo=UTC), date(2027, 3, 13)),  # 23:30 CST, hours before DST starts
        (datetime(2027, 3, 14, 8, 30, tzinfo=UTC), date(2027, 3, 14)),  # 03:30 CDT, just after it started
        (datetime(2027, 1, 1, 3, 0, tzinfo=UTC), date(2026, 12, 31)),  # New Year in UTC, still 2026 in Chicago
    ],
)
def test_a_rule_anchored_on_the_booking_day_uses_the_propertys_local_date(
    db: Database, condo: int, recorded_at: datetime, local_day: date
) -> None:
    welcome = add_rule(db, key="welcome_call", anchor="booked", offset_days=1)
    booking_id = send(db, check_in=date(2027, 6, 1), check_out=date(2027, 6, 5))
    with db.unit_of_work() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        booking.created_at = recorded_at
        session.flush()
        plan(session, booking, actor="test")

    request = planned(db, booking_id)["welcome_call"]
    assert (request.rule_id, request.scheduled_for) == (welcome, local_day + timedelta(days=1))


def test_an_unplaced_booking_gets_requests_only_once_placed(db: Database, condo: int) -> None:
    booking_id = send(db, listing=ListingRef(name="Gulf View Cottage"))
    assert planned(db, booking_id) == {}

    with db.unit_of_work() as session:
        place(session, booking_id, condo, remember=False, actor="test")

    assert days(db, booking_id) == {
        GROCERY: (SCHEDULED, date(2026, 6, 13)),
        CLEANING: (SCHEDULED, date(2026, 6, 15)),
        CELEBRATION: (SCHEDULED, date(2026, 6, 15)),
        TURNOVER: (SCHEDULED, date(2026, 6, 22)),
    }


def test_a_property_override_switches_a_rule_off_there_only(db: Database, condo: int) -> None:
    villa = make_property(db, name="Sea Breeze Villa", address="20 Sea Breeze Ct")
    first = send(db)
    grocery = rule_id(db, GROCERY)
    with db.unit_of_work() as session:
        assert catalog.set_property_override(session, condo, grocery, False, actor="test") is False

    assert days(db, first)[GROCERY] == (SCHEDULED, date(2026, 6, 13))  # nothing changes until re-planned
    with db.unit_of_work() as session:
        [change] = preview(session, grocery, today=date(2026, 6, 1))
        assert (change.booking_id, change.action, change.from_day, change.to_day) == (
            first, Action.cancel, date(2026, 6, 13), None
        )  # fmt: skip
        assert apply_replan(session, None, today=date(2026, 6, 1), actor="test") == [change]
    assert days(db, first)[GROCERY] == (CANCELLED, date(2026, 6, 13))
    assert planned(db, first)[GROCERY].changes[-1].note == "the rule is no longer in force for this property"

    second = send(db, external_id="HM2", check_in=date(2026, 7, 1), check_out=date(2026, 7, 5))
    elsewhere = send(db, external_id="HM3", listing=ListingRef(property_id=villa))
    assert set(planned(db, second)) == {CLEANING, CELEBRATION, TURNOVER}
    assert set(planned(db, elsewhere)) == {GROCERY, CLEANING, CELEBRATION, TURNOVER}

    with db.unit_of_work() as session:  # back to the rule's own setting: re-planning brings the grocery back
        assert catalog.set_property_override(session, condo, grocery, None, actor="test") is True
        changes = apply_replan(session, grocery, today=date(2026, 6, 1), actor="test")
    assert {(c.booking_id, c.action, c.to_day) for c in changes} == {
        (first, Action.create, date(2026, 6, 13)),
        (second, Action.create, date(2026, 6, 29)),
    }
    assert days(db, first)[GROCERY] == days(db, elsewhere)[GROCERY] == (SCHEDULED, date(2026, 6, 13))


@pytest.mark.parametrize(
    ("condition", "value", "matching", "other"),
    [
        ("min_guests", 6, {"guest_count": 6}, {"guest_count": 5}),
        ("min_nights", "7", {"check_out": date(2026, 6, 22)}, {"check_out": date(2026, 6, 21)}),
        ("channel", ["vrbo", "Booking.com"], {"channel": "VRBO"}, {"channel": "airbnb"}),
        ("channel", "vrbo, booking.com", {"channel": "booking.com"}, {"channel": None}),
    ],
)
def test_rule_conditions(
    db: Database, condo: int, condition: str, value: Any, matching: dict[str, Any], other: dict[str, Any]
) -> None:
    add_rule(db, key="mid_stay_cleaning", offset_days=3, condition=condition, condition_value=value)

    yes = send(db, external_id="YES", **matching)
    no = send(db, external_id="NO", **other)

    assert days(db, yes)["mid_stay_cleaning"] == (SCHEDULED, date(2026, 6, 18))
    assert "mid_stay_cleaning" not in planned(db, no)
    # The booking changes so that the condition holds: the request appears on re-plan.
    send(db, external_id="NO", kind=EventKind.updated, **matching)
    assert days(db, no)["mid_stay_cleaning"] == (SCHEDULED, date(2026, 6, 18))


def test_a_request_a_person_cancelled_stays_cancelled_when_the_booking_moves(db: Database, condo: int) -> None:
    booking_id = send(db)
    with db.unit_of_work() as session:
        request = session.get(ServiceRequest, planned(db, booking_id)[GROCERY].id)
        assert request is not None
        request.changes.append(
            ServiceRequestChange(actor="user:1", from_status="scheduled", to_status="cancelled", note="guest declined")
        )
        request.status, request.cancelled_at = CANCELLED, utcnow()

    send(db, kind=EventKind.updated, check_in=date(2026, 6, 20), check_out=date(2026, 6, 27))

    assert days(db, booking_id)[GROCERY] == (CANCELLED, date(2026, 6, 13))


def test_rules_are_read_once_per_batch_and_afresh_otherwise(db: Database, condo: int) -> None:
    with db.unit_of_work() as session:
        before = {rule.key for rule in rules_for(session, condo)}
        grocery = session.scalars(select(AutomationRule).where(AutomationRule.key.like("grocery%"))).first()
        assert grocery is not None and grocery.key in before
        grocery.enabled = False
        session.flush()
        assert grocery.key not in {rule.key for rule in rules_for(session, condo)}  # an edit is seen at once

    with db.unit_of_work() as session:
        remember_reads(session)  # what a sync's batch does
        first = rules_for(session, condo)
        session.execute(AutomationRule.__table__.update().values(enabled=True))
        assert rules_for(session, condo) is first  # the same answer for the whole batch, from memory


def test_a_batch_honours_each_propertys_switches(db: Database, condo: int) -> None:
    villa = make_property(db, name="Sea Breeze Villa", address="20 Sea Breeze Ct")
    cottage = make_property(db, name="Gulf View Cottage", address="7 Gulf View Dr")
    grocery = rule_id(db, GROCERY)
    spa = add_rule(db, key="spa", name="Spa day", enabled=False)
    with db.unit_of_work() as session:
        catalog.set_property_override(session, condo, grocery, False, actor="test")  # off here only
        catalog.set_property_override(session, villa, spa, True, actor="test")  # a disabled rule, on here only
    with db.unit_of_work() as session:
        alone = {p: {rule.key for rule in rules_for(session, p)} for p in (condo, villa, cottage)}

    with db.unit_of_work() as session:
        remember_reads(session)  # what a batch of events does: every rule and the switched homes, read once
        together = {p: {rule.key for rule in rules_for(session, p)} for p in (condo, villa, cottage)}

    assert together == alone
    assert GROCERY not in alone[condo] and GROCERY in alone[villa] and GROCERY in alone[cottage]
    assert "spa" in alone[villa] and "spa" not in alone[condo] and "spa" not in alone[cottage]
