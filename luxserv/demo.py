"""Demo data (idempotent): Dana Whitfield's two homes, Sarah Johnson mid-stay, Mike Chen next.

Dates are relative to today in Panama City Beach, so the dashboards always look alive. Bookings go through
the inbox like any other source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from luxserv.accounts.models import Role, User
from luxserv.accounts.service import create_user
from luxserv.bookings.models import Booking
from luxserv.core.clock import local_today
from luxserv.core.database import Database
from luxserv.inbox import flows
from luxserv.inbox.service import NewEvent
from luxserv.integrations.registry import Providers
from luxserv.portal.access import issue_code
from luxserv.properties.models import DEFAULT_TIME_ZONE, MaintenanceItem, Owner, Property
from luxserv.properties.service import create_owner, create_property
from luxserv.services.models import OPEN_STATUSES, RequestStatus, ServiceRequest
from luxserv.services.requests import TRANSITIONS, change_status

ADMIN_EMAIL = "admin@luxserv.demo"
ADMIN_PASSWORD = "luxserv-admin-demo"  # noqa: S105 - demo only, printed on start
OWNER_EMAIL = "dana@luxserv.demo"
OWNER_PASSWORD = "luxserv-owner-demo"  # noqa: S105 - demo only, printed on start
ACTOR = "demo"


@dataclass(frozen=True)
class DemoLogins:
    admin: tuple[str, str]
    owner: tuple[str, str]
    guest_code: str | None = None  # a fresh portal code for Sarah Johnson's stay (codes are stored hashed)


def load(db: Database, providers: Providers, *, today: date | None = None) -> DemoLogins:
    """Create or refresh the demo data. Safe to run any number of times."""
    today = today or local_today(DEFAULT_TIME_ZONE)
    with db.unit_of_work() as session:
        owner = _owner(session)
        condo = _property(
            session,
            owner,
            name="Beach Condo 123",
            address="17751 Front Beach Rd, Unit 123",
            bedrooms=2,
            max_guests=6,
        )
        villa = _property(
            session, owner, name="Sea Breeze Villa", address="20 Sea Breeze Ct", bedrooms=4, max_guests=10
        )
        _user(session, ADMIN_EMAIL, ADMIN_PASSWORD, Role.admin, "LuxServ Admin", None)
        _user(session, OWNER_EMAIL, OWNER_PASSWORD, Role.owner, "Dana Whitfield", owner)
        _maintenance(session, condo, "AC service due", today + timedelta(days=3), every_months=6)
        _maintenance(session, villa, "Pool pump inspection", today + timedelta(days=20), every_months=3)
        condo_id, villa_id = condo.id, villa.id

    stays = [
        # Sarah is mid-stay: checked in 5 days ago, checks out in 2 days ("Checkout: June 22 (2 days)").
        _stay(
            "DEMO-SARAH",
            condo_id,
            "Sarah Johnson",
            "sarah@email.com",
            today - timedelta(days=5),
            7,
            4,
            "Celebrating anniversary",
            "airbnb",
        ),
        _stay(
            "DEMO-MIKE",
            condo_id,
            "Mike Chen",
            "mike.chen@example.com",
            today + timedelta(days=4),
            5,
            2,
            "Early check-in if possible",
            "vrbo",
        ),
        _stay(
            "DEMO-OLIVIA",
            villa_id,
            "Olivia Martinez",
            "olivia.m@example.com",
            today + timedelta(days=9),
            6,
            8,
            "Birthday weekend for my mom",
            "direct",
        ),
        # A booking for a home LuxServ does not know yet: kept unplaced for an admin to place.
        _stay(
            "DEMO-UNPLACED",
            None,
            "Grace Lee",
            "grace.lee@example.com",
            today + timedelta(days=12),
            3,
            2,
            "",
            "booking.com",
            listing_name="Gulf View Cottage, Panama City Beach",
        ),
    ]
    for payload in stays:
        body = json.dumps(payload, sort_keys=True).encode()
        event_id = f"demo:{payload['external_id']}:{payload['check_in']}"
        new = NewEvent(
            provider="manual",
            event_id=event_id,
            source="manual",
            body=body,
            content_type="application/json",
            headers={},
        )
        flows.receive(db, providers, new, actor=ACTOR)
    with db.unit_of_work() as session:
        _complete_past_work(session, today)
        sarah = session.scalar(select(Booking).where(Booking.provider == "manual", Booking.external_id == "DEMO-SARAH"))
        code = issue_code(session, sarah) if sarah is not None else None
    return DemoLogins(admin=(ADMIN_EMAIL, ADMIN_PASSWORD), owner=(OWNER_EMAIL, OWNER_PASSWORD), guest_code=code)


def _complete_past_work(session: Session, today: date) -> None:
    """The concierge team did what was due before today (as it would have): those visits are completed."""
    due = session.scalars(
        select(ServiceRequest.id).where(ServiceRequest.status.in_(OPEN_STATUSES), ServiceRequest.scheduled_for < today)
    ).all()
    for request_id in due:
        for step in (RequestStatus.in_progress, RequestStatus.completed):
            if step in TRANSITIONS[session.get_one(ServiceRequest, request_id).status]:
                change_status(session, request_id, step, actor=ACTOR, notify=False)


def _stay(
    external_id: str,
    property_id: int | None,
    name: str,
    email: str,
    check_in: date,
    nights: int,
    guests: int,
    requests: str,
    channel: str,
    *,
    listing_name: str | None = None,
) -> dict[str, object]:
    return {
        "external_id": external_id,
        "kind": "created",
        "property_id": property_id,
        "listing": {"name": listing_name} if listing_name else {},
        "guest": {"name": name, "email": email},
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=nights)).isoformat(),
        "guest_count": guests,
        "special_requests": requests,
        "channel": channel,
    }


def _owner(session: Session) -> Owner:
    owner = session.scalar(select(Owner).where(Owner.email == OWNER_EMAIL))
    return owner or create_owner(
        session, name="Dana Whitfield", email=OWNER_EMAIL, phone="+1 850 555 0142", actor=ACTOR
    )


def _property(session: Session, owner: Owner, *, name: str, address: str, bedrooms: int, max_guests: int) -> Property:
    prop = session.scalar(select(Property).where(Property.owner_id == owner.id, Property.name == name))
    return prop or create_property(
        session,
        owner=owner,
        name=name,
        address=address,
        city="Panama City Beach",
        state="FL",
        postal_code="32413",
        bedrooms=bedrooms,
        max_guests=max_guests,
        actor=ACTOR,
    )


def _user(session: Session, email: str, password: str, role: Role, name: str, owner: Owner | None) -> None:
    if session.scalar(select(User.id).where(User.email == email)) is None:
        create_user(session, email=email, role=role, password=password, full_name=name, owner=owner, actor=ACTOR)


def _maintenance(session: Session, prop: Property, title: str, due: date, *, every_months: int) -> None:
    exists = session.scalar(
        select(MaintenanceItem.id).where(MaintenanceItem.property_id == prop.id, MaintenanceItem.title == title)
    )
    if exists is None:
        session.add(MaintenanceItem(property_id=prop.id, title=title, due_on=due, recurrence_months=every_months))
