"""Rate limits on opening a stay (by access code, or by confirmation code and e-mail), per client address.

Two fixed windows, kept in the database so every web process shares them:
- `FAILED_LOOKUPS`: lookups that found nothing. Once a client has used them up, every lookup from it is refused
  (429) until the window ends, even with a right code. This is what bounds guessing.
- `LOOKUPS`: every lookup, found or not (portal page views and filed requests included). Its allowance is ten
  times larger, so a guest using their own link normally is never stopped, yet the volume stays bounded.

A successful lookup therefore counts once (in `LOOKUPS`), a failed one twice. The gate looks the code up in its
own short read transaction before the request's unit of work starts, so counting a failure (its own write
transaction) never waits on the request's write lock on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from luxserv.core import ratelimit
from luxserv.core.database import Database
from luxserv.core.errors import NotFound
from luxserv.core.ratelimit import Limit

LOOKUPS = Limit("portal.lookup", hits=200, seconds=600)
FAILED_LOOKUPS = Limit("portal.lookup_failed", hits=20, seconds=600)


@dataclass(frozen=True)
class Gate:
    """The outcome of a counted lookup: found, not found, or refused (`retry_after` seconds to wait)."""

    found: bool
    retry_after: int = 0

    @property
    def refused(self) -> bool:
        return self.retry_after > 0


def check(db: Database, client: str, lookup: Callable[[Session], object]) -> Gate:
    """Count one lookup by `client`; run `lookup` (raising `NotFound` when nothing matches) unless refused."""
    blocked = ratelimit.peek(db, FAILED_LOOKUPS, client)
    if not blocked.allowed:
        return Gate(found=False, retry_after=blocked.retry_after)
    counted = ratelimit.hit(db, LOOKUPS, client)
    if not counted.allowed:
        return Gate(found=False, retry_after=counted.retry_after)
    try:
        with db.unit_of_work(write=False) as session:
            lookup(session)
    except NotFound:
        ratelimit.hit(db, FAILED_LOOKUPS, client)
        return Gate(found=False)
    return Gate(found=True)


def client_address(host: str | None) -> str:
    """The subject of the limits: the client's address (uvicorn resolves trusted proxies' forwarded headers)."""
    return host or "unknown"
