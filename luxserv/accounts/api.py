"""The JSON API of accounts: signing in and out (a session cookie, or `Authorization: Bearer <token>`), password
reset by e-mail, and API tokens for machine clients (`Authorization: Bearer lxs_…`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from luxserv.accounts import flows, service, tokens
from luxserv.accounts.models import Role
from luxserv.accounts.service import MIN_PASSWORD_LENGTH
from luxserv.accounts.throttle import Throttled
from luxserv.core.errors import InvalidInput, PermissionDenied
from luxserv.web.deps import (
    SESSION_COOKIE,
    CurrentUser,
    DatabaseDep,
    SessionDep,
    SettingsDep,
    session_token,
    set_session_cookie,
)
from luxserv.web.errors import error_body

router = APIRouter(prefix="/api/auth", tags=["auth"])

THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many attempts: wait for the `Retry-After` seconds."}
}
RESET_ANSWER = "If an account exists for that e-mail, we sent it a link to reset its password."


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


class ForgotRequest(BaseModel):
    email: str = Field(max_length=320)


class ForgotResponse(BaseModel):
    detail: str


class ResetRequest(BaseModel):
    token: str = Field(max_length=200)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1000)


class ApiTokenCreate(BaseModel):
    name: str = Field(max_length=tokens.MAX_NAME_LENGTH)
    expires_in_days: int | None = Field(default=None, ge=1, le=tokens.MAX_EXPIRY_DAYS)


class ApiTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiTokenCreated(ApiTokenRead):
    token: str  # shown this once


def client_address(request: Request) -> str:
    """The client's address (uvicorn resolves `X-Forwarded-For` from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def throttled_response(error: Throttled) -> JSONResponse:
    return JSONResponse(error_body(error.message), status_code=429, headers={"Retry-After": str(error.retry_after)})


def refuse_api_token(request: Request) -> None:
    """Only a person signed in with their password may make API tokens; a token cannot make more tokens."""
    if getattr(request.state, "api_token_id", None) is not None:
        raise PermissionDenied(
            "API tokens can only be made from a signed-in session (sign in with your e-mail and password), "
            "not with another API token"
        )


@router.post("/login", operation_id="login", response_model=LoginResponse, responses=THROTTLED)
def login(
    body: LoginRequest, request: Request, response: Response, db: DatabaseDep, settings: SettingsDep
) -> LoginResponse | JSONResponse:
    """Sign in; sets the `luxserv_session` cookie and also returns the token for non-browser clients.

    Failed attempts are limited per e-mail and per client address (429 with `Retry-After`)."""
    try:
        signed_in = flows.sign_in(
            db,
            settings,
            email=body.email,
            password=body.password,
            client=client_address(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except Throttled as error:
        return throttled_response(error)
    set_session_cookie(response, signed_in.token, settings)
    return LoginResponse(
        user=UserRead.model_validate(signed_in.user), token=signed_in.token, expires_in_hours=settings.session_max_hours
    )


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


@router.post(
    "/password/forgot",
    operation_id="forgot_password",
    status_code=202,
    response_model=ForgotResponse,
    responses=THROTTLED,
)
def forgot_password(body: ForgotRequest, request: Request, db: DatabaseDep) -> ForgotResponse | JSONResponse:
    """E-mail a single-use reset link (valid one hour). The answer is the same whether or not the account exists."""
    try:
        flows.forgot_password(db, email=body.email, client=client_address(request))
    except Throttled as error:
        return throttled_response(error)
    except InvalidInput:
        pass  # not an e-mail address: no account has it, and the answer says nothing either way
    return ForgotResponse(detail=RESET_ANSWER)


@router.post("/password/reset", operation_id="reset_password", status_code=204)
def reset_password(body: ResetRequest, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Set a new password with the token from the e-mailed link; ends every session of the account."""
    flows.complete_reset(db, settings, token=body.token, password=body.password)
    return Response(status_code=204)


@router.get("/tokens", operation_id="list_api_tokens", response_model=list[ApiTokenRead])
def list_api_tokens(user: CurrentUser, session: SessionDep) -> list[ApiTokenRead]:
    """Your API tokens that are not revoked (the secret itself is never shown again)."""
    return [ApiTokenRead.model_validate(token) for token in tokens.list_api_tokens(session, user.id)]


@router.post("/tokens", operation_id="create_api_token", status_code=201, response_model=ApiTokenCreated)
def create_api_token(body: ApiTokenCreate, request: Request, user: CurrentUser, session: SessionDep) -> ApiTokenCreated:
    """Make an API token acting as you; `token` is shown only in this answer. Needs a signed-in session."""
    refuse_api_token(request)
    row, raw = tokens.create_api_token(session, user, body.name, body.expires_in_days)
    return ApiTokenCreated(token=raw, **ApiTokenRead.model_validate(row).model_dump())


@router.delete("/tokens/{token_id}", operation_id="revoke_api_token", status_code=204)
def revoke_api_token(token_id: int, user: CurrentUser, session: SessionDep) -> Response:
    """Revoke one of your tokens; it stops working at once."""
    tokens.revoke_api_token(session, user.id, token_id)
    return Response(status_code=204)
