"""The Guesty API client: one OAuth token for many calls, kept in the token store; retries; pagination."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from luxserv.core.clock import utcnow
from luxserv.core.errors import LuxServError
from luxserv.integrations.base import MemoryTokenStore, ProviderDeps
from luxserv.integrations.guesty import GuestyClient
from luxserv.integrations.guesty.client import RESERVATION_FIELDS
from luxserv.integrations.http import HttpOptions, ProviderError
from tests.integrations.guesty.fake import API_BASE, CLIENT_ID, CLIENT_SECRET, TOKEN_URL, FakeGuesty
from tests.integrations.guesty.helpers import MAIN_ID, MAIN_LISTING, provider, reservation


def make_client(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float], attempts: int = 5) -> GuestyClient:
    return GuestyClient(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url=API_BASE,
        token_url=TOKEN_URL,
        http=HttpOptions(transport=fake.transport, sleep=sleeps.append, max_attempts=attempts),
        tokens=tokens,
    )


def many_reservations(fake: FakeGuesty, count: int) -> None:
    template = reservation()
    for n in range(count):
        fake.add_reservation(
            {
                **template,
                "_id": f"7770b1f0a1b2c3d4e5f6{n:04d}",
                "lastUpdatedAt": f"2026-05-{1 + n % 28:02d}T10:00:00.000Z",
                "listingId": MAIN_LISTING if n % 2 == 0 else "64f1c0ffee0000000000aa02",
            }
        )


def test_one_token_for_many_calls(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    fake.add_reservation(reservation())
    many_reservations(fake, 120)
    client = make_client(fake, tokens, sleeps)
    for _ in range(5):
        assert client.get_reservation(MAIN_ID)["_id"] == MAIN_ID
    assert len(list(client.iter_reservations())) == 121
    assert fake.tokens_issued == 1
    assert fake.token_forms[0] == {
        "grant_type": ["client_credentials"],
        "scope": ["open-api"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    assert {r.headers["authorization"] for r in fake.api_requests()} == {"Bearer eyJ.fake-token-1"}
    stored = tokens.load()
    assert stored is not None and stored[0] == "eyJ.fake-token-1"
    assert abs((stored[1] - (utcnow() + timedelta(days=1))).total_seconds()) < 60


def test_a_new_client_reuses_the_stored_token(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    fake.add_reservation(reservation())
    make_client(fake, tokens, sleeps).get_reservation(MAIN_ID)
    second = make_client(fake, tokens, sleeps)
    second.get_reservation(MAIN_ID)
    second.get_reservation(MAIN_ID)
    assert fake.tokens_issued == 1


class CountingStore(MemoryTokenStore):
    """A token store that counts its reads (the database one costs a query each)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    def load(self) -> tuple[str, datetime] | None:
        self.loads += 1
        return super().load()


def test_the_token_is_kept_in_memory_between_calls(fake: FakeGuesty, sleeps: list[float]) -> None:
    fake.add_reservation(reservation())
    store = CountingStore()
    client = make_client(fake, store, sleeps)
    for _ in range(4):
        client.get_reservation(MAIN_ID)
    assert (store.loads, fake.tokens_issued) == (1, 1)


def test_a_token_about_to_expire_is_renewed(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    fake.add_reservation(reservation())
    fake.valid_tokens.add("old-token")
    tokens.save("old-token", utcnow() + timedelta(minutes=4))  # inside the five-minute margin
    client = make_client(fake, tokens, sleeps)
    client.get_reservation(MAIN_ID)
    assert fake.tokens_issued == 1
    assert fake.api_requests()[0].headers["authorization"] == "Bearer eyJ.fake-token-1"


def test_an_expired_token_is_refetched_and_a_valid_one_kept(
    fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]
) -> None:
    fake.add_reservation(reservation())
    fake.expires_in = 400  # five minutes and 40 s
    client = make_client(fake, tokens, sleeps)
    client.get_reservation(MAIN_ID)
    client.get_reservation(MAIN_ID)
    assert fake.tokens_issued == 1
    # Two minutes on, the token is within five minutes of expiring: renewed once, then reused.
    token, expires = tokens.load() or ("", utcnow())
    tokens.save(token, expires - timedelta(minutes=2))
    fresh = make_client(fake, tokens, sleeps)
    fresh.get_reservation(MAIN_ID)
    fresh.get_reservation(MAIN_ID)
    assert fake.tokens_issued == 2


