"""`luxserv ical add|list|sync`, run in-process on the `ical_app` Typer against both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from luxserv.core.clock import utcnow
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.ical import IcalProvider, cli
from luxserv.integrations.manual import ManualProvider
from luxserv.integrations.registry import Providers
from tests.integrations.ical.helpers import SECRET, URLS, Env

runner = CliRunner()


def upcoming_feed() -> bytes:
    """One stay starting in a week and one block, so the test does not age with the calendar."""
    start = utcnow().date() + timedelta(days=7)
    day = "%Y%m%d"
    return (
        "BEGIN:VCALENDAR\r\nPRODID:-//Airbnb Inc//Hosting Calendar 1.0.0//EN\r\nVERSION:2.0\r\n"
        f"BEGIN:VEVENT\r\nDTEND;VALUE=DATE:{(start + timedelta(days=3)):{day}}\r\n"
        f"DTSTART;VALUE=DATE:{start:{day}}\r\nUID:cli-stay@airbnb.com\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
        f"BEGIN:VEVENT\r\nDTEND;VALUE=DATE:{(start + timedelta(days=9)):{day}}\r\n"
        f"DTSTART;VALUE=DATE:{(start + timedelta(days=5)):{day}}\r\nUID:cli-block@airbnb.com\r\n"
        "SUMMARY:Airbnb (Not available)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


@pytest.fixture
def cli_env(env: Env, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("LUXSERV_DATABASE_URL", db.url)
    monkeypatch.setenv("LUXSERV_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    def providers(settings: Settings, database: Database) -> Providers:
        builtins = [ManualProvider.create(), IcalProvider.create()]
        return Providers(builtins, db=database, vault=Vault(settings), http=env.http)

    monkeypatch.setattr(cli, "make_providers", providers)
    env.server.serve("airbnb", upcoming_feed())
    return env


def test_add_list_and_sync(cli_env: Env) -> None:
    added = runner.invoke(cli.ical_app, ["add", str(cli_env.property_id), URLS["airbnb"], "--channel", "airbnb"])
    assert added.exit_code == 0, added.output
    assert SECRET not in added.output

    synced = runner.invoke(cli.ical_app, ["sync"])
    assert synced.exit_code == 0, synced.output
    assert "ical feed #1: 1 pulled" in synced.output
    assert len(cli_env.bookings()) == 1
    assert len(cli_env.blocks()) == 1

    listed = runner.invoke(cli.ical_app, ["list", "--property", str(cli_env.property_id)])
    assert listed.exit_code == 0, listed.output
    assert "www.airbnb.com" in listed.output
    assert SECRET not in listed.output
    assert "fetched never" not in listed.output


def test_a_bad_url_is_one_error_line(cli_env: Env) -> None:
    result = runner.invoke(cli.ical_app, ["add", str(cli_env.property_id), "ftp://example.com/cal.ics"])
    assert result.exit_code == 1
    assert "error: the feed URL must be an http:// or https:// address" in result.output


def test_a_failing_feed_exits_non_zero_and_is_listed_with_its_error(cli_env: Env) -> None:
    cli_env.add("airbnb", upcoming_feed())
    cli_env.server.failure = 500
    result = runner.invoke(cli.ical_app, ["sync"])
    assert result.exit_code == 1
    assert "ical feed #1: 0 pulled; error: ical feed #1: GET /calendar/ical/40512345.ics kept failing (HTTP 500)" in (
        result.output
    )
    listed = runner.invoke(cli.ical_app, ["list"])
    assert "last error:" in listed.output
    assert SECRET not in listed.output


def test_nothing_to_sync(cli_env: Env) -> None:
    result = runner.invoke(cli.ical_app, ["sync", "--property", str(cli_env.property_id)])
    assert result.exit_code == 1
    assert "nothing to sync" in result.output
    missing = runner.invoke(cli.ical_app, ["sync", "--feed", "99"])
    assert missing.exit_code == 1
    assert "iCal feed 99 not found" in missing.output
