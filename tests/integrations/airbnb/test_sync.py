"""Airbnb sync against a fake partner API: pagination, the inbox, and the shared daily call budget."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.clock import utcnow
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.inbox.models import InboxEvent
from luxserv.integrations.accounts import DbCallBudget, create_account
from luxserv.integrations.http import BudgetExceeded, HttpOptions
from luxserv.integrations.manual import ManualProvider
from luxserv.integrations.models import ApiCallBudget, ProviderAccount
from luxserv.integrations.registry import Providers
from luxserv.sync.service import sync_account
from tests.factories import make_property


class FakeAirbnb:
    """Serves `GET /v2/reservations` with `_offset`/`_limit`, and records every request."""

    def __init__(self, reservations: list[dict[str, Any]]) -> None:
        self.reservations = reservations
        self.requests: list[httpx.Request] = []
        self.fail_next = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_next:
            self.fail_next -= 1
            return httpx.Response(503)
        assert request.url.path == "/v2/reservations"
        params = request.url.params
        items = [r for r in self.reservations if "listing_id" not in params or r["listing_id"] == params["listing_id"]]
        offset, limit = int(params["_offset"]), int(params["_limit"])
        page = items[offset : offset + limit]
        return httpx.Response(200, json={"reservations": page, "metadata": {"total_count": len(items)}})


def reservation(n: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "confirmation_code": f"HM{n:08d}",
        "listing_id": "L1",
        "status": "accepted",
        "start_date": f"2026-07-{n + 1:02d}",
        "end_date": f"2026-07-{n + 4:02d}",
        "number_of_guests": 2,
        "guest": {"first_name": "Guest", "last_name": f"Number{n}"},
        "updated_at": "2026-06-01T12:00:00Z",
    }
    body.update(overrides)
    return body


def providers_for(db: Database, settings: Settings, fake: FakeAirbnb) -> Providers:
    http = HttpOptions(transport=httpx.MockTransport(fake), sleep=lambda _: None, max_attempts=3)
    return Providers([ManualProvider.create()], db=db, vault=Vault(settings), http=http)


def make_account(db: Database, settings: Settings, **options: Any) -> int:
    with db.unit_of_work() as session:
        return create_account(
            session,
            Vault(settings),
            provider="airbnb",
            name="Airbnb partner",
            credentials={"access_token": "secret-access-token", "api_key": "partner-key"},
            options={"base_url": "https://api.airbnb.test/v2", **options},
            actor="test",
        ).id


def count_bookings(db: Database) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(Booking)) or 0


def account_row(db: Database, account_id: int) -> ProviderAccount:
    with db.unit_of_work(write=False) as session:
        row = session.get(ProviderAccount, account_id)
        assert row is not None
        return row


def test_sync_pages_through_reservations_into_the_inbox(db: Database, settings: Settings) -> None:
    prop = make_property(db, listings={"airbnb": "L1"})
    fake = FakeAirbnb([reservation(n) for n in range(1, 4)])
    account_id = make_account(db, settings, page_size=2)
    report = sync_account(db, providers_for(db, settings, fake), account_id)

    assert report.error == ""
    assert report.pulled == 3
    assert [r.url.params["_offset"] for r in fake.requests] == ["0", "2"]
    assert {r.url.params["_limit"] for r in fake.requests} == {"2"}
    first = fake.requests[0]
    assert first.headers["authorization"] == "Bearer secret-access-token"
    assert first.headers["x-airbnb-api-key"] == "partner-key"
    assert "updated_since" not in first.url.params  # a first sync reads everything
    with db.unit_of_work(write=False) as session:
        bookings = session.scalars(select(Booking).order_by(Booking.external_id)).all()
        assert [b.external_id for b in bookings] == ["HM00000001", "HM00000002", "HM00000003"]
        assert {b.property_id for b in bookings} == {prop}
        assert {b.channel for b in bookings} == {"airbnb"}
        events = session.scalars(select(InboxEvent).order_by(InboxEvent.event_id)).all()
        assert {e.source for e in events} == {"sync"}
        assert events[0].event_id == "sync:HM00000001:2026-06-01T12:00:00Z"
        assert {e.account_id for e in events} == {account_id}
    assert DbCallBudget(db, account_id, per_day=1000).spent_today() == 2
    assert account_row(db, account_id).last_synced_at is not None


def test_a_second_sync_asks_for_changes_only_and_applies_a_cancellation(db: Database, settings: Settings) -> None:
    make_property(db, listings={"airbnb": "L1"})
    fake = FakeAirbnb([reservation(1), reservation(2)])
    providers = providers_for(db, settings, fake)
    account_id = make_account(db, settings)
    sync_account(db, providers, account_id)

    changed_at = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    fake.reservations[0] = reservation(1, status="cancelled_by_guest", updated_at=changed_at)
    report = sync_account(db, providers, account_id)
    assert "updated_since" in fake.requests[-1].url.params
    # This fake ignores `updated_since`: the unchanged reservation is dropped client-side, as older than `since`.
    assert report.pulled == 1
    assert report.statuses == {"cancelled": 1}
    with db.unit_of_work(write=False) as session:
        statuses = dict(session.execute(select(Booking.external_id, Booking.status)).all())
    assert statuses == {"HM00000001": BookingStatus.cancelled, "HM00000002": BookingStatus.confirmed}


def test_sync_of_given_listings_filters_by_listing(db: Database, settings: Settings) -> None:
    make_property(db, listings={"airbnb": "L1"})
    fake = FakeAirbnb([reservation(1), reservation(2, listing_id="L2")])
    account_id = make_account(db, settings)
    report = sync_account(db, providers_for(db, settings, fake), account_id, listing_ids=["L2"])
    assert report.pulled == 1
    assert fake.requests[0].url.params["listing_id"] == "L2"
    assert account_row(db, account_id).last_synced_at is None  # a partial sync is not a complete one


def test_sync_stops_when_the_daily_budget_is_spent(db: Database, settings: Settings) -> None:
    make_property(db, listings={"airbnb": "L1"})
    fake = FakeAirbnb([reservation(n) for n in range(1, 5)])
    account_id = make_account(db, settings, page_size=1, daily_call_budget=2)
    report = sync_account(db, providers_for(db, settings, fake), account_id)

    assert "daily budget of 2 API calls is spent" in report.error
    assert report.pulled == 2
    assert len(fake.requests) == 2  # the third call was never sent
    assert count_bookings(db) == 2  # what was pulled before the budget ran out stays applied
    row = account_row(db, account_id)
    assert "daily budget" in row.last_sync_error
    assert row.last_synced_at is None  # the next sync starts again from the beginning


def test_retries_spend_the_budget_too(db: Database, settings: Settings) -> None:
    make_property(db, listings={"airbnb": "L1"})
    fake = FakeAirbnb([reservation(1)])
    fake.fail_next = 1
    account_id = make_account(db, settings)
    report = sync_account(db, providers_for(db, settings, fake), account_id)
    assert report.error == ""
    assert count_bookings(db) == 1
    assert DbCallBudget(db, account_id, per_day=1000).spent_today() == 2


def test_two_provider_instances_of_one_connection_share_the_budget(db: Database, settings: Settings) -> None:
    make_property(db, listings={"airbnb": "L1"})
    fake = FakeAirbnb([reservation(1), reservation(2)])
    account_id = make_account(db, settings, page_size=1, daily_call_budget=3)
    # Two registries stand for two processes: each builds its own provider instance.
    first = providers_for(db, settings, fake).for_account(account_id)
    second = providers_for(db, settings, fake).for_account(account_id)
    assert first is not second

    assert len(list(first.pull(None))) == 2  # two pages of one, the total says there is no third
    pulled: list[Any] = []
    with pytest.raises(BudgetExceeded):
        pulled.extend(second.pull(None))
    assert len(pulled) == 1
    assert len(fake.requests) == 3
    assert DbCallBudget(db, account_id, per_day=3).spent_today() == 3


def test_a_new_utc_day_resets_the_budget(db: Database, settings: Settings) -> None:
    make_property(db, listings={"airbnb": "L1"})
    fake = FakeAirbnb([reservation(1)])
    account_id = make_account(db, settings, daily_call_budget=5)
    today = utcnow().date()
    with db.unit_of_work() as session:
        session.add(ApiCallBudget(account_id=account_id, day=today - timedelta(days=1), calls=5))

    report = sync_account(db, providers_for(db, settings, fake), account_id)
    assert report.error == ""
    assert count_bookings(db) == 1
    with db.unit_of_work(write=False) as session:
        calls = dict(session.execute(select(ApiCallBudget.day, ApiCallBudget.calls)).all())
    assert calls == {today - timedelta(days=1): 5, today: 1}

    with db.unit_of_work() as session:  # spend the rest of today: the next sync sends nothing
        session.execute(
            ApiCallBudget.__table__.update()
            .where(ApiCallBudget.account_id == account_id, ApiCallBudget.day == today)
            .values(calls=5)
        )
    sent = len(fake.requests)
    report = sync_account(db, providers_for(db, settings, fake), account_id)
    assert "daily budget" in report.error
    assert len(fake.requests) == sent


def test_a_connection_without_base_url_reports_what_is_missing(db: Database, settings: Settings) -> None:
    fake = FakeAirbnb([])
    account_id = make_account(db, settings, base_url="")
    report = sync_account(db, providers_for(db, settings, fake), account_id)
    assert "base_url" in report.error
    assert fake.requests == []
