"""The `luxserv` command: serve, worker, db, demo, users. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import getpass
import logging
import os
import signal
import sys
from typing import Annotated, Any

import typer

# Typer ships its own click; its exception classes are what a bad command line raises.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from luxserv.accounts.models import Role
from luxserv.cli_support import fail, guarded, load_settings, open_database
from luxserv.core.database import Database
from luxserv.core.errors import LuxServError
from luxserv.core.migrate import upgrade
from luxserv.core.security import new_token
from luxserv.core.settings import Settings
from luxserv.integrations.ical.cli import ical_app
from luxserv.sync.cli import providers_app, sync_command

app = typer.Typer(help="LuxServ: concierge operations for vacation-rental homes.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Logins for admins, staff and owners.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(providers_app, name="providers")
app.add_typer(ical_app, name="ical")
app.command("sync")(sync_command)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo data and print its logins.")] = False,
    workers: Annotated[int, typer.Option(help="Web processes (use 1 with SQLite).")] = 1,
) -> None:
    """Run the web app. On SQLite (development) the schema is upgraded and the worker runs in-process."""
    import uvicorn

    settings = load_settings()
    guarded(settings.check_secrets)
    db = open_database(settings, migrate=settings.is_development)
    url = f"http://{host}:{port}" if host not in ("0.0.0.0", "::") else settings.base_url  # noqa: S104  # nosec B104 - a comparison, not a bind
    if "base_url" not in settings.model_fields_set:  # links in e-mails point where we actually listen
        os.environ["LUXSERV_BASE_URL"] = url
        db.base_url = url
    if demo:
        _load_demo(db, settings, url)
    typer.secho(f"LuxServ is serving on {url}  (API docs: {url}/docs)", fg=typer.colors.GREEN, bold=True)
    db.dispose()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run("luxserv.asgi:app", host=host, port=port, workers=workers, log_level="info", proxy_headers=True)


@app.command()
def worker(
    poll: Annotated[float, typer.Option(help="Seconds between passes when idle.")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="One pass over what is due, then exit (cron, tests).")] = False,
) -> None:
    """Run a worker process: sends the outbox, retries the inbox and runs the periodic provider syncs.

    Run any number, on any machines, against one PostgreSQL. On SIGTERM or Ctrl-C it finishes the message being
    sent, hands the rest of its batch back to the other workers at once, and exits 0.
    """
    from luxserv.integrations.registry import Providers
    from luxserv.worker.runner import run_once
    from luxserv.worker.stop import StopSignal

    settings = load_settings()
    guarded(settings.check_secrets)
    db = open_database(settings, migrate=False)
    providers = Providers.from_settings(settings, db)
    stop = StopSignal()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.echo("worker started; SIGTERM to stop")
    while not stop.is_set():
        handled = guarded(lambda: run_once(db, providers, settings, stop=stop))
        if once:
            break
        if not handled:
            stop.wait(poll)
    db.dispose()
    typer.echo(f"worker stopped, released {stop.released} messages")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the schema (idempotent)."""
    settings = load_settings()
    db = guarded(lambda: Database(settings.database_url, base_url=settings.base_url))
    guarded(lambda: upgrade(db, revision))
    typer.echo(f"database is at {revision}: {_redact(settings.database_url)}")


@app.command("demo")
def demo_command() -> None:
    """Load or refresh the demo data (idempotent) and print the demo logins."""
    settings = load_settings()
    db = open_database(settings, migrate=True)
    _load_demo(db, settings)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login e-mail.")],
    role: Annotated[Role, typer.Option(help="admin, staff or owner.")],
    owner: Annotated[
        str | None, typer.Option(help="For owners: the owner's id, e-mail or name (created if none matches).")
    ] = None,
    name: Annotated[str, typer.Option(help="Full name.")] = "",
    password: Annotated[
        str | None, typer.Option(help="Password; prompted when interactive, generated and printed otherwise.")
    ] = None,
) -> None:
    """Create a login."""
    from luxserv.accounts.service import create_user, find_owner
    from luxserv.properties.service import create_owner

    settings = load_settings()
    db = open_database(settings, migrate=False)
    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = getpass.getpass("Password: ")
            if getpass.getpass("Repeat password: ") != password:
                raise fail("the passwords do not match")
        else:
            password, generated = new_token(12), True
    if role != Role.owner and owner:
        raise fail("--owner is only for --role owner")

    def go() -> Any:
        with db.unit_of_work() as session:
            owner_row = None
            if role == Role.owner:
                if not owner:
                    raise LuxServError("an owner login needs --owner (the owner's id, e-mail or name)")
                owner_row = find_owner(session, owner) or create_owner(
                    session, name=owner, email=email.lower() if "@" not in owner else owner, actor="cli"
                )
            user = create_user(
                session,
                email=email,
                role=role,
                password=password or "",
                full_name=name,
                owner=owner_row,
                actor="cli",
            )
            return user.id, user.email

    user_id, address = guarded(go)
    typer.echo(f"created {role.value} {address} (id {user_id})")
    if generated:
        typer.echo(f"password: {password}")


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="Login e-mail.")]) -> None:
    """Disable a login: its sessions end now, its API tokens are refused, and it cannot sign in."""
    _set_user_active(email, active=False)


@users_app.command("enable")
def users_enable(email: Annotated[str, typer.Argument(help="Login e-mail.")]) -> None:
    """Enable a disabled login again."""
    _set_user_active(email, active=True)


def _set_user_active(email: str, *, active: bool) -> None:
    from luxserv.accounts.service import set_active, user_by_email

    db = open_database(load_settings(), migrate=False)

    def go() -> str:
        with db.unit_of_work() as session:
            return set_active(session, user_by_email(session, email).id, active, actor="cli").email

    address = guarded(go)
    typer.echo(f"enabled {address}" if active else f"disabled {address}: signed out everywhere, API tokens refused")


def _load_demo(db: Database, settings: Settings, url: str | None = None) -> None:
    from luxserv import demo
    from luxserv.integrations.registry import Providers

    logins = guarded(lambda: demo.load(db, Providers.from_settings(settings, db)))
    typer.echo("Demo data is loaded. Sign in at /login with:")
    typer.echo(f"  admin  {logins.admin[0]}  password {logins.admin[1]}")
    typer.echo(f"  owner  {logins.owner[0]}  password {logins.owner[1]}")
    if logins.guest_code:
        typer.echo(f"  guest  {url or settings.base_url}/portal?booking={logins.guest_code}  (Sarah Johnson's stay)")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Entry point: usage mistakes are one line too (`error: …`), exit code 2."""
    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as error:
        error.show()
        sys.exit(2)
    except UsageError as error:
        hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
        typer.secho(f"error: {error.format_message()}{hint}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except ClickException as error:
        typer.secho(f"error: {error.format_message()}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
