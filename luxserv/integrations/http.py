"""Outbound HTTP to providers: httpx with retries (tenacity) on 429/Retry-After, 5xx and network errors.

Every provider client goes through `ApiClient`, so timeouts, backoff and call budgets behave the same
everywhere. Tests pass a `transport` (httpx.MockTransport, respx) or point `base_url` at a local fake server.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from luxserv import __version__
from luxserv.core.errors import LuxServError

log = logging.getLogger(__name__)
USER_AGENT = f"LuxServ/{__version__} (+https://luxserv.local)"
MAX_RETRY_AFTER_SECONDS = 120.0


class ProviderError(LuxServError):
    """A provider answered with an error we cannot fix by retrying (4xx other than 429), or kept failing."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BudgetExceeded(ProviderError):
    """The provider's daily call budget is spent; the sync resumes tomorrow."""


class CallNeeded(Exception):
    """Raised instead of calling a provider's API inside `offline()`."""


_OFFLINE: ContextVar[bool] = ContextVar("luxserv_http_offline", default=False)


@contextmanager
def offline() -> Iterator[None]:
    """Inside this block no provider API is called: a client that would call one raises `CallNeeded` instead."""
    token = _OFFLINE.set(True)
    try:
        yield
    finally:
        _OFFLINE.reset(token)


class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class CallBudget(Protocol):
    def spend(self) -> None:
        """Count one call; raise `BudgetExceeded` when the allowance is used up."""


@dataclass
class HttpOptions:
    """How clients reach the network: shared by every provider client of one process."""

    timeout: float = 15.0
    max_attempts: int = 5
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = field(default=time.sleep)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a 429/503 asks for: `Retry-After` in seconds or as an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, _Retryable):
        asked = retry_after_seconds(error.response)
        if asked is not None:
            return min(asked, MAX_RETRY_AFTER_SECONDS)
    # Exponential with full jitter: 0.5, 1, 2, 4… seconds at most.
    return random.uniform(0, 0.5 * 2 ** (state.attempt_number - 1))  # noqa: S311


class ApiClient:
    """A JSON API client bound to one base URL. Retries what is worth retrying, raises `ProviderError` otherwise."""

    def __init__(
        self,
        base_url: str,
        *,
        options: HttpOptions,
        headers: Mapping[str, str] | None = None,
        budget: CallBudget | None = None,
        name: str = "provider",
    ) -> None:
        self.name = name
        self._options = options
        self._budget = budget
        self._client = httpx.Client(
            base_url=base_url,
            timeout=options.timeout,
            transport=options.transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        )

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; a 2xx response, or `ProviderError`."""
        if _OFFLINE.get():
            raise CallNeeded(f"{self.name}: {method} {path}")
        retrying = Retrying(
            stop=stop_after_attempt(self._options.max_attempts),
            wait=_wait,
            retry=retry_if_exception_type((_Retryable, httpx.TransportError)),
            sleep=self._options.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send(method, path, **kwargs)
        except _Retryable as error:
            raise ProviderError(
                f"{self.name}: {method} {path} kept failing (HTTP {error.response.status_code})",
                status=error.response.status_code,
            ) from None
        except httpx.TransportError as error:
            raise ProviderError(f"{self.name}: {method} {path} could not be reached: {type(error).__name__}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._budget is not None:
            self._budget.spend()
        response = self._client.request(method, path, **kwargs)
        if response.status_code == 429 or response.status_code >= 500:
            log.info("%s: %s %s answered %s; retrying", self.name, method, path, response.status_code)
            raise _Retryable(response)
        if response.status_code >= 400:
            raise ProviderError(
                f"{self.name}: {method} {path} answered HTTP {response.status_code}: {response.text[:200]}",
                status=response.status_code,
            )
        return response


def paginate_offset(fetch: Callable[[int, int], tuple[list[Any], int | None]], *, page_size: int) -> Iterator[Any]:
    """Walk an offset/limit API: `fetch(offset, limit)` returns (items, total or None) until a short page."""
    offset = 0
    while True:
        items, total = fetch(offset, page_size)
        yield from items
        offset += len(items)
        if not items or len(items) < page_size or (total is not None and offset >= total):
            return
