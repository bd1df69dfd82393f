"""Hostaway API v1 through `httpx.MockTransport`: one token for many calls, reuse from the store, a refused
token replaced once, pagination with the `since` cut-off, retries on 429/5xx/timeouts, enrichment."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from luxserv.core.clock import utcnow
from luxserv.integrations.base import AccountConfig, EventKind, EventSkipped, MemoryTokenStore, ProviderDeps
from luxserv.integrations.hostaway import HostawayProvider
from luxserv.integrations.http import HttpOptions, ProviderError
from tests.integrations.hostaway.fake_api import ACCOUNT_ID, API_KEY, CREDENTIALS, FakeHostaway, payload

Handler = Callable[[httpx.Request], httpx.Response]


def make(
    handler: Handler,
    recorded: list[float] | None = None,
    tokens: MemoryTokenStore | None = None,
    credentials: dict[str, str] | None = None,
) -> HostawayProvider:
    sleeps = recorded if recorded is not None else []
    deps = ProviderDeps(
        http=HttpOptions(transport=httpx.MockTransport(handler), sleep=sleeps.append),
        tokens=tokens if tokens is not None else MemoryTokenStore(),
    )
    return HostawayProvider(
        AccountConfig(id=1, provider="hostaway", name="Main", credentials=credentials or CREDENTIALS), deps
    )


def stored_token(tokens: MemoryTokenStore) -> str | None:
    saved = tokens.load()
    return saved[0] if saved else None


def reservations(count: int, *, newest: datetime, step: timedelta = timedelta(hours=1)) -> list[dict[str, Any]]:
    """`count` reservations, each `step` older than the previous one, on two listings."""
    base = payload("reservation_created")["data"]
    made = []
    for n in range(count):
        stamp = (newest - n * step).strftime("%Y-%m-%d %H:%M:%S")
        made.append(
            {
                **copy.deepcopy(base),
                "id": 1000 + n,
                "listingMapId": 218666 + n % 2,
                "updatedOn": stamp,
                "latestActivityOn": stamp,
            }
        )
    return made


def test_one_token_serves_many_calls() -> None:
    fake = FakeHostaway()
    fake.add(payload("reservation_created")["data"])
    recorded: list[float] = []
    tokens = MemoryTokenStore()
    provider = make(fake.handle, recorded, tokens)
    for _ in range(3):
        assert provider.client.reservation("49264388") is not None
    assert list(provider.pull(None))

    assert fake.token_requests() == [
        {
            "grant_type": ["client_credentials"],
            "client_id": [ACCOUNT_ID],
            "client_secret": [API_KEY],
            "scope": ["general"],
        }
    ]
    token_call = fake.requests[0]
    assert token_call.headers["content-type"] == "application/x-www-form-urlencoded"
    for call in fake.api_requests():
        assert call.headers["authorization"] == "Bearer jwt-1"
        assert call.headers["cache-control"] == "no-cache"
    assert recorded == [1.0]  # the pause Hostaway asks for before a fresh token is used
    saved = tokens.load()
    assert saved is not None
    assert saved[0] == "jwt-1"
    assert saved[1] > utcnow() + timedelta(days=700)  # expires_in 62208000 s = 720 days


def test_a_new_instance_reuses_the_stored_token() -> None:
    fake = FakeHostaway()
    fake.add(payload("reservation_created")["data"])
    tokens = MemoryTokenStore()
    make(fake.handle, tokens=tokens).client.reservation("49264388")
    make(fake.handle, tokens=tokens).client.reservation("49264388")
    assert len(fake.token_requests()) == 1
    assert [r.headers["authorization"] for r in fake.api_requests()] == ["Bearer jwt-1", "Bearer jwt-1"]


def test_a_stored_token_near_expiry_is_replaced() -> None:
    fake = FakeHostaway()
    fake.add(payload("reservation_created")["data"])
    tokens = MemoryTokenStore()
    tokens.save("old-token", utcnow() + timedelta(minutes=1))
    make(fake.handle, tokens=tokens).client.reservation("49264388")
    assert len(fake.token_requests()) == 1
    assert fake.api_requests()[0].headers["authorization"] == "Bearer jwt-1"
    assert stored_token(tokens) == "jwt-1"


def test_a_refused_token_is_replaced_once_and_the_call_retried() -> None:
    fake = FakeHostaway()
    fake.add(payload("reservation_created")["data"])
    tokens = MemoryTokenStore()
    provider = make(fake.handle, tokens=tokens)
    provider.client.reservation("49264388")
    fake.revoked.add("jwt-1")

    assert provider.client.reservation("49264388") is not None
    assert [r.headers["authorization"] for r in fake.api_requests()] == ["Bearer jwt-1"] * 2 + ["Bearer jwt-2"]
    assert len(fake.token_requests()) == 2
    assert stored_token(tokens) == "jwt-2"


def test_a_token_refused_again_is_an_error_after_one_retry() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/v1/accessTokens":
            return httpx.Response(200, json={"access_token": f"t{len(calls)}", "expires_in": 3600})
        return httpx.Response(403, json={"status": "fail", "message": "Forbidden"})

    with pytest.raises(ProviderError) as caught:
        make(handler).client.reservation("1")
    assert caught.value.status == 403
    assert calls == ["/v1/accessTokens", "/v1/reservations/1", "/v1/accessTokens", "/v1/reservations/1"]


def test_wrong_account_id_or_api_key_is_a_clear_error() -> None:
    fake = FakeHostaway()
    provider = make(fake.handle, credentials={**CREDENTIALS, "api_key": "wrong"})
    with pytest.raises(ProviderError, match="account_id/api_key"):
        list(provider.pull(None))
    assert fake.api_requests() == []


def test_pull_walks_every_page_newest_first() -> None:
    fake = FakeHostaway()
    for item in reservations(250, newest=datetime(2026, 5, 20, tzinfo=UTC)):
        fake.add(item)
    pulled = list(make(fake.handle).pull(None))
    assert len(pulled) == 250
    assert pulled[0].event_id == "sync:1000:2026-05-20 00:00:00"
    pages = [r.url.params for r in fake.api_requests()]
    assert [(p["offset"], p["limit"], p["sortOrder"]) for p in pages] == [
        ("0", "100", "latestActivity"),
        ("100", "100", "latestActivity"),
        ("200", "100", "latestActivity"),
    ]
    event = make(fake.handle).map(pulled[0].body)
    assert event.kind == EventKind.updated
    assert event.external_id == "1000"


def test_pages_smaller_than_asked_are_followed_by_count() -> None:
    fake = FakeHostaway(page_size=40)
    for item in reservations(90, newest=datetime(2026, 5, 20, tzinfo=UTC)):
        fake.add(item)
    assert len(list(make(fake.handle).pull(None))) == 90
    assert [r.url.params["offset"] for r in fake.api_requests()] == ["0", "40", "80"]


def test_pull_stops_after_the_page_that_reaches_past_since() -> None:
    fake = FakeHostaway()
    newest = datetime(2026, 5, 20, tzinfo=UTC)
    for item in reservations(350, newest=newest):
        fake.add(item)
    since = newest - timedelta(hours=149, minutes=30)  # items 0..149 are newer
    pulled = list(make(fake.handle).pull(since))
    assert [p.body["data"]["id"] for p in pulled] == list(range(1000, 1150))
    assert len(fake.api_requests()) == 2  # the third page is never asked for


def test_listings_are_filtered_here_and_a_single_one_is_asked_of_the_api() -> None:
    fake = FakeHostaway()
    for item in reservations(6, newest=datetime(2026, 5, 20, tzinfo=UTC)):
        fake.add(item)
    both = list(make(fake.handle).pull(None, ["218667", "555"]))
    assert {p.body["data"]["listingMapId"] for p in both} == {218667}
    assert len(both) == 3
    assert "listingId" not in fake.api_requests()[0].url.params
    one = list(make(fake.handle).pull(None, ["218666"]))
    assert len(one) == 3
    assert fake.api_requests()[-1].url.params["listingId"] == "218666"


def test_429_waits_as_long_as_retry_after_asks_then_succeeds() -> None:
    fake = FakeHostaway()
    fake.add(payload("reservation_created")["data"])
    limited = [True]
    recorded: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1/reservations") and limited:
            limited.pop()
            return httpx.Response(429, headers={"Retry-After": "9"}, json={"status": "fail", "message": "rate"})
        return fake.handle(request)

    assert make(handler, recorded).client.reservation("49264388") is not None
    assert recorded == [1.0, 9.0]  # the fresh-token pause, then Retry-After


def test_server_errors_are_retried_until_success() -> None:
    fake = FakeHostaway()
    fake.add(payload("reservation_created")["data"])
    failures = [500, 503]
    recorded: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/accessTokens" and failures:
            return httpx.Response(failures.pop(0), text="upstream error")
        return fake.handle(request)

    assert make(handler, recorded).client.reservation("49264388") is not None
    assert len(recorded) == 3  # the token pause and two backoffs
    assert len(fake.api_requests()) == 1


def test_timeouts_end_in_provider_error_after_max_attempts() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(ProviderError, match="could not be reached"):
        list(make(handler).pull(None))
    assert calls == ["/v1/accessTokens"] * HttpOptions().max_attempts


def test_a_failed_envelope_is_an_error() -> None:
    fake = FakeHostaway()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/reservations":
            return httpx.Response(200, json={"status": "fail", "result": "Invalid sortOrder"})
        return fake.handle(request)

    with pytest.raises(ProviderError, match="Invalid sortOrder"):
        list(make(handler).pull(None))


def test_enrich_completes_a_partial_reservation() -> None:
    fake = FakeHostaway()
    fake.add(payload("reservation_created")["data"])
    provider = make(fake.handle)
    event = provider.map(provider.enrich(payload("lean_created")))
    assert event.kind == EventKind.created
    assert event.guest.email == "logan.pierce@example.com"
    assert [r.url.path for r in fake.api_requests()] == ["/v1/reservations/49264388"]


def test_enrich_leaves_complete_and_skipped_payloads_alone() -> None:
    fake = FakeHostaway()
    provider = make(fake.handle)
    for name in ("reservation_created", "owner_stay", "inquiry", "test_ping", "message_received"):
        assert provider.enrich(payload(name)) == payload(name)
    assert fake.requests == []


def test_enrich_of_a_reservation_the_api_does_not_know_is_skipped() -> None:
    fake = FakeHostaway()
    with pytest.raises(EventSkipped, match="49264388"):
        make(fake.handle).enrich(payload("lean_created"))
