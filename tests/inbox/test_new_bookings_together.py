"""New bookings in a batch are applied together (`bookings.apply_new`): the same rows as one event at a time."""

from __future__ import annotations

import json
import logging
import re
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from luxserv.accounts.models import Role
from luxserv.audit.models import AuditEntry
from luxserv.bookings.models import Booking, BookingStatus
from luxserv.core.database import Database
from luxserv.core.registry import metadata
from luxserv.core.settings import Settings
from luxserv.guests.models import Guest
from luxserv.inbox import flows
from luxserv.inbox.models import InboxStatus
from luxserv.inbox.service import NewEvent
from luxserv.integrations.registry import Providers
from luxserv.notifications.models import EmailMode, NotificationPreference
from luxserv.properties.models import Property
from luxserv.services.models import ServiceRequest
from tests.conftest import BASE_URL
from tests.factories import flat_payload, make_owner, make_property, make_user

# Columns that differ between two runs whatever is applied: clocks, random codes, and row ids (compared through
# what they point at instead).
_VOLATILE = {"id", "created_at", "updated_at", "processed_at", "next_attempt_at", "cancelled_at", "code_digest",
             "received_at", "sent_at", "locked_until", "at"}  # fmt: skip
_TABLES = ("guests", "bookings", "service_requests", "service_request_changes", "audit_log", "outbox_messages",
           "notifications", "digest_entries", "guest_access_codes", "inbox_events")  # fmt: skip


@pytest.fixture
def providers(settings: Settings) -> Providers:
    return Providers.from_settings(settings)


