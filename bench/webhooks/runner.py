"""One webhook benchmark run on one database: the floor, then LuxServ, the same traffic and load against each."""

from __future__ import annotations

import asyncio
import base64
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.support import RESULTS_DIR, Machine, Server, base_env, fake_guesty, free_port, luxserv, scratch_postgres
from bench.webhooks import floor, oracle
from bench.webhooks.load import Phase, Sample, closed_loop, measure, open_loop
from bench.webhooks.traffic import CITY, Home, Traffic, homes
from luxserv.core.database import Database
from luxserv.integrations.fake.guesty import FakeGuesty
from luxserv.properties.service import create_owner, create_property

DATABASES = ("sqlite", "postgresql")
WEB_WORKERS = {"sqlite": 1, "postgresql": 2}


@dataclass(frozen=True)
class Options:
    db: str
    seconds: float = 20.0
    rate: float = 100.0
    senders: int = 16
    timeout: float = 10.0
    warmup_seconds: float = 1.0
    homes: int = 20
    worker_drain_seconds: float = 60.0
    results_dir: Path = RESULTS_DIR


@dataclass
class Measured:
    """One server's two phases and what its database holds afterwards."""

    name: str
    offered: Phase
    saturation: Phase
    check: dict[str, Any]
    check_passed: bool
    check_summary: str
    samples: list[Sample] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class Secrets:
    webhook: str
    svix: str
    secret_key: str

    @classmethod
    def new(cls) -> Secrets:
        return cls(
            webhook=secrets.token_urlsafe(24),
            svix="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
            secret_key=secrets.token_urlsafe(48),
        )


def run(options: Options) -> tuple[Machine, Measured, Measured]:
    """Measure the floor, then LuxServ, on `options.db`; every process and scratch database is gone afterwards."""
    if options.db not in DATABASES:
        raise ValueError(f"--db must be one of {', '.join(DATABASES)}")
    machine = Machine.describe()
    keys = Secrets.new()
    the_homes = homes(options.homes)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="luxserv-bench-webhooks-")))
        # The connection's periodic sync (run by the worker at start) talks to an empty fake, not to Guesty.
        api = stack.enter_context(fake_guesty(FakeGuesty()))
        if options.db == "postgresql":
            floor_url = stack.enter_context(scratch_postgres("floor"))
            luxserv_url: str | None = stack.enter_context(scratch_postgres("webhooks"))
        else:
            floor_url, luxserv_url = f"sqlite:///{work / 'floor' / 'floor.db'}", None
        floor_result = _run_floor(options, work / "floor", floor_url, keys, the_homes)
        luxserv_result = _run_luxserv(options, work / "luxserv", luxserv_url, api, keys, the_homes)
    return machine, floor_result, luxserv_result


def _phases(
    name: str, url: str, traffic: Traffic, servers: list[Server], options: Options
) -> tuple[Phase, Phase, list[Sample]]:
    def cpu() -> float:
        return sum(server.cpu_seconds() for server in servers)

    warm, _ = asyncio.run(
        open_loop(url, traffic, rate=options.rate, seconds=options.warmup_seconds, timeout=options.timeout)
    )
    settle(cpu)
    offered, first = measure(
        f"{name}: {options.rate:g} req/s for {options.seconds:g} s",
        lambda: open_loop(url, traffic, rate=options.rate, seconds=options.seconds, timeout=options.timeout),
        cpu,
    )
    settle(cpu)
    saturation, second = measure(
        f"{name}: {options.senders} senders for {options.seconds:g} s",
        lambda: closed_loop(url, traffic, senders=options.senders, seconds=options.seconds, timeout=options.timeout),
        cpu,
    )
    return offered, saturation, warm + first + second


def settle(cpu: Callable[[], float], *, idle_share: float = 0.1, max_wait: float = 60.0) -> None:
    """Wait until the servers have worked off what earlier requests left (a backlog the sender gave up on, e-mails
    the worker sends), so one phase does not slow the next: their CPU use drops below `idle_share` of a core."""
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        before = cpu()
        time.sleep(0.5)
        if cpu() - before < idle_share * 0.5:
            return


def _uvicorn_argv(port: int, workers: int) -> list[str]:
    """The floor under the same uvicorn as `luxserv serve` (uvloop, httptools, access log at info)."""
    return [
        sys.executable, "-m", "uvicorn", "bench.webhooks.floor:app", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--log-level", "info", "--proxy-headers",
    ]  # fmt: skip