def test_a_naive_stored_expiry_is_read_as_utc(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    fake.add_reservation(reservation())
    fake.valid_tokens.add("stored")
    tokens.save("stored", (utcnow() + timedelta(hours=3)).replace(tzinfo=None))
    make_client(fake, tokens, sleeps).get_reservation(MAIN_ID)
    assert fake.tokens_issued == 0


def test_a_refused_stored_token_is_replaced_once(
    fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]
) -> None:
    fake.add_reservation(reservation())
    tokens.save("revoked-token", utcnow() + timedelta(hours=20))
    client = make_client(fake, tokens, sleeps)
    assert client.get_reservation(MAIN_ID)["_id"] == MAIN_ID
    assert fake.tokens_issued == 1
    assert [r.headers.get("authorization") for r in fake.api_requests()] == [
        "Bearer revoked-token",
        "Bearer eyJ.fake-token-1",
    ]
    client.get_reservation(MAIN_ID)
    assert fake.tokens_issued == 1


def test_a_brand_new_token_that_is_refused_is_not_renewed_again(
    fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]
) -> None:
    client = make_client(fake, tokens, sleeps)
    fake.script = [lambda r: fake.issue_token(r), httpx.Response(401, json={"error": "forbidden scope"})]
    with pytest.raises(ProviderError) as caught:
        client.get_reservation(MAIN_ID)
    assert caught.value.status == 401
    assert fake.tokens_issued == 1


def test_a_second_401_after_renewing_is_an_error(
    fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]
) -> None:
    tokens.save("revoked-token", utcnow() + timedelta(hours=20))
    client = make_client(fake, tokens, sleeps)
    fake.script = [
        httpx.Response(401),
        lambda r: fake.issue_token(r),
        httpx.Response(401),
    ]
    with pytest.raises(ProviderError) as caught:
        client.get_reservation(MAIN_ID)
    assert caught.value.status == 401
    assert len(fake.requests) == 3


def test_wrong_client_credentials_are_a_provider_error(fake: FakeGuesty, sleeps: list[float]) -> None:
    client = GuestyClient(
        client_id=CLIENT_ID,
        client_secret="wrong",
        base_url=API_BASE,
        token_url=TOKEN_URL,
        http=HttpOptions(transport=fake.transport, sleep=sleeps.append),
        tokens=MemoryTokenStore(),
    )
    with pytest.raises(ProviderError) as caught:
        client.get_reservation(MAIN_ID)
    assert caught.value.status == 401
    assert len(fake.requests) == 1  # no retry of a refused token request


