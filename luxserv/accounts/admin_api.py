"""Admins switching logins off and on. Disabling ends the user's sessions at once and stops their API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from luxserv.accounts import service
from luxserv.accounts.models import Role, User
from luxserv.core.errors import PermissionDenied
from luxserv.web.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/api/admin/users", tags=["admin"])


def require_admin_role(user: CurrentUser) -> User:
    """Admins only (not staff): enabling and disabling logins is theirs."""
    if not user.is_admin:
        raise PermissionDenied("this needs an admin account")
    return user


AdminOnly = Annotated[User, Depends(require_admin_role)]


class UserStatusRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool


@router.post("/{user_id}/disable", operation_id="disable_user", response_model=UserStatusRead)
def disable_user(user_id: int, admin: AdminOnly, session: SessionDep) -> UserStatusRead:
    """Disable a login: its sessions end now, its API tokens are refused, and it cannot sign in. Not yourself."""
    user = service.set_active(session, user_id, False, actor=f"user:{admin.id}")
    return UserStatusRead.model_validate(user)


@router.post("/{user_id}/enable", operation_id="enable_user", response_model=UserStatusRead)
def enable_user(user_id: int, admin: AdminOnly, session: SessionDep) -> UserStatusRead:
    """Enable a login again (its API tokens that are not revoked or expired work again)."""
    user = service.set_active(session, user_id, True, actor=f"user:{admin.id}")
    return UserStatusRead.model_validate(user)
