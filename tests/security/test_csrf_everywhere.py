"""CSRF: every form action of the pages refuses a post without the token (or with another browser's token),
signed in or not, before it changes anything."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from luxserv.app import create_app
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from tests.factories import login, make_owner, make_property, make_user


def _routes(routes: list[object]) -> Iterator[Route]:
    for route in routes:
        if isinstance(route, Route):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(list(inner.routes))


def form_actions(app: object) -> list[str]:
    """Every POST route outside the JSON API and the webhooks: the pages' form actions."""
    paths = set()
    for route in _routes(list(app.routes)):  # type: ignore[attr-defined]
        form = "POST" in (route.methods or set()) and not route.path.startswith(("/api/", "/webhooks/"))
        if form and not (isinstance(route, APIRoute) and route.include_in_schema):
            paths.add(route.path)
    return sorted(paths)


def test_every_form_refuses_a_post_without_its_token(db: Database, settings: Settings) -> None:
    owner = make_owner(db)
    make_property(db, owner_id=owner)
    make_user(db)
    app = create_app(settings, db, run_worker=False)
    actions = form_actions(app)
    assert len(actions) >= 20, actions  # the sweep really found the forms
    with TestClient(app) as client:
        login(client)
        client.get("/")  # the browser's CSRF cookie
        for path in actions:
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            for data in ({}, {"csrf_token": "a-token-of-another-browser"}):
                response = client.post(concrete, data=data, follow_redirects=False)
                # 403: refused for the token; 422: refused earlier for missing fields. Never done (2xx, 3xx).
                assert response.status_code in (403, 422), f"{concrete} without a valid token: {response.status_code}"


def test_a_complete_form_with_a_wrong_token_is_refused(db: Database, settings: Settings) -> None:
    make_user(db)
    with TestClient(create_app(settings, db, run_worker=False)) as client:
        client.get("/login")
        response = client.post(
            "/login",
            data={"email": "admin@example.com", "password": "correct horse battery", "csrf_token": "forged"},
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert "luxserv_session" not in response.cookies


def test_digits_that_are_not_numbers_are_a_client_error(db: Database, settings: Settings) -> None:
    """`"²".isdigit()` is true but `int("²")` fails: such input must be refused, never crash a page."""
    make_user(db)
    with TestClient(create_app(settings, db, run_worker=False), raise_server_exceptions=False) as client:
        login(client)
        page = client.get("/admin/properties/new")
        token = client.cookies.get("luxserv_csrf")
        response = client.post(
            "/admin/properties/new",
            data={"csrf_token": token, "name": "Superscript House", "address": "1 Main St", "bedrooms": "²"},
            follow_redirects=False,
        )
        assert page.status_code == 200
        assert response.status_code in (303, 422), response.text
