"""Fetching a feed with the project's `ApiClient` (same timeouts, retries and backoff), honouring ETags."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import httpx

from luxserv.integrations.http import ApiClient, HttpOptions, ProviderError

MAX_FEED_BYTES = 5_000_000
_ACCEPT = "text/calendar, text/plain;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class Fetched:
    """A feed's body and ETag, or `not_modified` when the server answered 304 to our If-None-Match."""

    body: bytes = b""
    etag: str = ""
    not_modified: bool = False


def fetch_feed(url: str, *, etag: str, http: HttpOptions, label: str) -> Fetched:
    """GET the feed. The query string (where Airbnb and Booking.com put the feed's secret) is sent as parameters,
    so errors and logs name the host and path only."""
    parts = urlsplit(url)
    headers = {"Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    try:
        client = ApiClient(f"{parts.scheme}://{parts.netloc}", options=http, headers=headers, name=label)
        try:
            response = client.request(
                "GET", parts.path or "/", params=parse_qsl(parts.query, keep_blank_values=True), follow_redirects=True
            )
        finally:
            client.close()
    except (httpx.HTTPError, httpx.InvalidURL) as error:  # too many redirects, an invalid redirect target…
        raise ProviderError(f"{label}: the feed could not be fetched: {type(error).__name__}") from None
    if response.status_code == 304:
        return Fetched(etag=etag, not_modified=True)
    if response.status_code != 200:
        raise ProviderError(f"{label}: the feed answered HTTP {response.status_code}", status=response.status_code)
    if len(response.content) > MAX_FEED_BYTES:
        raise ProviderError(f"{label}: the feed is larger than {MAX_FEED_BYTES // 1_000_000} MB")
    return Fetched(body=response.content, etag=response.headers.get("etag", "")[:200])
