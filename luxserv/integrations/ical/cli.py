"""`luxserv ical add|list|sync`: a property's exported calendars (feed URLs are secret: never printed)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import typer
from sqlalchemy import select

from luxserv.cli_support import fail, guarded, load_settings, open_database
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.ical.service import add_feed, enabled_feed_ids, sync_feed
from luxserv.integrations.models import IcalFeed
from luxserv.integrations.registry import Providers
from luxserv.sync.service import SyncReport

ical_app = typer.Typer(help="Calendars exported by Airbnb, VRBO and Booking.com (iCal feeds).", no_args_is_help=True)


def make_providers(settings: Settings, db: Database) -> Providers:
    return Providers.from_settings(settings, db)


@ical_app.command("add")
def ical_add(
    property_id: Annotated[int, typer.Argument(help="The property the calendar belongs to.")],
    url: Annotated[str, typer.Argument(help="The export URL (secret; stored encrypted).")],
    channel: Annotated[str, typer.Option(help="airbnb, vrbo, booking.com or other.")] = "other",
) -> None:
    """Read a property's exported calendar from now on."""
    settings = load_settings()
    db = open_database(settings, migrate=False)

    def go() -> int:
        with db.unit_of_work() as session:
            return add_feed(session, Vault(settings), property_id=property_id, url=url, channel=channel, actor="cli").id

    feed_id = guarded(go)
    typer.echo(f"added feed {feed_id} for property {property_id}; sync it with `luxserv ical sync --feed {feed_id}`")


@ical_app.command("list")
def ical_list(
    property_id: Annotated[int | None, typer.Option("--property", help="Only this property.")] = None,
) -> None:
    """Feeds with their host, last fetch and last error (never the URL)."""
    settings = load_settings()
    db = open_database(settings, migrate=False)
    vault = Vault(settings)

    def go() -> list[str]:
        with db.unit_of_work(write=False) as session:
            query = select(IcalFeed).order_by(IcalFeed.property_id, IcalFeed.id)
            if property_id is not None:
                query = query.where(IcalFeed.property_id == property_id)
            lines = []
            for feed in session.scalars(query):
                host = urlsplit(vault.decrypt(feed.url_encrypted)).hostname or "?"
                fetched = feed.last_fetched_at.isoformat(timespec="minutes") if feed.last_fetched_at else "never"
                state = "enabled" if feed.enabled else "disabled"
                error = f"  last error: {feed.last_error}" if feed.last_error else ""
                lines.append(
                    f"{feed.id:>4}  property {feed.property_id:<5} {feed.channel:<11} {host:<28} {state:<8} "
                    f"fetched {fetched}{error}"
                )
            return lines

    lines = guarded(go)
    typer.echo("\n".join(lines) if lines else "no feeds; add one with `luxserv ical add PROPERTY_ID URL --channel …`")


@ical_app.command("sync")
def ical_sync(
    feed: Annotated[int | None, typer.Option(help="Only this feed (even if disabled).")] = None,
    property_id: Annotated[int | None, typer.Option("--property", help="Only this property's enabled feeds.")] = None,
) -> None:
    """Fetch feeds now: stays through the inbox, blocks stored, vanished stays cancelled."""
    settings = load_settings()
    db = open_database(settings, migrate=False)
    providers = make_providers(settings, db)
    vault = Vault(settings)
    ids = [feed] if feed is not None else guarded(lambda: enabled_feed_ids(db, property_id))
    if not ids:
        raise fail("nothing to sync: no enabled feed" + (" for that property" if property_id else ""))
    reports: list[SyncReport] = []
    for feed_id in ids:

        def run(feed_id: int = feed_id) -> SyncReport:
            return sync_feed(db, providers, vault, feed_id, providers.http)

        reports.append(guarded(run))
        typer.echo(reports[-1].summary())
    if any(report.error for report in reports):
        raise typer.Exit(1)
