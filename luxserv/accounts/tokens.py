"""API tokens: long-lived credentials for machine clients, acting as the user who made them.

A token reads `lxs_<43 random characters>` (256 bits); it is shown once, when made, and only its SHA-256 is kept,
with its first characters (`prefix`) so a person can tell tokens apart. A token stops working when it is revoked,
when it expires, or while its user is disabled.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from luxserv.accounts.models import ApiToken, User
from luxserv.audit.service import record
from luxserv.core.clock import utcnow
from luxserv.core.errors import InvalidInput, NotFound
from luxserv.core.security import new_token, token_digest

TOKEN_PREFIX = "lxs_"  # noqa: S105 (the marker of an API token, not a secret)
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
MAX_NAME_LENGTH = 100
MAX_EXPIRY_DAYS = 3650
# Record use at most this often, so a busy client does not turn every read into a write.
_USE_GRANULARITY = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 100


def is_api_token(raw: str) -> bool:
    return raw.startswith(TOKEN_PREFIX)


def create_api_token(
    session: Session, user: User, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the raw token (shown once, never stored)."""
    label = " ".join(name.split())
    if not label:
        raise InvalidInput("give the token a name, e.g. the machine or script that will use it", field="name")
    if len(label) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a token name has at most {MAX_NAME_LENGTH} characters", field="name")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(f"expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}", field="expires_in_days")
    raw = TOKEN_PREFIX + new_token(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        name=label,
        token_digest=token_digest(raw),
        prefix=raw[:PREFIX_LENGTH],
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days is not None else None,
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=f"user:{user.id}",
        action="api_token.created",
        entity_type="api_token",
        entity_id=token.id,
        name=label,
        prefix=token.prefix,
        expires_at=token.expires_at.isoformat() if token.expires_at else None,
    )
    return token, raw


def list_api_tokens(session: Session, user_id: int) -> list[ApiToken]:
    """The user's tokens that were not revoked (expired ones included, so they can be seen and removed)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_api_token(session: Session, user_id: int, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens. Another user's token, or a revoked one, is not found."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    )
    if token is None:
        raise NotFound(f"no API token {token_id}")
    token.revoked_at = utcnow()
    record(
        session,
        actor=f"user:{user_id}",
        action="api_token.revoked",
        entity_type="api_token",
        entity_id=token.id,
        prefix=token.prefix,
    )
    return token


def resolve_api_token(session: Session, raw: str, *, now: datetime | None = None) -> tuple[User | None, int, bool]:
    """The active user behind a live token, the token's id, and whether its last use should be recorded.

    Any failure (unknown, revoked, expired, user disabled) gives `(None, 0, False)`.
    """
    if not is_api_token(raw) or len(raw) > _MAX_TOKEN_LENGTH:
        return None, 0, False
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_digest == token_digest(raw)).options(selectinload(ApiToken.user))
    )
    now = now or utcnow()
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None, 0, False
    if row.expires_at is not None and now >= row.expires_at:
        return None, 0, False
    stale = row.last_used_at is None or now - row.last_used_at >= _USE_GRANULARITY
    return row.user, row.id, stale


def touch_api_token(session: Session, token_id: int) -> None:
    """Record that the token was used now (unless another request just did)."""
    now = utcnow()
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where((ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at <= now - _USE_GRANULARITY))
        .values(last_used_at=now)
    )
