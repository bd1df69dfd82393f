"""A stand-in for OwnerRez API v2 behind `httpx.MockTransport`, plus payload and auth helpers for the tests."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import httpx

PAYLOADS = Path(__file__).parent / "payloads"
API_USER, API_TOKEN = "owner@example.com", "pt_0123456789abcdef"
WEBHOOK_USER, WEBHOOK_PASSWORD = "luxserv-hook", "s3cret-ownerrez-pässword"
CREDENTIALS = {
    "webhook_username": WEBHOOK_USER,
    "webhook_password": WEBHOOK_PASSWORD,
    "api_username": API_USER,
    "api_token": API_TOKEN,
}


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class FakeOwnerRez:
    """Bookings, guests and properties served the way API v2 pages them (`items`, `next_page_url`)."""

    def __init__(self, page_size: int = 2) -> None:
        self.bookings: dict[int, dict[str, Any]] = {}
        self.guests: dict[int, dict[str, Any]] = {}
        self.properties: list[dict[str, Any]] = [{"id": 474841, "name": "S402 Ocean View"}]
        self.page_size = page_size
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.handle)

    def add_booking(self, entity: dict[str, Any]) -> None:
        self.bookings[int(entity["id"])] = copy.deepcopy(entity)
        guest = entity.get("guest")
        if isinstance(guest, dict):
            self.guests[int(guest["id"])] = copy.deepcopy(guest)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != basic(API_USER, API_TOKEN):
            return httpx.Response(401, json={"code": "auth_required", "messages": ["Authorization required"]})
        parts = request.url.path.strip("/").split("/")
        if parts[:2] == ["v2", "bookings"] and len(parts) == 3:
            found = self.bookings.get(int(parts[2]))
            return httpx.Response(200, json=found) if found else httpx.Response(404, json={"code": "not_found"})
        if parts[:2] == ["v2", "guests"] and len(parts) == 3:
            guest = self.guests.get(int(parts[2]))
            return httpx.Response(200, json=guest) if guest else httpx.Response(404, json={"code": "not_found"})
        if parts == ["v2", "properties"]:
            return self._page(request, self.properties)
        if parts == ["v2", "bookings"]:
            return self._page(request, self._matching_bookings(request.url.params))
        return httpx.Response(404, json={"code": "not_found"})

    def _matching_bookings(self, params: httpx.QueryParams) -> list[dict[str, Any]]:
        since = params.get("since_utc")
        ids = set(params.get_list("property_ids"))
        found = []
        for booking in sorted(self.bookings.values(), key=lambda b: b["id"]):
            if since and booking["updated_utc"] < since:
                continue
            if ids and str(booking["property_id"]) not in ids:
                continue
            found.append(booking if params.get("include_guest") == "true" else {**booking, "guest": None})
        return found

    def _page(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        offset = int(request.url.params.get("offset", "0"))
        limit = min(int(request.url.params.get("limit", "100")), self.page_size)
        page = items[offset : offset + limit]
        body: dict[str, Any] = {"items": page, "limit": limit, "offset": offset}
        if offset + limit < len(items):
            body["next_page_url"] = str(request.url.copy_merge_params({"offset": offset + limit, "limit": limit}))
        return httpx.Response(200, json=body)
