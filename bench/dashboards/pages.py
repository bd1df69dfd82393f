"""Measuring the four pages in-process: LuxServ's app behind FastAPI's TestClient, signed in as a person of each
audience would be, with every SQL statement of a request counted and timed on the engine.

The time of a request is the wall time of the TestClient call: the whole ASGI stack (middleware, dependencies,
the sign-in check, the page's queries, template rendering) plus the TestClient's own small overhead, but no
network. The datasets are measured alternately, request by request, so both see the same machine load.
"""

from __future__ import annotations

import gc
import re
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.dashboards.dataset import ADMIN_EMAIL, PASSWORD, Dataset
from bench.support import percentile
from luxserv.app import create_app
from luxserv.core.database import Database
from luxserv.core.settings import Settings

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
from fastapi.testclient import TestClient  # noqa: E402  (after silencing its deprecation warning)

BASE_URL = "http://testserver"


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    path: str
    target_ms: float | None  # p95 server time at full scale; None: no target, only constant queries and flat growth


PAGES = (
    Page("calendar", "admin calendar, month", "/admin/calendar?view=month", 250.0),
    Page("owner", "owner portal", "/owner", 50.0),
    Page("guest", "guest portal", "/portal?booking=…", 50.0),
    Page("queue", "service queue", "/admin/requests", None),
)
# Not judged: the least any request costs here (the TestClient, the ASGI stack, one unit of work with `SELECT 1`).
FLOOR = Page("floor", "floor: /healthz", "/healthz", None)


@dataclass
class Statement:
    """One SQL statement text across a page's requests."""

    text: str
    calls: int = 0
    ms: float = 0.0
    slowest_ms: float = 0.0
    slowest_params: Any = None  # the parameters of its slowest execution, to EXPLAIN it


@dataclass
class Samples:
    """What one page measured on one dataset."""

    ms: list[float] = field(default_factory=list)  # per request
    queries: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)  # time spent in the database driver per request
    cpu_ms: list[float] = field(default_factory=list)  # CPU time of this process per request (all its threads)
    statements: dict[str, Statement] = field(default_factory=dict)
    # The most times one request sent each statement, IN lists folded (`IN (…)`): how the page queries, whatever
    # the number of rows. A page that loads per row repeats a statement; one that reads per owner or per home in
    # the whole database repeats it more on more data.
    shapes: dict[str, int] = field(default_factory=dict)

    def stats(self) -> dict[str, Any]:
        ordered, sql, cpu = sorted(self.ms), sorted(self.sql_ms), sorted(self.cpu_ms)
        return {
            "requests": len(self.ms),
            "p50_ms": percentile(ordered, 50),
            "p95_ms": percentile(ordered, 95),
            "max_ms": ordered[-1] if ordered else float("nan"),
            "sql_p50_ms": percentile(sql, 50),
            "cpu_p50_ms": percentile(cpu, 50),
            "queries_min": min(self.queries, default=0),
            "queries_max": max(self.queries, default=0),
        }

    def slowest(self, top: int = 3) -> list[Statement]:
        """The statements that took the most time per request, slowest first."""
        return sorted(self.statements.values(), key=lambda s: s.ms, reverse=True)[:top]


