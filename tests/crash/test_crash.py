"""Crash test: nothing acknowledged is lost when processes die and the database restarts.

Senders post 2,000 signed events (creates, out-of-order updates, cancellations and exact re-deliveries of ~200
bookings) to a real `luxserv serve`, retrying each until it is acknowledged 2xx, while the web process and the
worker are SIGKILLed 3-5 times each and the private PostgreSQL cluster is restarted once with `-m immediate`.
Then the worker drains what is left and SQL on that cluster checks the oracles:
- every acknowledged event is in the inbox exactly once, with its bytes, and was applied;
- one booking per reservation, in the state of its newest event (cancelled stays cancelled);
- every task planned exactly once, on the right day (cancelled with its booking);
- every outbox message sent (the SMTP server has its Message-ID) or dead, none pending; exactly one "new booking"
  e-mail and feed entry per booking and recipient, one guest welcome, and exactly one cancellation e-mail per
  recipient for a booking cancelled after it was live (none for one whose cancellation arrived first).

Randomness comes from one seed, printed; `LUXSERV_CRASH_SEED=<seed>` replays the same events and chaos points.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luxserv.accounts.models import Role
from luxserv.audit.models import AuditEntry
from luxserv.bookings.models import Booking
from luxserv.core.database import Database
from luxserv.inbox.models import InboxEvent, InboxStatus
from luxserv.outbox.models import Notification, OutboxMessage, OutboxStatus
from luxserv.services.models import AutomationRule, PropertyRuleSetting, RequestStatus, ServiceRequest, ServiceType
from tests.conftest import WEBHOOK_SECRET
from tests.crash import harness
from tests.crash.harness import Senders, Service
from tests.crash.scenario import Reservation, Scenario
from tests.factories import flat_payload, make_owner, make_property, make_user, post_signed
from tests.outbox.mailserver import running

REQUIRE_POSTGRES = bool(os.environ.get("CI") or os.environ.get("LUXSERV_REQUIRE_POSTGRES"))
ARTIFACTS = harness.REPO / "test-artifacts" / "crash"
SENDERS = 6
# Deadlines from the test's start, so that the whole test stays under 5 minutes even on a busy machine.
SEND_UNTIL = 200.0
DRAIN_UNTIL = 275.0
ADMIN = "admin@crash.example.com"


@dataclass(frozen=True)
class People:
    admin: int  # user id
    homes: dict[str, int]  # property name -> id
    owners: dict[str, tuple[int, str]]  # property name -> the owner's login (user id, e-mail)


def seed_people(db: Database, scenario: Scenario) -> People:
    """One admin; each home with its owner and the owner's login, made with LuxServ's own services."""
    homes, owners = {}, {}
    for n, home in enumerate(scenario.homes, start=1):
        email = f"owner{n}@crash.example.com"
        owner = make_owner(db, name=f"Owner {n}", email=email)
        homes[home] = make_property(db, owner_id=owner, name=home, address=f"{n} Crash Test Road")
        owners[home] = (make_user(db, email, Role.owner, owner_id=owner), email)
    return People(make_user(db, ADMIN), homes, owners)


def test_crash_postgresql(tmp_path: Path) -> None:
    seed = harness.seed_from_env()
    print(f"\ncrash test seed {seed} (LUXSERV_CRASH_SEED={seed} replays it)")
    bindir = harness.postgres_bindir()
    problem = harness.cannot_run_postgres(bindir)
    if problem or bindir is None:
        if REQUIRE_POSTGRES:  # in CI a missing PostgreSQL fails, never skips
            pytest.fail(problem)
        pytest.skip(problem)

    scenario = Scenario.build(seed)
    plan = harness.chaos_plan(seed, len(scenario.deliveries))
    mail = harness.SlowMailServer(slow=set(random.Random(seed).sample(range(1, 600), 6)))
    secret = "crash-" + secrets.token_hex(16)
    started = time.monotonic()
    with ExitStack() as stack:
        cluster = stack.enter_context(harness.private_cluster(bindir))
        smtp_port = stack.enter_context(running(mail))
        env = harness.luxserv_env(
            database_url=cluster.url("luxserv"), data_dir=tmp_path, smtp_port=smtp_port, webhook_secret=secret
        )
        harness.luxserv(env, tmp_path, "db", "upgrade")
        db = Database(cluster.url("luxserv"))
        stack.callback(db.dispose)
        people = seed_people(db, scenario)

        port = harness.free_port()
        base_url = f"http://127.0.0.1:{port}"
        web = Service("web", ["serve", "--port", str(port)], env=env, cwd=tmp_path, ready_url=f"{base_url}/healthz")
        worker = Service("worker", ["worker", "--poll", "0.2"], env=env, cwd=tmp_path)
        services = {"web": web, "worker": worker}
        for service in services.values():
            stack.callback(service.stop)
            service.start()
        up = started + 90
        while not (web.ready() and worker.ready()):
            assert time.monotonic() < up, f"processes did not start\n{web.log_tail()}\n{worker.log_tail()}"
            time.sleep(0.1)

        sending = time.monotonic()
        senders = Senders(base_url, secret, scenario, threads=SENDERS, deadline=started + SEND_UNTIL)
        chaos = harness.Chaos(plan, services, cluster, lambda: senders.acks)
        stack.callback(chaos.halt)  # before the services stop: nothing may restart them afterwards
        chaos.start()
        senders.run()
        send_seconds = time.monotonic() - sending
        chaos.finish(timeout=20)
        web.stop()

        drained = harness.drain(db, env, tmp_path, worker, deadline=started + DRAIN_UNTIL)
        oracles = Oracles(db, scenario, people, senders, mail.message_ids())
        problems = [*chaos.errors, *oracles.check()]
        if drained.left:
            problems.append(f"not drained {DRAIN_UNTIL:.0f} s into the test: {drained.left}")
        summary = _summary(
            seed, scenario, senders, chaos, services, drained, oracles, send_seconds, time.monotonic() - started
        )
        print(summary)
        if problems:
            _keep_artifacts(tmp_path, cluster, seed, summary, problems)
        else:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "summary.txt").write_text(summary + "\n")
    shown = "\n  ".join(problems[:25]) + (f"\n  … and {len(problems) - 25} more" if len(problems) > 25 else "")
    assert not problems, f"seed {seed}: {len(problems)} oracle failures\n  {shown}\n{summary}"


class Oracles:
    """The checks, run with SQL on the private cluster after the drain. Each returns readable problems."""

    def __init__(self, db: Database, scenario: Scenario, people: People, senders: Senders, received: list[str]):
        self.db, self.scenario, self.people, self.senders = db, scenario, people, senders
        self.received = Counter(received)  # Message-IDs the SMTP server took, with how often
        self.bookings: dict[str, Booking] = {}
        self.stats: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()  # why attempts were not acknowledged
        self.topics: Counter[str] = Counter()  # outbox messages by topic

    def check(self) -> list[str]:
        problems = [*self.acknowledgements(), *self.inbox(), *self.outbox()]
        if any(record.status is None for record in self.senders.log):
            # What an unacknowledged event did is unknown (it may have been applied): no final state to expect.
            unacknowledged = sum(record.status is None for record in self.senders.log)
            return [f"{unacknowledged} deliveries not acknowledged within {SEND_UNTIL:.0f} s of the start "
                    "(a machine too busy for this test?)", *problems]  # fmt: skip
        return [*problems, *self.booking_states(), *self.tasks(), *self.booking_notices()]

    def acknowledgements(self) -> list[str]:
        problems = []
        for event, record in zip(self.scenario.deliveries, self.senders.log, strict=True):
            if record.status is None:
                problems.append(f"{event.event_id} ({event.booking_id} v{event.version}) never acknowledged: "
                                f"{dict(record.failures)}")  # fmt: skip
            elif record.answer.get("event_id") != event.event_id:
                problems.append(f"{event.event_id} acknowledged as {record.answer.get('event_id')!r}")
            self.stats[f"HTTP {record.status}"] += 1
            self.stats["retries"] += max(record.attempts - 1, 0)
            self.refusals.update(record.failures)
            self.stats["duplicate answers"] += bool(record.answer.get("duplicate"))
        return problems

    def inbox(self) -> list[str]:
        acknowledged = {
            e.event_id: e
            for e, record in zip(self.scenario.deliveries, self.senders.log, strict=True)
            if record.status is not None
        }
        with self.db.unit_of_work(write=False) as session:
            rows = session.execute(
                select(InboxEvent.event_id, InboxEvent.body, InboxEvent.status).where(InboxEvent.provider == "generic")
            ).all()
        stored: dict[str, list[tuple[bytes, InboxStatus]]] = defaultdict(list)
        for event_id, body, status in rows:
            stored[event_id].append((bytes(body), status))
        problems = []
        for event_id, event in acknowledged.items():
            found = stored.get(event_id, [])
            if len(found) != 1:
                problems.append(f"acknowledged event {event_id} is stored {len(found)} times")
            elif found[0][0] != event.body:
                problems.append(f"inbox event {event_id} does not hold the bytes that were sent")
            elif found[0][1] not in (InboxStatus.processed, InboxStatus.ignored):
                problems.append(f"inbox event {event_id} ended {found[0][1].value}, not applied")
        strangers = set(stored) - set(self.scenario.distinct_events)
        if strangers:
            problems.append(f"{len(strangers)} inbox events nobody sent, e.g. {sorted(strangers)[:3]}")
        self.stats["inbox events"] = len(rows)
        return problems

    def booking_states(self) -> list[str]:
        with self.db.unit_of_work(write=False) as session:
            found = list(session.scalars(select(Booking).where(Booking.provider == "generic")))
        counts = Counter(b.external_id for b in found)
        self.bookings = {b.external_id: b for b in found}
        problems = [f"{external_id}: {n} bookings" for external_id, n in counts.items() if n != 1]
        expected_ids = {r.booking_id for r in self.scenario.reservations}
        problems += [f"{x}: a booking nobody sent" for x in sorted(set(counts) - expected_ids)]
        for reservation in self.scenario.reservations:
            booking = self.bookings.get(reservation.booking_id)
            if booking is None:
                problems.append(f"{reservation.booking_id}: no booking")
                continue
            newest, status = reservation.expected()
            wanted = {
                "check_in": newest.stay.check_in,
                "check_out": newest.stay.check_out,
                "guest_count": newest.stay.guests,
                "special_requests": newest.stay.special_requests,
                "status": status,
                "property_id": self.people.homes.get(reservation.home),
                "source_updated_at": newest.updated_at,
            }
            actual = {name: getattr(booking, name) for name in wanted}
            actual["status"] = booking.status.value
            wrong = {name: (actual[name], value) for name, value in wanted.items() if actual[name] != value}
            if wrong:
                problems.append(f"{reservation.booking_id}: (stored, newest) differ: {wrong}")
        self.stats["cancelled bookings"] = sum(b.status.value == "cancelled" for b in found)
        return problems

    def tasks(self) -> list[str]:
        """One request per booking and rule in force; on its day when wanted, cancelled when not."""
        with self.db.unit_of_work(write=False) as session:
            rules = list(
                session.scalars(
                    select(AutomationRule)
                    .join(ServiceType, ServiceType.id == AutomationRule.service_type_id)
                    .where(ServiceType.active.is_(True), AutomationRule.enabled.is_(True))
                )
            )
            assert session.scalar(select(PropertyRuleSetting.id).limit(1)) is None, "no per-home rule settings"
            ids = [b.id for b in self.bookings.values()]
            requests = list(session.scalars(select(ServiceRequest).where(ServiceRequest.booking_id.in_(ids))))
        by_booking: dict[int, list[ServiceRequest]] = defaultdict(list)
        for request in requests:
            by_booking[request.booking_id or 0].append(request)
        problems = []
        for reservation in self.scenario.reservations:
            booking = self.bookings.get(reservation.booking_id)
            if booking is None:
                continue
            newest, status = reservation.expected()
            mine = by_booking.get(booking.id, [])
            per_rule = Counter(r.rule_id for r in mine)
            problems += [f"{reservation.booking_id}: {n} requests for rule {rule}" for rule, n in per_rule.items()
                         if n > 1 or rule is None]  # fmt: skip
            if not reservation.placed:
                problems += [f"{reservation.booking_id}: unplaced but has a request {r.id}" for r in mine]
                continue
            planned = {r.rule_id: r for r in mine}
            for rule in rules:
                request = planned.pop(rule.id, None)
                day = _day(rule, newest.stay.check_in, newest.stay.check_out)
                wanted = status != "cancelled" and _applies(rule, newest.stay.celebrate)
                if wanted and request is None:
                    problems.append(f"{reservation.booking_id}: rule {rule.key} never planned")
                elif wanted and request is not None:
                    if request.status != RequestStatus.scheduled or request.scheduled_for != day:
                        problems.append(f"{reservation.booking_id}: {rule.key} is {request.status.value} on "
                                        f"{request.scheduled_for}, wanted scheduled on {day}")  # fmt: skip
                    self.stats["tasks scheduled"] += 1
                elif request is not None and request.status != RequestStatus.cancelled:
                    problems.append(f"{reservation.booking_id}: {rule.key} is {request.status.value}, not cancelled")
            problems += [f"{reservation.booking_id}: request {r.id} for an unknown rule" for r in planned.values()]
        self.stats["tasks"] = len(requests)
        return problems

    def outbox(self) -> list[str]:
        with self.db.unit_of_work(write=False) as session:
            rows = session.execute(
                select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.last_error, OutboxMessage.topic)
            ).all()
        self.stats.update(f"outbox {status.value}" for _, status, _, _ in rows)
        self.topics.update(topic for *_, topic in rows)
        problems = [f"outbox {i} is still pending ({error or 'never tried'})" for i, s, error, _ in rows
                    if s == OutboxStatus.pending]  # fmt: skip
        sent = {f"<outbox-{i}@luxserv>" for i, s, _, _ in rows if s == OutboxStatus.sent}
        problems += [f"{m} is marked sent but the mail server never had it" for m in sorted(sent - set(self.received))]
        self.stats["e-mails received twice or more (at least once)"] = sum(n > 1 for n in self.received.values())
        return problems

    def booking_notices(self) -> list[str]:
        """Who was told about each booking: by the outbox's dedupe keys (one per notice and person)."""
        with self.db.unit_of_work(write=False) as session:
            keys = dict(session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.recipient)).all())
            feed = set(session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.is_not(None))))
            audit = session.execute(
                select(AuditEntry.entity_id, AuditEntry.action, AuditEntry.actor)
                .where(AuditEntry.entity_type == "booking")
                .order_by(AuditEntry.id)
            ).all()
        first: dict[int, str] = {}  # how each booking began: booking.created, or booking.cancelled
        for entity_id, action, actor in audit:
            self.stats["booking changes applied by the worker's retry"] += actor == "worker"
            if entity_id is not None:
                first.setdefault(entity_id, action)
        problems = []
        for reservation in self.scenario.reservations:
            booking = self.bookings.get(reservation.booking_id)
            if booking is None:
                continue
            problems += self._told(reservation, booking, first.get(booking.id), keys, feed)
        told = sum(1 for key in keys if key.startswith("booking.created:"))
        if told != self.stats["booking.created notices"]:
            problems.append(f"{told} booking.created e-mails, {self.stats['booking.created notices']} expected")
        return problems

    def _told(
        self, reservation: Reservation, booking: Booking, first: str | None, keys: dict[str, str], feed: set[str]
    ) -> list[str]:
        name, bid = reservation.booking_id, booking.id
        people = [(self.people.admin, ADMIN)]
        if reservation.placed:
            people.insert(0, self.people.owners[reservation.home])
        problems = []
        born_live = first == "booking.created"
        if not born_live and not (first == "booking.cancelled" and reservation.expected()[1] == "cancelled"):
            return [f"{name}: first audit entry is {first!r}"]
        for user_id, email in people:
            key = f"booking.created:{bid}:user-{user_id}:new"
            if born_live:
                self.stats["booking.created notices"] += 1
                if keys.get(key) != email:
                    problems.append(f"{name}: no booking.created e-mail to {email} ({key})")
                if key not in feed:
                    problems.append(f"{name}: no booking.created feed entry for {email}")
            cancelled = [k for k in keys if k.startswith(f"booking.cancelled:{bid}:user-{user_id}:")]
            if len(cancelled) > 1 or (cancelled and (not born_live or booking.status.value != "cancelled")):
                problems.append(f"{name}: {len(cancelled)} cancellation e-mails to {email}")
            elif born_live and booking.status.value == "cancelled" and not cancelled:
                problems.append(f"{name}: no cancellation e-mail to {email}")
        welcome = f"guest.welcome:{bid}"
        if born_live and reservation.placed and keys.get(welcome) != reservation.guest_email:
            problems.append(f"{name}: no welcome e-mail to {reservation.guest_email}")
        if not (born_live and reservation.placed) and welcome in keys:
            problems.append(f"{name}: a welcome e-mail for a booking that was never live and placed")
        self.stats["bookings born cancelled"] += not born_live
        return problems


