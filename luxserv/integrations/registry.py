"""The providers this process knows. Domains and routes ask here; they never import a provider folder.

Built-in sources (generic webhook, manual entry) come from settings; channel managers come from the stored,
encrypted connections (`provider_accounts`), one provider instance per connection.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.errors import NotFound
from luxserv.core.settings import Settings
from luxserv.integrations import accounts
from luxserv.integrations.base import AccountConfig, Provider, ProviderDeps
from luxserv.integrations.catalog import PROVIDER_MODULES, provider_class
from luxserv.integrations.generic import GenericProvider
from luxserv.integrations.http import HttpOptions
from luxserv.integrations.ical import IcalProvider
from luxserv.integrations.manual import ManualProvider

_ACCOUNT_CACHE_SECONDS = 10.0


class Providers:
    """Lookup of provider instances: built-in ones, and one per stored connection (cached briefly)."""

    def __init__(
        self,
        builtins: list[Provider],
        *,
        db: Database | None = None,
        vault: Vault | None = None,
        http: HttpOptions | None = None,
    ) -> None:
        self._builtins = {p.name: p for p in builtins}
        self._db = db
        self._vault = vault
        self.http = http or HttpOptions()
        self._lock = threading.Lock()
        self._instances: dict[int, tuple[Any, Provider]] = {}
        self._checked_at: dict[int, float] = {}  # when each instance was last compared with its stored row
        self._loaded_at = 0.0
        self._by_provider: dict[str, list[int]] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, db: Database | None = None, *, http: HttpOptions | None = None
    ) -> Providers:
        generic = GenericProvider.from_secrets(
            settings.webhook_secrets, tolerance_seconds=settings.webhook_timestamp_tolerance_seconds
        )
        return cls(
            [generic, ManualProvider.create(), IcalProvider.create()],
            db=db,
            vault=Vault(settings),
            http=http or HttpOptions(timeout=settings.http_timeout_seconds),
        )

    def is_builtin(self, name: str) -> bool:
        """A source configured by settings (the generic webhook, manual entry, iCal): no database lookup needed."""
        return name in self._builtins

    def webhook_candidates(self, name: str) -> list[Provider]:
        """Everything that may have signed a webhook for `name`: the built-in one, or each enabled connection."""
        if name in self._builtins:
            builtin = self._builtins[name]
            return [builtin] if builtin.accepts_webhooks else []
        if name not in PROVIDER_MODULES:
            raise NotFound(f"no provider named {name!r}")
        self._refresh()
        if not self._by_provider.get(name):
            self._refresh(force=True)  # a connection added a moment ago works at once
        return [self._instance(account_id) for account_id in self._by_provider.get(name, [])]

    def for_event(self, name: str, account_id: int | None) -> Provider:
        """The instance that maps (and enriches) an event of this provider, from this connection."""
        if name in self._builtins:
            return self._builtins[name]
        if name not in PROVIDER_MODULES:
            raise NotFound(f"no provider named {name!r}")
        if account_id is not None:
            return self._instance(account_id)
        candidates = self.webhook_candidates(name)
        if candidates:
            return candidates[0]
        # No connection (yet): mapping a full payload needs none.
        return provider_class(name)(
            AccountConfig(id=None, provider=name, name="unconfigured"), ProviderDeps(http=self.http)
        )

    def for_account(self, account_id: int) -> Provider:
        return self._instance(account_id)

    def mapper(self, name: str) -> Provider:
        """Backward-compatible alias of `for_event(name, None)`."""
        return self.for_event(name, None)

    def _refresh(self, *, force: bool = False) -> None:
        if self._db is None or (not force and time.monotonic() - self._loaded_at < _ACCOUNT_CACHE_SECONDS):
            return
        with self._db.unit_of_work(write=False) as session:
            rows = accounts.enabled_accounts(session)
            by_provider: dict[str, list[int]] = {}
            for row in rows:
                by_provider.setdefault(row.provider, []).append(row.id)
        with self._lock:
            self._by_provider = by_provider
            self._loaded_at = time.monotonic()

    def _instance(self, account_id: int) -> Provider:
        if self._db is None or self._vault is None:
            raise NotFound(f"provider connection {account_id} is not available in this process")
        cached = self._instances.get(account_id)
        if cached is not None and time.monotonic() - self._checked_at.get(account_id, 0.0) < _ACCOUNT_CACHE_SECONDS:
            return cached[1]  # as fresh as the list of connections; spares a query per webhook and synced event
        with self._db.unit_of_work(write=False) as session:
            row = accounts.get_account(session, account_id)
            fingerprint = (row.credentials_encrypted, tuple(sorted((row.options or {}).items())))
            cached = self._instances.get(account_id)
            if cached is not None and cached[0] == fingerprint:
                self._checked_at[account_id] = time.monotonic()
                return cached[1]
            config = accounts.to_config(row, self._vault)
        cls = provider_class(config.provider)
        budget_per_day = config.options.get("daily_call_budget") or cls.default_daily_call_budget
        deps = ProviderDeps(
            http=self.http,
            tokens=accounts.DbTokenStore(self._db, self._vault, account_id),
            budget=accounts.DbCallBudget(self._db, account_id, per_day=int(budget_per_day)) if budget_per_day else None,
        )
        instance = cls(config, deps)
        with self._lock:
            old = self._instances.get(account_id)
            self._instances[account_id] = (fingerprint, instance)
            self._checked_at[account_id] = time.monotonic()
        if old is not None:
            old[1].close()
        return instance
