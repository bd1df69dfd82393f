"""Password reset by e-mail: a single-use link, valid for one hour, that lets a person choose a new password.

The link carries a 256-bit random token; only its SHA-256 is stored (`password_reset_tokens`). Asking for a link
for an address that has no active login does nothing, and the caller answers the same either way. Using a link
sets the password, voids every other unused link of that user, and ends all of the user's sessions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from luxserv.accounts.models import PasswordResetToken, User
from luxserv.accounts.service import check_password, end_sessions, set_password
from luxserv.audit.service import record
from luxserv.core.clock import utcnow
from luxserv.core.errors import NotFound
from luxserv.core.links import absolute
from luxserv.core.security import new_token, token_digest
from luxserv.notifications.dispatch import Notice, to_address
from luxserv.notifications.render import render_html, render_text

TOPIC = "account.password_reset"
LIFETIME = timedelta(hours=1)
_MAX_TOKEN_LENGTH = 100


class ResetLinkInvalid(NotFound):
    """The reset link is unknown, already used, or expired (one answer for all three)."""

    def __init__(self) -> None:
        super().__init__(
            "this password reset link cannot be used: it was already used, it expired, or it was not copied whole. "
            "Ask for a new link.",
            field="token",
        )


def request_reset(session: Session, email: str) -> bool:
    """E-mail a reset link if an active login has this address; True when a link was sent (never tell the caller)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        return False
    raw = new_token(32)
    now = utcnow()
    row = PasswordResetToken(user_id=user.id, token_digest=token_digest(raw), created_at=now, expires_at=now + LIFETIME)
    session.add(row)
    session.flush()
    values = {
        "name": user.full_name or user.email,
        "email": user.email,
        "link": absolute(session, f"/password/reset?token={raw}"),
        "minutes": int(LIFETIME.total_seconds() // 60),
    }
    notice = Notice(
        key=f"{TOPIC}:{row.id}",
        topic=TOPIC,
        subject="Reset your LuxServ password",
        text=render_text("password_reset.txt", values),
        html=render_html("password_reset.html", values),
        payload={"user_id": user.id},
    )
    to_address(session, user.email, notice)
    record(session, actor="anonymous", action="password_reset.requested", entity_type="user", entity_id=user.id)
    return True


def live_reset_token(session: Session, raw: str, *, now: datetime | None = None) -> PasswordResetToken | None:
    """The unused, unexpired link for an active user, or None."""
    raw = raw.strip()
    if not raw or len(raw) > _MAX_TOKEN_LENGTH:
        return None
    row = session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_digest == token_digest(raw)))
    if row is None or row.used_at is not None or (now or utcnow()) >= row.expires_at:
        return None
    user = session.get(User, row.user_id)
    return row if user is not None and user.is_active else None


def reset_password(session: Session, raw: str, password: str) -> User:
    """Use a link: set the new password, mark the link used, and end all the user's sessions."""
    row = live_reset_token(session, raw)
    if row is None:
        raise ResetLinkInvalid()
    check_password(password)
    # Claim the link with one conditional UPDATE, so two submissions racing each other cannot both use it.
    claimed = session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ResetLinkInvalid()
    user = session.get(User, row.user_id)
    assert user is not None  # checked by live_reset_token, and the row references it
    set_password(session, user, password)
    ended = end_sessions(session, user.id)
    record(
        session,
        actor=f"user:{user.id}",
        action="user.password_reset",
        entity_type="user",
        entity_id=user.id,
        sessions_ended=ended,
    )
    return user
