"""Settings: defaults, environment variables, URL normalization, and the production secret checks."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from luxserv.app import create_app
from luxserv.core.database import Database, normalize_url
from luxserv.core.settings import DEV_SECRET_KEY, DEV_WEBHOOK_SECRET, Settings, SettingsError

STRONG_KEY = secrets.token_urlsafe(32)  # 43 characters
STRONG_WEBHOOK = secrets.token_urlsafe(16)  # 22 characters


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No LUXSERV_* variable from the outside world, and no stray .env in the working directory."""
    for name in list(os.environ):
        if name.startswith("LUXSERV_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def production(**values: object) -> Settings:
    return make(env="production", **{"secret_key": STRONG_KEY, "webhook_secret": STRONG_WEBHOOK, **values})


# --- defaults and the environment -------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = make()
    assert settings.env == "development"
    assert settings.is_development
    assert settings.data_dir == Path("data")
    assert settings.database_url == "sqlite:///data/luxserv.db"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.secret_key.get_secret_value() == DEV_SECRET_KEY
    assert settings.webhook_secret.get_secret_value() == DEV_WEBHOOK_SECRET
    assert settings.webhook_max_bytes == 1048576
    assert settings.webhook_timestamp_tolerance_seconds == 300
    assert settings.smtp_port == 587
    assert settings.smtp_security == "starttls"
    assert settings.mail_from == "LuxServ <no-reply@luxserv.local>"
    assert settings.session_idle_minutes == 120
    assert settings.session_max_hours == 168
    assert settings.worker_in_process is True
    assert settings.worker_poll_seconds == 2
    assert settings.log_level == "INFO"


def test_default_database_url_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    settings = make(data_dir=tmp_path / "store")
    assert settings.database_url == f"sqlite:///{(tmp_path / 'store' / 'luxserv.db').as_posix()}"
    database = Database(settings.database_url)
    try:
        assert database.is_sqlite
        assert database.engine.url.database == str(tmp_path / "store" / "luxserv.db")
    finally:
        database.dispose()


def test_an_explicit_database_url_wins_over_data_dir(tmp_path: Path) -> None:
    settings = make(data_dir=tmp_path, database_url="postgresql://u:p@db.example:5432/lux")
    assert settings.database_url == "postgresql://u:p@db.example:5432/lux"


def test_prefixed_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LUXSERV_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("LUXSERV_SESSION_IDLE_MINUTES", "7")
    monkeypatch.setenv("LUXSERV_SESSION_MAX_HOURS", "3")
    monkeypatch.setenv("LUXSERV_BASE_URL", "https://luxserv.example/")
    monkeypatch.setenv("LUXSERV_WORKER_IN_PROCESS", "false")
    monkeypatch.setenv("LUXSERV_WEBHOOK_SECRET", "from-the-environment")
    monkeypatch.setenv("LUXSERV_ENV", "production")
    monkeypatch.setenv("SESSION_MAX_HOURS", "99")  # not prefixed: ignored
    settings = make()
    assert settings.env == "production"
    assert settings.data_dir == tmp_path / "d"
    assert settings.database_url == f"sqlite:///{(tmp_path / 'd' / 'luxserv.db').as_posix()}"
    assert settings.session_idle_minutes == 7
    assert settings.session_max_hours == 3
    assert settings.base_url == "https://luxserv.example"
    assert settings.worker_in_process is False
    assert settings.webhook_secrets == ["from-the-environment"]


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUXSERV_DATABASE_URL", "postgres://app@db.example/lux")
    assert make().database_url == "postgres://app@db.example/lux"


def test_dotenv_file_in_the_working_directory_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LUXSERV_SESSION_IDLE_MINUTES=11\nLUXSERV_LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("LUXSERV_LOG_LEVEL", "WARNING")  # the environment wins over the file
    settings = Settings()
    assert settings.session_idle_minutes == 11
    assert settings.log_level == "WARNING"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LUXSERV_SESSION_IDLE_MINUTES", "abc"),
        ("LUXSERV_SESSION_IDLE_MINUTES", "0"),
        ("LUXSERV_SESSION_MAX_HOURS", "0"),
        ("LUXSERV_ENV", "staging"),
        ("LUXSERV_SMTP_SECURITY", "ssl3"),
        ("LUXSERV_WEBHOOK_MAX_BYTES", "100"),
        ("LUXSERV_WORKER_POLL_SECONDS", "0"),
    ],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        make()
    assert caught.value.errors()[0]["loc"] == (variable.removeprefix("LUXSERV_").lower(),)


