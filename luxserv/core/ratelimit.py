"""Fixed-window rate limits shared by every web process, kept in the database (`rate_limit_buckets`).

Used for login throttling (per e-mail and per client address) and guest code lookups (per client address).
A hit is counted in its own short transaction, so a refused attempt is counted even when the request fails.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from luxserv.accounts.models import RateLimitBucket
from luxserv.core.clock import utcnow
from luxserv.core.database import Database


@dataclass(frozen=True)
class Limit:
    """At most `hits` in any window of `seconds` (fixed windows, starting at the first hit)."""

    name: str
    hits: int
    seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window ends (0 when allowed)


def bucket_key(limit: Limit, subject: str) -> str:
    """A key that does not store the subject (an e-mail, an address) in clear."""
    return f"{limit.name}:{hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:40]}"


def hit(db: Database, limit: Limit, subject: str, *, now: datetime | None = None) -> Verdict:
    """Count one attempt; refused once the window's count is over the limit."""
    now = now or utcnow()
    key = bucket_key(limit, subject)
    window = timedelta(seconds=limit.seconds)
    with db.unit_of_work() as session:
        row = session.get(RateLimitBucket, key, with_for_update=not db.is_sqlite)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(RateLimitBucket(key=key, window_started_at=now, hits=1))
                    session.flush()
                return Verdict(True, 0)
            except IntegrityError:  # a concurrent first hit: count on its row
                row = session.get(RateLimitBucket, key, with_for_update=not db.is_sqlite, populate_existing=True)
                assert row is not None
        if now - row.window_started_at >= window:
            row.window_started_at, row.hits = now, 1
            return Verdict(True, 0)
        row.hits += 1
        if row.hits > limit.hits:
            remaining = window - (now - row.window_started_at)
            return Verdict(False, max(1, int(remaining.total_seconds())))
        return Verdict(True, 0)


def peek(db: Database, limit: Limit, subject: str, *, now: datetime | None = None) -> Verdict:
    """Whether the next attempt would be refused, without counting one."""
    now = now or utcnow()
    with db.unit_of_work(write=False) as session:
        row = session.scalar(select(RateLimitBucket).where(RateLimitBucket.key == bucket_key(limit, subject)))
    if row is None or now - row.window_started_at >= timedelta(seconds=limit.seconds) or row.hits < limit.hits:
        return Verdict(True, 0)
    remaining = timedelta(seconds=limit.seconds) - (now - row.window_started_at)
    return Verdict(False, max(1, int(remaining.total_seconds())))


def reset(db: Database, limit: Limit, subject: str) -> None:
    """Forget the attempts (after a successful sign-in)."""
    with db.unit_of_work() as session:
        session.execute(delete(RateLimitBucket).where(RateLimitBucket.key == bucket_key(limit, subject)))


def prune(db: Database, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Drop buckets whose window ended long ago (the worker calls this now and then)."""
    with db.unit_of_work() as session:
        result = session.execute(
            delete(RateLimitBucket).where(RateLimitBucket.window_started_at < utcnow() - older_than)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


__all__ = ["Limit", "Verdict", "bucket_key", "hit", "peek", "prune", "reset"]
