"""Signing in and out of the JSON API (a session cookie; `Authorization: Bearer <token>` works too)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from luxserv.accounts import service
from luxserv.accounts.models import Role
from luxserv.web.deps import SESSION_COOKIE, CurrentUser, SessionDep, SettingsDep, session_token, set_session_cookie

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(BaseModel):
    email: str
    password: str


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    owner_id: int | None


class LoginResponse(BaseModel):
    user: UserRead
    token: str
    expires_in_hours: int


@router.post("/login", operation_id="login", response_model=LoginResponse)
def login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> LoginResponse:
    """Sign in; sets the `luxserv_session` cookie and also returns the token for non-browser clients."""
    user = service.authenticate(session, body.email, body.password)
    token = service.start_session(session, user, settings, user_agent=request.headers.get("user-agent", ""))
    set_session_cookie(response, token, settings)
    return LoginResponse(user=UserRead.model_validate(user), token=token, expires_in_hours=settings.session_max_hours)


@router.post("/logout", operation_id="logout", status_code=204)
def logout(request: Request, response: Response, session: SessionDep) -> Response:
    """End this session (the cookie and the server-side session)."""
    token = session_token(request)
    if token:
        service.end_session(session, token)
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", operation_id="me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)