def _run_floor(options: Options, directory: Path, database: str, keys: Secrets, the_homes: list[Home]) -> Measured:
    directory.mkdir(parents=True)
    floor.create_table(database)
    env = base_env(
        {
            "BENCH_FLOOR_DATABASE": database,
            "BENCH_FLOOR_WEBHOOK_SECRET": keys.webhook,
            "BENCH_FLOOR_SVIX_SECRET": keys.svix,
        }
    )
    port = free_port()
    server = Server(
        "floor", _uvicorn_argv(port, WEB_WORKERS[options.db]), env=env, cwd=directory, log=directory / "floor.log"
    )
    traffic = Traffic(webhook_secret=keys.webhook, svix_secret=keys.svix, homes=the_homes, tag=secrets.token_hex(4))
    try:
        server.start(f"http://127.0.0.1:{port}/")
        offered, saturation, samples = _phases("floor", f"http://127.0.0.1:{port}", traffic, [server], options)
    finally:
        server.stop()
    rows = floor.count_rows(database)
    acknowledged = sum(s.acknowledged for s in samples)
    passed = acknowledged <= rows <= len(samples)
    summary = f"{rows:,} rows stored for {acknowledged:,} acknowledged of {len(samples):,} deliveries"
    check = {"passed": passed, "rows": rows, "acknowledged": acknowledged, "sent": len(samples)}
    return Measured("floor", offered, saturation, check, passed, summary, samples)


def _run_luxserv(
    options: Options, directory: Path, database_url: str | None, api: str, keys: Secrets, the_homes: list[Home]
) -> Measured:
    directory.mkdir(parents=True)
    extra = {
        "LUXSERV_DATA_DIR": str(directory),
        "LUXSERV_SECRET_KEY": keys.secret_key,
        "LUXSERV_WEBHOOK_SECRET": keys.webhook,
    }
    if database_url is not None:
        # Web processes and a separate worker process, as the README says for PostgreSQL.
        extra.update({"LUXSERV_DATABASE_URL": database_url, "LUXSERV_WORKER_IN_PROCESS": "false"})
    env = base_env(extra)
    url = database_url or f"sqlite:///{directory / 'luxserv.db'}"
    luxserv(env, directory, "db", "upgrade")
    _add_homes(url, the_homes)
    luxserv(
        env, directory, "providers", "add", "guesty", "--name", "Bench",
        "-c", "client_id=fake-client", "-c", "client_secret=fake-secret", "-c", f"webhook_secrets={keys.svix}",
        "-o", f"base_url={api}", "-o", f"token_url={api}/oauth2/token",
    )  # fmt: skip
    port = free_port()
    serve = [sys.executable, "-m", "luxserv", "serve", "--port", str(port), "--workers", str(WEB_WORKERS[options.db])]
    servers = [Server("luxserv serve", serve, env=env, cwd=directory, log=directory / "serve.log")]
    if database_url is not None:
        worker = [sys.executable, "-m", "luxserv", "worker"]
        servers.append(Server("luxserv worker", worker, env=env, cwd=directory, log=directory / "worker.log"))
    traffic = Traffic(webhook_secret=keys.webhook, svix_secret=keys.svix, homes=the_homes, tag=secrets.token_hex(4))
    db = Database(url)
    try:
        servers[0].start(f"http://127.0.0.1:{port}/healthz")
        for process in servers[1:]:
            process.start()
        offered, saturation, samples = _phases("luxserv", f"http://127.0.0.1:{port}", traffic, servers, options)
        pending = oracle.wait_for_worker(db, options.worker_drain_seconds)
    finally:
        for process in servers:
            process.stop()
    try:
        verdict = oracle.check(db, samples, pending)
    finally:
        db.dispose()
    return Measured("luxserv", offered, saturation, verdict.as_dict(), verdict.passed, verdict.summary(), samples)


def _add_homes(url: str, the_homes: list[Home]) -> None:
    """The company's homes, each linked to its Guesty listing (what an admin sets up once)."""
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            owner = create_owner(session, name="Bench Owner", email="owner@bench.example", actor="bench")
            for home in the_homes:
                create_property(
                    session,
                    owner=owner,
                    name=home.name,
                    address=home.address,
                    city=CITY,
                    state="FL",
                    listings={"guesty": home.guesty_listing},
                    actor="bench",
                )
    finally:
        db.dispose()