def test_a_token_response_without_access_token(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    fake.script = [httpx.Response(200, json={"token_type": "Bearer", "expires_in": 86400})]
    with pytest.raises(ProviderError, match="access_token"):
        make_client(fake, tokens, sleeps).get_reservation(MAIN_ID)
    assert tokens.load() is None


def test_pagination_filters_and_fields(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    many_reservations(fake, 500)
    client = make_client(fake, tokens, sleeps)
    since = datetime(2026, 5, 10, 8, 30, 15, 123456, tzinfo=UTC)
    got = list(client.iter_reservations(since, [MAIN_LISTING]))
    expected = [
        r
        for r in sorted(fake.reservations.values(), key=lambda r: r["_id"])
        if r["listingId"] == MAIN_LISTING and r["lastUpdatedAt"] >= "2026-05-10T08:30:15.123Z"
    ]
    assert [r["_id"] for r in got] == [r["_id"] for r in expected]
    assert len(expected) > 100  # more than one page
    calls = fake.api_requests()
    assert [c.url.params["skip"] for c in calls] == ["0", "100"]  # the second page is short: done
    first = calls[0].url.params
    assert (first["limit"], first["sort"], first["fields"]) == ("100", "_id", RESERVATION_FIELDS)
    assert {"guest.fullName", "guest.email", "listing.nickname", "listing.address.full"} <= set(first["fields"].split())
    assert json.loads(first["filters"]) == [
        {"field": "lastUpdatedAt", "operator": "$gte", "from": "2026-05-10T08:30:15.123Z"},
        {"field": "listingId", "operator": "$in", "value": [MAIN_LISTING]},
    ]


def test_all_reservations_over_three_pages(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    many_reservations(fake, 250)
    got = list(make_client(fake, tokens, sleeps).iter_reservations())
    assert len({r["_id"] for r in got}) == 250
    calls = fake.api_requests()
    assert [c.url.params["skip"] for c in calls] == ["0", "100", "200"]
    assert all("filters" not in c.url.params for c in calls)


def test_no_listing_ids_means_nothing_to_pull(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    many_reservations(fake, 3)
    assert list(make_client(fake, tokens, sleeps).iter_reservations(None, [])) == []
    assert fake.requests == []


def test_listings_are_paginated(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    for n in range(130):
        fake.listings[f"L{n:03d}"] = {"_id": f"L{n:03d}", "nickname": f"Unit {n}"}
    listings = list(make_client(fake, tokens, sleeps).iter_listings())
    assert [item["_id"] for item in listings] == sorted(fake.listings)
    assert [c.url.params["skip"] for c in fake.api_requests()] == ["0", "100"]


def test_429_waits_as_asked_then_succeeds(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    fake.add_reservation(reservation())
    client = make_client(fake, tokens, sleeps)
    client.access_token()
    fake.script = [httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "Too Many Requests"})]
    assert client.get_reservation(MAIN_ID)["_id"] == MAIN_ID
    assert sleeps == [7.0]
    assert len(fake.api_requests()) == 2


def test_500_500_200_succeeds(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    fake.add_reservation(reservation())
    client = make_client(fake, tokens, sleeps)
    client.access_token()
    fake.script = [httpx.Response(500), httpx.Response(502)]
    assert client.get_reservation(MAIN_ID)["_id"] == MAIN_ID
    assert len(sleeps) == 2
    assert len(fake.api_requests()) == 3


def test_timeouts_every_time_give_up_after_max_attempts(
    fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]
) -> None:
    client = make_client(fake, tokens, sleeps, attempts=4)
    client.access_token()
    fake.script = [httpx.ReadTimeout("timed out") for _ in range(10)]
    with pytest.raises(ProviderError, match="could not be reached: ReadTimeout"):
        client.get_reservation(MAIN_ID)
    assert len(fake.api_requests()) == 4
    assert len(sleeps) == 3


def test_404_is_an_error_without_retry(fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]) -> None:
    client = make_client(fake, tokens, sleeps)
    with pytest.raises(ProviderError) as caught:
        client.get_reservation("6650b1f0a1b2c3d4e5f6ffff")
    assert caught.value.status == 404
    assert len(fake.api_requests()) == 1
    assert sleeps == []


@pytest.mark.parametrize("answer", [httpx.Response(200, text="<html>maintenance</html>"), httpx.Response(200, json=[])])
def test_answers_that_are_not_a_reservation(
    fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float], answer: httpx.Response
) -> None:
    client = make_client(fake, tokens, sleeps)
    client.access_token()
    fake.script = [answer]
    with pytest.raises(ProviderError):
        client.get_reservation(MAIN_ID)


def test_ids_from_payloads_stay_one_path_segment(
    fake: FakeGuesty, tokens: MemoryTokenStore, sleeps: list[float]
) -> None:
    client = make_client(fake, tokens, sleeps)
    with pytest.raises(ProviderError):
        client.get_reservation("../listings/x?y=1")
    assert fake.api_requests()[0].url.raw_path.decode().startswith("/v1/reservations/..%2Flistings%2Fx%3Fy%3D1?")


def test_pull_yields_sync_bodies(fake: FakeGuesty, deps: ProviderDeps) -> None:
    fake.add_reservation(reservation())
    fake.add_reservation({**reservation("inquiry")})
    fake.add_reservation({k: v for k, v in reservation("no_guest_email").items() if k != "lastUpdatedAt"})
    pulled = {p.event_id: p.body for p in provider(deps).pull(None)}
    assert set(pulled) == {
        f"sync:{MAIN_ID}:2026-05-02T14:21:11.532Z",
        "sync:59d11425af06e3100095e9fe:2017-10-01T16:13:25.711Z",
        "sync:6650b1f0a1b2c3d4e5f60003:",
    }
    body: dict[str, Any] = pulled[f"sync:{MAIN_ID}:2026-05-02T14:21:11.532Z"]
    assert body == {"event": "reservation.sync", "reservation": reservation()}


def test_provider_options_choose_the_endpoints(fake: FakeGuesty, sleeps: list[float]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return fake.handle(request)

    deps = ProviderDeps(http=HttpOptions(transport=httpx.MockTransport(handler), sleep=sleeps.append))
    guesty = provider(deps, options={"base_url": "https://sandbox.example.test/", "token_url": TOKEN_URL})
    fake.add_reservation(reservation())
    guesty.client.get_reservation(MAIN_ID)
    assert seen[0] == TOKEN_URL
    assert seen[1].startswith(f"https://sandbox.example.test/v1/reservations/{MAIN_ID}?")
    guesty.close()
    with pytest.raises(LuxServError, match="must be an http"):
        _ = provider(deps, options={"base_url": "ftp://nope"}).client