class StatementLog:
    """Every statement the engine sends while recording: its text, parameters and time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.recording = False
        self.records: list[tuple[str, Any, float]] = []
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        elapsed = (time.perf_counter() - self._started.pop()) * 1000
        if self.recording:
            self.records.append((statement, parameters, elapsed))

    @contextmanager
    def request(self) -> Iterator[list[tuple[str, Any, float]]]:
        self.records = []
        self.recording = True
        try:
            yield self.records
        finally:
            self.recording = False


@dataclass(frozen=True)
class Visit:
    client: TestClient
    url: str


class Site:
    """One dataset served by LuxServ in this process, with a signed-in browser per person the pages are seen as."""

    def __init__(self, data: Dataset, stack: ExitStack) -> None:
        self.data = data
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="luxserv-bench-dashboards-")))
        settings = Settings(
            _env_file=None,
            env="test",
            database_url=data.url,
            data_dir=folder,
            base_url=BASE_URL,
            webhook_secret="bench-dashboards-webhook-secret",
        )
        self.db = Database(data.url, base_url=BASE_URL)
        stack.callback(self.db.dispose)
        self.log = StatementLog(self.db.engine)
        stack.callback(self.log.close)
        app = create_app(settings, self.db, run_worker=False)

        def browser(address: str) -> TestClient:
            return stack.enter_context(TestClient(app, follow_redirects=False, client=(address, 50000)))

        admin = _signed_in(browser("198.51.100.1"), ADMIN_EMAIL)
        owners = [_signed_in(browser(f"198.51.100.{10 + n}"), email) for n, email in enumerate(data.owner_emails)]
        # Each guest opens their own link from their own address (the portal limits lookups per address).
        guests = [(browser(f"203.0.113.{10 + n}"), code) for n, code in enumerate(data.guest_codes)]
        if not owners or not guests:
            raise RuntimeError(f"scale {data.size.label}: no owner login or no stay to open in the portal")
        self.visits: dict[str, list[Visit]] = {
            "calendar": [Visit(admin, url) for url in calendar_urls(data.today)],
            "owner": [Visit(client, "/owner") for client in owners],
            "guest": [Visit(client, "/portal?" + urlencode({"booking": code})) for client, code in guests],
            "queue": [Visit(admin, url) for url in queue_urls(data.today)],
            "floor": [Visit(admin, "/healthz")],
        }
        self.samples: dict[str, Samples] = {page.key: Samples() for page in (*PAGES, FLOOR)}

    def visit(self, page: str, n: int, *, keep: bool = True) -> None:
        """The page's `n`-th choice (round robin); recorded unless `keep` is False (warm-up)."""
        choice = self.visits[page][n % len(self.visits[page])]
        with self.log.request() as records:
            started, cpu = time.perf_counter(), time.process_time()
            response = choice.client.get(choice.url)
            elapsed, cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
        if response.status_code != 200:
            raise RuntimeError(
                f"scale {self.data.size.label}: GET {choice.url} answered {response.status_code}: {response.text[:300]}"
            )
        if not keep:
            return
        samples = self.samples[page]
        samples.ms.append(elapsed)
        samples.queries.append(len(records))
        samples.sql_ms.append(sum(ms for _, _, ms in records))
        samples.cpu_ms.append(cpu_ms)
        for shape, times in Counter(fold(text) for text, _, _ in records).items():
            samples.shapes[shape] = max(times, samples.shapes.get(shape, 0))
        for text, params, ms in records:
            found = samples.statements.setdefault(text, Statement(text))
            found.calls += 1
            found.ms += ms
            if ms >= found.slowest_ms:
                found.slowest_ms, found.slowest_params = ms, params

    def explain(self, statement: Statement) -> str:
        """EXPLAIN (ANALYZE, BUFFERS) of a statement with the parameters of its slowest execution."""
        with self.db.engine.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement.text, statement.slowest_params)
            plan = "\n".join(str(row[0]) for row in rows)
            conn.rollback()
        return plan


def fold(statement: str) -> str:
    """The statement with its expanded IN lists folded: `IN (%(id_1_1)s::INTEGER, %(id_1_2)s::INTEGER)` → `IN (…)`."""
    return _IN_LIST.sub("IN (…)", statement)


_IN_LIST = re.compile(r"IN \((?:%\(\w+\)s(?:::\w+)?(?:, )?)+\)")


def calendar_urls(today: date) -> list[str]:
    """Month views an admin opens: this month, the next two, the last one, and one three months back."""
    first = today.replace(day=1)
    months = [first, _add_months(first, 1), _add_months(first, -1), _add_months(first, 2), _add_months(first, -3)]
    return ["/admin/calendar?" + urlencode({"view": "month", "start": month.isoformat()}) for month in months]


def queue_urls(today: date) -> list[str]:
    """The queue as admins use it: open requests by day, the second page, this week's, new asks, latest first."""
    week = {"date_from": today.isoformat(), "date_to": (today + timedelta(days=6)).isoformat()}
    return [
        "/admin/requests",
        "/admin/requests?page=2",
        "/admin/requests?" + urlencode(week),
        "/admin/requests?status=requested",
        "/admin/requests?sort=-date",
    ]


def measure(sites: list[Site], requests: int, warmup: int, progress: Any = None) -> None:
    """`warmup` unrecorded (each choice at least once), then `requests` recorded requests per page on every site,
    alternating between the sites request by request."""
    gc.collect()  # start from a heap without the set-up's garbage
    for page in (*PAGES, FLOOR):
        for site in sites:  # every choice at least once: a first visit may write (a client's rate-limit row)
            for n in range(max(warmup, len(site.visits[page.key]))):
                site.visit(page.key, n, keep=False)
        for n in range(requests):
            for site in sites if n % 2 == 0 else reversed(sites):  # neither dataset always goes first
                site.visit(page.key, n)
        if progress is not None:
            progress(page)


def _signed_in(client: TestClient, email: str) -> TestClient:
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    if response.status_code != 200:
        raise RuntimeError(f"signing in as {email} answered {response.status_code}: {response.text[:300]}")
    return client


def _add_months(first: date, months: int) -> date:
    year, month0 = divmod(first.month - 1 + months, 12)
    return date(first.year + year, month0 + 1, 1)
