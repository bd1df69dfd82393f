"""Users, passwords and sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from luxserv.accounts.models import PasswordResetToken, Role, User, UserSession
from luxserv.audit.service import record
from luxserv.core.clock import utcnow
from luxserv.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from luxserv.core.security import (
    hash_password,
    new_token,
    password_needs_rehash,
    token_digest,
    verify_password,
)
from luxserv.core.settings import Settings
from luxserv.properties.models import Owner

MIN_PASSWORD_LENGTH = 10
# Touch last_seen_at at most this often, so reads do not turn into writes on every request.
_SEEN_GRANULARITY = timedelta(minutes=1)


def normalize_login_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidInput(f"not a valid e-mail address: {email!r}", field="email") from error


def create_user(
    session: Session,
    *,
    email: str,
    role: Role,
    password: str,
    full_name: str = "",
    owner: Owner | None = None,
    actor: str,
) -> User:
    """A new login. Owners must be linked to an owner record; passwords have a minimum length."""
    address = normalize_login_email(email)
    if role == Role.owner and owner is None:
        raise InvalidInput("an owner login needs --owner (the owner it belongs to)", field="owner")
    check_password(password)
    if session.scalar(select(User.id).where(User.email == address)):
        raise Conflict(f"a user with e-mail {address} already exists", field="email")
    user = User(
        email=address,
        role=role,
        full_name=full_name,
        owner_id=owner.id if owner else None,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    record(session, actor=actor, action="user.created", entity_type="user", entity_id=user.id, role=role.value)
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    """The active user with these credentials. The same answer, in the same time, for any wrong pair."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise NotAuthenticated("e-mail or password is not right")
    if user.password_hash and password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def start_session(session: Session, user: User, settings: Settings, *, user_agent: str = "") -> str:
    """A new session (always a new id, so a planted one is useless). Returns the token for the cookie."""
    token = new_token()
    now = utcnow()
    session.add(
        UserSession(
            token_digest=token_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_max_hours),
            user_agent=user_agent[:300],
        )
    )
    record(session, actor=f"user:{user.id}", action="session.started", entity_type="user", entity_id=user.id)
    return token


def resolve_session(session: Session, token: str, settings: Settings) -> tuple[User | None, bool]:
    """The user behind a live session token (not idle too long, not past its end), and whether to touch it."""
    row = session.scalar(
        select(UserSession)
        .where(UserSession.token_digest == token_digest(token))
        .options(selectinload(UserSession.user))
    )
    if row is None:
        return None, False
    now = utcnow()
    idle_limit = row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if now >= row.expires_at or now >= idle_limit or not row.user.is_active:
        return None, False
    return row.user, now - row.last_seen_at > _SEEN_GRANULARITY


def touch_session(session: Session, token: str) -> None:
    """Record activity (what the idle timeout counts from)."""
    session.execute(
        update(UserSession).where(UserSession.token_digest == token_digest(token)).values(last_seen_at=utcnow())
    )


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_digest == token_digest(token)))


def end_sessions(session: Session, user_id: int, *, keep_token: str | None = None) -> int:
    """End every session of a user (but the one with `keep_token`, when given); returns how many ended."""
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_token:
        statement = statement.where(UserSession.token_digest != token_digest(keep_token))
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ActiveSession:
    """A live session as its user sees it in their account."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    current: bool


def list_sessions(
    session: Session, user_id: int, settings: Settings, *, current_token: str | None
) -> list[ActiveSession]:
    """The user's live sessions (neither idle too long nor past their end), most recently used first."""
    now = utcnow()
    rows = session.scalars(
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.expires_at > now,
            UserSession.last_seen_at > now - timedelta(minutes=settings.session_idle_minutes),
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    current = token_digest(current_token) if current_token else None
    return [
        ActiveSession(row.id, row.created_at, row.last_seen_at, row.user_agent, row.token_digest == current)
        for row in rows
    ]


def change_password(session: Session, user_id: int, *, current: str, new: str, keep_token: str | None) -> User:
    """Set a new password after checking the current one; ends the user's other sessions and reset links."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("sign in first")
    if not verify_password(user.password_hash, current):
        raise InvalidInput("the current password is not right", field="current_password")
    set_password(session, user, new)
    ended = end_sessions(session, user.id, keep_token=keep_token)
    record(
        session,
        actor=f"user:{user.id}",
        action="user.password_changed",
        entity_type="user",
        entity_id=user.id,
        sessions_ended=ended,
    )
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Store a new password (argon2id) and void the user's unused reset links. The caller ends sessions."""
    check_password(password)
    user.password_hash = hash_password(password)
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def check_password(password: str, *, field: str = "password") -> None:
    """Refuse a password that is too short to be a password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters", field=field)


def user_by_email(session: Session, email: str) -> User:
    """The login with this e-mail (case-insensitive)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no login with e-mail {email.strip()}", field="email")
    return user


def set_active(session: Session, user_id: int, active: bool, actor: str) -> User:
    """Enable or disable a login. Disabling ends all its sessions at once; its API tokens are refused while
    it stays disabled (they work again if it is enabled). `actor` is `user:<id>` for a person: nobody may
    disable their own login."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    if not active and actor == f"user:{user_id}":
        raise PermissionDenied("you cannot disable your own login; ask another admin")
    ended = 0
    if not active:
        ended = end_sessions(session, user.id)
    if user.is_active != active:
        user.is_active = active
        record(
            session,
            actor=actor,
            action="user.enabled" if active else "user.disabled",
            entity_type="user",
            entity_id=user.id,
            sessions_ended=ended,
        )
    return user


def find_owner(session: Session, ref: str) -> Owner | None:
    """An owner by id, e-mail or exact name (case-insensitive)."""
    if ref.isdecimal():
        return session.get(Owner, int(ref))
    lowered = ref.strip().lower()
    return session.scalar(
        select(Owner)
        .where(or_(func.lower(Owner.email) == lowered, func.lower(Owner.name) == lowered))
        .order_by(Owner.id)
        .limit(1)
    )
