"""The pages' security headers, health and API docs, and the HTML sign-in form (CSRF, wrong password, logout)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from luxserv.core.database import Database
from tests.factories import PASSWORD, make_user

# --- pages, health, docs ----------------------------------------------------------------------------------------


def test_healthz(app_client: TestClient) -> None:
    response = app_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def assert_security_headers(headers: Any) -> None:
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")


def test_home_page_is_html_with_security_headers(app_client: TestClient) -> None:
    response = app_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    assert "LuxServ" in response.text
    assert_security_headers(response.headers)


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/bookings", "/api/bookings/1", "/no-such-page"])
def test_every_response_has_security_headers(app_client: TestClient, path: str) -> None:
    assert_security_headers(app_client.get(path).headers)


def test_docs_and_openapi(app_client: TestClient) -> None:
    docs = app_client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]

    schema = app_client.get("/openapi.json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["info"]["title"] == "LuxServ"
    operations = {
        (method.upper(), path): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    operation_ids = [op.get("operationId") for op in operations.values()]
    assert all(operation_ids), [k for k, op in operations.items() if not op.get("operationId")]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    # Chosen names, not FastAPI's generated `<name>_<path>_<method>` ones.
    for operation_id in operation_ids:
        assert not re.search(r"_(get|post|put|patch|delete)$", operation_id), operation_id
    expected = {
        ("POST", "/api/auth/login"): "login",
        ("POST", "/api/auth/logout"): "logout",
        ("GET", "/api/auth/me"): "me",
        ("GET", "/api/bookings"): "list_bookings",
        ("GET", "/api/bookings/{booking_id}"): "get_booking",
        ("POST", "/api/admin/bookings/{booking_id}/place"): "place_booking",
        ("GET", "/api/guests/{guest_id}"): "get_guest",
        ("GET", "/api/properties"): "list_properties",
        ("GET", "/api/admin/inbox"): "list_inbox",
        ("POST", "/api/admin/inbox/{inbox_id}/replay"): "replay_inbox_event",
        ("POST", "/webhooks/generic"): "webhook_generic",
        ("POST", "/webhooks/booking-created"): "webhook_booking_created",
        ("POST", "/webhooks/{provider_name}"): "webhook_provider",
        ("POST", "/api/calendars/properties/{property_id}"): "calendar_url",
        ("POST", "/api/calendars/properties/{property_id}/rotate"): "rotate_calendar_url",
    }
    assert {key: operations[key]["operationId"] for key in expected if key in operations} == expected
    assert set(expected) <= set(operations)
    assert "/login" not in spec["paths"]
    assert "/" not in spec["paths"]


# --- the HTML sign-in form --------------------------------------------------------------------------------------


def form_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    assert client.cookies.get("luxserv_csrf") == match.group(1)
    return match.group(1)


def test_login_form_refuses_a_post_without_the_csrf_token(app_client: TestClient, db: Database) -> None:
    make_user(db)
    token = form_token(app_client)
    form = {"email": "admin@example.com", "password": PASSWORD, "next": "/admin"}

    missing = app_client.post("/login", data=form, follow_redirects=False)
    assert missing.status_code == 403
    assert "luxserv_session" not in missing.headers.get("set-cookie", "")

    wrong = app_client.post("/login", data={**form, "csrf_token": token + "x"}, follow_redirects=False)
    assert wrong.status_code == 403

    app_client.cookies.delete("luxserv_csrf")
    no_cookie = app_client.post("/login", data={**form, "csrf_token": token}, follow_redirects=False)
    assert no_cookie.status_code == 403
    assert "luxserv_session" not in no_cookie.headers.get("set-cookie", "")
    assert app_client.get("/api/auth/me").status_code == 401


def test_login_form_accepts_the_cookie_and_field(app_client: TestClient, db: Database) -> None:
    make_user(db)
    token = form_token(app_client)
    response = app_client.post(
        "/login",
        data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token, "next": "/admin"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/admin"
    session_cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("luxserv_session="))
    assert "httponly" in session_cookie.lower()
    assert app_client.get("/api/auth/me").json()["email"] == "admin@example.com"
    admin = app_client.get("/admin")
    assert admin.status_code == 200
    assert admin.headers["content-type"].startswith("text/html")


def test_login_form_wrong_password_and_foreign_next(app_client: TestClient, db: Database) -> None:
    make_user(db)
    token = form_token(app_client)
    wrong = app_client.post(
        "/login",
        data={"email": "admin@example.com", "password": "nope nope nope", "csrf_token": token},
        follow_redirects=False,
    )
    assert wrong.status_code == 401
    assert "e-mail or password is not right" in wrong.text
    offsite = app_client.post(
        "/login",
        data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert offsite.status_code == 303
    assert offsite.headers["location"] == "/admin"


def test_html_logout_needs_the_csrf_token(app_client: TestClient, db: Database) -> None:
    make_user(db)
    token = form_token(app_client)
    signed_in = app_client.post(
        "/login",
        data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    refused = app_client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert app_client.get("/api/auth/me").status_code == 200
    done = app_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert app_client.get("/api/auth/me").status_code == 401
