"""Account use cases that combine throttling with a change: each runs its own transactions.

Throttle counters are written in their own short transactions (`accounts.throttle`), before and after the change,
so these flows open their own unit of work instead of using the request's: on SQLite a counter written while the
request's transaction holds the write lock would wait for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from luxserv.accounts import reset, service, throttle
from luxserv.accounts.models import User
from luxserv.core.database import Database
from luxserv.core.errors import InvalidInput, NotAuthenticated
from luxserv.core.settings import Settings


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str  # the new session's token, for the cookie (and for API clients)


def sign_in(
    db: Database, settings: Settings, *, email: str, password: str, client: str, user_agent: str = ""
) -> SignedIn:
    """Check the credentials and start a new session; `Throttled` after too many attempts, else the same
    `NotAuthenticated` for an unknown e-mail, a wrong password or a disabled login."""
    throttle.before_login(db, settings, email, client)
    try:
        with db.unit_of_work() as session:
            user = service.authenticate(session, email, password)
            token = service.start_session(session, user, settings, user_agent=user_agent)
    except NotAuthenticated:
        throttle.login_failed(db, settings, client)
        raise
    throttle.login_succeeded(db, settings, email)
    return SignedIn(user, token)


def forgot_password(db: Database, *, email: str, client: str) -> None:
    """E-mail a reset link when a login has this address. Nothing tells the caller whether one has."""
    address = service.normalize_login_email(email)
    throttle.before_reset_request(db, address, client)
    with db.unit_of_work() as session:
        reset.request_reset(session, address)


def complete_reset(db: Database, settings: Settings, *, token: str, password: str) -> User:
    """Set the password from a reset link (ending every session), and clear the e-mail's failed sign-ins."""
    with db.unit_of_work() as session:
        user = reset.reset_password(session, token, password)
    throttle.login_succeeded(db, settings, user.email)
    return user


def change_password(
    db: Database, settings: Settings, user: User, *, current: str, new: str, keep_token: str | None, client: str
) -> None:
    """A signed-in user's new password; a wrong current password counts as a failed sign-in."""
    service.check_password(new, field="new_password")
    throttle.before_login(db, settings, user.email, client)
    try:
        with db.unit_of_work() as session:
            service.change_password(session, user.id, current=current, new=new, keep_token=keep_token)
    except InvalidInput as error:
        if error.field == "current_password":
            throttle.login_failed(db, settings, client)
        raise
    throttle.login_succeeded(db, settings, user.email)
