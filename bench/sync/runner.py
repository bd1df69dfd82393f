"""One sync benchmark run on one database: set up, fetch every page with httpx alone, then `luxserv sync guesty`."""

from __future__ import annotations

import json
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.support import RESULTS_DIR, Machine, base_env, fake_guesty, luxserv, scratch_postgres
from luxserv.bookings.models import Booking
from luxserv.core.database import Database
from luxserv.integrations.fake.guesty import FakeGuesty
from luxserv.integrations.guesty.client import PAGE_SIZE, RESERVATION_FIELDS
from luxserv.properties.service import create_owner, create_property

DATABASES = ("sqlite", "postgresql")
CITY = "Panama City Beach"
FIRST_STAY = date(2027, 1, 1)
SLOT_DAYS = 5  # stays of 2 to 4 nights in 5-day slots: no two stays on one listing overlap


@dataclass(frozen=True)
class Options:
    db: str
    reservations: int = 10_000
    listings: int = 50
    results_dir: Path = RESULTS_DIR
    timeout: float = 3600.0


@dataclass(frozen=True)
class Result:
    db: str
    reservations: int
    listings: int
    baseline_seconds: float  # GET every page with httpx, nothing else
    baseline_reservations: int
    luxserv_seconds: float  # `luxserv sync guesty`, process start to exit
    luxserv_cpu_seconds: float  # user + system CPU of that process (depends little on the machine's load)
    luxserv_exit: int
    luxserv_summary: str
    token_requests: int  # by `luxserv sync` only
    bookings: int
    placed: int

    @property
    def checks_passed(self) -> bool:
        return (
            self.luxserv_exit == 0
            and self.token_requests == 1
            and self.bookings == self.reservations
            and self.placed == self.reservations
            and self.baseline_reservations == self.reservations
        )


def listing_id(number: int) -> str:
    return f"66c0{number:020x}"


def listings(count: int) -> list[dict[str, Any]]:
    return [
        {
            "_id": listing_id(i),
            "nickname": f"Sync Villa {i:02d}",
            "title": f"Sync Villa {i:02d}, gulf-front",
            "address": {"full": f"{18000 + i} Front Beach Rd, {CITY}, FL 32413, USA", "city": CITY, "state": "FL"},
        }
        for i in range(count)
    ]


