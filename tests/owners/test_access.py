"""Who may see what: an owner tries every owner route with another owner's home and gets nothing (404, or 403
for a form without its token), strangers are sent to sign in, and nothing of the other home leaks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.integrations.models import CalendarToken
from luxserv.properties.models import DEFAULT_TIME_ZONE
from luxserv.services.models import ServiceRequest, ServiceType
from tests.factories import login
from tests.owners.conftest import Logins, World, add_maintenance, book, form_token, sign_in

SECRET_WORDS = ("Harbor Loft", "Olaf Other", "9 Harbor St", "Omar")  # what of Omar's home must never show


@pytest.fixture
def omars_home(db: Database, world: World) -> None:
    t = local_today(DEFAULT_TIME_ZONE)
    book(db, world.loft, "OMAR", t - timedelta(days=1), t + timedelta(days=3), guest="Olaf Other")
    add_maintenance(db, world.loft, "Omar's boiler", t + timedelta(days=2))


def routes(db: Database, property_id: int, token: str) -> Iterator[tuple[str, str, dict[str, object]]]:
    """Every owner route for one property: (method, path, request keywords)."""
    with db.unit_of_work(write=False) as session:
        chef = session.scalars(select(ServiceType.id).where(ServiceType.key == "private_chef")).one()
    day = (local_today(DEFAULT_TIME_ZONE) + timedelta(days=3)).isoformat()
    page = f"/owner/properties/{property_id}"
    api = f"/api/owner/properties/{property_id}"
    yield "GET", page, {}
    yield "GET", page, {"params": {"month": "2026-06"}}
    yield "GET", page, {"params": {"month": date.today().strftime("%Y-%m"), "from": "", "guest": "Olaf",
                                   "status": "scheduled", "service": str(chef)}}  # fmt: skip
    yield "GET", page, {"params": {"offset": "50", "from": ""}}
    form = {"csrf_token": token, "service_type": str(chef), "scheduled_for": day, "notes": "let me in"}
    yield "POST", f"{page}/requests", {"data": form}
    yield "POST", f"{page}/calendar-link", {"data": {"csrf_token": token, "action": "show"}}
    yield "POST", f"{page}/calendar-link", {"data": {"csrf_token": token, "action": "rotate"}}
    yield "GET", f"{api}/bookings", {}
    yield "GET", f"{api}/bookings", {"params": {"from": "2020-01-01", "to": "2030-12-31", "status": "confirmed"}}
    yield "GET", f"{api}/service-requests", {}
    yield "GET", f"{api}/service-requests", {"params": {"status": "scheduled", "date_from": "2020-01-01"}}
    yield "POST", f"{api}/service-requests", {"json": {"service_type": "private_chef", "scheduled_for": day}}
    yield "GET", f"{api}/maintenance", {}
    yield "POST", f"/api/calendars/properties/{property_id}", {}
    yield "POST", f"/api/calendars/properties/{property_id}/rotate", {}


def test_an_owner_gets_nothing_of_another_owners_home(
    client: TestClient, db: Database, world: World, logins: Logins, omars_home: None
) -> None:
    sign_in(client, logins.email("dana"))
    token = form_token(client, f"/owner/properties/{world.condo}")
    tried, successes = 0, []
    for property_id in (world.loft, 9999):
        for method, path, kw in routes(db, property_id, token):
            response = client.request(method, path, follow_redirects=False, **kw)  # type: ignore[arg-type]
            tried += 1
            if response.status_code not in (403, 404):
                successes.append((method, path, kw, response.status_code))
            leaked = [word for word in SECRET_WORDS if word in response.text]
            assert not leaked, (method, path, leaked)
    assert tried == 30 and successes == []
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).where(ServiceRequest.notes == "let me in")) == 0
        assert session.scalar(select(func.count()).select_from(CalendarToken)) == 0

    cards = client.get("/api/owner/properties").json()
    assert [p["id"] for p in cards["properties"]] == [world.condo, world.villa] and cards["total"] == 2
    for page in ("/owner", f"/owner/properties/{world.condo}?from=&guest=Olaf"):
        seen = client.get(page)
        assert seen.status_code == 200 and not [w for w in SECRET_WORDS if w in seen.text]
    own = client.get(f"/api/owner/properties/{world.condo}/service-requests")
    assert own.status_code == 200 and own.json()["total"] == 0


def test_the_same_routes_work_for_the_homes_owner_and_for_admins(
    client: TestClient, db: Database, world: World, logins: Logins, omars_home: None
) -> None:
    """The control group: the matrix above would have caught a route that answers."""
    for who in ("omar", "admin"):
        sign_in(client, logins.email(who))
        token = form_token(client, f"/owner/properties/{world.loft}")
        for method, path, kw in routes(db, world.loft, token):
            response = client.request(method, path, follow_redirects=False, **kw)  # type: ignore[arg-type]
            assert response.status_code in (200, 201, 303), (who, method, path, response.text[:300])


def test_strangers_are_sent_to_sign_in(client: TestClient, db: Database, world: World) -> None:
    token = form_token(client, "/login")  # a CSRF cookie, but no session
    for method, path, kw in routes(db, world.condo, token):
        response = client.request(method, path, follow_redirects=False, **kw)  # type: ignore[arg-type]
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next=/owner/properties/"), path
    assert client.get("/api/owner/properties").status_code == 401
    assert client.get("/owner", follow_redirects=False).headers["location"] == "/login?next=/owner"
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 0


def test_bearer_tokens_are_scoped_too(client: TestClient, world: World, logins: Logins, omars_home: None) -> None:
    headers = {"Authorization": f"Bearer {login(client, logins.email('dana'))['token']}"}
    client.cookies.clear()
    assert client.get(f"/api/owner/properties/{world.loft}/bookings", headers=headers).status_code == 404
    assert client.get(f"/api/owner/properties/{world.condo}/bookings", headers=headers).status_code == 200
    assert [p["name"] for p in client.get("/api/owner/properties", headers=headers).json()["properties"]] == [
        "Beach Condo 123",
        "Sea Breeze Villa",
    ]