@pytest.fixture
def baseline(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A second database, where the same events are applied one at a time."""
    path = tmp_path / "baseline.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}", base_url=BASE_URL)
    yield database
    database.dispose()


def furnish(db: Database, providers: Providers) -> None:
    """Two homes with owners who log in, two admins (one reads new bookings in a digest), a stay already booked."""
    first, second = make_owner(db, "Dana Whitfield", "dana@example.com"), make_owner(db, "Sam Ortiz", "sam@example.com")
    make_property(db, owner_id=first, name="Beach Condo 123")
    make_property(db, owner_id=second, name="Gulf Villa 7", address="7 Gulf Dr", listings={"generic": "GV-7"})
    make_user(db, "dana@example.com", Role.owner, owner_id=first)
    make_user(db, "admin@example.com")
    digest = make_user(db, "ops@example.com")
    with db.unit_of_work() as session:
        session.add(NotificationPreference(user_id=digest, topic="booking.created", email=EmailMode.digest))
    make_property(db, owner_id=second, name="Bay House", address="9 Bay Point Rd")
    for prior in (
        _event("prior-1", booking_id="OLD-1", check_in="2027-03-01", check_out="2027-03-08"),
        _event("prior-2", booking_id="OLD-2", property_id="GV-7", property="", check_in="2027-09-01",
               check_out="2027-09-05", guest_name="Zed Ray", guest_email="zed@example.com"),
        _event("prior-3", booking_id="OLD-3", property="Bay House", check_in="2027-10-01", check_out="2027-10-05",
               guest_name="Quinn Hale", guest_email="quinn@example.com"),
    ):  # fmt: skip
        flows.receive(db, providers, prior, actor="setup")


def _event(event_id: str, **fields: Any) -> NewEvent:
    return NewEvent(
        provider="generic", event_id=event_id, source="webhook", body=json.dumps(flat_payload(**fields)).encode()
    )


def deliveries() -> list[NewEvent]:
    """New bookings of every kind, with events that must be applied alone in between."""
    return [
        _event("e1", booking_id="A", check_in="2027-04-01", check_out="2027-04-05"),  # the known guest, celebrating
        _event("e2", booking_id="B", check_in="2027-04-03", check_out="2027-04-06", guest_name="Bob Lee",
               guest_email="BOB@example.com", special_requests=""),  # overlaps A, from the same batch
        _event("e2b", booking_id="OLD-3", property="Bay House", check_in="2027-10-02", check_out="2027-10-06",
               guest_name="Quinn Hale", guest_email="quinn@example.com"),  # shares nothing with A and B: after them
        _event("e3", booking_id="C", property_id="GV-7", property="", check_in="2027-04-01", check_out="2027-04-04",
               guest_name="Robert Lee", guest_email="bob@example.com", guest_phone="+1 850 555 0101"),  # same guest
        _event("e4", booking_id="D", property="Nowhere Cottage", guest_name="Ann Nobody", guest_email=None),
        _event("e5", booking_id="E", property_id="GV-7", property="", status="cancelled", check_in="2027-05-01",
               check_out="2027-05-03", guest_email="eve@example.com", guest_name="Eve Cole"),
        _event("e6", booking_id="OLD-1", check_in="2027-03-01", check_out="2027-03-09"),  # an update: alone
        _event("e7", booking_id="F", check_in="2027-03-05", check_out="2027-03-10", guest_email="fay@example.com",
               guest_name="Fay Moss"),  # overlaps the stay booked before
        _event("e2", booking_id="B"),  # the same delivery again
        _event("e8", booking_id="G", check_in="2027-06-05", check_out="2027-06-01"),  # rejected: alone
        _event("e9", booking_id="H", check_in="2025-01-02", check_out="2025-01-05", guest_email="old@example.com",
               guest_name="Past Guest"),  # already over: no welcome
        _event("e9b", booking_id="OLD-2", property_id="GV-7", property="", status="cancelled", check_in="2027-09-01",
               check_out="2027-09-05", guest_name="Zed Ray", guest_email="zed@example.com"),
        _event("e10", booking_id="I", property_id="GV-7", property="", check_in="2027-07-01", check_out="2027-07-04",
               guest_name="No Mail", guest_email=None),
        _event("e11", booking_id="J", check_in="2027-08-01", check_out="2027-08-03"),  # the known guest again
        _event("e12", booking_id="K", check_in="2027-08-02", check_out="2027-08-05", guest_email="kim@example.com",
               guest_name="Kim Park"),  # overlaps J
    ]  # fmt: skip


def snapshot(db: Database) -> dict[str, list[str]]:
    """Every row the events write, with ids replaced by what they point at and clocks and codes left out."""
    with db.unit_of_work(write=False) as session:
        guests = {g.id: f"{g.full_name} <{g.email}>" for g in session.scalars(select(Guest))}
        places = {p.id: p.name for p in session.scalars(select(Property))}
        stays = {b.id: b.external_id for b in session.scalars(select(Booking))}
        requests = {
            r.id: f"{stays.get(r.booking_id or 0)}/rule {r.rule_id}" for r in session.scalars(select(ServiceRequest))
        }
        names = {"guest_id": guests, "property_id": places, "booking_id": stays, "request_id": requests}
        tables = {t.name: t for t in metadata.sorted_tables}
        found: dict[str, list[str]] = {}
        for name in _TABLES:
            rows = session.connection().execute(tables[name].select()).mappings()
            found[name] = sorted(_plain(dict(row), names) for row in rows)
        return found


def _plain(row: dict[str, Any], names: dict[str, dict[int, str]]) -> str:
    values = {}
    for column, value in row.items():
        if column in _VOLATILE:
            continue
        if column in names and value is not None:
            value = names[column].get(value, value)
        if column in ("details", "payload") and isinstance(value, dict):
            value = {k: names[k].get(v, v) if k in names and isinstance(v, int) else v for k, v in value.items()}
        if column == "entity_id" and row.get("entity_type") == "booking":
            value = names["booking_id"].get(value, value)
        values[column] = value
    text = json.dumps(values, sort_keys=True, default=str)
    text = re.sub(r"booking=[\w-]+", "booking=CODE", text)  # the welcome's link carries a random code
    return re.sub(r"(booking\.cancelled:\d+:user-\d+:)\d{8}T\d+", r"\1WHEN", text)  # a cancellation's key: its time


def test_a_batch_writes_what_one_event_at_a_time_writes(
    db: Database, baseline: Database, providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    furnish(db, providers)
    furnish(baseline, providers)

    runs: list[int] = []
    real = flows.apply_new

    def counted(session: Any, events: Any, actors: Any) -> Any:
        runs.append(len(events))
        return real(session, events, actors)

    monkeypatch.setattr(flows, "apply_new", counted)
    one_by_one = [flows.receive(baseline, providers, new, actor="webhook:generic") for new in deliveries()]
    together = flows.receive_many(db, providers, deliveries(), actor="webhook:generic")

    # A+B, then OLD-3's update, which waited for them | C renames Bob: alone, in its place | D+E, then OLD-1's
    # update | F+H, then G's rejection and OLD-2's cancellation (I shares OLD-2's home) | I | J, alone: OLD-1's
    # update may have changed Sarah | K
    assert runs == [2, 2, 2, 1, 1]

    assert [(r.status, r.outcome, r.duplicate) for r in together] == [
        (r.status, r.outcome, r.duplicate) for r in one_by_one
    ]
    assert [r.outcome for r in together].count("created") == 10
    batch, alone = snapshot(db), snapshot(baseline)
    assert batch == alone, differences(batch, alone)
    audit = snapshot(db)["audit_log"]
    assert sum('"booking.double_booked"' in row for row in audit) == 3  # B over A, F over the earlier stay, K over J
    assert sum('"booking.unplaced"' in row for row in audit) == 1
    outbox = snapshot(db)["outbox_messages"]
    assert sum('"guest.welcome"' in row for row in outbox) == 9  # the earlier stays, A, B, C, F, J and K
    assert snapshot(db)["digest_entries"]


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs, with a "(transaction)" line where each transaction begins."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    def begin(*args: Any) -> None:
        seen.append("(transaction)")

    event.listen(db.engine, "before_cursor_execute", note)
    event.listen(db.engine, "begin", begin)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
        event.remove(db.engine, "begin", begin)


def a_week(n: int) -> dict[str, str]:
    return {
        "check_in": f"2028-{1 + n // 4:02d}-{1 + 7 * (n % 4):02d}",
        "check_out": f"2028-{1 + n // 4:02d}-{6 + 7 * (n % 4):02d}",
    }


def test_a_batch_of_new_bookings_costs_the_same_statements_whatever_its_size(
    db: Database, providers: Providers
) -> None:
    furnish(db, providers)
    counted = []
    for first, size in ((0, 4), (4, 24)):
        batch = [_event(f"n{n}", booking_id=f"N-{n}", guest_email=f"g{n}@example.com", **a_week(n))
                 for n in range(first, first + size)]  # fmt: skip
        with statements(db) as seen:
            receipts = flows.receive_many(db, providers, batch, actor="sync:test")
        assert [r.outcome for r in receipts] == ["created"] * size
        counted.append(seen)

    # Everything new bookings write, for all of them: inbox, guests, bookings, audit, tasks and their history,
    # access codes, e-mails, in-app and digest notices, the inbox outcome; plus a few reads and the transaction.
    assert len(counted[0]) == len(counted[1]) <= 24, "\n".join(statement[:60] for statement in counted[1])


def test_new_bookings_that_fail_together_are_applied_one_by_one(
    db: Database, providers: Providers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    furnish(db, providers)

    def broken(*args: Any) -> Any:
        raise RuntimeError("set-based apply broke")

    monkeypatch.setattr(flows, "apply_new", broken)
    batch = [_event(f"n{n}", booking_id=f"N-{n}", guest_email=f"g{n}@example.com", **a_week(n)) for n in range(3)]

    with caplog.at_level(logging.WARNING):
        receipts = flows.receive_many(db, providers, batch, actor="sync:test")

    assert [(r.status, r.outcome) for r in receipts] == [(InboxStatus.processed, "created")] * 3
    assert "3 new bookings failed to apply together" in caplog.text
    with db.unit_of_work(write=False) as session:
        assert sorted(session.scalars(select(Booking.external_id).where(Booking.external_id.like("N-%")))) == [
            "N-0", "N-1", "N-2",
        ]  # fmt: skip
        created = session.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "booking.created"))
        assert len(list(created)) == 6  # the three, and the three stays booked before, once each


def test_a_booking_created_and_changed_in_one_batch_ends_in_its_newest_state(
    db: Database, providers: Providers
) -> None:
    furnish(db, providers)
    batch = [
        _event("x1", booking_id="X", updated_at="2026-11-01T10:00:00Z", guest_count=2),
        _event("y1", booking_id="Y", check_in="2027-09-01", check_out="2027-09-04", guest_email="yo@example.com"),
        _event("x2", booking_id="X", updated_at="2026-11-02T10:00:00Z", guest_count=5, status="cancelled"),
    ]

    receipts = flows.receive_many(db, providers, batch, actor="webhook:generic")

    assert [r.outcome for r in receipts] == ["created", "created", "cancelled"]
    with db.unit_of_work(write=False) as session:
        x = session.scalar(select(Booking).where(Booking.external_id == "X"))
        assert x is not None and x.status == BookingStatus.cancelled and x.guest_count == 5
        statuses = session.scalars(select(ServiceRequest.status).where(ServiceRequest.booking_id == x.id))
        assert {s.value for s in statuses} == {"cancelled"}


def differences(batch: dict[str, list[str]], alone: dict[str, list[str]]) -> str:
    lines = []
    for name in batch:
        lines += [f"{name}, batch only: {row[:400]}" for row in sorted(set(batch[name]) - set(alone[name]))]
        lines += [f"{name}, alone only: {row[:400]}" for row in sorted(set(alone[name]) - set(batch[name]))]
    return "\n".join(lines)


def test_a_re_delivery_in_a_batch_is_answered_within_the_batch(db: Database, providers: Providers) -> None:
    furnish(db, providers)
    first = flows.receive(db, providers, _event("again", booking_id="R-1", **a_week(1)), actor="webhook:generic")
    batch = [_event("again", booking_id="R-1", **a_week(1)), _event("new", booking_id="R-2", **a_week(2))]

    with statements(db) as seen:
        receipts = flows.receive_many(db, providers, batch, actor="webhook:generic")

    assert [(r.duplicate, r.inbox_id, r.booking_id, r.status) for r in receipts[:1]] == [
        (True, first.inbox_id, first.booking_id, InboxStatus.processed)
    ]
    assert receipts[1].outcome == "created"
    assert seen.count("(transaction)") == 1  # no second one to lock the first delivery's row and read it


def test_new_bookings_whose_writes_fail_halfway_are_applied_one_by_one(
    db: Database, providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guests, bookings and tasks written before the failure are rolled back, and written again one by one."""
    furnish(db, providers)

    def broken(*args: Any) -> Any:
        raise RuntimeError("the overlap check broke")

    monkeypatch.setattr("luxserv.bookings.apply.alert_new_overlaps", broken)
    batch = [_event(f"n{n}", booking_id=f"N-{n}", guest_email=f"g{n}@example.com", **a_week(n)) for n in range(3)]

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no object left behind in the session by the rolled-back writes
        receipts = flows.receive_many(db, providers, batch, actor="sync:test")

    assert [(r.status, r.outcome) for r in receipts] == [(InboxStatus.processed, "created")] * 3
    with db.unit_of_work(write=False) as session:
        made = session.execute(
            select(Booking.external_id, Guest.email).join(Guest).where(Booking.external_id.like("N-%"))
        )
        assert sorted(made) == [("N-0", "g0@example.com"), ("N-1", "g1@example.com"), ("N-2", "g2@example.com")]
        tasks = session.scalars(select(ServiceRequest.booking_id).join(Booking).where(Booking.external_id.like("N-%")))
        assert len(list(tasks)) == 12  # four rules each (the default special requests mention an anniversary)


def _gulf(event_id: str, booking_id: str, days: tuple[str, str], guest: str, **fields: Any) -> NewEvent:
    fields = {"property_id": "GV-7", "property": "", **fields}
    return _event(event_id, booking_id=booking_id, check_in=days[0], check_out=days[1], guest_name=guest,
                  guest_email=f"{guest.split()[0].lower()}@example.com", **fields)  # fmt: skip


ORDERINGS = {
    # C renames a guest whose earlier stay B overlaps: B's double-booking notice names Quinn as she was then
    "a renamed guest": [
        _event("b", booking_id="B", property="Bay House", check_in="2027-10-02", check_out="2027-10-04",
               guest_name="Bob Lee", guest_email="bob@example.com"),
        _event("c", booking_id="C", check_in="2027-11-01", check_out="2027-11-05", guest_name="Quinn Hale-Smith",
               guest_email="quinn@example.com"),
    ],
    # X, booked and then moved away from Gulf Villa 7 in the same batch, before Z arrives there
    "a booking moved within the batch": [
        _gulf("a", "A", ("2028-01-01", "2028-01-05"), "Al Ames"),
        _gulf("x1", "X", ("2028-03-01", "2028-03-05"), "Xan Xu"),
        _gulf("x2", "X", ("2028-04-01", "2028-04-05"), "Xan Xu", property_id=None, property="Nowhere Cottage"),
        _gulf("z", "Z", ("2028-04-02", "2028-04-06"), "Zoe Zim"),
    ],
    "a booking cancelled within the batch": [
        _gulf("a", "A", ("2028-01-01", "2028-01-05"), "Al Ames"),
        _gulf("x1", "X", ("2028-03-01", "2028-03-05"), "Xan Xu"),
        _gulf("x2", "X", ("2028-03-01", "2028-03-05"), "Xan Xu", property_id=None, property="Nowhere Cottage",
              status="cancelled"),
        _gulf("z", "Z", ("2028-03-02", "2028-03-06"), "Zoe Zim"),
    ],
}  # fmt: skip


@pytest.mark.parametrize("case", list(ORDERINGS))
def test_a_batch_keeps_the_order_that_matters(
    db: Database, baseline: Database, providers: Providers, case: str
) -> None:
    furnish(db, providers)
    furnish(baseline, providers)

    one_by_one = [flows.receive(baseline, providers, new, actor="webhook:generic") for new in ORDERINGS[case]]
    together = flows.receive_many(db, providers, ORDERINGS[case], actor="webhook:generic")

    assert [r.outcome for r in together] == [r.outcome for r in one_by_one]
    batch, alone = snapshot(db), snapshot(baseline)
    assert batch == alone, differences(batch, alone)
