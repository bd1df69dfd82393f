"""Account pages: your profile, password, API tokens and sessions (`/account`), and password reset by e-mail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from luxserv.accounts import flows, reset, service, tokens
from luxserv.accounts.api import RESET_ANSWER, client_address, refuse_api_token
from luxserv.accounts.models import User
from luxserv.accounts.throttle import Throttled
from luxserv.core.clock import utcnow
from luxserv.core.crypto import DecryptionFailed, Vault
from luxserv.core.database import Database
from luxserv.core.errors import InvalidInput
from luxserv.core.settings import Settings
from luxserv.web import csrf
from luxserv.web.deps import SESSION_COOKIE, DatabaseDep, SessionDep, SettingsDep, session_token
from luxserv.web.forms import FormText, Page, PageDep
from luxserv.web.rendering import optional_user, render

router = APIRouter(include_in_schema=False)

# The new API token travels from the POST to the page that shows it once in this cookie, encrypted, for a moment.
NEW_TOKEN_COOKIE = "luxserv_new_token"  # noqa: S105 (a cookie name)
_NEW_TOKEN_SECONDS = 120
EXPIRY_CHOICES = [(30, "30 days"), (90, "90 days"), (365, "1 year")]

ACCOUNT_NOTICES = {
    "password": "Your password was changed. You were signed out on your other devices.",
    "token_created": "Your API token was made.",
    "token_revoked": "The API token was revoked: it no longer works.",
    "sessions": "You were signed out everywhere else.",
}
LOGIN_NOTICES = {
    "password_reset": "Your password was changed and you were signed out everywhere. Sign in with the new password.",
}


# --- /account ---------------------------------------------------------------------------------------------------


@router.get("/account", response_class=HTMLResponse, response_model=None)
def account(page: PageDep, done: str = "") -> Response:
    user = page.user()
    if not isinstance(user, User):
        return user
    new_token = _take_new_token(page.request, page.settings, user)
    response = _render_account(page, user, message=ACCOUNT_NOTICES.get(done), new_token=new_token)
    if NEW_TOKEN_COOKIE in page.request.cookies:
        response.delete_cookie(NEW_TOKEN_COOKIE, path="/account")
    return response


@router.post("/account/password", response_class=HTMLResponse, response_model=None)
def account_password(
    page: PageDep,
    current_password: FormText = "",
    new_password: FormText = "",
    confirm_password: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Change your password (the current one is needed); your other sessions end."""
    user = page.poster(csrf_token)
    if not isinstance(user, User):
        return user
    try:
        if new_password != confirm_password:
            raise InvalidInput("the new password and its repetition differ", field="confirm_password")
        flows.change_password(
            page.db,
            page.settings,
            user,
            current=current_password,
            new=new_password,
            keep_token=session_token(page.request),
            client=client_address(page.request),
        )
    except Throttled as error:
        return _retry_after(error, _render_account(page, user, status_code=429, password_error=error.message))
    except InvalidInput as error:
        return _render_account(page, user, status_code=422, password_error=error.message)
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/tokens", response_class=HTMLResponse, response_model=None)
def account_create_token(
    page: PageDep, name: FormText = "", expires_in_days: FormText = "", csrf_token: FormText = ""
) -> Response:
    """Make an API token; the page shows it once, after the redirect."""
    user = page.poster(csrf_token)
    if not isinstance(user, User):
        return user
    refuse_api_token(page.request)
    try:
        days = _expiry_days(expires_in_days)
        _, raw = tokens.create_api_token(page.session, user, name, days)
    except InvalidInput as error:
        return _render_account(page, user, status_code=422, token_error=error.message)
    response = RedirectResponse("/account?done=token_created#tokens", status_code=303)
    response.set_cookie(
        NEW_TOKEN_COOKIE,
        Vault(page.settings).encrypt_json({"user_id": user.id, "token": raw}),
        max_age=_NEW_TOKEN_SECONDS,
        httponly=True,
        samesite="strict",
        secure=page.settings.base_url.startswith("https://"),
        path="/account",
    )
    return response


@router.post("/account/tokens/{token_id}/revoke", response_model=None)
def account_revoke_token(token_id: int, page: PageDep, csrf_token: FormText = "") -> Response:
    user = page.poster(csrf_token)
    if not isinstance(user, User):
        return user
    tokens.revoke_api_token(page.session, user.id, token_id)
    return RedirectResponse("/account?done=token_revoked#tokens", status_code=303)


