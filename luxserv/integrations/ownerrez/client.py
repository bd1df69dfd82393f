"""OwnerRez API v2: authentication (personal access token or OAuth bearer) and the few reads LuxServ needs."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from luxserv.core.errors import LuxServError
from luxserv.integrations.base import AccountConfig, ProviderDeps
from luxserv.integrations.http import USER_AGENT, ApiClient, ProviderError

DEFAULT_BASE_URL = "https://api.ownerrez.com"
PAGE_SIZE = 100
_IDS_PER_REQUEST = 50  # property_ids per bookings query, so the URL stays short
_MAX_PAGES = 10_000  # a runaway next_page_url loop ends here


def auth_headers(account: AccountConfig) -> dict[str, str]:
    """`access_token` (OAuth app) → Bearer; otherwise `api_username` + `api_token` (pt_…) → HTTP Basic.

    OwnerRez answers 401 `user_agent_required` to bearer requests without a User-Agent, so one is always sent.
    """
    token = account.credentials.get("access_token", "")
    if token:
        return {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
    user, secret = account.credentials.get("api_username", ""), account.credentials.get("api_token", "")
    if not (user and secret):
        raise LuxServError(
            f"ownerrez connection {account.name!r} needs either 'access_token' or 'api_username' and 'api_token'"
        )
    encoded = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
    return {"Authorization": f"Basic {encoded}", "User-Agent": USER_AGENT}


class OwnerRezClient:
    def __init__(self, account: AccountConfig, deps: ProviderDeps) -> None:
        self.base_url = str(account.options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self._api = ApiClient(
            self.base_url,
            options=deps.http,
            headers={**auth_headers(account), "Content-Type": "application/json"},
            budget=deps.budget,
            name="ownerrez",
        )

    def close(self) -> None:
        self._api.close()

    def booking(self, booking_id: str) -> dict[str, Any] | None:
        """GET /v2/bookings/{id}; None when OwnerRez no longer has it (deleted)."""
        return self._get_object(f"/v2/bookings/{booking_id}")

    def guest(self, guest_id: str) -> dict[str, Any] | None:
        """GET /v2/guests/{id}; None when unknown."""
        return self._get_object(f"/v2/guests/{guest_id}")

    def property_ids(self) -> list[str]:
        """Every property of the account (GET /v2/properties)."""
        return [str(p["id"]) for p in self._paged("/v2/properties", {}) if isinstance(p, dict) and "id" in p]

    def bookings(self, since: datetime | None, property_ids: Sequence[str] | None) -> Iterator[dict[str, Any]]:
        """GET /v2/bookings?since_utc=…&property_ids=…&include_guest=true, every page.

        OwnerRez wants `since_utc` or `property_ids`; with neither, every property of the account is listed.
        """
        params: dict[str, Any] = {"include_guest": "true"}
        if since is not None:
            params["since_utc"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ids = list(property_ids) if property_ids is not None else None
        if ids is None and since is None:
            ids = self.property_ids()
        if ids is None:
            yield from self._paged("/v2/bookings", params)
            return
        for start in range(0, len(ids), _IDS_PER_REQUEST):
            chunk = ids[start : start + _IDS_PER_REQUEST]
            yield from self._paged("/v2/bookings", {**params, "property_ids": chunk})

    def _get_object(self, path: str) -> dict[str, Any] | None:
        try:
            data = self._api.get_json(path)
        except ProviderError as error:
            if error.status in (404, 410):
                return None
            raise
        if not isinstance(data, dict):
            raise ProviderError(f"ownerrez: GET {path} did not answer a JSON object")
        return data

    def _paged(self, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """Follow `next_page_url` while there is one; an API that never sends it is walked by `offset`."""
        url: str = path
        query: dict[str, Any] | None = {**params, "limit": PAGE_SIZE, "offset": 0}
        visited: set[str] = set()
        for _ in range(_MAX_PAGES):
            data = self._api.get_json(url, params=query)
            if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
                raise ProviderError(f"ownerrez: GET {path} did not answer a page of items")
            items: list[Any] = data.get("items") or []
            yield from items
            next_url = data.get("next_page_url")
            if isinstance(next_url, str) and next_url:
                url, query = self._relative(next_url), None  # the link carries its own query
                if url in visited:
                    return
                visited.add(url)
                continue
            page_size = _as_int(data.get("limit"), PAGE_SIZE) or PAGE_SIZE
            if visited or "next_page_url" in data or not items or len(items) < page_size:
                return  # links are used and there is none left, or a short page: the end
            assert query is not None
            offset = _as_int(data.get("offset"), query["offset"]) + len(items)
            query = {**query, "offset": offset}
        raise ProviderError(f"ownerrez: GET {path} returned more than {_MAX_PAGES} pages")

    def _relative(self, next_url: str) -> str:
        """A next-page link as a path under our base URL: credentials are never sent to another host."""
        link, base = httpx.URL(next_url), httpx.URL(self.base_url)
        if not link.is_absolute_url:
            return next_url
        if link.host.lower() != base.host.lower():
            raise ProviderError(f"ownerrez: next_page_url leaves {base.host}: {link.host}")
        path = link.raw_path.decode("ascii")
        prefix = base.path.rstrip("/")
        return path[len(prefix) :] if prefix and path.startswith(prefix + "/") else path


def _as_int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
