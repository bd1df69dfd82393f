"""The FastAPI application: routers for webhooks, the JSON API and pages, wired to one database."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from luxserv import __version__
from luxserv.accounts.admin_api import router as users_admin_router
from luxserv.accounts.api import router as auth_router
from luxserv.accounts.pages import router as account_pages_router
from luxserv.audit.pages import router as audit_pages_router
from luxserv.bookings.api import router as bookings_router
from luxserv.bookings.pages import router as booking_pages_router
from luxserv.bookings.unplaced_pages import router as unplaced_pages_router
from luxserv.calendars.api import router as calendars_router
from luxserv.calendars.pages import router as calendar_pages_router
from luxserv.core.database import Database
from luxserv.core.settings import Settings, get_settings
from luxserv.guests.api import router as guests_router
from luxserv.guests.pages import router as guest_pages_router
from luxserv.inbox.api import router as inbox_router
from luxserv.inbox.pages import router as inbox_pages_router
from luxserv.integrations.registry import Providers
from luxserv.notifications.api import router as notifications_router
from luxserv.notifications.pages import router as notification_pages_router
from luxserv.outbox.api import router as outbox_router
from luxserv.outbox.pages import router as mail_pages_router
from luxserv.owners.api import router as owner_api_router
from luxserv.owners.pages import router as owner_pages_router
from luxserv.portal.api import router as portal_api_router
from luxserv.portal.pages import router as portal_pages_router
from luxserv.properties.admin_api import router as properties_admin_router
from luxserv.properties.api import router as properties_router
from luxserv.properties.maintenance_api import router as maintenance_router
from luxserv.properties.pages import router as property_pages_router
from luxserv.services.api import router as service_requests_router
from luxserv.services.pages import router as request_pages_router
from luxserv.services.rules_api import router as service_rules_router
from luxserv.services.rules_pages import router as rules_pages_router
from luxserv.web import errors
from luxserv.web.pages import router as pages_router
from luxserv.web.security_headers import SecurityHeadersMiddleware
from luxserv.webhooks.api import router as webhooks_router
from luxserv.webhooks.intake import Intake
from luxserv.worker.runner import BackgroundWorker

STATIC = Path(__file__).resolve().parent / "web" / "static"


def create_app(
    settings: Settings | None = None, db: Database | None = None, *, run_worker: bool | None = None
) -> FastAPI:
    """Build the app. Refuses to start outside development with placeholder secrets."""
    settings = settings or get_settings()
    settings.check_secrets()
    database = db or Database(settings.database_url, base_url=settings.base_url)
    providers = Providers.from_settings(settings, database)
    start_worker = settings.worker_in_process if run_worker is None else run_worker
    intake = Intake(database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = BackgroundWorker(database, providers, interval=settings.worker_poll_seconds, settings=settings)
        if start_worker:
            worker.start()
        gc.freeze()  # what exists now lives as long as the app: keep it out of every garbage collection's scan
        yield
        gc.unfreeze()
        intake.close()
        if start_worker:
            worker.stop()
        if db is None:
            database.dispose()

    app = FastAPI(
        title="LuxServ",
        version=__version__,
        description="Bookings in from every channel, concierge services planned, owners and guests told.",
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.providers = providers
    app.state.intake = intake
    errors.install(app)
    app.add_middleware(SecurityHeadersMiddleware)
    for router in (
        webhooks_router,
        auth_router,
        users_admin_router,
        account_pages_router,
        bookings_router,
        guests_router,
        properties_router,
        inbox_router,
        calendars_router,
        service_requests_router,
        service_rules_router,
        maintenance_router,
        notifications_router,
        notification_pages_router,
        outbox_router,
        mail_pages_router,
        owner_api_router,
        owner_pages_router,
        portal_api_router,
        portal_pages_router,
        properties_admin_router,
        property_pages_router,
        unplaced_pages_router,
        inbox_pages_router,
        rules_pages_router,
        audit_pages_router,
        calendar_pages_router,
        request_pages_router,
        booking_pages_router,
        guest_pages_router,
        pages_router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    logging.getLogger("luxserv").setLevel(settings.log_level.upper())
    return app