@router.post("/account/sessions/end-others", response_model=None)
def account_end_other_sessions(page: PageDep, csrf_token: FormText = "") -> Response:
    """Sign out everywhere else: every session of yours but this one ends."""
    user = page.poster(csrf_token)
    if not isinstance(user, User):
        return user
    service.end_sessions(page.session, user.id, keep_token=_browser_session(page.request))
    return RedirectResponse("/account?done=sessions#sessions", status_code=303)


def _render_account(page: Page, user: User, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    current = _browser_session(page.request)
    response = page.render(
        "account/index.html",
        user,
        status_code=status_code,
        api_tokens=tokens.list_api_tokens(page.session, user.id),
        sessions=service.list_sessions(page.session, user.id, page.settings, current_token=current),
        expiry_choices=EXPIRY_CHOICES,
        now=utcnow(),
        **context,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _browser_session(request: Request) -> str | None:
    """This browser's session token; None when the request came with an API token."""
    return None if getattr(request.state, "api_token_id", None) is not None else session_token(request)


def _retry_after(error: Throttled, response: HTMLResponse) -> HTMLResponse:
    """`response` (a 429 page) telling the client when to try again."""
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _expiry_days(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdecimal():
        raise InvalidInput("choose when the token expires", field="expires_in_days")
    return int(value)


def _take_new_token(request: Request, settings: Settings, user: User) -> str | None:
    """The raw token made just before, for this user only; None once the cookie is gone or for anyone else."""
    sealed = request.cookies.get(NEW_TOKEN_COOKIE)
    if not sealed:
        return None
    try:
        data = Vault(settings).decrypt_json(sealed)
    except DecryptionFailed:
        return None
    raw = data.get("token")
    return raw if data.get("user_id") == user.id and isinstance(raw, str) else None


# --- password reset ---------------------------------------------------------------------------------------------


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request, db: DatabaseDep, settings: SettingsDep, sent: bool = False) -> HTMLResponse:
    return render(
        request,
        "account/forgot.html",
        settings,
        user=optional_user(request, db, settings),
        sent=RESET_ANSWER if sent else None,
        error=None,
        email="",
    )


@router.post("/password/forgot", response_class=HTMLResponse, response_model=None)
def forgot_submit(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    email: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Always the same answer, whether or not an account has this e-mail."""
    csrf.check(request, csrf_token)
    try:
        flows.forgot_password(db, email=email, client=client_address(request))
    except Throttled as error:
        return _retry_after(error, _forgot_error(request, db, settings, email, error.message, 429))
    except InvalidInput as error:
        return _forgot_error(request, db, settings, email, error.message, 422)
    return RedirectResponse("/password/forgot?sent=true", status_code=303)


def _forgot_error(
    request: Request, db: Database, settings: Settings, email: str, message: str, status_code: int
) -> HTMLResponse:
    return render(
        request,
        "account/forgot.html",
        settings,
        status_code=status_code,
        user=optional_user(request, db, settings),
        sent=None,
        error=message,
        email=email,
    )


@router.get("/password/reset", response_class=HTMLResponse)
def reset_page(request: Request, session: SessionDep, settings: SettingsDep, token: str = "") -> HTMLResponse:
    if reset.live_reset_token(session, token) is None:
        return _reset_invalid(request, settings)
    return _reset_form(request, settings, token, error=None)


@router.post("/password/reset", response_class=HTMLResponse, response_model=None)
def reset_submit(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    token: FormText = "",
    password: FormText = "",
    confirm_password: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Set the new password; every session of the account ends, and the person signs in again."""
    csrf.check(request, csrf_token)
    try:
        if password != confirm_password:
            with db.unit_of_work(write=False) as session:
                if reset.live_reset_token(session, token) is None:
                    raise reset.ResetLinkInvalid()
            raise InvalidInput("the new password and its repetition differ", field="confirm_password")
        flows.complete_reset(db, settings, token=token, password=password)
    except reset.ResetLinkInvalid:
        return _reset_invalid(request, settings)
    except InvalidInput as error:
        return _reset_form(request, settings, token, error=error.message, status_code=422)
    response = RedirectResponse("/login?done=password_reset", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _reset_form(
    request: Request, settings: Settings, token: str, *, error: str | None, status_code: int = 200
) -> HTMLResponse:
    response = render(
        request,
        "account/reset.html",
        settings,
        status_code=status_code,
        token=token,
        error=error,
        min_length=service.MIN_PASSWORD_LENGTH,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _reset_invalid(request: Request, settings: Settings) -> HTMLResponse:
    return render(request, "account/reset_invalid.html", settings, status_code=400)
