"""An in-memory Guesty Open API behind `httpx.MockTransport`: OAuth token, reservations, guests, listings.

It answers as the documentation describes (and records every request), so the real `GuestyClient` runs against
it unchanged. `script` queues answers (or exceptions) to give before the normal ones, for failure tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx

CLIENT_ID = "0oa1b2c3d4e5F6g7H8i9"
CLIENT_SECRET = "s3cr3t-Guesty-0auth-app-Secret"
API_BASE = "https://open-api.guesty.com"
TOKEN_URL = "https://open-api.guesty.com/oauth2/token"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeGuesty:
    def __init__(self) -> None:
        self.reservations: dict[str, dict[str, Any]] = {}
        self.guests: dict[str, dict[str, Any]] = {}
        self.listings: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.token_forms: list[dict[str, list[str]]] = []
        self.valid_tokens: set[str] = set()
        self.expires_in = 86_400
        self.script: list[Answer] = []

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def tokens_issued(self) -> int:
        return len(self.token_forms)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != "/oauth2/token"]

    def add_reservation(self, reservation: dict[str, Any]) -> None:
        self.reservations[reservation["_id"]] = copy.deepcopy(reservation)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            answer = self.script.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer(request) if callable(answer) else answer
        if request.url.path == "/oauth2/token":
            return self.issue_token(request)
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.valid_tokens:
            return httpx.Response(401, json={"error": {"code": "UNAUTHORIZED", "message": "Unauthorized"}})
        return self._route(request)

    def issue_token(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = parse_qs(request.content.decode())
        if form.get("client_id") != [CLIENT_ID] or form.get("client_secret") != [CLIENT_SECRET]:
            return httpx.Response(401, json={"error": "invalid_client"})
        self.token_forms.append(form)
        token = f"eyJ.fake-token-{len(self.token_forms)}"
        self.valid_tokens.add(token)
        return httpx.Response(
            200,
            json={"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token, "scope": "open-api"},
        )

    def _route(self, request: httpx.Request) -> httpx.Response:
        parts = [unquote(p) for p in request.url.raw_path.decode().split("?")[0].split("/") if p]
        params = request.url.params
        if request.method != "GET" or parts[:1] != ["v1"]:
            return httpx.Response(405)
        if parts[1:] == ["reservations"]:
            return self._search(params)
        if len(parts) == 3 and parts[1] == "reservations":
            return _found(self.reservations.get(parts[2]))
        if len(parts) == 3 and parts[1] == "guests-crud":
            assert params.get("fields"), "GET /guests-crud/{id} requires fields"
            return _found(self.guests.get(parts[2]))
        if len(parts) == 3 and parts[1] == "listings":
            return _found(self.listings.get(parts[2]))
        if parts[1:] == ["listings"]:
            return self._page(list(self.listings.values()), params)
        return httpx.Response(404, json={"error": "not found"})

    def _search(self, params: httpx.QueryParams) -> httpx.Response:
        items = sorted(self.reservations.values(), key=lambda r: str(r.get(params.get("sort") or "_id", "")))
        for flt in json.loads(params.get("filters") or "[]"):
            if flt["operator"] == "$gte":
                items = [r for r in items if str(r.get(flt["field"], "")) >= flt["from"]]
            elif flt["operator"] == "$in":
                items = [r for r in items if r.get(flt["field"]) in flt["value"]]
            else:
                return httpx.Response(400, json={"error": f"operator {flt['operator']}"})
        return self._page(items, params)

    @staticmethod
    def _page(items: list[dict[str, Any]], params: httpx.QueryParams) -> httpx.Response:
        limit = int(params.get("limit") or 25)
        skip = int(params.get("skip") or 0)
        assert limit <= 100
        return httpx.Response(
            200, json={"results": items[skip : skip + limit], "count": len(items), "limit": limit, "skip": skip}
        )


def _found(item: dict[str, Any] | None) -> httpx.Response:
    if item is None:
        return httpx.Response(404, json={"error": {"code": "NOT_FOUND", "message": "Not found"}})
    return httpx.Response(200, json=item)