def _day(rule: AutomationRule, check_in: date, check_out: date) -> date:
    anchors = {"check_in": check_in, "check_out": check_out}
    if rule.anchor.value not in anchors:
        raise AssertionError(f"the crash test knows no anchor {rule.anchor.value!r} (rule {rule.key})")
    return anchors[rule.anchor.value] + timedelta(days=rule.offset_days)


def _applies(rule: AutomationRule, celebrate: bool) -> bool:
    """The scenario's special requests either name an anniversary or no celebration at all."""
    if rule.condition.value == "always":
        return True
    if rule.condition.value == "keywords" and "anniversary" in rule.condition_value:
        return celebrate
    raise AssertionError(f"the crash test knows no condition {rule.condition.value!r} (rule {rule.key})")


def _summary(
    seed: int,
    scenario: Scenario,
    senders: Senders,
    chaos: harness.Chaos,
    services: dict[str, Service],
    drained: harness.DrainReport,
    oracles: Oracles,
    send_seconds: float,
    total_seconds: float,
) -> str:
    kinds = Counter(e.kind for e in scenario.distinct_events.values())
    actions = ", ".join(
        f"{d.action.kind} at {d.acks} acks" + (f" ({d.seconds:.1f} s)" if d.seconds else "") for d in chaos.done
    )
    exits = "; ".join(f"{name} exited on its own {len(s.exits)}x {dict(Counter(s.exits))}"
                      for name, s in services.items())  # fmt: skip
    stats = ", ".join(f"{k} {v}" for k, v in sorted(oracles.stats.items()))
    refusals = ", ".join(f"{k} {v}" for k, v in oracles.refusals.most_common())
    return "\n".join(
        [
            f"crash test seed {seed}: {len(scenario.deliveries)} deliveries of {len(scenario.distinct_events)} events "
            f"({dict(kinds)}) for {len(scenario.reservations)} bookings; {scenario.out_of_order()} sent after a "
            f"newer one; acknowledged {senders.acks} in {send_seconds:.1f} s with {SENDERS} senders",
            f"not acknowledged at first: {refusals or 'none'}",
            f"chaos: {actions}",
            f"supervisor: {exits}",
            f"drain: {drained.rounds} `worker --once` in {drained.seconds:.1f} s, "
            f"{drained.fast_forwarded} retry waits skipped",
            f"found: {stats}",
            f"outbox topics: {dict(oracles.topics.most_common())}",
            f"total {total_seconds:.1f} s",
        ]
    )


