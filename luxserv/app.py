"""The FastAPI application: routers for webhooks, the JSON API and pages, wired to one database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from luxserv import __version__
from luxserv.accounts.api import router as auth_router
from luxserv.bookings.api import router as bookings_router
from luxserv.calendars.api import router as calendars_router
from luxserv.core.database import Database
from luxserv.core.settings import Settings, get_settings
from luxserv.guests.api import router as guests_router
from luxserv.inbox.api import router as inbox_router
from luxserv.integrations.registry import Providers
from luxserv.properties.api import router as properties_router
from luxserv.properties.maintenance_api import router as maintenance_router
from luxserv.services.api import router as service_requests_router
from luxserv.services.rules_api import router as service_rules_router
from luxserv.web import errors
from luxserv.web.pages import router as pages_router
from luxserv.web.security_headers import SecurityHeadersMiddleware
from luxserv.webhooks.api import router as webhooks_router
from luxserv.worker.runner import BackgroundWorker

STATIC = Path(__file__).resolve().parent / "web" / "static"


def create_app(
    settings: Settings | None = None, db: Database | None = None, *, run_worker: bool | None = None
) -> FastAPI:
    """Build the app. Refuses to start outside development with placeholder secrets."""
    settings = settings or get_settings()
    settings.check_secrets()
    database = db or Database(settings.database_url)
    providers = Providers.from_settings(settings, database)
    start_worker = settings.worker_in_process if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = BackgroundWorker(database, providers, interval=settings.worker_poll_seconds, settings=settings)
        if start_worker:
            worker.start()
        yield
        if start_worker:
            worker.stop()
        if db is None:
            database.dispose()

    app = FastAPI(
        title="LuxServ",
        version=__version__,
        description="Bookings in from every channel, concierge services planned, owners and guests told.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.providers = providers
    errors.install(app)
    app.add_middleware(SecurityHeadersMiddleware)
    for router in (
        webhooks_router,
        auth_router,
        bookings_router,
        guests_router,
        properties_router,
        inbox_router,
        calendars_router,
        service_requests_router,
        service_rules_router,
        maintenance_router,
        pages_router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    logging.getLogger("luxserv").setLevel(settings.log_level.upper())
    return app
