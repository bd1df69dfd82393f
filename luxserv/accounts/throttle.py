"""Throttling sign-in attempts and password-reset e-mails, per e-mail address and per client address.

Every count is kept whether or not an account has that e-mail, so neither the answers nor their timing tell an
unknown address from a known one. Counters live in `rate_limit_buckets` (shared by every web process); each is
counted in its own short transaction, so call these before the request's own transaction writes anything.

Sign-in: each attempt counts against its e-mail address before the password is checked (so parallel guesses cannot
slip past the limit), and a successful sign-in clears that count; a failed attempt counts against the client
address, which is refused once it has had too many failures. Limits come from the `LUXSERV_LOGIN_*` settings.
Password-reset requests count against both the e-mail and the client address (`RESETS_PER_EMAIL`,
`RESETS_PER_CLIENT`).
"""

from __future__ import annotations

import math

from luxserv.core import ratelimit
from luxserv.core.database import Database
from luxserv.core.errors import LuxServError
from luxserv.core.settings import Settings

RESETS_PER_EMAIL = ratelimit.Limit("reset:email", hits=3, seconds=3600)
RESETS_PER_CLIENT = ratelimit.Limit("reset:ip", hits=10, seconds=3600)


class Throttled(LuxServError):
    """Too many attempts; `retry_after` is how many seconds until the next one may be made."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


def login_limits(settings: Settings) -> tuple[ratelimit.Limit, ratelimit.Limit]:
    """The limits per e-mail address and per client address, from the settings."""
    seconds = settings.login_throttle_minutes * 60
    return (
        ratelimit.Limit("login:email", hits=settings.login_failures_per_email, seconds=seconds),
        ratelimit.Limit("login:ip", hits=settings.login_failures_per_client, seconds=seconds),
    )


def before_login(db: Database, settings: Settings, email: str, client: str) -> None:
    """Count a sign-in attempt for this e-mail; raise `Throttled` when the e-mail or the client is over its limit."""
    per_email, per_client = login_limits(settings)
    verdict = ratelimit.peek(db, per_client, client)
    if verdict.allowed:
        verdict = ratelimit.hit(db, per_email, _subject(email))
    if not verdict.allowed:
        raise Throttled(_message("sign-in attempts", verdict.retry_after), verdict.retry_after)


def login_failed(db: Database, settings: Settings, client: str) -> None:
    """Count a failed sign-in against the client address (the e-mail's count was taken by `before_login`)."""
    ratelimit.hit(db, login_limits(settings)[1], client)


def login_succeeded(db: Database, settings: Settings, email: str) -> None:
    """Forget the e-mail's failed attempts: its owner has proved they know the password."""
    ratelimit.reset(db, login_limits(settings)[0], _subject(email))


def before_reset_request(db: Database, email: str, client: str) -> None:
    """Count a password-reset request; raise `Throttled` when the e-mail or the client asked too often."""
    verdict = ratelimit.hit(db, RESETS_PER_CLIENT, client)
    if verdict.allowed:
        verdict = ratelimit.hit(db, RESETS_PER_EMAIL, _subject(email))
    if not verdict.allowed:
        raise Throttled(_message("password reset requests", verdict.retry_after), verdict.retry_after)


def _subject(email: str) -> str:
    return email.strip().lower()


def _message(what: str, retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return f"too many {what}; try again in {minutes} minute{'s' if minutes != 1 else ''}"
