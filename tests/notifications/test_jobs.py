"""The worker's periodic notification jobs: claimed hourly (rate-limit pruning daily), across all workers."""

from __future__ import annotations

from datetime import timedelta

from luxserv.core.clock import local_today, utcnow
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.registry import Providers
from luxserv.worker import jobs
from tests.notifications.conftest import People
from tests.notifications.support import mails, new_request


def test_the_worker_sends_reminders_once_an_hour(db: Database, settings: Settings, people: People) -> None:
    rid = new_request(db, people.condo, local_today("America/Chicago") + timedelta(days=1))
    providers = Providers.from_settings(settings, db)
    before = utcnow()

    assert jobs.run_due(db, providers, settings) == 3
    status = {job.name: job for job in jobs.job_status(db)}
    assert set(status) == {"notifications:digest", "notifications:reminders", "maintenance:rate-limits"}
    assert all(job.last_error == "" and job.last_finished_at is not None for job in status.values())
    hour, day = timedelta(hours=1), timedelta(days=1)
    assert before + hour <= status["notifications:reminders"].next_run_at <= utcnow() + hour
    assert before + hour <= status["notifications:digest"].next_run_at <= utcnow() + hour
    assert before + day <= status["maintenance:rate-limits"].next_run_at <= utcnow() + day
    assert sorted(m.recipient for m in mails(db, "service_request.due")) == ["ada@example.com", "admin@example.com"]
    assert all(f"service_request.due:{rid}:" in m.key for m in mails(db, "service_request.due"))

    assert jobs.run_due(db, providers, settings) == 0  # not due again within the hour
