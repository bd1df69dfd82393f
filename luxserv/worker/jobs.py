"""Periodic jobs (provider syncs, …): each runs at most once per interval across every worker.

A job is claimed with one conditional UPDATE (`next_run_at <= now` → `next_run_at = now + interval`): whichever
worker's UPDATE matches the row runs it; the others see zero rows. Portable to SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from luxserv.core import ratelimit
from luxserv.core.clock import utcnow
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.accounts import enabled_accounts
from luxserv.integrations.ical.service import enabled_feed_ids, sync_feed
from luxserv.integrations.models import PeriodicJob
from luxserv.integrations.registry import Providers
from luxserv.notifications.digest import send_digests
from luxserv.notifications.reminders import send_due_reminders
from luxserv.sync.service import sync_account

log = logging.getLogger(__name__)


def claim(db: Database, name: str, interval: timedelta) -> bool:
    """True if this process may run `name` now (and nobody else may until `interval` has passed)."""
    now = utcnow()
    with db.unit_of_work() as session:
        if session.get(PeriodicJob, name) is None:
            try:
                with session.begin_nested():
                    session.add(PeriodicJob(name=name, next_run_at=now))
                    session.flush()
            except IntegrityError:
                pass  # another worker created it: the UPDATE below decides
        result = session.execute(
            update(PeriodicJob)
            .where(PeriodicJob.name == name, PeriodicJob.next_run_at <= now)
            .values(next_run_at=now + interval, last_started_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def finish(db: Database, name: str, error: str = "") -> None:
    with db.unit_of_work() as session:
        session.execute(
            update(PeriodicJob).where(PeriodicJob.name == name).values(last_finished_at=utcnow(), last_error=error)
        )


def run_job(db: Database, name: str, interval: timedelta, work: Callable[[], str]) -> bool:
    """Claim and run one job; `work` returns an error text ('' when fine). False if it was not due."""
    if not claim(db, name, interval):
        return False
    try:
        error = work()
    except Exception as exc:  # one failing job must not stop the worker
        log.exception("periodic job %s failed", name)
        error = f"{type(exc).__name__}: {exc}"
    finish(db, name, error)
    return True


def run_due(db: Database, providers: Providers, settings: Settings) -> int:
    """Run every periodic job that is due. Returns how many ran."""
    ran = 0
    with db.unit_of_work(write=False) as session:
        accounts = [(a.id, a.provider, a.sync_interval_minutes) for a in enabled_accounts(session)]
    default = timedelta(minutes=settings.sync_interval_minutes)
    for account_id, provider, minutes in accounts:
        interval = timedelta(minutes=minutes) if minutes else default

        def sync(account_id: int = account_id) -> str:
            report = sync_account(db, providers, account_id)
            log.info("%s", report.summary())
            return report.error

        ran += run_job(db, f"sync:{provider}:{account_id}", interval, sync)

    vault = Vault(settings)
    for feed_id in enabled_feed_ids(db):

        def ical(feed_id: int = feed_id) -> str:
            report = sync_feed(db, providers, vault, feed_id, providers.http)
            log.info("%s", report.summary())
            return report.error

        ran += run_job(db, f"sync:ical:{feed_id}", default, ical)

    def digests() -> str:
        send_digests(db, now=utcnow())
        return ""

    def reminders() -> str:
        send_due_reminders(db, now=utcnow())
        return ""

    def prune_rate_limits() -> str:
        log.info("pruned %d expired rate-limit bucket(s)", ratelimit.prune(db))
        return ""

    # Hourly: a digest goes out in the first run after 07:00, a reminder in the first run of the day before.
    ran += run_job(db, "notifications:digest", timedelta(hours=1), digests)
    ran += run_job(db, "notifications:reminders", timedelta(hours=1), reminders)
    ran += run_job(db, "maintenance:rate-limits", timedelta(days=1), prune_rate_limits)
    return ran


def job_status(db: Database) -> list[PeriodicJob]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(PeriodicJob).order_by(PeriodicJob.name)))
