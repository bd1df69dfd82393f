"""OwnerRez API v2 through `httpx.MockTransport`: auth headers, pagination, retries, enrichment and pull."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from luxserv.core.errors import LuxServError
from luxserv.integrations.base import AccountConfig, EventKind, EventSkipped, MemoryTokenStore, ProviderDeps
from luxserv.integrations.http import HttpOptions, ProviderError
from luxserv.integrations.ownerrez import OwnerRezProvider
from tests.integrations.ownerrez.fake_api import API_TOKEN, API_USER, CREDENTIALS, FakeOwnerRez, basic, payload

Handler = Callable[[httpx.Request], httpx.Response]


def make(
    handler: Handler, recorded: list[float] | None = None, credentials: dict[str, str] | None = None
) -> OwnerRezProvider:
    sleeps = recorded if recorded is not None else []
    deps = ProviderDeps(
        http=HttpOptions(transport=httpx.MockTransport(handler), sleep=sleeps.append), tokens=MemoryTokenStore()
    )
    account = AccountConfig(id=1, provider="ownerrez", name="Main", credentials=credentials or CREDENTIALS)
    return OwnerRezProvider(account, deps)


def test_personal_access_token_is_sent_as_basic_auth_with_a_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": 7, "first_name": "Ann"})

    assert make(handler).client.guest("7") == {"id": 7, "first_name": "Ann"}
    assert seen[0].url == "https://api.ownerrez.com/v2/guests/7"
    assert seen[0].headers["authorization"] == basic(API_USER, API_TOKEN)
    assert seen[0].headers["user-agent"].startswith("LuxServ/")
    assert seen[0].headers["accept"] == "application/json"


def test_an_oauth_access_token_is_sent_as_bearer_with_a_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": []})

    provider = make(handler, credentials={"access_token": "at_oauth_123", "api_username": "x", "api_token": "y"})
    assert list(provider.pull(datetime(2026, 3, 1, tzinfo=UTC))) == []
    assert seen[0].headers["authorization"] == "Bearer at_oauth_123"
    assert seen[0].headers["user-agent"].startswith("LuxServ/")


def test_missing_api_credentials_are_named() -> None:
    provider = make(lambda r: httpx.Response(200), credentials={"webhook_username": "u", "webhook_password": "p"})
    with pytest.raises(LuxServError, match="api_token"):
        provider.client.booking("1")


def test_base_url_option_is_honoured() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"id": 1})

    deps = ProviderDeps(http=HttpOptions(transport=httpx.MockTransport(handler), sleep=lambda s: None))
    account = AccountConfig(
        id=1, provider="ownerrez", name="M", credentials=CREDENTIALS, options={"base_url": "http://fake.test/or/"}
    )
    OwnerRezProvider(account, deps).client.booking("1")
    assert seen == ["http://fake.test/or/v2/bookings/1"]


def test_pull_follows_next_page_url_over_several_pages() -> None:
    fake = FakeOwnerRez(page_size=2)
    for n in range(5):
        entity = payload("booking_created")["entity"]
        entity.update(id=100 + n, updated_utc=f"2026-03-0{n + 1}T10:00:00Z")
        fake.add_booking(entity)
    provider = make(fake.handle)
    since = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    pulled = list(provider.pull(since, ["474841"]))

    assert [p.event_id for p in pulled] == [f"sync:{100 + n}:2026-03-0{n + 1}T10:00:00Z" for n in range(1, 5)]
    assert len(fake.requests) == 2  # 4 bookings, 2 per page
    first = fake.requests[0].url.params
    assert first["since_utc"] == "2026-03-02T09:00:00Z"
    assert first["include_guest"] == "true"
    assert first.get_list("property_ids") == ["474841"]
    assert fake.requests[1].url.params["offset"] == "2"
    # Each pulled body is an envelope the provider's own map() accepts.
    event = provider.map(pulled[0].body)
    assert event.kind == EventKind.updated
    assert event.external_id == "101"
    assert event.guest.email == "sarah@example.com"


def test_without_time_or_listings_every_property_is_listed_first() -> None:
    fake = FakeOwnerRez(page_size=1)
    fake.properties = [{"id": 474841}, {"id": 474842}, {"id": 474843}]
    fake.add_booking(payload("booking_created")["entity"])
    pulled = list(make(fake.handle).pull(None))
    assert [p.body["entity_id"] for p in pulled] == [16879744]
    # A full first page without a link may have a next one: it is asked for by offset (and is empty).
    assert fake.paths() == ["/v2/properties"] * 3 + ["/v2/bookings"] * 2
    bookings_query = fake.requests[3].url.params
    assert bookings_query.get_list("property_ids") == ["474841", "474842", "474843"]
    assert "since_utc" not in bookings_query
    assert fake.requests[4].url.params["offset"] == "1"


def test_without_next_page_url_full_pages_are_walked_by_offset() -> None:
    offsets: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        offsets.append(str(offset))
        count = 100 if offset < 200 else 30
        items = [{"id": offset + i, "updated_utc": "2026-03-01T00:00:00Z"} for i in range(count)]
        return httpx.Response(200, json={"items": items, "limit": 100, "offset": offset})

    pulled = list(make(handler).pull(datetime(2026, 1, 1, tzinfo=UTC)))
    assert len(pulled) == 230
    assert offsets == ["0", "100", "200"]


def test_a_next_page_url_to_another_host_is_refused() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(200, json={"items": [{"id": 1}], "next_page_url": "https://evil.example/v2/bookings"})

    with pytest.raises(ProviderError, match=r"evil\.example"):
        list(make(handler).pull(datetime(2026, 1, 1, tzinfo=UTC)))
    assert hosts == ["api.ownerrez.com"]


def test_429_waits_as_long_as_retry_after_asks_then_succeeds() -> None:
    calls: list[int] = []
    recorded: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(
                429, headers={"Retry-After": "7"}, json={"code": 429, "error": "Rate limit exceeded."}
            )
        return httpx.Response(200, json={"id": 5, "first_name": "Ann"})

    assert make(handler, recorded).client.guest("5") == {"id": 5, "first_name": "Ann"}
    assert recorded == [7.0]
    assert len(calls) == 2


def test_server_errors_are_retried_until_success() -> None:
    statuses = iter([500, 502, 503, 200])
    recorded: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, json={"id": 5} if status == 200 else {"code": "error"})

    assert make(handler, recorded).client.booking("5") == {"id": 5}
    assert len(recorded) == 3


def test_timeouts_end_in_provider_error_after_max_attempts() -> None:
    calls: list[int] = []
    recorded: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ProviderError, match="could not be reached"):
        make(handler, recorded).client.booking("5")
    assert len(calls) == HttpOptions().max_attempts
    assert len(recorded) == HttpOptions().max_attempts - 1


def test_an_auth_failure_is_not_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json={"code": "invalid_token", "status_code": 401})

    with pytest.raises(ProviderError) as caught:
        make(handler).client.booking("5")
    assert caught.value.status == 401
    assert len(calls) == 1


def test_enrich_fetches_booking_and_guest_for_a_lean_delivery() -> None:
    fake = FakeOwnerRez()
    entity = payload("booking_created")["entity"]
    fake.add_booking({**entity, "guest": None})
    fake.guests[620763955] = entity["guest"]
    provider = make(fake.handle)

    enriched: Any = provider.enrich(payload("lean_update"))
    assert fake.paths() == ["/v2/bookings/16879744", "/v2/guests/620763955"]
    event = provider.map(enriched)
    assert event.guest.name == "Sarah Johnson"
    assert event.guest.email == "sarah@example.com"
    assert event.check_in.isoformat() == "2026-06-15"


def test_enrich_completes_a_guest_summary_but_leaves_full_payloads_alone() -> None:
    fake = FakeOwnerRez()
    full = payload("booking_created")
    fake.guests[620763955] = full["entity"]["guest"]
    provider = make(fake.handle)

    assert provider.enrich(full) == full
    assert provider.enrich(payload("no_guest_email")) == payload("no_guest_email")  # no e-mail on file is an answer
    assert fake.requests == []

    summary = payload("booking_created")
    summary["entity"]["guest"] = {"id": 620763955, "first_name": "Sarah", "last_name": "Johnson"}
    assert provider.map(provider.enrich(summary)).guest.email == "sarah@example.com"
    assert fake.paths() == ["/v2/guests/620763955"]


def test_a_deleted_booking_no_longer_readable_is_skipped() -> None:
    fake = FakeOwnerRez()
    with pytest.raises(EventSkipped, match="no longer exists"):
        make(fake.handle).enrich(payload("booking_deleted"))
    assert fake.paths() == ["/v2/bookings/16879790"]


def test_a_deleted_booking_still_readable_is_cancelled() -> None:
    fake = FakeOwnerRez()
    entity = payload("booking_created")["entity"]
    fake.add_booking({**entity, "id": 16879790})
    provider = make(fake.handle)
    event = provider.map(provider.enrich(payload("booking_deleted")))
    assert event.kind == EventKind.cancelled
    assert event.external_id == "16879790"


def test_skipped_deliveries_call_nothing() -> None:
    fake = FakeOwnerRez()
    provider = make(fake.handle)
    for name in ("block_created", "webhook_test", "authorization_revoked", "guest_updated"):
        provider.enrich(payload(name))
    assert fake.requests == []