# --- database URLs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///data/luxserv.db", "sqlite:///data/luxserv.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_database_uses_psycopg_for_a_postgres_url() -> None:
    database = Database("postgres://app:pw@127.0.0.1:1/lux")  # never connects
    try:
        assert database.url == "postgresql+psycopg://app:pw@127.0.0.1:1/lux"
        assert database.engine.dialect.name == "postgresql"
        assert database.engine.dialect.driver == "psycopg"
        assert not database.is_sqlite
    finally:
        database.dispose()


# --- secrets ----------------------------------------------------------------------------------------------------


def test_webhook_secrets_current_then_previous() -> None:
    assert make(webhook_secret="current-secret").webhook_secrets == ["current-secret"]
    both = make(webhook_secret="current-secret", webhook_previous_secret="previous-secret")
    assert both.webhook_secrets == ["current-secret", "previous-secret"]
    assert make(webhook_secret="current-secret", webhook_previous_secret="").webhook_secrets == ["current-secret"]


def test_webhook_previous_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUXSERV_WEBHOOK_SECRET", "new-secret-value")
    monkeypatch.setenv("LUXSERV_WEBHOOK_PREVIOUS_SECRET", "old-secret-value")
    assert make().webhook_secrets == ["new-secret-value", "old-secret-value"]


def test_secrets_are_not_shown_in_repr() -> None:
    settings = production()
    assert STRONG_KEY not in repr(settings)
    assert STRONG_WEBHOOK not in repr(settings)


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_allows_the_default_secrets(env: str) -> None:
    make(env=env).check_secrets()
    make(env=env, secret_key="", webhook_secret="").check_secrets()


def test_production_with_strong_secrets_passes() -> None:
    settings = production()
    assert not settings.is_development
    settings.check_secrets()


def test_production_with_the_defaults_names_both_secrets() -> None:
    with pytest.raises(SettingsError) as caught:
        make(env="production").check_secrets()
    assert "LUXSERV_SECRET_KEY" in str(caught.value)
    assert "LUXSERV_WEBHOOK_SECRET" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        DEV_SECRET_KEY,
        "change-me",
        "CHANGEME",
        "  placeholder  ",
        "short-but-random-7f3a",  # under 32 characters
        "x" * 31,
    ],
)
def test_production_refuses_a_weak_secret_key(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        production(secret_key=value).check_secrets()
    message = str(caught.value)
    assert "LUXSERV_SECRET_KEY" in message
    assert "LUXSERV_WEBHOOK_SECRET" not in message


@pytest.mark.parametrize("value", ["", DEV_WEBHOOK_SECRET, "secret", "XXX", "only15character"])
def test_production_refuses_a_weak_webhook_secret(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        production(webhook_secret=value).check_secrets()
    message = str(caught.value)
    assert "LUXSERV_WEBHOOK_SECRET" in message
    assert "LUXSERV_SECRET_KEY" not in message


def test_production_refuses_missing_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUXSERV_ENV", "production")
    monkeypatch.setenv("LUXSERV_WEBHOOK_SECRET", STRONG_WEBHOOK)
    with pytest.raises(SettingsError, match="LUXSERV_SECRET_KEY"):
        make().check_secrets()
    monkeypatch.setenv("LUXSERV_SECRET_KEY", STRONG_KEY)
    make().check_secrets()


def test_production_needs_the_smtp_password_with_a_username() -> None:
    with pytest.raises(SettingsError, match="LUXSERV_SMTP_PASSWORD"):
        production(smtp_host="smtp.example", smtp_username="luxserv").check_secrets()
    production(smtp_host="smtp.example", smtp_username="luxserv", smtp_password="pw").check_secrets()


def test_create_app_refuses_production_with_placeholders(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'never.db').as_posix()}"
    with pytest.raises(SettingsError, match="LUXSERV_SECRET_KEY"):
        create_app(make(env="production", database_url=url), run_worker=False)
    with pytest.raises(SettingsError, match="LUXSERV_WEBHOOK_SECRET"):
        create_app(make(env="production", database_url=url, secret_key=STRONG_KEY), run_worker=False)
    assert not (tmp_path / "never.db").exists()


def test_create_app_builds_in_production_with_strong_secrets(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'prod.db').as_posix()}"
    settings = production(database_url=url)
    database = Database(url)
    try:
        app = create_app(settings, database, run_worker=False)
        assert app.state.settings is settings
        assert app.state.db is database
    finally:
        database.dispose()
