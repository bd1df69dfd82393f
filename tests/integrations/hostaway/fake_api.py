"""A stand-in for Hostaway's public API v1 behind `httpx.MockTransport`, plus payload and auth helpers."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

PAYLOADS = Path(__file__).parent / "payloads"
ACCOUNT_ID, API_KEY = "59808", "hostaway-api-key-0123456789"
WEBHOOK_USER, WEBHOOK_PASSWORD = "hostaway-hook", "s3cret-hostaway-pässword"
CREDENTIALS = {
    "webhook_username": WEBHOOK_USER,
    "webhook_password": WEBHOOK_PASSWORD,
    "account_id": ACCOUNT_ID,
    "api_key": API_KEY,
}


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class FakeHostaway:
    """Issues tokens (`POST /v1/accessTokens`) and serves reservations newest activity first, `limit`/`offset`."""

    def __init__(self, page_size: int = 100) -> None:
        self.reservations: dict[int, dict[str, Any]] = {}
        self.page_size = page_size
        self.requests: list[httpx.Request] = []
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.transport = httpx.MockTransport(self.handle)

    def add(self, reservation: dict[str, Any]) -> None:
        self.reservations[int(reservation["id"])] = copy.deepcopy(reservation)

    def token_requests(self) -> list[dict[str, list[str]]]:
        return [parse_qs(r.content.decode()) for r in self.requests if r.url.path == "/v1/accessTokens"]

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != "/v1/accessTokens"]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v1/accessTokens" and request.method == "POST":
            form = parse_qs(request.content.decode())
            if form.get("client_id") != [ACCOUNT_ID] or form.get("client_secret") != [API_KEY]:
                return httpx.Response(403, json={"status": "fail", "message": "Invalid client credentials"})
            token = f"jwt-{len(self.issued) + 1}"
            self.issued.append(token)
            return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 62208000, "access_token": token})
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return httpx.Response(403, json={"status": "fail", "message": "Unauthorized"})
        parts = request.url.path.strip("/").split("/")
        if parts == ["v1", "reservations"]:
            return self._page(request)
        if parts[:2] == ["v1", "reservations"] and len(parts) == 3:
            found = self.reservations.get(int(parts[2]))
            if found is None:
                return httpx.Response(404, json={"status": "fail", "result": "Reservation not found"})
            return httpx.Response(200, json={"status": "success", "result": found})
        return httpx.Response(404, json={"status": "fail", "result": "Not found"})

    def _page(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        items = sorted(self.reservations.values(), key=lambda r: r["latestActivityOn"], reverse=True)
        if "listingId" in params:
            items = [r for r in items if str(r["listingMapId"]) == params["listingId"]]
        offset = int(params.get("offset", "0"))
        limit = min(int(params.get("limit", "100")), self.page_size)
        return httpx.Response(
            200,
            json={
                "status": "success",
                "result": items[offset : offset + limit],
                "count": len(items),
                "limit": limit,
                "offset": offset,
            },
        )
