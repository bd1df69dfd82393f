"""Hostaway public API v1: a client-credentials token kept until near expiry, and reservation reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from luxserv.core.clock import utcnow
from luxserv.integrations.base import AccountConfig, ProviderDeps
from luxserv.integrations.http import ApiClient, ProviderError

DEFAULT_BASE_URL = "https://api.hostaway.com"
PAGE_SIZE = 100
# A token this close to its expiry is replaced rather than used.
EXPIRY_MARGIN = timedelta(minutes=5)
# Hostaway tokens live for months; when `expires_in` is missing, assume a day and let a 401/403 tell otherwise.
DEFAULT_TOKEN_LIFETIME = timedelta(days=1)
FRESH_TOKEN_PAUSE_SECONDS = 1.0  # Hostaway asks to wait a second before using a new token
_MAX_PAGES = 10_000


class HostawayClient:
    """Every call carries `Authorization: Bearer <token>`; one token serves every call and process.

    The token comes from memory, else from the connection's `TokenStore`, else from `POST /v1/accessTokens`
    (saved to the store). A 401/403 drops it once, fetches a new one and retries the call once.
    """

    def __init__(self, account: AccountConfig, deps: ProviderDeps) -> None:
        self._account = account
        self._tokens = deps.tokens
        self._sleep = deps.http.sleep
        self._lock = threading.Lock()
        self._token: tuple[str, datetime] | None = None
        self._api = ApiClient(
            str(account.options.get("base_url") or DEFAULT_BASE_URL).rstrip("/"),
            options=deps.http,
            headers={"Cache-Control": "no-cache"},
            budget=deps.budget,
            name="hostaway",
        )

    def close(self) -> None:
        self._api.close()

    def reservation(self, reservation_id: str) -> dict[str, Any] | None:
        """GET /v1/reservations/{id}; None when Hostaway does not know it."""
        try:
            result = self._get(f"/v1/reservations/{reservation_id}")
        except ProviderError as error:
            if error.status == 404:
                return None
            raise
        return result if isinstance(result, dict) else None

    def reservation_pages(self, listing_id: str | None = None) -> Iterator[list[Any]]:
        """GET /v1/reservations by latest activity (newest first), one page of `result` at a time."""
        offset = 0
        for _ in range(_MAX_PAGES):
            params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": offset, "sortOrder": "latestActivity"}
            if listing_id is not None:
                params["listingId"] = listing_id
            data = self._envelope(self._authorized("GET", "/v1/reservations", params=params), "/v1/reservations")
            items = data.get("result")
            if not isinstance(items, list):
                raise ProviderError("hostaway: GET /v1/reservations did not answer a list")
            yield items
            offset += len(items)
            count, limit = data.get("count"), data.get("limit")
            if not items:
                return
            if isinstance(count, int) and not isinstance(count, bool):
                if offset >= count:  # `count` is every match, whatever page size the API chose
                    return
            elif len(items) < (limit if isinstance(limit, int) and limit > 0 else PAGE_SIZE):
                return
        raise ProviderError(f"hostaway: GET /v1/reservations returned more than {_MAX_PAGES} pages")

    def _get(self, path: str) -> Any:
        return self._envelope(self._authorized("GET", path), path).get("result")

    def _authorized(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = self._access_token()
        try:
            return self._api.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except ProviderError as error:
            if error.status not in (401, 403):
                raise
        self._invalidate(token)
        token = self._access_token()
        return self._api.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    @staticmethod
    def _envelope(response: httpx.Response, path: str) -> dict[str, Any]:
        """The standard answer `{status, result, …}`; `status: fail` is an error."""
        try:
            data = response.json()
        except ValueError as error:
            raise ProviderError(f"hostaway: {path} did not answer JSON") from error
        if not isinstance(data, dict):
            raise ProviderError(f"hostaway: {path} did not answer a JSON object")
        if data.get("status") == "fail":
            detail = data.get("message") or data.get("result") or "no reason given"
            raise ProviderError(f"hostaway: {path} failed: {str(detail)[:200]}", status=response.status_code)
        return data

    def _access_token(self) -> str:
        with self._lock:
            now = utcnow()
            for candidate in (self._token, self._tokens.load()):
                if candidate is not None and candidate[0] and _aware(candidate[1]) - now > EXPIRY_MARGIN:
                    self._token = candidate
                    return candidate[0]
            token, expires_at = self._new_token()
            self._tokens.save(token, expires_at)
            self._token = (token, expires_at)
            return token

    def _new_token(self) -> tuple[str, datetime]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._account.credential("account_id"),
            "client_secret": self._account.credential("api_key"),
            "scope": "general",
        }
        try:
            response = self._api.request("POST", "/v1/accessTokens", data=form)
        except ProviderError as error:
            if error.status in (400, 401, 403):
                raise ProviderError(
                    f"hostaway refused the account_id/api_key of connection {self._account.name!r}",
                    status=error.status,
                ) from None
            raise
        data = response.json() if response.content else {}
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ProviderError("hostaway: POST /v1/accessTokens answered no access_token")
        expires_in = data.get("expires_in")
        lifetime = (
            timedelta(seconds=expires_in)
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0
            else DEFAULT_TOKEN_LIFETIME
        )
        self._sleep(FRESH_TOKEN_PAUSE_SECONDS)
        return token, utcnow() + lifetime

    def _invalidate(self, token: str) -> None:
        """Forget a refused token, here and in the store (unless another process has replaced it already)."""
        with self._lock:
            if self._token is not None and self._token[0] == token:
                self._token = None
            stored = self._tokens.load()
            if stored is not None and stored[0] == token:
                self._tokens.save(token, utcnow() - timedelta(seconds=1))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
