"""Request dependencies: the unit of work, the signed-in user, and role checks.

The ones that only read the app's state are `async def`: FastAPI runs a plain `def` dependency in its thread
pool, a hop that costs more than the lookup itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from luxserv.accounts import tokens
from luxserv.accounts.models import Role, User
from luxserv.accounts.service import resolve_session, touch_session
from luxserv.core.database import Database
from luxserv.core.errors import NotAuthenticated, PermissionDenied
from luxserv.core.settings import Settings
from luxserv.integrations.registry import Providers

SESSION_COOKIE = "luxserv_session"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_providers(request: Request) -> Providers:
    providers: Providers = request.app.state.providers
    return providers


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the handler returns, before the response is sent."""
    db: Database = request.app.state.db
    with db.unit_of_work(write=request.method not in _SAFE_METHODS) as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ProvidersDep = Annotated[Providers, Depends(get_providers)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind https, lasting as long as the session may."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
        path="/",
    )


def session_token(request: Request) -> str | None:
    """An explicit `Authorization: Bearer` token wins over the browser's cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


def get_current_user(request: Request, db: DatabaseDep, settings: SettingsDep) -> User:
    """The signed-in user. Resolved in its own short transaction, apart from the request's unit of work.

    `Authorization: Bearer lxs_…` is an API token (`request.state.api_token_id` then names it); any other bearer
    token, or the cookie, is a session (`request.state.api_token_id` is None).
    """
    request.state.api_token_id = None
    auth = request.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if tokens.is_api_token(bearer):
        with db.unit_of_work(write=False) as session:
            api_user, token_id, used = tokens.resolve_api_token(session, bearer)
        if api_user is None:
            raise NotAuthenticated("the API token is unknown, revoked or expired, or its user is disabled")
        if used:
            with db.unit_of_work() as session:
                tokens.touch_api_token(session, token_id)
        request.state.api_token_id = token_id
        return api_user
    token = session_token(request)
    user, touch = None, False
    if token:
        with db.unit_of_work(write=False) as session:
            user, touch = resolve_session(session, token, settings)
    if user is None or token is None:
        raise NotAuthenticated("sign in first (POST /api/auth/login)")
    if touch:
        with db.unit_of_work() as session:
            touch_session(session, token)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_admin(user: CurrentUser) -> User:
    """Admins and staff: the people who run operations."""
    if not user.is_staff_or_admin:
        raise PermissionDenied("this needs an admin or staff account")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def require_owner_or_staff(user: CurrentUser) -> User:
    """Admins, staff, and owner logins linked to an owner (who then see only that owner's homes)."""
    if user.is_staff_or_admin or (user.role == Role.owner and user.owner_id is not None):
        return user
    raise PermissionDenied("this needs an owner, admin or staff account")


OwnerOrStaffUser = Annotated[User, Depends(require_owner_or_staff)]


def owner_scope(user: User) -> int | None:
    """The owner whose homes this user may see; None for admins and staff (every home)."""
    return None if user.is_staff_or_admin else user.owner_id
