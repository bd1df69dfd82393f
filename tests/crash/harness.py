"""What the crash test is made of: a private PostgreSQL cluster, supervised `luxserv` processes, senders that sign
the events (`scenario.py`) and retry until acknowledged, a seeded chaos schedule, and the drain afterwards.

The cluster is the test's own (initdb into a temporary folder, its own port), so restarting it with
`pg_ctl restart -m immediate` never disturbs the shared server other tests use. Processes are real:
`luxserv serve` and `luxserv worker`, restarted by a small supervisor whenever they die, as systemd would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook

from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.inbox.models import InboxEvent, InboxStatus
from luxserv.outbox.models import OutboxMessage, OutboxStatus
from tests.crash.scenario import Event, Scenario
from tests.outbox.mailserver import MailServer

REPO = Path(__file__).resolve().parents[2]
WEBHOOK_PATH = "/webhooks/generic"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed_from_env() -> int:
    """LUXSERV_CRASH_SEED replays a run; otherwise a fresh seed (printed by the test)."""
    given = os.environ.get("LUXSERV_CRASH_SEED", "").strip()
    return int(given) if given else random.SystemRandom().randrange(1, 10**6)


# --- a private PostgreSQL cluster -------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/<major>/bin), or None."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl") if (p.parent / "initdb").exists()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0) if found else None


def cannot_run_postgres(bindir: Path | None) -> str:
    """Why this machine cannot run a private cluster ("" when it can)."""
    if bindir is None:
        return "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            return "as root, PostgreSQL must run as the postgres user, and runuser is missing"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "as root, PostgreSQL must run as the postgres user, and there is none"
    return ""


class Cluster:
    """A throwaway cluster: trust authentication, TCP on 127.0.0.1:`port`, its socket in its own folder.

    PostgreSQL refuses to run as root, so as root every server command runs as the `postgres` OS user.
    """

    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir, self.root, self.port = bindir, root, port
        self.data, self.log = root / "data", root / "postgresql.log"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, *argv: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*self._as, *argv], capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}")

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=150"
        pg_ctl = str(self.bindir / "pg_ctl")
        self._pg(pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "90", action, *extra)

    def init_and_start(self) -> None:
        initdb = str(self.bindir / "initdb")
        self._pg(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self._ctl("start")
        self._pg(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "luxserv")

    def restart_immediately(self) -> float:
        """`pg_ctl restart -m immediate`: no clean shutdown, crash recovery on start. Returns the seconds it took."""
        started = time.monotonic()
        self._ctl("restart", "-m", "immediate")
        return time.monotonic() - started

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._ctl("stop", "-m", "immediate")

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log, lines)


@contextlib.contextmanager
def private_cluster(bindir: Path) -> Iterator[Cluster]:
    """A new cluster in a folder of its own under the system temp dir (pytest's is closed to other users)."""
    root = Path(tempfile.mkdtemp(prefix="luxserv-crash-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
    cluster = Cluster(bindir, root, free_port())
    try:
        cluster.init_and_start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- luxserv processes ------------------------------------------------------------------------------------------


def luxserv_env(*, database_url: str, data_dir: Path, smtp_port: int, webhook_secret: str) -> dict[str, str]:
    """Production settings with real secrets; the web process does no background work (separate worker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUXSERV_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "LUXSERV_ENV": "production",
            "LUXSERV_DATA_DIR": str(data_dir),
            "LUXSERV_DATABASE_URL": database_url,
            "LUXSERV_SECRET_KEY": hashlib.sha256(webhook_secret.encode() + b"key").hexdigest(),
            "LUXSERV_WEBHOOK_SECRET": webhook_secret,
            "LUXSERV_WORKER_IN_PROCESS": "false",
            "LUXSERV_WORKER_POLL_SECONDS": "0.2",
            "LUXSERV_OUTBOX_LEASE_SECONDS": "5",
            "LUXSERV_SMTP_HOST": "127.0.0.1",
            "LUXSERV_SMTP_PORT": str(smtp_port),
            "LUXSERV_SMTP_SECURITY": "none",
            "LUXSERV_SMTP_TIMEOUT_SECONDS": "3",
            "LUXSERV_LOG_LEVEL": "INFO",
        }
    )
    return env


def luxserv(env: dict[str, str], cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run one `luxserv` command to completion; a non-zero exit raises with its output."""
    done = subprocess.run(
        [sys.executable, "-m", "luxserv", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(f"`luxserv {' '.join(args)}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


class Service:
    """One supervised process (`luxserv serve` or `luxserv worker`); every incarnation appends to one log file."""

    def __init__(self, name: str, args: list[str], *, env: dict[str, str], cwd: Path, ready_url: str = "") -> None:
        self.name, self.args, self.env, self.cwd, self.ready_url = name, args, env, cwd, ready_url
        self.log = cwd / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.exits: list[int] = []  # exit codes of incarnations that ended on their own
        self._log_offset = 0
        self._ready = False

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n=== {self.name} start #{self.starts + 1} ===\n".encode())
            out.flush()
            self._log_offset = out.tell()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "luxserv", *self.args],
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        self._ready = False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ended_on_its_own(self) -> bool:
        """True once per incarnation that exited without being killed by us (the supervisor restarts it)."""
        if self.process is None or self.process.poll() is None:
            return False
        self.exits.append(self.process.returncode)
        self.process = None
        return True

    def ready(self) -> bool:
        """Serving requests (web: /healthz answers 200) or working (worker: it said it started)."""
        if self._ready or not self.running():
            return self._ready and self.running()
        if self.ready_url:
            with contextlib.suppress(httpx.HTTPError):
                self._ready = httpx.get(self.ready_url, timeout=1.0).status_code == 200
        else:
            with contextlib.suppress(OSError), self.log.open("rb") as log:
                log.seek(self._log_offset)
                self._ready = b"worker started" in log.read()
        return self._ready

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as a crash or the OOM killer."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
            self.process = None

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM and wait; SIGKILL if it does not go."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log, lines)


class SlowMailServer(MailServer):
    """Accepts every message; the DATA answers whose ordinal is in `slow` take `pause` seconds."""

    def __init__(self, slow: set[int], pause: float = 1.0) -> None:
        super().__init__()
        self.slow, self.pause = slow, pause
        self._seen = 0
        self._count_lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._count_lock:
            self._seen += 1
            ordinal = self._seen
        answer = await super().handle_DATA(server, session, envelope)
        if ordinal in self.slow:
            await asyncio.sleep(self.pause)
        return answer


# --- the senders ------------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    attempts: int = 0
    status: int | None = None  # the 2xx that acknowledged it
    answer: dict[str, Any] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)


class Senders:
    """`threads` senders take deliveries in order; each retries one until a 2xx (connection errors, timeouts
    and any other answer are retried with a short, growing pause) or until `deadline` (time.monotonic())."""

    def __init__(self, base_url: str, secret: str, scenario: Scenario, *, threads: int, deadline: float) -> None:
        self.url = base_url + WEBHOOK_PATH
        self.secret = secret
        self.events = scenario.deliveries
        self.log = [Delivery() for _ in self.events]
        self.threads, self.deadline, self.seed = threads, deadline, scenario.seed
        self._next = 0
        self._acks = 0
        self._lock = threading.Lock()

    @property
    def acks(self) -> int:
        with self._lock:
            return self._acks

    def run(self) -> None:
        workers = [threading.Thread(target=self._work, args=(n,), name=f"sender-{n}") for n in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= len(self.events):
                return None
            self._next += 1
            return self._next - 1

    def _work(self, n: int) -> None:
        rng = random.Random(self.seed * 100 + n)
        timeout = httpx.Timeout(10.0, connect=2.0)
        with httpx.Client(timeout=timeout) as client:
            while (index := self._take()) is not None:
                self._deliver(client, rng, index)

    def _deliver(self, client: httpx.Client, rng: random.Random, index: int) -> None:
        event, record = self.events[index], self.log[index]
        pause = 0.05
        while time.monotonic() < self.deadline:
            record.attempts += 1
            try:
                answer = client.post(self.url, content=event.body, headers=self.headers(event))
            except httpx.TimeoutException:
                reason = "timeout"
            except httpx.TransportError as error:
                reason = type(error).__name__
            else:
                if 200 <= answer.status_code < 300:
                    record.status = answer.status_code
                    record.answer = answer.json()
                    with self._lock:
                        self._acks += 1
                    return
                reason = f"HTTP {answer.status_code}"
            record.failures[reason] += 1
            time.sleep(pause * rng.uniform(0.5, 1.0))
            pause = min(pause * 2, 1.0)

    def headers(self, event: Event) -> dict[str, str]:
        """Signed as the event says: the signature is made again for every attempt (a fresh timestamp)."""
        headers = {"Content-Type": "application/json"}
        if event.signing == "standard":
            now = datetime.now(UTC)
            webhook = Webhook(self.secret.encode())
            signature = webhook.sign(msg_id=event.event_id, timestamp=now, data=event.body.decode())
            headers.update(
                {"webhook-id": event.event_id, "webhook-timestamp": str(int(now.timestamp())),
                 "webhook-signature": signature}
            )  # fmt: skip
        else:
            digest = hmac.new(self.secret.encode(), event.body, hashlib.sha256).hexdigest()
            headers["X-Webhook-Signature"] = f"sha256={digest}"
        return headers


# --- chaos ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    at_ack: int  # performed once this many deliveries were acknowledged
    kind: str  # "kill web", "kill worker", "restart postgresql"


def chaos_plan(seed: int, deliveries: int) -> list[Action]:
    """3-5 SIGKILLs of each process and one immediate restart of PostgreSQL, at seeded points of the run."""
    rng = random.Random(seed ^ 0x5EED)
    web, worker = rng.randint(3, 5), rng.randint(3, 5)
    points = rng.sample(range(int(deliveries * 0.05), int(deliveries * 0.9)), web + worker)
    actions = [Action(p, "kill web") for p in points[:web]] + [Action(p, "kill worker") for p in points[web:]]
    actions.append(Action(rng.randint(int(deliveries * 0.3), int(deliveries * 0.7)), "restart postgresql"))
    return sorted(actions, key=lambda a: a.at_ack)


@dataclass
class Done:
    action: Action
    acks: int  # acknowledged deliveries when it happened
    seconds: float  # how long it took (the restart of PostgreSQL)


class Chaos(threading.Thread):
    """Supervisor and chaos monkey in one loop: restarts a process that died on its own (after half a second,
    as `Restart=always` with a short RestartSec), and performs the planned actions as acknowledgements pass
    their points. A kill waits until its target is up again, so each one interrupts real work."""

    RESTART_DELAY = 0.5
    MAX_UNPLANNED_EXITS = 60

    def __init__(
        self, plan: list[Action], services: dict[str, Service], cluster: Cluster, progress: Callable[[], int]
    ) -> None:
        super().__init__(name="chaos", daemon=True)
        self.pending = deque(plan)
        self.services, self.cluster, self.progress = services, cluster, progress
        self.done: list[Done] = []
        self.errors: list[str] = []
        self._restart_at: dict[str, float] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                self._supervise()
                self._act()
                self._halt.wait(0.05)
        except Exception as error:  # reported by the test, never lost in a thread
            self.errors.append(f"chaos thread failed: {type(error).__name__}: {error}")

    def finish(self, timeout: float) -> None:
        """Let the remaining actions happen (if sending ended first), then stop supervising."""
        deadline = time.monotonic() + timeout
        while self.pending and self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.halt()
        if self.pending:
            self.errors.append(f"{len(self.pending)} chaos actions never happened: {list(self.pending)}")

    def halt(self) -> None:
        """Stop supervising (nothing is restarted after this returns)."""
        self._halt.set()
        if self.is_alive():
            self.join(60)

    def _supervise(self) -> None:
        now = time.monotonic()
        for name, service in self.services.items():
            if service.ended_on_its_own():
                self._restart_at[name] = now + self.RESTART_DELAY
                if len(service.exits) > self.MAX_UNPLANNED_EXITS:
                    raise RuntimeError(f"{name} keeps dying: exits {service.exits[-5:]}\n{service.log_tail()}")
            if name in self._restart_at and now >= self._restart_at[name]:
                del self._restart_at[name]
                service.start()

    def _act(self) -> None:
        if not self.pending or self.progress() < self.pending[0].at_ack:
            return
        action = self.pending[0]
        if action.kind.startswith("kill "):
            target = self.services[action.kind.removeprefix("kill ")]
            if not target.ready():
                return  # not up yet (starting, or waiting for its restart): kill it once it works
            acks = self.progress()
            target.kill()
            target.start()  # at once: a kill is not a crash loop
            self.done.append(Done(action, acks, 0.0))
        else:
            acks = self.progress()
            seconds = self.cluster.restart_immediately()
            self.done.append(Done(action, acks, seconds))
        self.pending.popleft()


# --- the drain --------------------------------------------------------------------------------------------------


@dataclass
class DrainReport:
    rounds: int = 0
    seconds: float = 0.0
    fast_forwarded: int = 0  # retries whose backoff was skipped (their time, not their outcome, is not under test)
    left: str = ""  # what was still waiting when the deadline came ("" when drained)


def waiting(db: Database) -> tuple[int, int, datetime | None]:
    """Inbox events waiting for a retry, pending outbox messages, and the latest lease among the latter."""
    with db.unit_of_work(write=False) as session:
        inbox = session.scalar(
            select(func.count())
            .select_from(InboxEvent)
            .where(
                InboxEvent.status.in_([InboxStatus.received, InboxStatus.failed]),
                InboxEvent.next_attempt_at.is_not(None),
            )
        )
        outbox, lease = session.execute(
            select(func.count(), func.max(OutboxMessage.locked_until)).where(
                OutboxMessage.status == OutboxStatus.pending
            )
        ).one()
    return int(inbox or 0), int(outbox or 0), lease


def fast_forward(db: Database) -> int:
    """Make every scheduled retry due now (inbox events and outbox messages); leases are left to expire."""
    now = utcnow()
    with db.unit_of_work() as session:
        inbox = session.execute(
            update(InboxEvent)
            .where(
                InboxEvent.status.in_([InboxStatus.received, InboxStatus.failed]),
                InboxEvent.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        outbox = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.next_attempt_at > now)
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(inbox.rowcount) + int(outbox.rowcount)  # type: ignore[attr-defined]


def drain(db: Database, env: dict[str, str], cwd: Path, worker: Service, *, deadline: float) -> DrainReport:
    """Let the running worker catch up, stop it, then `luxserv worker --once` (at least once) until no inbox event
    waits for a retry and no outbox message is pending. Retry waits are skipped; leases are left to run out."""
    report = DrainReport()
    started = time.monotonic()
    while worker.running() and time.monotonic() < deadline and any(waiting(db)[:2]):
        report.fast_forwarded += fast_forward(db)
        time.sleep(0.5)
    worker.stop()
    while True:
        inbox, outbox, lease = waiting(db)
        if report.rounds and not inbox and not outbox:
            break
        if time.monotonic() >= deadline:
            report.left = f"{inbox} inbox events waiting for a retry, {outbox} outbox messages pending"
            break
        report.fast_forwarded += fast_forward(db)
        if lease is not None and lease > utcnow() and not inbox:  # a killed worker's lease has to run out
            time.sleep(min(10.0, (lease - utcnow()).total_seconds() + 0.1))
        luxserv(env, cwd, "worker", "--once", timeout=max(10.0, deadline - time.monotonic()))
        report.rounds += 1
    report.seconds = time.monotonic() - started
    return report
