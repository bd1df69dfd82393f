"""Group commit of webhook deliveries: what arrives together commits together, and nothing waits on a slow call."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from luxserv.bookings.models import Booking
from luxserv.core.database import Database
from luxserv.inbox import flows
from luxserv.inbox.models import InboxEvent, InboxStatus
from luxserv.inbox.service import NewEvent
from luxserv.integrations.base import AccountConfig, BookingEvent
from luxserv.integrations.http import ApiClient, HttpOptions
from luxserv.integrations.manual import ManualProvider
from luxserv.integrations.registry import Providers
from luxserv.webhooks.intake import Intake, SenderGone
from tests.factories import make_property

CONFIG = AccountConfig(id=None, provider="manual", name="test")


def delivery(number: int, **overrides: Any) -> NewEvent:
    body = {
        "external_id": f"MAN-{number}",
        "kind": "created",
        "listing": {"name": "Beach Condo 123"},
        "guest": {"name": f"Guest {number}", "email": f"guest{number}@email.com"},
        "check_in": f"2027-{1 + number % 12:02d}-0{1 + number // 12}",
        "check_out": f"2027-{1 + number % 12:02d}-0{3 + number // 12}",
        "guest_count": 2,
        **overrides,
    }
    return NewEvent(provider="manual", event_id=f"evt-{number}", source="webhook", body=json.dumps(body).encode())


class GatedProvider(ManualProvider):
    """Maps MAN-0 only once the test opens the gate: the first delivery keeps the intake busy meanwhile."""

    def __init__(self) -> None:
        super().__init__(CONFIG)
        self.gate = threading.Event()
        self.mapping = threading.Event()

    def map(self, payload: Any) -> BookingEvent:
        if payload["external_id"] == "MAN-0":
            self.mapping.set()
            assert self.gate.wait(10)
        return super().map(payload)


class CallingProvider(ManualProvider):
    """MAN-slow needs the provider's API, which answers only once the test lets it."""

    def __init__(self) -> None:
        super().__init__(CONFIG)
        self.answer = threading.Event()

        def reply(request: httpx.Request) -> httpx.Response:
            assert self.answer.wait(10)
            return httpx.Response(200, json={"guest_count": 5})

        self.client = ApiClient("https://api.example", options=HttpOptions(transport=httpx.MockTransport(reply)))

    def enrich(self, payload: Any) -> Any:
        if payload["external_id"] == "MAN-slow":
            return {**payload, **self.client.get_json("/reservation")}
        return payload


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch the intake applies."""
    sizes: list[int] = []
    real = flows.receive_together

    def counted(db: Database, providers: Providers, news: Sequence[NewEvent], **kwargs: Any) -> Any:
        sizes.append(len(news))
        return real(db, providers, news, **kwargs)

    monkeypatch.setattr(flows, "receive_together", counted)
    return sizes


def bookings(db: Database) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(Booking)) or 0


def test_a_lone_delivery_is_applied_at_once(db: Database, batches: list[int]) -> None:
    make_property(db)
    intake = Intake(db)
    providers = Providers([ManualProvider(CONFIG)])

    receipt = asyncio.run(intake.receive(delivery(1), providers, actor="webhook:manual"))
    intake.close()

    assert receipt.outcome == "created" and receipt.status == InboxStatus.processed and receipt.booking_id
    assert batches == [1]


def test_deliveries_that_arrive_while_a_batch_runs_commit_together_in_the_next(
    db: Database, batches: list[int]
) -> None:
    make_property(db)
    provider = GatedProvider()
    intake = Intake(db)
    providers = Providers([provider])

    async def scenario() -> list[flows.Receipt]:
        first = asyncio.create_task(intake.receive(delivery(0), providers, actor="webhook:manual"))
        await asyncio.to_thread(provider.mapping.wait, 10)  # the intake is applying MAN-0 alone
        rest = [
            asyncio.create_task(intake.receive(delivery(n), providers, actor="webhook:manual")) for n in range(1, 6)
        ]
        await asyncio.sleep(0.05)
        provider.gate.set()
        return await asyncio.gather(first, *rest)

    receipts = asyncio.run(scenario())
    intake.close()

    assert batches == [1, 5]
    assert [r.outcome for r in receipts] == ["created"] * 6
    assert len({r.booking_id for r in receipts}) == 6 and bookings(db) == 6


def test_a_delivery_that_needs_the_api_holds_up_no_other(db: Database, batches: list[int]) -> None:
    make_property(db)
    provider = CallingProvider()
    intake = Intake(db)
    providers = Providers([provider])

    async def scenario() -> tuple[flows.Receipt, list[flows.Receipt]]:
        slow = asyncio.create_task(
            intake.receive(delivery(0, external_id="MAN-slow"), providers, actor="webhook:manual")
        )
        others = [await intake.receive(delivery(n), providers, actor="webhook:manual") for n in range(1, 4)]
        assert not slow.done()  # still waiting on the API while the others were applied
        provider.answer.set()
        return await slow, others

    slow, others = asyncio.run(scenario())
    intake.close()

    assert [r.outcome for r in others] == ["created"] * 3
    assert slow.outcome == "created"
    with db.unit_of_work(write=False) as session:
        booking = session.get(Booking, slow.booking_id)
        assert booking is not None and booking.guest_count == 5  # completed through the API


def test_a_batch_that_fails_is_applied_one_delivery_at_a_time(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    make_property(db)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the batch could not be applied")

    monkeypatch.setattr(flows, "receive_together", broken)
    intake = Intake(db)
    providers = Providers([ManualProvider(CONFIG)])

    async def scenario() -> list[flows.Receipt]:
        return await asyncio.gather(*(intake.receive(delivery(n), providers, actor="webhook:manual") for n in range(3)))

    receipts = asyncio.run(scenario())
    intake.close()

    assert [r.outcome for r in receipts] == ["created"] * 3 and bookings(db) == 3


def test_a_sender_that_gives_up_still_has_its_event_applied(db: Database) -> None:
    make_property(db)
    provider = GatedProvider()
    intake = Intake(db)
    providers = Providers([provider])

    async def scenario() -> None:
        waiting = asyncio.create_task(intake.receive(delivery(0), providers, actor="webhook:manual"))
        await asyncio.to_thread(provider.mapping.wait, 10)
        waiting.cancel()  # the connection closed
        with pytest.raises(asyncio.CancelledError):
            await waiting
        provider.gate.set()

    asyncio.run(scenario())
    intake.close()  # applies what it holds before it stops

    assert bookings(db) == 1


def test_an_error_the_database_raises_reaches_the_sender(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("database is down")

    monkeypatch.setattr(flows, "receive_together", down)
    monkeypatch.setattr(flows, "receive", down)
    intake = Intake(db)
    providers = Providers([ManualProvider(CONFIG)])

    with pytest.raises(ConnectionError, match="database is down"):
        asyncio.run(intake.receive(delivery(1), providers, actor="webhook:manual"))
    intake.close()


def test_a_sender_that_hangs_up_before_its_turn_leaves_nothing_behind(db: Database) -> None:
    make_property(db)
    provider = GatedProvider()
    intake = Intake(db)
    providers = Providers([provider])

    async def scenario() -> flows.Receipt:
        busy = asyncio.create_task(intake.receive(delivery(0), providers, actor="webhook:manual"))
        await asyncio.to_thread(provider.mapping.wait, 10)  # the intake is applying MAN-0
        gone = asyncio.Event()

        async def hang_up() -> dict[str, Any]:
            await gone.wait()
            return {"type": "http.disconnect"}

        queued = asyncio.create_task(intake.receive(delivery(1), providers, actor="webhook:manual", hang_up=hang_up))
        await asyncio.sleep(0.05)
        gone.set()  # its sender times out while MAN-0 is still being applied
        with pytest.raises(SenderGone):
            await queued
        provider.gate.set()
        return await busy

    first = asyncio.run(scenario())
    intake.close()

    assert first.outcome == "created"
    with db.unit_of_work(write=False) as session:
        assert session.scalars(select(Booking.external_id)).all() == ["MAN-0"]  # MAN-1 was neither stored nor applied
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == 1


def test_a_sender_still_connected_is_answered(db: Database) -> None:
    make_property(db)
    intake = Intake(db)
    providers = Providers([ManualProvider(CONFIG)])

    async def connected() -> dict[str, Any]:
        await asyncio.sleep(3600)  # what an open connection's receive does: nothing, until it closes
        return {"type": "http.disconnect"}

    receipt = asyncio.run(intake.receive(delivery(1), providers, actor="webhook:manual", hang_up=connected))
    intake.close()

    assert receipt.outcome == "created"


def test_an_intake_closed_once_works_again(db: Database) -> None:
    make_property(db)
    provider = CallingProvider()
    provider.answer.set()
    intake = Intake(db)
    providers = Providers([provider])
    asyncio.run(intake.receive(delivery(1), providers, actor="webhook:manual"))
    intake.close()  # the app's lifespan ended; a test client may start it again

    slow = asyncio.run(intake.receive(delivery(0, external_id="MAN-slow"), providers, actor="webhook:manual"))
    quick = asyncio.run(intake.receive(delivery(2), providers, actor="webhook:manual"))
    intake.close()

    assert slow.outcome == quick.outcome == "created"
