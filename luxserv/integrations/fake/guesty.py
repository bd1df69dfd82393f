"""A fake Guesty Open API (OAuth token, reservations, listings, guests), faithful to the documented shapes.

Serve it on loopback (`FakeGuesty(...).app` under uvicorn) and point a Guesty connection's `base_url` and
`token_url` options at it. It counts token requests (Guesty allows five a day) and can answer 429s.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Form, Header, HTTPException, Query
from fastapi.responses import JSONResponse


@dataclass
class FakeGuesty:
    reservations: list[dict[str, Any]] = field(default_factory=list)
    listings: list[dict[str, Any]] = field(default_factory=list)
    guests: dict[str, dict[str, Any]] = field(default_factory=dict)
    client_id: str = "fake-client"
    client_secret: str = "fake-secret"  # noqa: S105 - a fake server's credential
    throttle_every: int = 0  # answer 429 (Retry-After: 1) to every Nth API call; 0 = never
    token_requests: int = 0
    api_calls: int = 0
    _tokens: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def app(self) -> FastAPI:
        app = FastAPI(title="fake guesty")

        @app.post("/oauth2/token")
        def token(
            grant_type: str = Form(), scope: str = Form(), client_id: str = Form(), client_secret: str = Form()
        ) -> dict[str, Any]:
            with self._lock:
                self.token_requests += 1
            if grant_type != "client_credentials" or scope != "open-api":
                raise HTTPException(400, "unsupported grant")
            if (client_id, client_secret) != (self.client_id, self.client_secret):
                raise HTTPException(401, "invalid client")
            value = secrets.token_urlsafe(24)
            self._tokens.add(value)
            return {"token_type": "Bearer", "access_token": value, "expires_in": 86400, "scope": "open-api"}

        def check(authorization: str | None) -> JSONResponse | None:
            if not authorization or authorization.removeprefix("Bearer ") not in self._tokens:
                raise HTTPException(401, "invalid token")
            with self._lock:
                self.api_calls += 1
                throttled = self.throttle_every and self.api_calls % self.throttle_every == 0
            if throttled:
                return JSONResponse({"error": "too many requests"}, status_code=429, headers={"Retry-After": "1"})
            return None

        @app.get("/v1/reservations", response_model=None)
        def reservations(
            authorization: str | None = Header(default=None),
            limit: int = Query(default=25, le=100),
            skip: int = 0,
            filters: str | None = None,
            sort: str | None = None,
            fields: str | None = None,
        ) -> Any:
            if (refused := check(authorization)) is not None:
                return refused
            rows = _filtered(self.reservations, filters)
            if sort:
                key = sort.lstrip("-")
                rows = sorted(rows, key=lambda r: str(r.get(key, "")), reverse=sort.startswith("-"))
            return {"results": rows[skip : skip + limit], "count": len(rows), "limit": limit, "skip": skip}

        @app.get("/v1/reservations/{reservation_id}", response_model=None)
        def reservation(reservation_id: str, authorization: str | None = Header(default=None)) -> Any:
            if (refused := check(authorization)) is not None:
                return refused
            for row in self.reservations:
                if row["_id"] == reservation_id:
                    return row
            raise HTTPException(404, "reservation not found")

        @app.get("/v1/listings", response_model=None)
        def listings(
            authorization: str | None = Header(default=None), limit: int = Query(default=25, le=100), skip: int = 0
        ) -> Any:
            if (refused := check(authorization)) is not None:
                return refused
            rows = self.listings[skip : skip + limit]
            return {"results": rows, "count": len(self.listings), "limit": limit, "skip": skip}

        @app.get("/v1/listings/{listing_id}", response_model=None)
        def listing(listing_id: str, authorization: str | None = Header(default=None)) -> Any:
            if (refused := check(authorization)) is not None:
                return refused
            for row in self.listings:
                if row["_id"] == listing_id:
                    return row
            raise HTTPException(404, "listing not found")

        @app.get("/v1/guests-crud/{guest_id}", response_model=None)
        def guest(guest_id: str, fields: str, authorization: str | None = Header(default=None)) -> Any:
            if (refused := check(authorization)) is not None:
                return refused
            if guest_id not in self.guests:
                raise HTTPException(404, "guest not found")
            return self.guests[guest_id]

        return app


def _filtered(rows: list[dict[str, Any]], filters: str | None) -> list[dict[str, Any]]:
    """The documented filter objects that a sync uses: `$gte` on a field, `$in` on a field."""
    if not filters:
        return list(rows)
    result = list(rows)
    for flt in json.loads(filters):
        name, operator = flt.get("field"), flt.get("operator")
        if operator == "$gte":
            bound = str(flt.get("from") or flt.get("value"))
            result = [r for r in result if str(r.get(name, "")) >= bound]
        elif operator == "$in":
            allowed = {str(v) for v in flt.get("value", [])}
            result = [r for r in result if str(r.get(name, "")) in allowed]
    return result