def reservations(count: int, homes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reservations as GET /v1/reservations returns them: 1 in 20 cancelled, notes on some, several channels."""
    platforms = ("airbnb2", "homeaway2", "bookingCom", "manual")
    rows = []
    for n in range(count):
        home = homes[n % len(homes)]
        check_in = FIRST_STAY + timedelta(days=SLOT_DAYS * (n // len(homes)))
        check_out = check_in + timedelta(days=2 + n % 3)
        rows.append(
            {
                "_id": f"6700{n:020x}",
                "confirmationCode": f"GY-{n:06d}",
                "status": "canceled" if n % 20 == 7 else "confirmed",
                "listingId": home["_id"],
                "listing": home,
                "guestId": f"6800{n:020x}",
                "guest": {
                    "_id": f"6800{n:020x}",
                    "fullName": f"Guest {n}",
                    "email": f"guest{n}@sync.example",
                    "phone": "+18505550100",
                },
                "checkIn": f"{check_in.isoformat()}T20:00:00.000Z",
                "checkOut": f"{check_out.isoformat()}T15:00:00.000Z",
                "checkInDateLocalized": check_in.isoformat(),
                "checkOutDateLocalized": check_out.isoformat(),
                "nightsCount": (check_out - check_in).days,
                "guestsCount": 1 + n % 6,
                "notes": "Celebrating anniversary" if n % 10 == 3 else "",
                "integration": {"platform": platforms[n % len(platforms)]},
                "createdAt": "2026-10-01T10:00:00.000Z",
                "lastUpdatedAt": f"2026-11-{1 + n % 28:02d}T10:00:00.000Z",
            }
        )
    return rows


def fetch_all(api: str, client_id: str, client_secret: str) -> tuple[float, int]:
    """The baseline: a token, then every page exactly as LuxServ's client asks for it; nothing is applied."""
    started = time.perf_counter()
    seen = 0
    with httpx.Client(base_url=api, timeout=30.0) as http:
        form = {
            "grant_type": "client_credentials",
            "scope": "open-api",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        token = http.post("/oauth2/token", data=form)
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        skip = 0
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE, "skip": skip, "sort": "_id", "fields": RESERVATION_FIELDS}
            page = http.get("/v1/reservations", params=params, headers=headers)
            page.raise_for_status()
            data = json.loads(page.content)
            results = data["results"]
            seen += len(results)
            skip += len(results)
            if not results or skip >= data["count"]:
                break
    return time.perf_counter() - started, seen


def run(options: Options) -> tuple[Machine, Result]:
    if options.db not in DATABASES:
        raise ValueError(f"--db must be one of {', '.join(DATABASES)}")
    machine = Machine.describe()
    homes = listings(options.listings)
    fake = FakeGuesty(reservations=reservations(options.reservations, homes), listings=homes)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="luxserv-bench-sync-")))
        api = stack.enter_context(fake_guesty(fake))
        database_url = stack.enter_context(scratch_postgres("sync")) if options.db == "postgresql" else None
        extra = {"LUXSERV_DATA_DIR": str(work), "LUXSERV_SECRET_KEY": secrets.token_urlsafe(48)}
        if database_url is not None:
            extra["LUXSERV_DATABASE_URL"] = database_url
        env = base_env(extra)
        url = database_url or f"sqlite:///{work / 'luxserv.db'}"
        luxserv(env, work, "db", "upgrade")
        _add_homes(url, homes)
        luxserv(
            env, work, "providers", "add", "guesty", "--name", "Bench",
            "-c", f"client_id={fake.client_id}", "-c", f"client_secret={fake.client_secret}",
            "-o", f"base_url={api}", "-o", f"token_url={api}/oauth2/token",
        )  # fmt: skip

        baseline_seconds, baseline_count = fetch_all(api, fake.client_id, fake.client_secret)
        tokens_before = fake.token_requests
        cpu_before = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "luxserv", "sync", "guesty"],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=options.timeout,
            check=False,
        )
        elapsed = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before
        bookings, placed = _count_bookings(url)
    summary = [line for line in done.stdout.splitlines() if line.startswith("guesty #")]
    return machine, Result(
        db=options.db,
        reservations=options.reservations,
        listings=options.listings,
        baseline_seconds=baseline_seconds,
        baseline_reservations=baseline_count,
        luxserv_seconds=elapsed,
        luxserv_cpu_seconds=cpu,
        luxserv_exit=done.returncode,
        luxserv_summary=summary[-1] if summary else (done.stderr or done.stdout).strip()[-500:],
        token_requests=fake.token_requests - tokens_before,
        bookings=bookings,
        placed=placed,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _add_homes(url: str, homes: list[dict[str, Any]]) -> None:
    """One property per Guesty listing, linked to it (what an admin sets up once)."""
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            owner = create_owner(session, name="Bench Owner", email="owner@bench.example", actor="bench")
            for home in homes:
                create_property(
                    session,
                    owner=owner,
                    name=home["nickname"],
                    address=home["address"]["full"].split(",")[0],
                    city=CITY,
                    state="FL",
                    listings={"guesty": home["_id"]},
                    actor="bench",
                )
    finally:
        db.dispose()


def _count_bookings(url: str) -> tuple[int, int]:
    db = Database(url)
    try:
        with db.unit_of_work(write=False) as session:
            total = session.scalar(select(func.count()).select_from(Booking)) or 0
            placed = (
                session.scalar(select(func.count()).select_from(Booking).where(Booking.property_id.is_not(None))) or 0
            )
            return int(total), int(placed)
    finally:
        db.dispose()
