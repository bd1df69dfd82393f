"""A person's in-app feed (the bell) and their notification preferences. Never commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from luxserv.core.clock import utcnow
from luxserv.core.errors import InvalidInput, NotFound
from luxserv.notifications.dispatch import TOPICS, preference
from luxserv.notifications.models import EmailMode, NotificationPreference
from luxserv.outbox.models import Notification

MAX_PAGE = 200


@dataclass(frozen=True)
class FeedPage:
    unread: int  # every unread notification of the user, whatever the page shows
    total: int  # how many match the query (all, or unread only)
    notifications: list[Notification]


@dataclass(frozen=True)
class TopicChoice:
    topic: str
    label: str
    email: EmailMode
    in_app: bool


@dataclass(frozen=True)
class ChoiceChange:
    """A change to one topic; None keeps what is stored."""

    topic: str
    email: EmailMode | None = None
    in_app: bool | None = None


def feed(session: Session, user_id: int, *, unread_only: bool = False, limit: int = 50, offset: int = 0) -> FeedPage:
    """The user's notifications, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    query = _mine(user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    newest_first = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    rows = session.scalars(newest_first.limit(limit).offset(offset))
    return FeedPage(unread=unread_count(session, user_id), total=total, notifications=list(rows))


def unread_count(session: Session, user_id: int) -> int:
    """How many of the user's notifications are unread."""
    query = select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    return int(session.scalar(query) or 0)


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (kept as it was if read already); another user's is not found."""
    row = session.scalar(_mine(user_id).where(Notification.id == notification_id))
    if row is None:
        raise NotFound(f"notification {notification_id} not found")
    if row.read_at is None:
        row.read_at = utcnow()
        session.flush()
    return row


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def safe_link(link: str) -> str | None:
    """The link when it is a path on this site (never another host), else None."""
    if link.startswith("/") and not link.startswith("//") and "\\" not in link and not any(c < " " for c in link):
        return link
    return None


def choices(session: Session, user_id: int) -> list[TopicChoice]:
    """The user's choice for every topic they can choose, in the order of `dispatch.TOPICS`."""
    found = []
    for topic, label in TOPICS.items():
        choice = preference(session, user_id, topic)
        found.append(TopicChoice(topic, label, choice.email, choice.in_app))
    return found


def save_choices(session: Session, user_id: int, changes: Iterable[ChoiceChange]) -> list[TopicChoice]:
    """Store the given topics' choices (others stay as they are); an unknown or repeated topic is refused whole."""
    changes = list(changes)
    seen: set[str] = set()
    for index, change in enumerate(changes):
        if change.topic not in TOPICS:
            raise InvalidInput(
                f"unknown notification topic {change.topic!r} (known: {', '.join(TOPICS)})",
                field=f"preferences.{index}.topic",
            )
        if change.topic in seen:
            raise InvalidInput(f"topic {change.topic!r} is listed twice", field=f"preferences.{index}.topic")
        seen.add(change.topic)
    stored = {
        row.topic: row
        for row in session.scalars(
            select(NotificationPreference).where(
                NotificationPreference.user_id == user_id, NotificationPreference.topic.in_(seen)
            )
        )
    }
    for change in changes:
        row = stored.get(change.topic)
        if row is None:
            current = preference(session, user_id, change.topic)
            row = NotificationPreference(
                user_id=user_id, topic=change.topic, email=current.email, in_app=current.in_app
            )
            _apply(row, change)
            _insert(session, row, change)
        else:
            _apply(row, change)
    session.flush()
    return choices(session, user_id)


def _apply(row: NotificationPreference, change: ChoiceChange) -> None:
    if change.email is not None:
        row.email = change.email
    if change.in_app is not None:
        row.in_app = change.in_app


def _insert(session: Session, row: NotificationPreference, change: ChoiceChange) -> None:
    """Add the row; if the same user saved the same topic at the same moment, change theirs instead."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = session.scalar(
            select(NotificationPreference).where(
                NotificationPreference.user_id == row.user_id, NotificationPreference.topic == row.topic
            )
        )
        if existing is None:
            raise
        _apply(existing, change)


def _mine(user_id: int) -> Select[Notification]:
    return select(Notification).where(Notification.user_id == user_id)
