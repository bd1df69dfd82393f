"""`luxserv providers …` (connections to channel managers) and `luxserv sync` (pull what webhooks missed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import select

from luxserv.cli_support import fail, guarded, load_settings, open_database
from luxserv.core.crypto import Vault
from luxserv.core.errors import InvalidInput, LuxServError
from luxserv.integrations import accounts
from luxserv.integrations.catalog import PROVIDER_MODULES
from luxserv.integrations.models import ProviderAccount
from luxserv.integrations.registry import Providers
from luxserv.properties.models import ChannelListing, Property
from luxserv.sync.service import SyncReport, sync_account

providers_app = typer.Typer(help="Connections to channel managers (credentials are stored encrypted).")


def _pairs(values: list[str], what: str) -> dict[str, str]:
    result = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--{what} takes key=value, got {item!r}", field=what)
        result[key.strip()] = value
    return result


@providers_app.command("add")
def providers_add(
    provider: Annotated[str, typer.Argument(help=f"One of: {', '.join(PROVIDER_MODULES)}.")],
    name: Annotated[str, typer.Option(help="A name for this connection, e.g. 'Main'.")],
    credential: Annotated[
        list[str] | None, typer.Option("--credential", "-c", help="key=value, repeatable (secret; stored encrypted).")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="key=value, repeatable (not secret).")
    ] = None,
    owner: Annotated[int | None, typer.Option(help="Owner id, for an owner's own account (default: company).")] = None,
    interval: Annotated[int | None, typer.Option(help="Minutes between periodic syncs (default: setting).")] = None,
) -> None:
    """Store a connection. Credential values are never printed or logged."""
    if provider not in PROVIDER_MODULES:
        raise fail(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDER_MODULES)}")
    settings = load_settings()
    db = open_database(settings, migrate=False)

    def go() -> int:
        with db.unit_of_work() as session:
            row = accounts.create_account(
                session,
                Vault(settings),
                provider=provider,
                name=name,
                credentials=_pairs(credential or [], "credential"),
                options=_pairs(option or [], "option"),
                owner_id=owner,
                sync_interval_minutes=interval,
                actor="cli",
            )
            return row.id

    account_id = guarded(go)
    typer.echo(f"added {provider} connection {name!r} (id {account_id})")
    typer.echo(f"webhook URL to register: {settings.base_url}/webhooks/{provider}")


@providers_app.command("list")
def providers_list() -> None:
    """Connections with their last sync (no secrets shown)."""
    settings = load_settings()
    db = open_database(settings, migrate=False)

    def go() -> list[ProviderAccount]:
        with db.unit_of_work(write=False) as session:
            return list(session.scalars(select(ProviderAccount).order_by(ProviderAccount.provider, ProviderAccount.id)))

    rows = guarded(go)
    if not rows:
        typer.echo("no connections; add one with `luxserv providers add PROVIDER --name NAME -c key=value …`")
    for row in rows:
        synced = row.last_synced_at.isoformat(timespec="minutes") if row.last_synced_at else "never"
        state = "enabled" if row.enabled else "disabled"
        error = f"  last error: {row.last_sync_error}" if row.last_sync_error else ""
        typer.echo(f"{row.id:>4}  {row.provider:<9} {row.name:<20} {state:<8} synced {synced}{error}")


@providers_app.command("disable")
def providers_disable(account_id: Annotated[int, typer.Argument(help="Connection id (see `providers list`).")]) -> None:
    """Stop syncing and accepting webhooks for a connection (kept for its history)."""
    settings = load_settings()
    db = open_database(settings, migrate=False)

    def go() -> None:
        with db.unit_of_work() as session:
            accounts.get_account(session, account_id).enabled = False

    guarded(go)
    typer.echo(f"connection {account_id} disabled")


def sync_command(
    provider: Annotated[str | None, typer.Argument(help="Only this provider (default: every connection).")] = None,
    property_id: Annotated[int | None, typer.Option("--property", help="Only this property's listings.")] = None,
    since: Annotated[
        str | None, typer.Option(help="ISO date or date-time; default: since each connection's last sync.")
    ] = None,
) -> None:
    """Pull reservations from providers now; each goes through the inbox like a webhook."""
    settings = load_settings()
    db = open_database(settings, migrate=False)
    providers = Providers.from_settings(settings, db)
    since_at = guarded(lambda: _parse_since(since)) if since else None
    if provider is not None and provider not in PROVIDER_MODULES:
        raise fail(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDER_MODULES)}")

    def targets() -> list[tuple[int, str, list[str] | None]]:
        with db.unit_of_work(write=False) as session:
            rows = accounts.enabled_accounts(session, provider)
            if property_id is not None and session.get(Property, property_id) is None:
                raise InvalidInput(f"property {property_id} not found", field="property")
            result = []
            for row in rows:
                listing_ids = None
                if property_id is not None:
                    listing_ids = list(
                        session.scalars(
                            select(ChannelListing.listing_id).where(
                                ChannelListing.property_id == property_id, ChannelListing.provider == row.provider
                            )
                        )
                    )
                    if not listing_ids:
                        continue
                result.append((row.id, row.provider, listing_ids))
            return result

    plan = guarded(targets)
    if not plan:
        raise fail("nothing to sync: no enabled connection" + (" for that property" if property_id else ""))
    reports: list[SyncReport] = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        for account_id, name, listing_ids in plan:
            task = progress.add_task(f"{name} #{account_id}", total=None)

            def run(
                account_id: int = account_id, ids: list[str] | None = listing_ids, task: TaskID = task
            ) -> SyncReport:
                return sync_account(
                    db,
                    providers,
                    account_id,
                    since=since_at,
                    listing_ids=ids,
                    on_progress=lambda n: progress.advance(task, n),
                )

            report = guarded(run)
            progress.update(task, total=report.pulled, completed=report.pulled)
            reports.append(report)
    for report in reports:
        typer.echo(report.summary())
    if any(report.error for report in reports):
        raise typer.Exit(1)


def _parse_since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise LuxServError(f"--since must be an ISO date or date-time, got {text!r}") from error
    return value if value.tzinfo else value.replace(tzinfo=UTC)
