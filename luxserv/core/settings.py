"""Validated settings, read from `LUXSERV_*` environment variables (and an optional `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that are fine on a laptop and never anywhere else.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105
DEV_WEBHOOK_SECRET = "dev-webhook-secret"  # noqa: S105
_PLACEHOLDERS = {
    "",
    "change-me",
    "changeme",
    "secret",
    "placeholder",
    "xxx",
    DEV_SECRET_KEY,
    DEV_WEBHOOK_SECRET,
}


class SettingsError(ValueError):
    """The configuration cannot be used; the message says which variable and why."""


class Settings(BaseSettings):
    """Every setting LuxServ reads. The README lists each variable with its default."""

    model_config = SettingsConfigDict(env_prefix="LUXSERV_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    base_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    webhook_previous_secret: SecretStr | None = None
    encryption_key: SecretStr | None = None
    previous_encryption_key: SecretStr | None = None
    sync_interval_minutes: int = Field(default=15, ge=1)
    http_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    webhook_timestamp_tolerance_seconds: int = Field(default=300, ge=1)

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    mail_from: str = "LuxServ <no-reply@luxserv.local>"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)

    session_idle_minutes: int = Field(default=120, ge=1)
    session_max_hours: int = Field(default=24 * 7, ge=1)
    worker_in_process: bool = True
    worker_poll_seconds: float = Field(default=2.0, gt=0)
    outbox_lease_seconds: float = Field(default=120.0, gt=0)
    log_level: str = "INFO"
    login_failures_per_email: int = Field(default=5, ge=1)
    login_failures_per_client: int = Field(default=30, ge=1)
    login_throttle_minutes: int = Field(default=15, ge=1)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _fill_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'luxserv.db').as_posix()}"
        return self

    @property
    def is_development(self) -> bool:
        return self.env in ("development", "test")

    @property
    def webhook_secrets(self) -> list[str]:
        """The generic webhook secrets accepted now: the current one, then the previous during rotation."""
        secrets = [self.webhook_secret.get_secret_value()]
        if self.webhook_previous_secret is not None and self.webhook_previous_secret.get_secret_value():
            secrets.append(self.webhook_previous_secret.get_secret_value())
        return secrets

    def check_secrets(self) -> None:
        """Refuse placeholder or missing secrets outside development, naming the variable."""
        if self.is_development:
            return
        problems = []
        key = self.secret_key.get_secret_value()
        if key.strip().lower() in _PLACEHOLDERS or len(key) < 32:
            problems.append("LUXSERV_SECRET_KEY must be set to a random value of at least 32 characters")
        webhook = self.webhook_secret.get_secret_value()
        if webhook.strip().lower() in _PLACEHOLDERS or len(webhook) < 16:
            problems.append("LUXSERV_WEBHOOK_SECRET must be set to a random value of at least 16 characters")
        if self.smtp_host and self.smtp_username and not self.smtp_password:
            problems.append("LUXSERV_SMTP_PASSWORD is required when LUXSERV_SMTP_USERNAME is set")
        if problems:
            raise SettingsError(f"refusing to start in {self.env}: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
