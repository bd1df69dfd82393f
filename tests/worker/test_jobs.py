from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import update

from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.integrations.models import PeriodicJob
from luxserv.worker import jobs


def test_a_job_runs_once_per_interval(db: Database) -> None:
    ran: list[int] = []
    assert jobs.run_job(db, "demo", timedelta(minutes=5), lambda: ran.append(1) or "")
    assert not jobs.run_job(db, "demo", timedelta(minutes=5), lambda: ran.append(2) or "")
    assert ran == [1]
    # Once the interval has passed, it is due again.
    with db.unit_of_work() as session:
        session.execute(update(PeriodicJob).values(next_run_at=utcnow() - timedelta(seconds=1)))
    assert jobs.run_job(db, "demo", timedelta(minutes=5), lambda: ran.append(3) or "")
    assert ran == [1, 3]


def test_concurrent_workers_claim_a_job_once(db: Database) -> None:
    barrier = threading.Barrier(6)

    def attempt(_: int) -> bool:
        barrier.wait()
        return jobs.claim(db, "sync:guesty:1", timedelta(minutes=15))

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert results.count(True) == 1


def test_a_failing_job_records_its_error_and_does_not_raise(db: Database) -> None:
    def boom() -> str:
        raise RuntimeError("provider down")

    assert jobs.run_job(db, "sync:x", timedelta(minutes=1), boom)
    [job] = jobs.job_status(db)
    assert job.last_error == "RuntimeError: provider down"
    assert job.last_finished_at is not None


def test_a_job_returning_an_error_text_keeps_it(db: Database) -> None:
    jobs.run_job(db, "sync:y", timedelta(minutes=1), lambda: "HTTP 503")
    [job] = jobs.job_status(db)
    assert job.last_error == "HTTP 503"
