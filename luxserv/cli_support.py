"""Shared pieces of the `luxserv` commands: one-line errors, settings and database opening."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer
from alembic.util import CommandError as AlembicCommandError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from luxserv.core.database import Database
from luxserv.core.errors import LuxServError
from luxserv.core.migrate import pending_revisions, upgrade
from luxserv.core.settings import Settings, SettingsError

T = TypeVar("T")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body, turning expected failures into one readable line."""
    try:
        return fn()
    except (LuxServError, SettingsError) as error:
        raise fail(str(error)) from None
    except ValidationError as error:
        first = error.errors()[0]
        raise fail(f"invalid setting {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    except SQLAlchemyError as error:
        raise fail(f"database error: {str(error).splitlines()[0]}") from None
    except AlembicCommandError as error:
        raise fail(f"migration error: {error}") from None
    except ImportError as error:
        raise fail(f"a database driver is missing: {error}") from None
    except OSError as error:
        raise fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")) from None


def load_settings() -> Settings:
    return guarded(Settings)


def open_database(settings: Settings, *, migrate: bool) -> Database:
    def go() -> Database:
        db = Database(settings.database_url, base_url=settings.base_url)
        if migrate:
            upgrade(db)
        elif pending_revisions(db):
            raise LuxServError("the database schema is not up to date: run `luxserv db upgrade` first")
        return db

    return guarded(go)