def _keep_artifacts(tmp_path: Path, cluster: harness.Cluster, seed: int, summary: str, problems: list[str]) -> None:
    """Logs of every process and the cluster, for a failed run (CI keeps test-artifacts/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for log in tmp_path.glob("*.log"):
        shutil.copy(log, ARTIFACTS / log.name)
    shutil.copy(cluster.log, ARTIFACTS / "postgresql.log")
    (ARTIFACTS / "summary.txt").write_text(f"seed {seed}\n{summary}\n\n" + "\n".join(problems) + "\n")


def test_a_cancellation_that_also_moves_the_stay_is_told(db: Database, app_client: TestClient) -> None:
    """Found by the crash test: a cancellation overtaking an update carries other dates, and was taken for a move."""
    owner = make_owner(db)
    make_property(db, owner_id=owner, name="Beach Condo 123", address="17751 Front Beach Rd")
    make_user(db)
    created = flat_payload(event="booking.created", updated_at="2026-01-01T00:00:00Z", property="Beach Condo 123")
    assert post_signed(app_client, created, secret=WEBHOOK_SECRET).json()["outcome"] == "created"
    # Out of order: the cancellation carries the stay as last updated, whose update has not arrived yet.
    cancelled = {**created, "event": "booking.cancelled", "updated_at": "2026-01-03T00:00:00Z"}
    cancelled["check_in"] = "2026-06-16"
    answer = post_signed(app_client, cancelled, secret=WEBHOOK_SECRET).json()
    assert answer["outcome"] == "cancelled"
    with db.unit_of_work(write=False) as session:
        told = session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.dedupe_key.startswith("booking.cancelled:"))
        )
        assert list(told) == ["admin@example.com"]
