"""The Airbnb API client: Bearer token (+ optional API key), offset pagination, one budget unit per HTTP call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from luxserv.core.errors import LuxServError
from luxserv.integrations.base import AccountConfig, ProviderDeps
from luxserv.integrations.http import ApiClient, ProviderError, paginate_offset

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
DEFAULT_RESERVATIONS_PATH = "/reservations"
API_KEY_HEADER = "X-Airbnb-API-Key"
_ITEM_KEYS = ("reservations", "data", "results", "items")


class AirbnbClient:
    """Lists reservations page by page. Every attempt (retries included) spends one unit of the daily budget."""

    def __init__(self, account: AccountConfig, deps: ProviderDeps) -> None:
        base_url = str(account.options.get("base_url") or "").strip()
        if not base_url.startswith(("https://", "http://")):
            raise LuxServError(f"airbnb connection {account.name!r} needs a 'base_url' option (the partner API root)")
        headers = {"Authorization": f"Bearer {account.credential('access_token')}"}
        api_key = account.credentials.get("api_key")
        if api_key:
            headers[API_KEY_HEADER] = api_key
        self.page_size = max(1, min(MAX_PAGE_SIZE, int(account.options.get("page_size") or DEFAULT_PAGE_SIZE)))
        self.path = str(account.options.get("reservations_path") or DEFAULT_RESERVATIONS_PATH)
        self._api = ApiClient(base_url, options=deps.http, headers=headers, budget=deps.budget, name="airbnb")

    def close(self) -> None:
        self._api.close()

    def reservations(self, *, since: datetime | None, listing_id: str | None) -> Iterator[dict[str, Any]]:
        """Every reservation (updated since `since`, of `listing_id`), following `_offset`/`_limit` pages."""
        filters: dict[str, str] = {}
        if since is not None:
            filters["updated_since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if listing_id is not None:
            filters["listing_id"] = listing_id

        def fetch(offset: int, limit: int) -> tuple[list[Any], int | None]:
            page = self._api.get_json(self.path, params={**filters, "_offset": offset, "_limit": limit})
            return page_items(page)

        for item in paginate_offset(fetch, page_size=self.page_size):
            if isinstance(item, dict):
                yield item


def page_items(page: Any) -> tuple[list[Any], int | None]:
    """Items and total of one page: a bare list, or `{reservations|data|results: [...], metadata{total_count}}`."""
    if isinstance(page, list):
        return page, None
    if not isinstance(page, dict):
        raise ProviderError("airbnb: a reservations page is neither a list nor an object")
    items = next((page[key] for key in _ITEM_KEYS if isinstance(page.get(key), list)), None)
    if items is None:
        raise ProviderError("airbnb: a reservations page has no 'reservations' list")
    metadata = page.get("metadata")
    meta: dict[str, Any] = metadata if isinstance(metadata, dict) else page
    total = next((meta[key] for key in ("total_count", "total", "count") if isinstance(meta.get(key), int)), None)
    return items, total
