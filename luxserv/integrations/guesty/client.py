"""The Guesty Open API client: OAuth2 client-credentials token (kept and reused), reservations, guests, listings.

Guesty issues at most five access tokens per API key in 24 hours, each valid for 24 hours
(https://open-api-docs.guesty.com/docs/authentication), so the token is cached in memory and in the connection's
`TokenStore` (shared by every process) and renewed only five minutes before it expires, or once after a 401.
Rate limits (15/s, 120/min, 5000/h; 429 with Retry-After) are handled by `ApiClient`'s retries.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from luxserv.core.clock import utcnow
from luxserv.integrations.base import TokenStore
from luxserv.integrations.http import ApiClient, CallBudget, HttpOptions, ProviderError, paginate_offset

DEFAULT_BASE_URL = "https://open-api.guesty.com"
DEFAULT_TOKEN_URL = "https://open-api.guesty.com/oauth2/token"  # noqa: S105 - a URL, not a secret
TOKEN_RENEW_MARGIN = timedelta(minutes=5)
DEFAULT_TOKEN_SECONDS = 86_400
# A token this client fetched less than this long ago and that is refused anyway: a new one would not help
# (wrong scope, disabled app), and each try spends one of the five tokens a day.
_FRESH_TOKEN_SECONDS = 60.0
PAGE_SIZE = 100  # the maximum GET /reservations accepts
LISTING_CACHE_SECONDS = 900.0

RESERVATION_FIELDS = " ".join(
    [
        "_id",
        "accountId",
        "confirmationCode",
        "status",
        "source",
        "integration.platform",
        "listingId",
        "guestId",
        "checkIn",
        "checkOut",
        "checkInDateLocalized",
        "checkOutDateLocalized",
        "nightsCount",
        "guestsCount",
        "notes",
        "createdAt",
        "lastUpdatedAt",
        "guest.fullName",
        "guest.firstName",
        "guest.lastName",
        "guest.email",
        "guest.phone",
        "listing.nickname",
        "listing.title",
        "listing.address.full",
    ]
)
GUEST_FIELDS = "_id fullName firstName lastName email emails phone phones"
LISTING_FIELDS = "_id nickname title address"


class GuestyClient:
    """One Guesty connection's API access. Thread-safe; `close()` releases the HTTP connections."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        http: HttpOptions,
        tokens: TokenStore,
        base_url: str = DEFAULT_BASE_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        budget: CallBudget | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = token_url
        self._tokens = tokens
        self._api = ApiClient(base_url.rstrip("/"), options=http, budget=budget, name="guesty")
        self._lock = threading.Lock()
        self._token: tuple[str, datetime] | None = None
        self._rejected: str | None = None
        self._fetched_at: float | None = None
        self._listings: dict[str, tuple[float, dict[str, Any]]] = {}

    def close(self) -> None:
        self._api.close()

    # --- token -----------------------------------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid bearer token: the one in memory, else the stored one, else a new one (saved for everyone)."""
        with self._lock:
            now = utcnow()
            if self._token is not None and _usable(self._token[1], now):
                return self._token[0]
            stored = self._tokens.load()
            if stored is not None and stored[0] != self._rejected and _usable(stored[1], now):
                self._token = (stored[0], _aware(stored[1]))
                return stored[0]
            token, expires_at = self._fetch_token()
            self._tokens.save(token, expires_at)
            self._token = (token, expires_at)
            self._fetched_at = time.monotonic()
            return token

    def _fetch_token(self) -> tuple[str, datetime]:
        response = self._api.request(
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "scope": "open-api",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
        )
        data = _json(response.text, "POST oauth2/token")
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ProviderError("guesty: the token response has no access_token")
        seconds = data.get("expires_in", DEFAULT_TOKEN_SECONDS)
        try:
            seconds = int(seconds)
        except (TypeError, ValueError):
            seconds = DEFAULT_TOKEN_SECONDS
        return token, utcnow() + timedelta(seconds=max(seconds, 0))

    def _invalidate(self, token: str) -> bool:
        """Forget a token the API refused. False when renewing it cannot help (it is brand new)."""
        with self._lock:
            current = self._token[0] if self._token is not None else None
            if current is not None and current != token:
                return True  # another thread renewed it meanwhile
            if self._fetched_at is not None and time.monotonic() - self._fetched_at < _FRESH_TOKEN_SECONDS:
                return False
            self._rejected = token
            self._token = None
            return True

    # --- calls -----------------------------------------------------------------------------------------------

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET with the bearer token; a 401 renews the token once and tries once more."""
        token = self.access_token()
        try:
            return self._get(path, params, token)
        except ProviderError as error:
            if error.status != 401 or not self._invalidate(token):
                raise
        return self._get(path, params, self.access_token())

    def _get(self, path: str, params: dict[str, Any] | None, token: str) -> Any:
        response = self._api.request("GET", path, params=params, headers={"Authorization": f"Bearer {token}"})
        return _json(response.text, f"GET {path}")

    def iter_reservations(
        self, since: datetime | None = None, listing_ids: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Reservations changed at or after `since` (all when None), optionally of these listings only.

        Sorted by `_id`, which an update does not change: paging with `skip` cannot skip one that changes
        while the pages are read (sorting by `lastUpdatedAt` would move it to the end and shift the rest).
        """
        if listing_ids is not None and not listing_ids:
            return
        filters: list[dict[str, Any]] = []
        if since is not None:
            filters.append({"field": "lastUpdatedAt", "operator": "$gte", "from": _iso(since)})
        if listing_ids:
            filters.append({"field": "listingId", "operator": "$in", "value": list(listing_ids)})

        def fetch(skip: int, limit: int) -> tuple[list[Any], int | None]:
            params: dict[str, Any] = {"limit": limit, "skip": skip, "sort": "_id", "fields": RESERVATION_FIELDS}
            if filters:
                params["filters"] = json.dumps(filters, separators=(",", ":"))
            return _page(self.get_json("/v1/reservations", params), "GET /v1/reservations")

        for item in paginate_offset(fetch, page_size=PAGE_SIZE):
            if isinstance(item, dict):
                yield item

    def get_reservation(self, reservation_id: str) -> dict[str, Any]:
        data = self.get_json(f"/v1/reservations/{_segment(reservation_id)}", {"fields": RESERVATION_FIELDS})
        return _object(data, "GET /v1/reservations/{id}")

    def get_guest(self, guest_id: str) -> dict[str, Any]:
        data = self.get_json(f"/v1/guests-crud/{_segment(guest_id)}", {"fields": GUEST_FIELDS})
        return _object(data, "GET /v1/guests-crud/{id}")

    def get_listing(self, listing_id: str) -> dict[str, Any]:
        """A listing's name and address; kept for a while, since every event of that listing needs them."""
        cached = self._listings.get(listing_id)
        if cached is not None and time.monotonic() - cached[0] < LISTING_CACHE_SECONDS:
            return cached[1]
        data = _object(
            self.get_json(f"/v1/listings/{_segment(listing_id)}", {"fields": LISTING_FIELDS}), "GET /v1/listings/{id}"
        )
        self._listings[listing_id] = (time.monotonic(), data)
        return data

    def iter_listings(self) -> Iterator[dict[str, Any]]:
        def fetch(skip: int, limit: int) -> tuple[list[Any], int | None]:
            params = {"limit": limit, "skip": skip, "fields": LISTING_FIELDS}
            return _page(self.get_json("/v1/listings", params), "GET /v1/listings")

        for item in paginate_offset(fetch, page_size=PAGE_SIZE):
            if isinstance(item, dict):
                yield item


def _usable(expires_at: datetime, now: datetime) -> bool:
    return _aware(expires_at) - TOKEN_RENEW_MARGIN > now


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    """Guesty's own format: `2026-06-01T10:00:00.000Z`."""
    utc = _aware(moment).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _segment(value: str) -> str:
    """An id as one URL path segment (ids come from webhook bodies: never let one change the path)."""
    return quote(value, safe="")


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise ProviderError(f"guesty: {what} answered something that is not JSON") from error


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProviderError(f"guesty: {what} answered {type(data).__name__}, not an object")
    return data


def _page(data: Any, what: str) -> tuple[list[Any], int | None]:
    """`{"results": [...], "count": n}` (lenient: `data`/`total`, or a bare list)."""
    if isinstance(data, list):
        items: Any = data
        total: Any = None
    elif isinstance(data, dict):
        items = data.get("results", data.get("data"))
        total = data.get("count", data.get("total"))
    else:
        raise ProviderError(f"guesty: {what} answered {type(data).__name__}, not a page of results")
    if not isinstance(items, list):
        raise ProviderError(f"guesty: {what} answered no list of results")
    return items, total if isinstance(total, int) else None
