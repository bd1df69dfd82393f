"""Inbox flows: store first, apply second; duplicates, rejections, failures kept for retry, replay and the worker."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from luxserv.audit.models import AuditEntry
from luxserv.bookings.models import Booking
from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.inbox import flows
from luxserv.inbox.models import InboxEvent, InboxStatus
from luxserv.inbox.service import MAX_AUTOMATIC_ATTEMPTS, NewEvent, due_event_ids, store
from luxserv.integrations.base import AccountConfig, BookingEvent
from luxserv.integrations.http import ApiClient, HttpOptions
from luxserv.integrations.manual import ManualProvider
from luxserv.integrations.registry import Providers
from tests.factories import make_property


class ExplodingMapper(ManualProvider):
    """Stands in for the manual provider and fails the way a bug or an outage would."""

    def map(self, payload: Any) -> BookingEvent:
        raise RuntimeError("mapper exploded")


@pytest.fixture
def providers(settings: Settings) -> Providers:
    return Providers.from_settings(settings)


@pytest.fixture
def broken() -> Providers:
    return Providers([ExplodingMapper(AccountConfig(id=None, provider="manual", name="test"))])


def manual_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "MAN-1",
        "kind": "created",
        "listing": {"name": "Beach Condo 123"},
        "guest": {"name": "Sarah Johnson", "email": "sarah@email.com", "phone": "+1 850 555 0100"},
        "check_in": "2026-06-15",
        "check_out": "2026-06-22",
        "guest_count": 4,
    }
    body.update(overrides)
    return body


def new_event(event_id: str = "evt-1", **overrides: Any) -> NewEvent:
    return NewEvent(
        provider="manual",
        event_id=event_id,
        source="manual",
        body=json.dumps(manual_body(**overrides)).encode(),
        content_type="application/json",
        headers={"x-request-id": event_id, "Authorization": "Bearer secret-token"},
    )


def inbox_row(db: Database, inbox_id: int) -> InboxEvent:
    with db.unit_of_work(write=False) as session:
        row = session.get(InboxEvent, inbox_id)
        assert row is not None
        return row


def set_next_attempt(db: Database, inbox_id: int, delta: timedelta) -> None:
    with db.unit_of_work() as session:
        row = session.get(InboxEvent, inbox_id)
        assert row is not None
        row.next_attempt_at = utcnow() + delta


def count(db: Database, model: type[Any]) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def booking_audits(db: Database) -> list[str]:
    with db.unit_of_work(write=False) as session:
        query = select(AuditEntry.action).where(AuditEntry.entity_type == "booking").order_by(AuditEntry.id)
        return list(session.scalars(query))


def test_receive_stores_the_event_then_applies_it(db: Database, providers: Providers) -> None:
    property_id = make_property(db)

    receipt = flows.receive(db, providers, new_event(), actor="test")

    assert receipt.status == InboxStatus.processed
    assert receipt.outcome == "created"
    assert not receipt.duplicate
    assert receipt.booking_id is not None
    row = inbox_row(db, receipt.inbox_id)
    assert (row.provider, row.event_id, row.source) == ("manual", "evt-1", "manual")
    assert row.status == InboxStatus.processed
    assert row.booking_id == receipt.booking_id
    assert row.attempts == 1
    assert row.error == ""
    assert row.processed_at is not None
    assert row.next_attempt_at is None
    assert json.loads(row.body) == manual_body()
    assert row.headers == {"x-request-id": "evt-1"}  # credentials are never stored
    with db.unit_of_work(write=False) as session:
        booking = session.get(Booking, receipt.booking_id)
        assert booking is not None
        assert (booking.provider, booking.external_id, booking.property_id) == ("manual", "MAN-1", property_id)


def test_the_same_event_twice_is_a_duplicate_and_applied_once(db: Database, providers: Providers) -> None:
    first = flows.receive(db, providers, new_event(), actor="test")
    second = flows.receive(db, providers, new_event(), actor="test")

    assert second.duplicate
    assert second.inbox_id == first.inbox_id
    assert second.booking_id == first.booking_id
    assert second.status == InboxStatus.processed
    assert count(db, InboxEvent) == 1
    assert inbox_row(db, first.inbox_id).attempts == 1
    assert count(db, Booking) == 1
    assert booking_audits(db) == ["booking.created", "booking.unplaced"]


def test_a_rejected_payload_is_kept_as_rejected_and_creates_no_booking(db: Database, providers: Providers) -> None:
    receipt = flows.receive(db, providers, new_event(check_in="2026-06-22", check_out="2026-06-15"), actor="test")

    assert receipt.status == InboxStatus.rejected
    assert receipt.error_field == "check_out"
    assert receipt.booking_id is None
    row = inbox_row(db, receipt.inbox_id)
    assert row.status == InboxStatus.rejected
    assert row.error_field == "check_out"
    assert "check_out" in row.error
    assert row.attempts == 1
    assert row.next_attempt_at is None  # retrying would not help
    assert json.loads(row.body)["check_out"] == "2026-06-15"
    assert count(db, Booking) == 0
    assert booking_audits(db) == []
    assert flows.process_due(db, providers) == 0


def test_a_payload_the_mapper_rejects_names_the_field(db: Database, providers: Providers) -> None:
    body = manual_body()
    del body["guest"]
    new = NewEvent(
        provider="manual",
        event_id="evt-x",
        source="manual",
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers={},
    )
    receipt = flows.receive(db, providers, new, actor="test")

    assert (receipt.status, receipt.error_field) == (InboxStatus.rejected, "guest")
    assert count(db, Booking) == 0


def test_a_failing_apply_is_kept_for_retry_and_a_replay_applies_it(
    db: Database, providers: Providers, broken: Providers
) -> None:
    before = utcnow()
    receipt = flows.receive(db, broken, new_event(), actor="test")

    assert receipt.status == InboxStatus.failed
    assert receipt.booking_id is None
    row = inbox_row(db, receipt.inbox_id)
    assert row.status == InboxStatus.failed
    assert row.attempts == 1
    assert "RuntimeError" in row.error and "mapper exploded" in row.error
    assert row.next_attempt_at is not None
    assert before + timedelta(seconds=20) < row.next_attempt_at < utcnow() + timedelta(seconds=40)
    assert json.loads(row.body) == manual_body()
    assert count(db, Booking) == 0
    assert flows.process_due(db, providers) == 0  # not due yet

    replayed = flows.replay(db, providers, receipt.inbox_id, actor="user:1")

    assert replayed.status == InboxStatus.processed
    assert replayed.outcome == "created"
    assert replayed.booking_id is not None
    row = inbox_row(db, receipt.inbox_id)
    assert (row.status, row.attempts, row.error, row.next_attempt_at) == (InboxStatus.processed, 2, "", None)
    assert row.booking_id == replayed.booking_id
    assert count(db, Booking) == 1


def test_process_due_retries_only_due_received_and_failed_events(
    db: Database, providers: Providers, broken: Providers
) -> None:
    # never applied (the inline apply died): stored only, and due
    with db.unit_of_work() as session:
        stuck_id, created = store(session, new_event("evt-stuck", external_id="STUCK"))
        assert created
    set_next_attempt(db, stuck_id, timedelta(minutes=-1))
    # failed, and its retry is due
    due_failed = flows.receive(db, broken, new_event("evt-due", external_id="DUE"), actor="test").inbox_id
    set_next_attempt(db, due_failed, timedelta(seconds=-1))
    # failed, but its retry is later
    later_failed = flows.receive(db, broken, new_event("evt-later", external_id="LATER"), actor="test").inbox_id
    # processed already, even if an old next_attempt_at lingered
    done = flows.receive(db, providers, new_event("evt-done", external_id="DONE"), actor="test").inbox_id
    set_next_attempt(db, done, timedelta(minutes=-5))

    assert flows.process_due(db, providers) == 2

    stuck_row, due_row = inbox_row(db, stuck_id), inbox_row(db, due_failed)
    assert (stuck_row.status, stuck_row.attempts) == (InboxStatus.processed, 1)
    assert (due_row.status, due_row.attempts) == (InboxStatus.processed, 2)
    later_row = inbox_row(db, later_failed)
    assert (later_row.status, later_row.attempts, later_row.booking_id) == (InboxStatus.failed, 1, None)
    done_row = inbox_row(db, done)
    assert (done_row.status, done_row.attempts) == (InboxStatus.processed, 1)
    with db.unit_of_work(write=False) as session:
        assert sorted(session.scalars(select(Booking.external_id))) == ["DONE", "DUE", "STUCK"]
        audited = session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "booking.created"))
        assert sorted(audited) == ["test", "worker", "worker"]

    assert flows.process_due(db, providers) == 0  # nothing left that is due


def test_after_the_maximum_attempts_a_failing_event_is_parked(
    db: Database, providers: Providers, broken: Providers
) -> None:
    inbox_id = flows.receive(db, broken, new_event(), actor="test").inbox_id
    for attempt in range(2, MAX_AUTOMATIC_ATTEMPTS + 1):
        row = inbox_row(db, inbox_id)
        assert row.attempts == attempt - 1
        assert row.next_attempt_at is not None, f"parked too early, after {row.attempts} attempts"
        receipt = flows.replay(db, broken, inbox_id, actor="test")
        assert receipt.status == InboxStatus.failed

    row = inbox_row(db, inbox_id)
    assert row.attempts == MAX_AUTOMATIC_ATTEMPTS
    assert row.status == InboxStatus.failed
    assert row.next_attempt_at is None
    assert "mapper exploded" in row.error
    assert flows.process_due(db, providers) == 0  # the worker leaves it to an admin

    assert flows.replay(db, providers, inbox_id, actor="user:1").status == InboxStatus.processed


def test_replaying_a_processed_event_is_harmless(db: Database, providers: Providers) -> None:
    first = flows.receive(db, providers, new_event(), actor="test")
    audits_before = booking_audits(db)

    again = flows.replay(db, providers, first.inbox_id, actor="user:1")

    assert again.outcome == "unchanged"
    assert again.booking_id == first.booking_id
    assert again.status in (InboxStatus.processed, InboxStatus.ignored)
    assert again.error == ""
    assert count(db, Booking) == 1
    assert count(db, InboxEvent) == 1
    assert booking_audits(db) == audits_before


def test_an_event_for_an_unconfigured_provider_is_not_retried_on_every_worker_pass(
    db: Database, providers: Providers
) -> None:
    with db.unit_of_work() as session:
        orphan_id, _ = store(session, dataclasses.replace(new_event("evt-acme"), provider="acme", source="sync"))
    set_next_attempt(db, orphan_id, timedelta(seconds=-1))

    flows.process_due(db, providers)

    row = inbox_row(db, orphan_id)
    assert row.status in (InboxStatus.failed, InboxStatus.rejected)  # visible to admins either way
    assert row.attempts == 1
    assert "acme" in row.error
    with db.unit_of_work(write=False) as session:
        assert orphan_id not in due_event_ids(session, now=utcnow(), limit=50)


class FlakyDatabaseMapper(ManualProvider):
    """Fails once the way a deadlock or a lost connection does, then maps normally."""

    failures = 1

    def map(self, payload: Any) -> BookingEvent:
        if FlakyDatabaseMapper.failures:
            FlakyDatabaseMapper.failures -= 1
            raise OperationalError("UPDATE bookings …", {}, Exception("deadlock detected"))
        return super().map(payload)


def test_a_database_error_in_the_one_transaction_apply_stores_first_and_applies_again(db: Database) -> None:
    make_property(db)
    FlakyDatabaseMapper.failures = 1
    flaky = Providers([FlakyDatabaseMapper(AccountConfig(id=None, provider="manual", name="test"))])

    receipt = flows.receive(db, flaky, new_event("evt-flaky"), actor="test")

    assert receipt.status == InboxStatus.processed and receipt.outcome == "created"
    row = inbox_row(db, receipt.inbox_id)
    assert row.attempts == 1 and row.booking_id == receipt.booking_id
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == 1
        assert session.scalar(select(func.count()).select_from(Booking)) == 1


class CallingProvider(ManualProvider):
    """Completes each payload through an API (a stand-in for Guesty's v2 events, which carry ids only)."""

    def __init__(self, config: AccountConfig, db: Database) -> None:
        super().__init__(config)
        self.db = db
        self.stored_at_call: list[int] = []

        def answer(request: httpx.Request) -> httpx.Response:
            with db.unit_of_work(write=False) as session:  # what is committed while the call is made
                self.stored_at_call.append(session.scalar(select(func.count()).select_from(InboxEvent)) or 0)
            return httpx.Response(200, json={"guest_count": 6})

        self.client = ApiClient("https://api.example", options=HttpOptions(transport=httpx.MockTransport(answer)))

    def enrich(self, payload: Any) -> Any:
        return {**payload, **self.client.get_json("/reservation")}


def test_a_payload_completed_through_an_api_is_committed_before_the_call(db: Database) -> None:
    make_property(db)
    provider = CallingProvider(AccountConfig(id=None, provider="manual", name="test"), db)

    receipt = flows.receive(db, Providers([provider]), new_event("evt-calls"), actor="test")

    assert receipt.outcome == "created"
    assert provider.stored_at_call == [1]  # one call, made with the raw event already stored
    with db.unit_of_work(write=False) as session:
        booking = session.get(Booking, receipt.booking_id)
        assert booking is not None and booking.guest_count == 6


class PickyMapper(ManualProvider):
    """Fails on one reservation only, the way bad data would."""

    def map(self, payload: Any) -> BookingEvent:
        if payload["external_id"] == "MAN-BAD":
            raise RuntimeError("cannot read this one")
        return super().map(payload)


def test_a_batch_applies_together_and_keeps_a_failing_event_apart(db: Database) -> None:
    make_property(db)
    picky = Providers([PickyMapper(AccountConfig(id=None, provider="manual", name="test"))])
    batch = [
        new_event("evt-a", external_id="MAN-A"),
        new_event("evt-bad", external_id="MAN-BAD"),
        new_event("evt-a", external_id="MAN-A"),  # delivered twice in one page
        new_event("evt-c", external_id="MAN-C", check_in="2026-07-01", check_out="2026-07-05"),
    ]

    receipts = flows.receive_many(db, picky, batch, actor="test")

    assert [r.event_id for r in receipts] == ["evt-a", "evt-bad", "evt-a", "evt-c"]
    assert [r.status for r in receipts] == [
        InboxStatus.processed, InboxStatus.failed, InboxStatus.processed, InboxStatus.processed,
    ]  # fmt: skip
    assert [r.duplicate for r in receipts] == [False, False, True, False]
    assert receipts[2].inbox_id == receipts[0].inbox_id and receipts[2].booking_id == receipts[0].booking_id
    assert "cannot read this one" in receipts[1].error
    failed = inbox_row(db, receipts[1].inbox_id)
    assert failed.status == InboxStatus.failed and failed.attempts == 1 and failed.next_attempt_at is not None
    assert count(db, InboxEvent) == 3
    with db.unit_of_work(write=False) as session:
        assert sorted(session.scalars(select(Booking.external_id))) == ["MAN-A", "MAN-C"]


def test_a_database_error_in_a_batch_applies_each_event_alone(db: Database) -> None:
    make_property(db)
    FlakyDatabaseMapper.failures = 1
    flaky = Providers([FlakyDatabaseMapper(AccountConfig(id=None, provider="manual", name="test"))])
    batch = [new_event(f"evt-{n}", external_id=f"MAN-{n}", check_in=f"2026-0{n + 6}-01",
                       check_out=f"2026-0{n + 6}-05") for n in range(3)]  # fmt: skip

    receipts = flows.receive_many(db, flaky, batch, actor="test")

    assert [r.outcome for r in receipts] == ["created", "created", "created"]
    assert count(db, InboxEvent) == 3 and count(db, Booking) == 3
    assert all(inbox_row(db, r.inbox_id).attempts == 1 for r in receipts)
